from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from analyzer.cascade import UNBOUNDED, Cascade, Node, TraceEntry, bounded_sum, totals_document
from analyzer.findings import Finding, Severity
from analyzer.rules import Context, EntryPoint, Rule, hops, walk_paths
from rules._paths import OPERATION_ORDER, entries_for, entry_of


class WriteAmplification(Rule):
    """One application write that turns into many row writes.

    Why it matters: each row write costs WAL, index maintenance, locks and replication
    traffic. A trigger chain that multiplies one insert into four or five row writes
    multiplies the database's write load by the same factor, invisibly, and a bulk sync of
    a thousand rows becomes thousands of writes.

    Bad:

        -- one INSERT INTO messages fires: UPDATE sessions (+ its updated_at trigger),
        -- an upsert of usage_daily and an UPDATE of profiles: 4 row writes per message.

    Fix: do the derived work once per statement (a statement-level trigger with a
    transition table), or asynchronously (a queue table drained by a job), or drop
    derived counters the application can compute on read.

    Not reported: a write whose cascade fires no trigger (ON DELETE CASCADE alone): that
    cleanup is what the schema declares, and none of the fixes applies to it. Once a
    trigger fires on the way, the FK actions' rows count with the rest.

    Options: `max_row_writes` (default 3) and `max_depth` (default 3): findings start at
    these figures per source row.
    """

    code = "RP102"
    name = "write-amplification"
    severity = Severity.WARNING
    summary = "One write costs many row writes or a deep trigger chain"
    options: ClassVar[Mapping[str, Any]] = {"max_row_writes": 3, "max_depth": 3}

    def check(self, ctx: Context) -> Iterable[Finding]:
        limit_writes = int(self.settings["max_row_writes"])
        limit_depth = int(self.settings["max_depth"])
        by_table: dict[str, list[tuple[EntryPoint, Cascade, float, int]]] = {}
        for point in entries_for(ctx, {"insert", "update", "delete", "upsert"}):
            cascade = ctx.cascade(TraceEntry(point.table, point.operation))
            # Per source row: statement-level work is shared by all rows of the statement.
            writes = _nominal_writes(cascade)
            depth = ctx.trigger_depth(cascade.tree)
            if depth == 0:
                continue  # FK actions alone: the schema's declared cleanup, no trigger's
            if writes >= limit_writes or depth >= limit_depth:
                by_table.setdefault(point.table, []).append((point, cascade, writes, depth))
        for table in sorted(by_table):
            hits = sorted(
                by_table[table],
                key=lambda h: (not h[0].declared, -h[2], -h[3], OPERATION_ORDER[h[0].operation]),
            )
            point, cascade, writes, depth = hits[0]
            heaviest = _heaviest_trigger(cascade.tree)
            if heaviest is None:
                continue
            location = heaviest.location
            if location is None:
                continue
            totals = totals_document(cascade.row_totals, 1)
            breakdown = totals["row_writes"]
            assert isinstance(breakdown, dict)
            parts = [
                f"{name} {_count(bounded_sum(kinds.values()))}"
                for name, kinds in sorted(breakdown.items())
            ]
            operations = ", ".join(f"{h[0].operation.upper()} {_count(h[2])}" for h in hits)
            loops = _loops_in(cascade.tree)
            message = (
                f"one {point.operation.upper()} of a {table} row"
                + (" (a table not defined in the input)" if table not in ctx.catalog.tables else "")
                + f" costs {_count(writes)}"
                + " row writes per source row"
                + (
                    ", counting one row where a count has no upper bound (a set-based write, "
                    "a loop or an FK action down a tree of rows may touch any number)"
                    if cascade.row_totals.upper_total("write") == UNBOUNDED
                    else ""
                )
                + f" ({', '.join(parts)}) through a trigger chain {depth} "
                f"deep; per operation: {operations}"
                + (f"; in loops that run once per {'; per '.join(loops)}" if loops else "")
            )
            path = _path_to(cascade.tree, heaviest)
            yield self.finding(
                location,
                message,
                hint=(
                    "Do the derived work once per statement (a statement-level trigger with "
                    "a transition table) or asynchronously, or compute the figures on read."
                ),
                subject=table,
                path=hops(ctx.model, path),
                entry=entry_of(point),
            )


def _nominal_writes(cascade: Cascade) -> float:
    """Row writes per source row, where a count with no upper bound (a set-based write
    touches as many rows as match; a loop runs per element) adds one row to its certain
    ones, as an FK action counts one child: an unbounded figure alone says nothing about
    amplification, and a trigger's `DELETE … WHERE parent_id = OLD.id` is the cleanup
    ON DELETE CASCADE does."""
    tally = cascade.row_totals
    total = tally.upper_total("write")
    if total != UNBOUNDED:
        return total
    return sum(
        lo + 1 if hi == UNBOUNDED else hi
        for key, (lo, hi) in tally.counts.items()
        if key[0] == "write"
    )


def _count(writes: float | None) -> str:
    """A per-row figure; a set-based write's rows have no upper bound."""
    if writes is None or writes == UNBOUNDED:
        return "unbounded"
    return str(int(writes))


def _loops_in(root: Node) -> list[str]:
    """What the loops that repeat writes in the cascade go round, in tree order."""
    found: list[str] = []
    stack = [root]
    seen = {id(root)}
    while stack:
        node = stack.pop()
        if not node.iterations.once and node.iterations.per not in found:
            found.append(node.iterations.per)
        for child in reversed(node.children):
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return found


def _writes_below(root: Node) -> int:
    """Row write nodes in the subtree, each counted once."""
    count = 0
    stack = [root]
    seen = {id(root)}
    while stack:
        node = stack.pop()
        count += node.kind == "write"
        for child in node.children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return count


def _heaviest_trigger(root: Node) -> Node | None:
    """The first trigger or FK action on the path whose subtree holds the most row writes."""
    candidates: list[Node] = []
    stack = [root]
    seen = {id(root)}
    while stack:
        node = stack.pop()
        if node.kind in {"trigger", "fk"} and node is not root:
            candidates.append(node)  # the first firing on its path: do not look inside
            continue
        for child in reversed(node.children):
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    if not candidates:
        return None
    # the first of the heaviest (enumerate: list.index made this quadratic on big trees)
    return max(enumerate(candidates), key=lambda c: (_writes_below(c[1]), -c[0]))[1]


def _path_to(root: Node, target: Node) -> tuple[Node, ...]:
    for path in walk_paths(root):
        if path.last is target:
            return path.nodes()
    return (root,)
