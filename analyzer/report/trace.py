"""`sqlripple trace` output: a rich tree and totals table, or the JSON contract."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from analyzer.cascade import Cascade, Node, totals_document, trace_document

_STYLES = {
    "statement": "bold",
    "trigger": "cyan",
    "function": "magenta",
    "write": "green",
    "read": "yellow",
    "fk": "blue",
    "cycle": "red",
    "unknown": "red",
    "stop": "red",
}


def render_json(cascade: Cascade) -> str:
    return json.dumps(trace_document(cascade), indent=2) + "\n"


def _label(node: Node) -> Text:
    text = Text()
    text.append(f"{node.kind} ", style="dim")
    text.append(node.name, style=_STYLES.get(node.kind, ""))
    if node.detail:
        text.append(f"  {node.detail}")
    if node.multiplicity:
        text.append(f"  ({node.multiplicity})", style="dim")
    if not node.certain:
        text.append("  [maybe]", style="yellow")
    if node.location:
        text.append(f"  {node.location.path}:{node.location.line}", style="dim")
    return text


def _branch(tree: Tree, node: Node, seen: set[int], depth: int) -> None:
    branch = tree.add(_label(node))
    if id(node) in seen and node.children:
        branch.add(Text("… shown above", style="dim"))
        return
    seen.add(id(node))
    if depth > 60:
        branch.add(Text("… cascade deeper than 60 levels not shown", style="dim"))
        return
    for child in node.children:
        _branch(branch, child, seen, depth + 1)


def _flatten(document: dict[str, Any]) -> dict[tuple[str, str], int | None]:
    """The totals as (what, name) -> count; None is unbounded (a set-based write's rows)."""
    flat: dict[tuple[str, str], int | None] = {}
    for name, count in document["trigger_firings"].items():
        flat[("trigger", name)] = count
    for name, count in document["function_calls"].items():
        flat[("function", name)] = count
    for table, kinds in document["row_writes"].items():
        for kind, count in kinds.items():
            if count != 0:
                flat[(f"{kind} rows", table)] = count
    flat[("aggregate scans", "")] = document["aggregate_scans"]
    flat[("row writes", "total")] = document["total_row_writes"]
    return flat


def render_text(cascade: Cascade) -> RenderableType:
    tree = Tree(_label(cascade.tree))
    seen: set[int] = set()
    for child in cascade.tree.children:
        _branch(tree, child, seen, 1)
    rows = cascade.entry.rows
    columns = [(1, "per source row")] + ([(rows, f"for {rows} rows")] if rows != 1 else [])
    bounds = [
        (
            _flatten(totals_document(cascade.totals(n), 0)),
            _flatten(totals_document(cascade.totals(n), 1)),
        )
        for n, _ in columns
    ]
    table = Table(
        title="What one write costs (min..max where guards cannot be decided)", title_justify="left"
    )
    table.add_column("what")
    table.add_column("name")
    for _, heading in columns:
        table.add_column(heading, justify="right")
    for key in bounds[0][1]:
        cells = [_range(low.get(key, 0), high.get(key, 0)) for low, high in bounds]
        table.add_row(key[0], key[1], *cells)
    parts: list[RenderableType] = [tree]
    for error in cascade.errors:
        verdict = "the statement fails" if error.certain else "the statement may fail"
        parts.append(Text(f"{verdict}: {error.describe()}", style="red"))
    if cascade.fails == "certainly":
        table.title = "The statement fails and is rolled back; what it costs up to then (min..max)"
    parts.append(table)
    if any(high.get(key, 0) is None for _, high in bounds for key in high):
        parts.append(
            Text(
                "∞: no upper bound: a set-based write (WHERE not on a unique key, no WHERE, "
                "a source no unique key pins) touches as many rows as it matches, and each"
                " one cascades;"
                " a loop (FOREACH over an array, FOR over a query's rows, WHILE, LOOP) runs"
                " its body as many times as it goes round; an FK action that comes back to"
                " its own table (a tree of replies or categories) goes as deep as the rows",
                style="yellow",
            )
        )
    for cycle in cascade.cycles:
        how = ("broken by " + "; ".join(cycle.guards)) if cycle.guards else "nothing breaks it"
        parts.append(Text(f"cycle: {' -> '.join(cycle.frames)} ({how})", style="red"))
    for unknown in cascade.unknowns:
        where = f" at {unknown.location.path}:{unknown.location.line}" if unknown.location else ""
        parts.append(Text(f"unknown: {unknown.reason}: {unknown.name}{where}", style="yellow"))
    return Group(*parts)


def _range(low: int | None, high: int | None) -> str:
    shown = "∞" if high is None else str(high)
    return shown if low == high else f"{low}..{shown}"
