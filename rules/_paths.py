"""Helpers the built-in rules share: cascade paths and what they touch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from analyzer.cascade import Cascade, Node
from analyzer.catalog import Function, Trigger
from analyzer.effects import Write
from analyzer.findings import Entry
from analyzer.rules import Context, EntryPoint, walk_paths

PAST = {
    "insert": "inserted",
    "update": "updated",
    "delete": "deleted",
    "upsert": "upserted",
    "truncate": "truncated",
    "merge": "merged",
}
# Which operation to name first when several cost the same: the most specific pattern.
OPERATION_ORDER = {"upsert": 0, "update": 1, "insert": 2, "delete": 3, "merge": 4, "truncate": 5}


def write_paths(cascade: Cascade) -> Iterator[tuple[Sequence[Node], Write]]:
    """Every path of the tree that ends at a write statement made by a body."""
    for path in walk_paths(cascade.tree):
        ref = path[-1].ref
        if isinstance(ref, Write) and path[-1].kind == "statement":
            yield path, ref


def triggers_on(path: Sequence[Node]) -> list[Trigger]:
    return [n.ref for n in path if isinstance(n.ref, Trigger)]


def on_row_level_path(path: Sequence[Node]) -> bool:
    return any(t.level == "row" for t in triggers_on(path))


def entry_of(point: EntryPoint) -> Entry:
    return Entry(point.table, point.operation)


def entries_for(ctx: Context, operations: set[str]) -> list[EntryPoint]:
    """Declared entries first, then the rest, each group in name order; entries on tables
    defined elsewhere (a platform's auth.users) after the input's own, so that a finding
    reached from both names the write the application makes."""
    chosen = [e for e in ctx.entries if e.operation in operations]
    return sorted(
        chosen,
        key=lambda e: (
            not e.declared,
            e.table not in ctx.catalog.tables,
            e.table,
            OPERATION_ORDER.get(e.operation, 9),
        ),
    )


def reachable_functions(ctx: Context, start: Function) -> list[Function]:
    """`start` and every function it calls, transitively (resolved calls only)."""
    return ctx.model.reachable_functions(start)
