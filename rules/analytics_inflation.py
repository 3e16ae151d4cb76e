from __future__ import annotations

from collections.abc import Iterable, Sequence

from analyzer.cascade import Node, TraceEntry
from analyzer.catalog import Trigger
from analyzer.effects import Write
from analyzer.findings import Finding, Hop, Location, Severity
from analyzer.rules import Context, EntryPoint, Rule, hops
from rules._paths import entries_for, entry_of, triggers_on, write_paths


class AnalyticsInflation(Rule):
    """Counters that count again when nothing new happened.

    Why it matters: an accumulation (`n = n + 1`, `total = t.total + EXCLUDED.total`, a JSONB
    counter rebuilt from its old value, an append to a log table) that runs on an UPDATE
    also runs for updates that change nothing, and for every row an upsert re-sends: the
    `INSERT … ON CONFLICT DO UPDATE` conflict path fires UPDATE row triggers, and BEFORE
    INSERT row triggers run for every proposed row, including those that end as updates.
    Usage figures, billing and analytics then inflate with every re-sync.

    Bad:

        CREATE TRIGGER on_message_change AFTER INSERT OR UPDATE ON messages
            FOR EACH ROW EXECUTE FUNCTION track_usage();
        -- track_usage(): UPDATE usage SET sent = sent + 1 WHERE user_id = NEW.user_id;

    Fix: confine the side effect to real inserts (an AFTER INSERT trigger, or
    `IF TG_OP = 'INSERT'` inside an AFTER trigger), or to real changes
    (`WHEN (OLD.* IS DISTINCT FROM NEW.*)` or `IF NEW.x IS DISTINCT FROM OLD.x`), or
    maintain the figure from deltas (`n = n + (NEW.x - OLD.x)`) or by recomputation.
    """

    code = "RP101"
    name = "analytics-inflation"
    severity = Severity.WARNING
    summary = "An accumulating write runs again for updates and upsert re-sends"

    def check(self, ctx: Context) -> Iterable[Finding]:
        reached: dict[tuple[Location, str | None], tuple[EntryPoint, Sequence[Node], Write]] = {}
        others: dict[tuple[Location, str | None], list[EntryPoint]] = {}
        scenarios = [
            # The re-send that changes nothing: change guards and WHEN clauses decide.
            (point, TraceEntry(point.table, point.operation, unchanged=True))
            for point in entries_for(ctx, {"update", "upsert"})
        ]
        # INSERT … ON CONFLICT DO NOTHING still runs BEFORE INSERT triggers for a conflict.
        scenarios += [
            (EntryPoint(table, "upsert"), TraceEntry(table, "upsert", do_nothing=True))
            for table in sorted(ctx.insert_or_ignore_tables)
        ]
        for point, entry in scenarios:
            for path, write in write_paths(ctx.cascade(entry)):
                if not (write.accumulations or write.appends):
                    continue
                key = (write.location, write.table)
                if key in reached:
                    others.setdefault(key, []).append(point)
                    continue
                reached[key] = (point, path, write)
        for key, (point, path, write) in sorted(reached.items(), key=lambda kv: str(kv[0])):
            also = [p for p in others.get(key, []) if p != point]
            yield self._finding(ctx, point, also, path, write)

    def _finding(
        self,
        ctx: Context,
        point: EntryPoint,
        also: list[EntryPoint],
        path: Sequence[Node],
        write: Write,
    ) -> Finding:
        columns = [a.column for a in write.accumulations] or ["(appended row)"]
        counters = ", ".join(f"{write.table}.{c}" for c in columns)
        how = (
            "an upsert that hits an existing row (the conflict path)"
            if point.operation == "upsert"
            else "an UPDATE"
        )
        triggers = triggers_on(path)
        before_insert = next(
            (t for t in triggers if t.timing == "before" and "insert" in t.events), None
        )
        hint = _hint(before_insert, triggers)
        message = (
            f"{counters} accumulate on {how} of {point.table}, even when nothing changed: "
            f"every re-sent or unchanged row counts again"
        )
        if also:
            message += (
                " (also reached from " + ", ".join(f"{p.operation} {p.table}" for p in also) + ")"
            )
        declared = ctx.is_declared(point.table, point.operation) or any(
            ctx.is_declared(p.table, p.operation) for p in also
        )
        path_hops: tuple[Hop, ...] = hops(ctx.model, path)
        return self.finding(
            write.location,
            message,
            hint=hint,
            subject=counters,
            path=path_hops,
            entry=entry_of(point),
            severity=Severity.ERROR if declared else None,
        )


def _hint(before_insert: Trigger | None, triggers: list[Trigger]) -> str:
    if before_insert is not None:
        return (
            f"{before_insert.key} is a BEFORE INSERT trigger: it runs for every row an upsert "
            "proposes, including rows that end as updates. Move the side effect to an AFTER "
            "INSERT trigger (or guard it with TG_OP = 'INSERT' inside an AFTER trigger)."
        )
    names = ", ".join(t.key for t in triggers if "update" in t.events) or "the trigger"
    return (
        f"{names} runs on UPDATE. Count only real inserts (an AFTER INSERT trigger, or "
        "IF TG_OP = 'INSERT' in an AFTER trigger), or only real changes "
        "(WHEN (OLD.* IS DISTINCT FROM NEW.*)), or maintain the figure from deltas "
        "(NEW.x - OLD.x) or by recomputation."
    )
