from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from analyzer.cascade import Cascade, Node, TraceEntry, totals_document
from analyzer.findings import Finding, Severity
from analyzer.rules import Context, EntryPoint, Rule, hops, subtree_nodes, walk_paths
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
        by_table: dict[str, list[tuple[EntryPoint, Cascade, int, int]]] = {}
        for point in entries_for(ctx, {"insert", "update", "delete", "upsert"}):
            cascade = ctx.cascade(TraceEntry(point.table, point.operation))
            # Per source row: statement-level work is shared by all rows of the statement.
            totals = totals_document(cascade.row_totals, 1)
            writes = int(str(totals["total_row_writes"]))
            depth = _trigger_depth(cascade.tree)
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
            parts = [f"{name} {sum(kinds.values())}" for name, kinds in sorted(breakdown.items())]
            operations = ", ".join(f"{h[0].operation.upper()} {h[2]}" for h in hits)
            message = (
                f"one {point.operation.upper()} of a {table} row costs {writes} row writes "
                f"per source row ({', '.join(parts)}) through a trigger chain {depth} deep; "
                f"per operation: {operations}"
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


def _trigger_depth(root: Node) -> int:
    """Most trigger firings nested on one path, by dynamic programming over the DAG."""
    depth: dict[int, int] = {}
    for node in reversed(list(subtree_nodes(root))):
        below = max((depth.get(id(c), 0) for c in node.children), default=0)
        depth[id(node)] = below + (1 if node.kind == "trigger" else 0)
    return depth.get(id(root), 0)


def _writes_below(node: Node) -> int:
    return sum(1 for n in subtree_nodes(node) if n.kind == "write")


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
    return max(candidates, key=lambda n: (_writes_below(n), -candidates.index(n)))


def _path_to(root: Node, target: Node) -> tuple[Node, ...]:
    for path in walk_paths(root):
        if path.last is target:
            return path.nodes()
    return (root,)
