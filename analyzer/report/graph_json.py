"""`graph --format json`: networkx node-link JSON of the shown graph, every attribute kept.

Locations and effects become dicts; nodes sort by id and edges by (source, target, key),
so the same input gives the same bytes. `nx.node_link_graph(data, edges="edges")` reads
it back.
"""

from __future__ import annotations

import json
from typing import Any

from analyzer.report.graph_view import GraphDocument, plain


def node_link(document: GraphDocument) -> dict[str, Any]:
    return {
        "directed": True,
        "multigraph": True,
        "graph": {"scope": document.scope},
        "nodes": [
            {
                "id": node.id,
                "kind": node.kind,
                "name": node.name,
                "location": plain(node.location),
                **node.attrs,
            }
            for node in document.nodes
        ],
        "edges": [
            {
                "source": edge.source,
                "target": edge.target,
                "key": edge.key,
                "kind": edge.kind,
                **edge.attrs,
            }
            for edge in document.edges
        ],
    }


def render(document: GraphDocument) -> str:
    return json.dumps(node_link(document), indent=2, ensure_ascii=False) + "\n"
