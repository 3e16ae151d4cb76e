from __future__ import annotations

from collections.abc import Iterable

from analyzer.cascade import TraceEntry
from analyzer.catalog import Trigger
from analyzer.findings import Entry, Finding, Severity
from analyzer.rules import Context, Rule, hops, walk_paths


class NoopUpdateTrigger(Rule):
    """An UPDATE row trigger that does its work even when nothing changed.

    Why it matters: upserts that re-send stored rows, ORMs that save every column and
    `UPDATE … SET x = x` all fire UPDATE row triggers. Without a WHEN clause, an UPDATE OF
    list or a change test in the body, the trigger's writes run for updates that change
    nothing.

    Bad:

        CREATE TRIGGER sync_stats AFTER UPDATE ON orders
            FOR EACH ROW EXECUTE FUNCTION refresh_customer_stats();

    Fix: `WHEN (OLD.* IS DISTINCT FROM NEW.*)` (or on the columns that matter), an
    `UPDATE OF col` list, or `IF NEW.col IS DISTINCT FROM OLD.col THEN … END IF` around the
    writes.
    """

    code = "RP105"
    name = "noop-update-trigger"
    severity = Severity.WARNING
    summary = "An UPDATE row trigger writes even for updates that change nothing"

    def check(self, ctx: Context) -> Iterable[Finding]:
        for table in sorted({t.table for t in ctx.catalog.triggers.values()}):
            candidates = [
                t
                for t in ctx.catalog.triggers_on(table)
                if t.level == "row"
                and "update" in t.events
                and t.when is None
                and not t.update_columns
                and t.enabled != "disabled"
            ]
            if not candidates:
                continue
            cascade = ctx.cascade(TraceEntry(table, "update", unchanged=True))
            reported: set[str] = set()
            for path in walk_paths(cascade.tree):
                trigger = path.last.ref
                if not isinstance(trigger, Trigger) or trigger not in candidates:
                    continue
                if trigger.key in reported:
                    continue
                # The first write this firing makes (anywhere below it) is the evidence.
                write_path = next(
                    (
                        inner
                        for inner in walk_paths(path.last)
                        if inner.last.kind == "statement" and inner.last.ref is not None
                    ),
                    None,
                )
                if write_path is None:
                    continue
                reported.add(trigger.key)
                node = write_path.last
                full_path = (*path.nodes(), *write_path.nodes()[1:])
                yield self.finding(
                    trigger.location,
                    f"{trigger.key} runs on every UPDATE of {table}, also when no value "
                    f"changes, and then writes {node.name}",
                    hint=(
                        "Add WHEN (OLD.* IS DISTINCT FROM NEW.*) (or compare the columns that "
                        "matter), an UPDATE OF list, or an IS DISTINCT FROM test around the "
                        "writes."
                    ),
                    subject=trigger.key,
                    path=hops(ctx.model, full_path),
                    entry=Entry(table, "update"),
                )
