from __future__ import annotations

from collections.abc import Iterable

from analyzer.cascade import TraceEntry
from analyzer.findings import Finding, Severity
from analyzer.rules import Context, Rule, hops
from rules._paths import entries_for, entry_of, on_row_level_path, write_paths


class HotRowContention(Rule):
    """Many source rows funnel into one shared row.

    Why it matters: a row-level trigger that updates one row of another table (a
    per-user or per-day counter, a parent's totals, a single-row stats table) makes every
    concurrent writer of that user, day or parent wait for the same row lock. Throughput
    collapses to one writer at a time and deadlocks appear under load.

    Bad:

        -- for every inserted message:
        UPDATE chat_sessions SET message_count = message_count + 1 WHERE id = NEW.session_id;

    Fix: append events to a table and aggregate them later (or periodically), update the
    shared row once per statement from a transition table, or shard the counter.
    """

    code = "RP104"
    name = "hot-row-contention"
    severity = Severity.NOTE
    summary = "A row-level cascade updates one shared row for many source rows"

    def check(self, ctx: Context) -> Iterable[Finding]:
        seen: set[object] = set()
        for point in entries_for(ctx, {"insert"}):
            cascade = ctx.cascade(TraceEntry(point.table, point.operation))
            source = ctx.catalog.tables.get(point.table)
            own_key = {f"new.{c}" for c in source.primary_key} if source else set()
            for path, write in write_paths(cascade):
                if write.kind not in {"update", "upsert"} or write.keyed_by == "set":
                    continue
                if write.table == point.table or not on_row_level_path(path):
                    continue
                # Keyed by the source row's whole primary key: one target row per source row.
                values = {value.lower().replace('"', "") for _, value in write.key_values}
                if own_key and own_key <= values:
                    continue
                if write.location in seen:
                    continue
                seen.add(write.location)
                shared = (
                    f"every row of {write.table}"
                    if write.keyed_by == "table"
                    else f"one shared {write.table} row"
                )
                yield self.finding(
                    write.location,
                    f"every {point.table} row inserted updates {shared}: "
                    "concurrent writers serialise on its row lock",
                    hint=(
                        "Append events and aggregate later, update once per statement from a "
                        "transition table, or shard the counter."
                    ),
                    subject=str(write.table),
                    path=hops(ctx.model, path),
                    entry=entry_of(point),
                )
