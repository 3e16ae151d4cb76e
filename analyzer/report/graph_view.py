"""What a graph drawing shows, as plain data every graph format renders.

The scope is the whole schema (small schemas), the undirected neighbourhood of a focus
object, the nodes and edges one entry's cascade visits, or — above `NODE_LIMIT` nodes —
one subgraph per finding. Findings' paths are mapped onto node and edge ids so that
every format can highlight them. Everything here is built from the model once; the
renderers see only `GraphDocument` and never the engine.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
from sqlglot import exp

from analyzer.analysis import Result
from analyzer.cascade import OPERATIONS, Cascade, Node, TraceEntry, Tracer
from analyzer.catalog import Catalog, Function, Trigger
from analyzer.effects import CallEffect, DynamicEffect, Read, Write
from analyzer.findings import Finding, Hop, Location
from analyzer.graph import Model, function_node, table_node, trigger_node
from analyzer.guards import Guard

NODE_LIMIT = 150
EXCERPT_LINES = 80
LABEL_LENGTH = 48
KINDS = ("table", "trigger", "function", "do", "dynamic", "unresolved")
EDGE_KINDS = ("fires", "executes", "writes", "reads", "calls", "fk_cascade")


class ScopeError(ValueError):
    """A --focus or --entry that names nothing in the schema."""


@dataclass(frozen=True)
class GraphNode:
    id: str  # the model's node key
    kind: str
    name: str
    label: str  # short display text; `name` is the full qualified name
    location: Location | None
    attrs: Mapping[str, Any]  # every other model attribute, as plain data
    excerpt: str | None = None  # the SQL the object was defined by
    effects: tuple[Mapping[str, str], ...] = ()  # what a function body does, with guards


@dataclass(frozen=True)
class GraphEdge:
    id: str
    source: str
    target: str
    key: int
    kind: str
    label: str
    attrs: Mapping[str, Any]  # every other model attribute, as plain data


@dataclass(frozen=True)
class Highlight:
    """A set of nodes and edges to light up together: a finding's path or a cascade."""

    nodes: tuple[str, ...]
    edges: tuple[str, ...]


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    highlight: Highlight


@dataclass(frozen=True)
class View:
    title: str
    nodes: tuple[str, ...]
    edges: tuple[str, ...]
    finding: int | None = None  # the index in GraphDocument.findings this view is for


@dataclass(frozen=True)
class GraphDocument:
    title: str
    scope: str
    nodes: tuple[GraphNode, ...]  # sorted by id; the union of the views
    edges: tuple[GraphEdge, ...]  # sorted by (source, target, key)
    views: tuple[View, ...]
    findings: tuple[FindingView, ...]  # the findings whose path touches a shown node


# ---- plain data ----------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """JSON-ready data: locations and effects become dicts, sets sorted lists, SQL text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Location):
        return value.to_dict()
    if isinstance(value, Guard):
        return str(value)
    if isinstance(value, exp.Expr):
        return value.sql(dialect="postgres")
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.metadata.get("internal")
        }
        return {"type": type(value).__name__, **fields}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)


def edge_id(source: str, target: str, key: int) -> str:
    return f"{source}|{target}|{key}"


def function_label_name(name: str, args: Sequence[str]) -> str:
    """`public.f(uuid,text)` without its argument list (a quoted name may hold parentheses)."""
    suffix = f"({','.join(args)})"
    return name[: -len(suffix)] if name.endswith(suffix) else name


def _short(text: str) -> str:
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"


def node_label(attrs: Mapping[str, Any]) -> str:
    """Short display text: no `public.` schema, no argument types, no trigger table."""
    kind, name = attrs["kind"], str(attrs["name"])
    if kind in {"table", "function"} and name.startswith("public."):
        name = name[len("public.") :]
    if kind == "trigger":
        table = str(attrs.get("table", ""))
        return _short(name[len(table) + 1 :] if name.startswith(table + ".") else name)
    if kind == "function":
        args = list(attrs.get("args") or [])
        return _short(f"{function_label_name(name, args)}({'…' if args else ''})")
    if kind == "unresolved":
        return _short(f"? {name}")
    if kind == "dynamic":
        return _short(f"EXECUTE {' '.join(name.split())}")
    return _short(name)


def edge_label(attrs: Mapping[str, Any]) -> str:
    kind = attrs["kind"]
    if kind == "fires":
        events = "/".join(str(e).upper() for e in attrs.get("events") or [])
        label = f"{str(attrs.get('timing', '')).upper()} {events}"
        if attrs.get("columns"):
            label += " OF " + ", ".join(attrs["columns"])
        if attrs.get("level") == "statement":
            label += " (statement)"
        if attrs.get("when"):
            label += " WHEN …"
        return _short(label)
    effect = attrs.get("effect")
    if kind == "writes" and isinstance(effect, Write):
        return effect.kind + (" +=" if effect.accumulations else "")
    if kind == "reads" and isinstance(effect, Read):
        return "reads " + ", ".join(effect.aggregates) if effect.aggregates else "reads"
    if kind == "calls":
        return "calls"
    if kind == "fk_cascade":
        return f"ON {str(attrs.get('event', '')).upper()} {str(attrs.get('action', '')).upper()}"
    if kind == "executes" and isinstance(effect, DynamicEffect):
        return "EXECUTE"
    return ""


def _effect_summary(kind: str, target: str, effect: Any) -> str:
    if isinstance(effect, Write):
        text = f"{effect.kind} {target}"
        if effect.columns:
            text += f" ({', '.join(effect.columns)})"
        if effect.accumulations:
            text += "; accumulates " + ", ".join(
                f"{a.column} = {a.expression}" for a in effect.accumulations
            )
        return text
    if isinstance(effect, Read):
        what = f"{', '.join(effect.aggregates)} over " if effect.aggregates else ""
        return f"reads {what}{target} (by {effect.keyed_by})"
    if isinstance(effect, CallEffect):
        arguments = ", ".join(effect.arguments)
        return f"calls {effect.display_name}({arguments})"
    if isinstance(effect, DynamicEffect):
        return f"EXECUTE {effect.text or '(text known only at run time)'}"
    return f"{kind} {target}"


def _excerpt(catalog: Catalog, location: Location | None) -> str | None:
    if location is None:
        return None
    source = next((f for f in catalog.files if f.path == location.path and not f.origin), None)
    if source is None:
        return None
    lines = source.text.splitlines()[location.line - 1 : location.end_line]
    if len(lines) > EXCERPT_LINES:
        hidden = len(lines) - EXCERPT_LINES
        lines = [*lines[:EXCERPT_LINES], f"-- … {hidden} more lines in {location.path}"]
    return "\n".join(lines) if lines else None


def _graph_node(model: Model, node_id: str) -> GraphNode:
    graph = model.graph
    attrs = graph.nodes[node_id]
    effects = []
    for _, target, key, data in sorted(graph.out_edges(node_id, keys=True, data=True)):
        effect = data.get("effect")
        if effect is None:
            continue
        target_name = str(graph.nodes[target]["name"])
        guard = effect.guard
        effects.append(
            {
                "kind": str(data["kind"]),
                "target": target,
                "edge": edge_id(node_id, target, key),
                "summary": _effect_summary(str(data["kind"]), target_name, effect),
                "guard": "" if guard.is_always else str(guard),
                "location": str(effect.location),
            }
        )
    return GraphNode(
        id=node_id,
        kind=str(attrs["kind"]),
        name=str(attrs["name"]),
        label=node_label(attrs),
        location=attrs.get("location"),
        attrs={
            k: plain(v) for k, v in sorted(attrs.items()) if k not in {"kind", "name", "location"}
        },
        excerpt=_excerpt(model.catalog, attrs.get("location")),
        effects=tuple(effects),
    )


def _graph_edge(source: str, target: str, key: int, attrs: Mapping[str, Any]) -> GraphEdge:
    return GraphEdge(
        id=edge_id(source, target, key),
        source=source,
        target=target,
        key=key,
        kind=str(attrs["kind"]),
        label=edge_label(attrs),
        attrs={k: plain(v) for k, v in sorted(attrs.items()) if k != "kind"},
    )


# ---- mapping findings and cascades onto the graph -----------------------------------------


def _edges_between(
    graph: nx.MultiDiGraph, source: str, target: str, kind: str
) -> list[tuple[int, dict[str, Any]]]:
    if not graph.has_edge(source, target):
        return []
    found = graph.get_edge_data(source, target)
    return [(k, d) for k, d in sorted(found.items()) if d["kind"] == kind]


def _function_nodes(graph: nx.MultiDiGraph, name: str) -> list[str]:
    return sorted(
        n
        for n, d in graph.nodes(data=True)
        if d["kind"] == "function"
        and function_label_name(str(d["name"]), list(d.get("args") or [])) == name
    )


def _hop_candidates(model: Model, hop: Hop) -> list[str]:
    graph = model.graph
    if hop.kind in {"table", "write", "read", "fk"}:
        node = table_node(hop.name)
        return [node] if node in graph else []
    if hop.kind == "trigger":
        node = f"trigger:{hop.name}"
        return [node] if node in graph else []
    if hop.kind == "function":
        return _function_nodes(graph, hop.name)
    if hop.kind == "unknown":
        return sorted(
            n
            for n, d in graph.nodes(data=True)
            if (d["kind"] in {"unresolved", "dynamic"} and d.get("location") == hop.location)
            or (d["kind"] == "unresolved" and d["name"] == hop.name)
        )
    return []


_HOP_EDGE = {
    ("table", "trigger"): "fires",
    ("trigger", "function"): "executes",
    ("function", "function"): "calls",
    ("function", "write"): "writes",
    ("function", "read"): "reads",
    ("function", "unknown"): "calls",
    ("table", "fk"): "fk_cascade",
    ("fk", "fk"): "fk_cascade",
    ("fk", "trigger"): "fires",
    ("write", "trigger"): "fires",
}


def finding_highlight(model: Model, finding: Finding) -> Highlight:
    """The nodes and edges a finding's path runs through (or the object it points at)."""
    graph = model.graph
    nodes: list[str] = []
    edges: list[str] = []
    previous: tuple[Hop, str] | None = None
    for hop in finding.path:
        candidates = _hop_candidates(model, hop)
        if previous is not None:
            adjacent = [c for c in candidates if graph.has_edge(previous[1], c)]
            candidates = adjacent or candidates
        if not candidates:
            continue
        node = candidates[0]
        if previous is not None:
            kind = _HOP_EDGE.get((previous[0].kind, hop.kind))
            matches = _edges_between(graph, previous[1], node, kind) if kind else []
            precise = [
                (k, d)
                for k, d in matches
                if getattr(d.get("effect"), "location", None) == hop.location
                or d.get("location") == hop.location
            ]
            for key, _ in precise or matches:
                edges.append(edge_id(previous[1], node, key))
        if node not in nodes:
            nodes.append(node)
        previous = (hop, node)
    if not nodes:
        nodes = _nodes_at(graph, finding.location)
    return Highlight(tuple(nodes), tuple(dict.fromkeys(edges)))


def _nodes_at(graph: nx.MultiDiGraph, location: Location) -> list[str]:
    """Nodes whose definition contains `location`, innermost first."""
    found = []
    for node, data in graph.nodes(data=True):
        where = data.get("location")
        if (
            where is not None
            and where.path == location.path
            and where.line <= location.line <= where.end_line
        ):
            found.append((where.end_line - where.line, node))
    return [node for _, node in sorted(found)[:1]]


def cascade_highlight(model: Model, cascade: Cascade) -> Highlight:
    """The nodes and edges a traced cascade visits."""
    graph = model.graph
    nodes: dict[str, None] = {}
    edges: dict[str, None] = {}

    def add_edges(source: str | None, target: str, kind: str, effect: object = None) -> None:
        nodes[target] = None
        if source is None:
            return
        matches = _edges_between(graph, source, target, kind)
        exact = [k for k, d in matches if effect is not None and d.get("effect") == effect]
        for key in exact or [k for k, _ in matches]:
            edges[edge_id(source, target, key)] = None

    def walk(node: Node, table: str | None, function: str | None) -> None:
        ref = node.ref
        if isinstance(ref, Trigger):
            trigger = trigger_node(ref)
            add_edges(table_node(ref.table), trigger, "fires")
            callee = model.trigger_function(ref)
            function = function_node(callee.key) if callee else f"unresolved:{ref.function}()"
            if function in graph:
                add_edges(trigger, function, "executes")
        elif isinstance(ref, Function):
            called = function_node(ref.key)
            add_edges(function, called, "calls")
            function = called
        elif isinstance(ref, Write) and ref.table is not None:
            table = table_node(ref.table)
            add_edges(function, table, "writes", ref)
        elif isinstance(ref, Read):
            target = table_node(ref.table)
            if function is not None:
                add_edges(function, target, "reads", ref)
        elif isinstance(ref, DynamicEffect) and function is not None:
            for _, target, data in graph.out_edges(function, data=True):
                if data.get("effect") == ref:
                    add_edges(function, target, "executes", ref)
        elif node.kind == "unknown" and function is not None:
            target = f"unresolved:{node.name}"
            if target in graph:
                add_edges(function, target, "calls")
        elif node.kind == "fk":
            referencing = table_node(node.name)
            event = "delete" if node.detail.startswith("ON DELETE") else "update"
            if table is not None:
                matches = _edges_between(graph, table, referencing, "fk_cascade")
                for key, data in matches:
                    if data.get("event") == event and data.get("location") == node.location:
                        edges[edge_id(table, referencing, key)] = None
            nodes[referencing] = None
            table = referencing
        elif node.kind in {"statement", "row", "path"} and table_node(node.name) in graph:
            table = table_node(node.name)
            nodes[table] = None
        for below in node.children:
            walk(below, table, function)

    walk(cascade.tree, None, None)
    return Highlight(tuple(sorted(nodes)), tuple(sorted(edges)))


# ---- scope ---------------------------------------------------------------------------------


def resolve_focus(model: Model, name: str) -> list[str]:
    """Nodes a --focus NAME means: a node key, a qualified name, or an unqualified one."""
    graph = model.graph
    if name in graph:
        return [name]
    tiers: list[list[str]] = [[], [], []]
    for node, data in graph.nodes(data=True):
        if data["kind"] not in {"table", "trigger", "function"}:
            continue
        full = str(data["name"])
        bare = (
            function_label_name(full, list(data.get("args") or []))
            if data["kind"] == "function"
            else full
        )
        if full == name:
            tiers[0].append(node)
        elif bare == name:
            tiers[1].append(node)
        elif _last_part(data, bare) == name:
            tiers[2].append(node)
    return sorted(next((tier for tier in tiers if tier), []))


def _last_part(data: Mapping[str, Any], bare: str) -> str:
    if data["kind"] == "trigger":
        table = str(data.get("table", ""))
        return bare[len(table) + 1 :] if bare.startswith(table + ".") else bare
    return bare.rsplit(".", 1)[-1]


def parse_entry(model: Model, text: str) -> TraceEntry:
    table, _, operation = text.rpartition(":")
    operation = operation.strip().lower()
    if not table or operation not in OPERATIONS:
        raise ScopeError(f"--entry takes TABLE:OP with OP one of {', '.join(OPERATIONS)}")
    name = model.catalog.lookup_relation(table)
    if name is None:
        raise ScopeError(f"--entry: table {table} is not in the schema")
    return TraceEntry(name, operation)


def _all_edges(graph: nx.MultiDiGraph, nodes: Iterable[str]) -> list[str]:
    inside = set(nodes)
    return [
        edge_id(u, v, k)
        for u, v, k in sorted(graph.edges(keys=True))
        if u in inside and v in inside
    ]


def _views(
    result: Result,
    focus: str | None,
    depth: int,
    entry: TraceEntry | None,
    highlights: Sequence[FindingView],
    limit: int | None,
) -> tuple[str, list[View]]:
    graph = result.model.graph
    if entry is not None:
        cascade = Tracer(result.model).trace(entry)
        seen = cascade_highlight(result.model, cascade)
        title = f"cascade of {entry.operation.upper()} {entry.table} ({entry.scenario})"
        return title, [View(title, seen.nodes, seen.edges)]
    if focus is not None:
        centres = resolve_focus(result.model, focus)
        if not centres:
            raise ScopeError(f"--focus: no table, function or trigger named {focus}")
        undirected = graph.to_undirected(as_view=True)
        inside: set[str] = set()
        for centre in centres:
            inside |= set(nx.ego_graph(undirected, centre, radius=depth).nodes)
        names = ", ".join(str(graph.nodes[c]["name"]) for c in centres)
        title = f"{names} and {depth} hop{'s' if depth != 1 else ''} around"
        return title, [View(title, tuple(sorted(inside)), tuple(_all_edges(graph, inside)))]
    paths = [h for h in highlights if h.highlight.nodes]
    if limit is not None and graph.number_of_nodes() > limit and paths:
        views = []
        for index, item in enumerate(paths):
            f = item.finding
            title = f"{index + 1}. {f.code} {f.rule} at {f.location}"
            nodes = tuple(sorted(item.highlight.nodes))
            views.append(View(title, nodes, item.highlight.edges, index))
        scope = f"one subgraph per finding ({graph.number_of_nodes()} nodes > {limit})"
        return scope, views
    nodes = tuple(sorted(graph.nodes))
    return "whole schema", [View("whole schema", nodes, tuple(_all_edges(graph, nodes)))]


def build_document(
    result: Result,
    title: str,
    *,
    focus: str | None = None,
    depth: int = 2,
    entry: TraceEntry | None = None,
    limit: int | None = NODE_LIMIT,
) -> GraphDocument:
    """The drawing's scope and data. Raises ScopeError for a focus or entry not found.

    Above `limit` nodes (None: no limit) the default scope is one subgraph per finding.
    """
    model = result.model
    graph = model.graph
    highlights = [FindingView(f, finding_highlight(model, f)) for f in result.findings]
    scope, views = _views(result, focus, depth, entry, highlights, limit)
    if entry is not None:
        # An entry's drawing shows the findings about that write (and general ones).
        highlights = [
            h
            for h in highlights
            if h.finding.entry is None
            or (h.finding.entry.table, h.finding.entry.operation) == (entry.table, entry.operation)
        ]
    shown_nodes = sorted({n for view in views for n in view.nodes})
    shown_edges = {e for view in views for e in view.edges}
    shown = set(shown_nodes)
    edges = [
        _graph_edge(u, v, k, d)
        for u, v, k, d in sorted(graph.edges(keys=True, data=True), key=lambda e: e[:3])
        if edge_id(u, v, k) in shown_edges
    ]
    return GraphDocument(
        title=title,
        scope=scope,
        nodes=tuple(_graph_node(model, n) for n in shown_nodes),
        edges=tuple(edges),
        views=tuple(views),
        findings=tuple(h for h in highlights if shown.intersection(h.highlight.nodes)),
    )


def hop_text(hop: Hop) -> str:
    return f"{hop.kind} {hop.name}" + (f" ({hop.detail})" if hop.detail else "")


def iter_view_edges(document: GraphDocument, view: View) -> Iterator[GraphEdge]:
    wanted = set(view.edges)
    return (e for e in document.edges if e.id in wanted)


def graph_formats() -> dict[str, Callable[[GraphDocument], str]]:
    """`sqlripple graph --format` values; modules are imported when asked for."""
    from analyzer.report import dot, graph_json, html, mermaid

    return {
        "html": html.render,
        "mermaid": mermaid.render,
        "dot": dot.render,
        "json": graph_json.render,
        "svg": lambda document: dot.render_svg(dot.render(document)),
    }
