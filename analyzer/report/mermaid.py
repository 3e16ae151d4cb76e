"""`graph --format mermaid`: a `flowchart LR` that GitHub renders.

Every node gets a generated id (kind prefix + ASCII letters, digits and underscores), so
quotes, spaces, dots, brackets and non-ASCII in SQL names never reach Mermaid's syntax;
the real name goes into a quoted label where every character outside a small safe set is
written as a Mermaid entity (`#60;` for `<`). Findings' paths are drawn in red.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from analyzer.report.graph_view import GraphDocument, GraphEdge, iter_view_edges

_PREFIX = {
    "table": "tbl",
    "trigger": "trg",
    "function": "fn",
    "do": "do",
    "dynamic": "dyn",
    "unresolved": "unres",
}
_SHAPES = {
    "table": ('[("', '")]'),
    "trigger": ('{{"', '"}}'),
    "function": ('[["', '"]]'),
    "do": ('["', '"]'),
    "dynamic": ('[/"', '"/]'),
    "unresolved": ('>"', '"]'),
}
_ARROWS = {
    "fires": "-->",
    "executes": "-->",
    "writes": "==>",
    "reads": "-.->",
    "calls": "-->",
    "fk_cascade": "-.->",
}
_CLASSES = {
    "table": "fill:#e8f1fb,stroke:#2f6fb0,color:#0d2a4a",
    "trigger": "fill:#fff4e0,stroke:#c77700,color:#4a2c00",
    "function": "fill:#f3ecfb,stroke:#7a3fb5,color:#2e1247",
    "do": "fill:#eeeeee,stroke:#666666,color:#222222",
    "dynamic": "fill:#fdecec,stroke:#c62828,color:#4a0d0d",
    "unresolved": "fill:#fdecec,stroke:#c62828,color:#4a0d0d,stroke-dasharray:4 3",
}
_HIGHLIGHT = "stroke:#d32f2f,stroke-width:3px"
_SAFE = re.compile(r"[A-Za-z0-9 _.,:()\-/+=*?!@$^~']")


def escape_label(text: str) -> str:
    """Mermaid label text: safe characters as they are, everything else as `#NNN;`."""
    return "".join(c if _SAFE.fullmatch(c) else f"#{ord(c)};" for c in text)


def node_ids(document: GraphDocument) -> dict[str, str]:
    """Stable, unique Mermaid ids for every node of the document."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for node in document.nodes:
        rest = node.id.split(":", 1)[1] if ":" in node.id else node.id
        stem = re.sub(r"[^A-Za-z0-9]+", "_", rest).strip("_")[:60] or "x"
        candidate = f"{_PREFIX.get(node.kind, 'n')}_{stem}"
        number = 1
        unique = candidate
        while unique in used:
            number += 1
            unique = f"{candidate}_{number}"
        used.add(unique)
        ids[node.id] = unique
    return ids


def _edge_line(source: str, target: str, edge: GraphEdge) -> str:
    arrow = _ARROWS.get(edge.kind, "-->")
    label = f'|"{escape_label(edge.label)}"|' if edge.label else ""
    return f"{source} {arrow}{label} {target}"


def render(document: GraphDocument) -> str:
    ids = node_ids(document)
    nodes = {n.id: n for n in document.nodes}
    highlighted_nodes = {n for f in document.findings for n in f.highlight.nodes}
    highlighted_edges = {e for f in document.findings for e in f.highlight.edges}
    lines = ["flowchart LR"]
    by_class: dict[str, list[str]] = {}
    red_links: list[int] = []
    link = 0
    several = len(document.views) > 1
    for number, view in enumerate(document.views, 1):
        prefix = f"v{number}_" if several else ""
        indent = "    " if several else "  "
        if several:
            lines.append(f'  subgraph v{number}["{escape_label(view.title)}"]')
        for node_id in view.nodes:
            node = nodes[node_id]
            mid = prefix + ids[node_id]
            opening, closing = _SHAPES.get(node.kind, ('["', '"]'))
            lines.append(f"{indent}{mid}{opening}{escape_label(node.label)}{closing}")
            by_class.setdefault(node.kind, []).append(mid)
            if node_id in highlighted_nodes:
                by_class.setdefault("finding", []).append(mid)
        for edge in iter_view_edges(document, view):
            lines.append(
                indent + _edge_line(prefix + ids[edge.source], prefix + ids[edge.target], edge)
            )
            if edge.id in highlighted_edges:
                red_links.append(link)
            link += 1
        if several:
            lines.append("  end")
    for kind, style in _CLASSES.items():
        if kind in by_class:
            lines.append(f"  classDef k_{kind} {style}")
    if "finding" in by_class:
        lines.append(f"  classDef k_finding {_HIGHLIGHT}")
    for kind in [*_CLASSES, "finding"]:
        lines.extend(f"  class {chunk} k_{kind}" for chunk in _chunks(by_class.get(kind, [])))
    if red_links:
        lines.append(f"  linkStyle {','.join(str(i) for i in red_links)} {_HIGHLIGHT}")
    return "\n".join(lines) + "\n"


def _chunks(ids: list[str], size: int = 20) -> Iterable[str]:
    for start in range(0, len(ids), size):
        yield ",".join(ids[start : start + size])
