"""`graph --format dot` and `--format svg`: Graphviz, one node shape per kind.

Node ids are the model's node keys as DOT strings; every string is escaped for DOT
(backslash, quote, line breaks) and labels also for Graphviz's entity handling (`&`), so
no SQL name can end a string or inject attributes. `svg` runs Graphviz's `dot`, whose SVG
writer escapes the text it emits.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from analyzer.report.graph_view import GraphDocument, GraphEdge, GraphNode, iter_view_edges

_NODE_STYLE: dict[str, dict[str, str]] = {
    "table": {"shape": "cylinder", "fillcolor": "#e8f1fb", "color": "#2f6fb0"},
    "trigger": {"shape": "hexagon", "fillcolor": "#fff4e0", "color": "#c77700"},
    "function": {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": "#f3ecfb",
        "color": "#7a3fb5",
    },
    "do": {"shape": "box", "fillcolor": "#eeeeee", "color": "#666666"},
    "dynamic": {"shape": "octagon", "fillcolor": "#fdecec", "color": "#c62828"},
    "unresolved": {
        "shape": "box",
        "style": "dashed,filled",
        "fillcolor": "#fdecec",
        "color": "#c62828",
    },
}
_EDGE_STYLE: dict[str, dict[str, str]] = {
    "fires": {"color": "#c77700"},
    "executes": {"color": "#7a3fb5"},
    "writes": {"color": "#2e7d32", "penwidth": "1.6"},
    # A read does not order the cascade: leaving it out of the ranking keeps entry
    # tables on the left instead of pulling the tables a function reads after it.
    "reads": {"color": "#8d8d8d", "style": "dashed", "constraint": "false"},
    "calls": {"color": "#7a3fb5", "style": "dotted"},
    "fk_cascade": {"color": "#2f6fb0", "style": "dashed"},
}
_HIGHLIGHT = {"color": "#d32f2f", "penwidth": "3"}


class GraphvizMissing(RuntimeError):
    """Graphviz's `dot` is not installed."""


# Control characters and bidirectional overrides (XML cannot carry most of them, and the
# SVG is XML) become visible escapes such as \x1b; line breaks stay.
_HIDDEN = re.compile(
    "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def quote(text: str) -> str:
    """A DOT double-quoted string holding `text` (control characters made visible)."""
    text = _HIDDEN.sub(_visible, text)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{escaped}"'


def _attributes(attributes: dict[str, str]) -> str:
    return ", ".join(f"{key}={quote(value)}" for key, value in attributes.items())


def _node_line(node: GraphNode, node_id: str, highlighted: bool) -> str:
    where = f"\n{node.location.path}:{node.location.line}" if node.location else ""
    attributes = {
        "label": node.label,
        **_NODE_STYLE.get(node.kind, {"shape": "box"}),
        "tooltip": f"{node.kind} {node.name}{where}",
        **(_HIGHLIGHT if highlighted else {}),
    }
    return f"{quote(node_id)} [{_attributes(_label_entities(attributes))}];"


def _edge_line(edge: GraphEdge, source: str, target: str, highlighted: bool) -> str:
    attributes = {
        **({"label": edge.label} if edge.label else {}),
        **_EDGE_STYLE.get(edge.kind, {}),
        **(_HIGHLIGHT if highlighted else {}),
    }
    return f"{quote(source)} -> {quote(target)} [{_attributes(_label_entities(attributes))}];"


def _entities(text: str) -> str:
    """Graphviz reads HTML entities in labels and tooltips: write `&` as one."""
    return text.replace("&", "&amp;")


def _label_entities(attributes: dict[str, str]) -> dict[str, str]:
    return {
        key: _entities(value) if key in {"label", "tooltip"} else value
        for key, value in attributes.items()
    }


def render(document: GraphDocument) -> str:
    nodes = {n.id: n for n in document.nodes}
    red_nodes = {n for f in document.findings for n in f.highlight.nodes}
    red_edges = {e for f in document.findings for e in f.highlight.edges}
    lines = [
        "digraph sqlripple {",
        f"  graph [rankdir=LR, fontname=Helvetica, fontsize=11, labelloc=t, "
        f"label={quote(_entities(f'{document.title}: {document.scope}'))}];",
        '  node [fontname=Helvetica, fontsize=10, style=filled, margin="0.15,0.06"];',
        "  edge [fontname=Helvetica, fontsize=9, arrowsize=0.7];",
    ]
    several = len(document.views) > 1
    for number, view in enumerate(document.views, 1):
        indent = "    " if several else "  "
        prefix = f"{number}:" if several else ""
        if several:
            lines.append(f"  subgraph {quote(f'cluster_{number}')} {{")
            lines.append(f"    label={quote(_entities(view.title))};")
        for node_id in view.nodes:
            lines.append(
                indent + _node_line(nodes[node_id], prefix + node_id, node_id in red_nodes)
            )
        for edge in iter_view_edges(document, view):
            lines.append(
                indent
                + _edge_line(edge, prefix + edge.source, prefix + edge.target, edge.id in red_edges)
            )
        if several:
            lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot_text: str) -> str:
    """SVG from Graphviz's `dot`; raises GraphvizMissing when it is not installed."""
    executable = shutil.which("dot")
    if executable is None:
        raise GraphvizMissing(
            "Graphviz's `dot` is not installed: install Graphviz (Debian/Ubuntu: "
            "`apt-get install graphviz`, macOS: `brew install graphviz`) or use --format dot"
        )
    done = subprocess.run(
        [executable, "-Tsvg"],
        input=dot_text.encode("utf-8"),
        capture_output=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dot failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout.decode("utf-8")
