from __future__ import annotations

from collections.abc import Iterable

from analyzer.cascade import TraceEntry
from analyzer.effects import Read, index_probe, probe_index
from analyzer.findings import Finding, Severity
from analyzer.rules import Context, Rule, hops, walk_paths
from rules._paths import PAST, entries_for, entry_of, on_row_level_path


class AggregateRecompute(Rule):
    """A row trigger that recomputes an aggregate over every row of the parent.

    Why it matters: `SELECT count(*), sum(x) FROM items WHERE order_id = NEW.order_id`
    in a row-level trigger scans all the parent's rows for every row written: O(rows in
    the parent) per row, O(n²) for a bulk write, and it grows as the data grows.

    Bad:

        SELECT count(*), sum(total_tokens) INTO v_count, v_tokens
          FROM chat_messages WHERE session_id = NEW.session_id;

    Fix: maintain the figures from deltas (`+ 1` on insert, `- 1` on delete,
    `+ (NEW.x - OLD.x)` on update), or recompute once per statement in a statement-level
    trigger with a transition table (`REFERENCING NEW TABLE AS …`).

    Not reported: MIN or MAX alone (`SELECT max(number) + 1 FROM tickets WHERE project_id
    = NEW.project_id`) where a btree index leads with the columns the WHERE fixes by
    equality, then the aggregated column (`UNIQUE (project_id, number)`): PostgreSQL reads
    one index entry instead of the rows. Without that index the finding names it.
    """

    code = "RP103"
    name = "aggregate-recompute"
    severity = Severity.WARNING
    summary = "A row-level trigger recomputes an aggregate over the parent's rows"

    def check(self, ctx: Context) -> Iterable[Finding]:
        seen: set[object] = set()
        for point in entries_for(ctx, {"insert", "update", "delete", "upsert"}):
            cascade = ctx.cascade(TraceEntry(point.table, point.operation))
            for path in walk_paths(cascade.tree):
                read = path[-1].ref
                if not isinstance(read, Read) or not read.aggregates:
                    continue
                if read.keyed_by == "row" or not on_row_level_path(path):
                    continue
                table = ctx.catalog.tables.get(read.table)
                if table is None or index_probe(read, table):
                    continue
                fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
                keyed_to_parent = bool(set(read.key_columns) & fk_columns)
                if not keyed_to_parent and read.keyed_by != "table":
                    continue
                if read.location in seen:
                    continue
                seen.add(read.location)
                scope = (
                    f"all {read.table} rows with the same {', '.join(read.key_columns)}"
                    if keyed_to_parent
                    else f"every row of {read.table}"
                )
                times = "" if read.iterations.once else f"{read.iterations} "
                hint = (
                    "Maintain the figures from deltas (+1/-1, NEW.x - OLD.x), or "
                    "recompute once per statement in a statement-level trigger with a "
                    "transition table."
                )
                if read.extremes:
                    indexes = " and ".join(
                        f"{read.table} ({', '.join(probe_index(read, e))})" for e in read.extremes
                    )
                    hint = f"A btree index on {indexes} makes it one index probe per row."
                yield self.finding(
                    read.location,
                    f"{', '.join(a.upper() for a in read.aggregates)} over {scope} runs "
                    f"{times}for every {point.table} row {PAST[point.operation]}: O(n) per "
                    "row, O(n²) for a bulk write",
                    hint=hint,
                    subject=read.table,
                    path=hops(ctx.model, path),
                    entry=entry_of(point),
                )
