"""`graph --format html`: one self-contained page with the interactive graph.

The page works offline: cytoscape.js and cytoscape-dagre (vendored in `assets/`, with
their licences) and sqlripple's own script and style are inlined, and a Content Security
Policy allows nothing else (no network, no script but these, by hash). Schema data goes
in a `<script type="application/json">` block with `<`, `>` and `&` written as JSON
escapes, so no name or SQL text can close the block; the script puts every text on the
page through `textContent` or cytoscape's canvas. Server-side text is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
import json
import re
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from analyzer.report.graph_view import EDGE_KINDS, KINDS, GraphDocument, Highlight, plain
from analyzer.report.summary import tool_version

# Control characters (a terminal escape in a name, a NUL) and bidirectional overrides are
# invalid or misleading in a page: they become visible escapes such as \x1b; line breaks
# and tabs stay.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def escape(text: str, quote: bool = True) -> str:
    """HTML-escape text taken from the input, control characters made visible."""

    def visible(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _html.escape(_HIDDEN.sub(visible, text), quote)


VENDORED = ("cytoscape.min.js", "cytoscape-dagre.min.js")
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)

# Installed first, and only in self-test mode: records errors, alerts and CSP violations
# so a headless browser run can report them (see graph.js).
_PROBE = """(function () {
  if (!/[#?&]selftest\\b/.test(location.hash + "&" + location.search)) { return; }
  var probe = window.__sqlrippleProbe = { errors: [], alerts: [] };
  var original = console.error;
  console.error = function () {
    probe.errors.push(Array.prototype.map.call(arguments, String).join(" "));
    return original.apply(console, arguments);
  };
  window.addEventListener("error", function (event) {
    var where = event.filename ? " at " + event.filename + ":" + event.lineno : "";
    var what = event.message || (event.target && event.target.tagName) || event.type;
    probe.errors.push("error: " + what + where);
  }, true);
  window.addEventListener("unhandledrejection", function (event) {
    probe.errors.push("unhandled rejection: " + String(event.reason));
  });
  document.addEventListener("securitypolicyviolation", function (event) {
    probe.errors.push("CSP violation: " + event.violatedDirective + " " + event.blockedURI);
  });
  window.alert = window.confirm = window.prompt = function (message) {
    probe.alerts.push(String(message));
  };
})();"""

_EDGE_LEGEND = {
    "fires": "fires (timing, events)",
    "executes": "executes",
    "writes": "writes (+= accumulates)",
    "reads": "reads",
    "calls": "calls",
    "fk_cascade": "foreign-key action",
}


@cache
def asset(name: str) -> str:
    text = files("analyzer.report").joinpath("assets").joinpath(name).read_text(encoding="utf-8")
    return _SOURCE_MAP.sub("", text).rstrip() + "\n"


def json_for_script(data: Any) -> str:
    """JSON that cannot end a <script> element or open a comment inside it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _highlight_data(highlight: Highlight) -> dict[str, Any]:
    return {"nodes": list(highlight.nodes), "edges": list(highlight.edges)}


def graph_data(
    document: GraphDocument, entries: Sequence[tuple[str, Highlight]] = ()
) -> dict[str, Any]:
    """What graph.js reads: nodes, edges, views, findings' paths and entries' cascades."""
    return {
        "title": document.title,
        "scope": document.scope,
        "nodes": [
            {
                "id": n.id,
                "kind": n.kind,
                "name": n.name,
                "label": n.label,
                "location": str(n.location) if n.location else None,
                "attrs": dict(n.attrs),
                "excerpt": n.excerpt,
                "effects": [dict(e) for e in n.effects],
            }
            for n in document.nodes
        ],
        "edges": [
            {
                "id": e.id,
                "source": e.source,
                "target": e.target,
                "kind": e.kind,
                "label": e.label,
                "attrs": {k: v for k, v in e.attrs.items() if k != "effect"},
            }
            for e in document.edges
        ],
        "views": [
            {"title": v.title, "nodes": list(v.nodes), "edges": list(v.edges), "finding": v.finding}
            for v in document.views
        ],
        "findings": [
            {
                "rule": f.finding.rule,
                "code": f.finding.code,
                "severity": f.finding.severity.value,
                "message": f.finding.message,
                "location": str(f.finding.location),
                "path": [plain(hop) for hop in f.finding.path],
                **_highlight_data(f.highlight),
            }
            for f in document.findings
        ],
        "entries": [{"label": label, **_highlight_data(h)} for label, h in entries],
    }


def legend(document: GraphDocument) -> str:
    """Edge kinds and the highlight; node kinds are shown by the kind filters."""
    edge_kinds = {e.kind for e in document.edges}
    items = [
        f'<li><span class="line line-{k}"></span>{escape(_EDGE_LEGEND[k])}</li>'
        for k in EDGE_KINDS
        if k in edge_kinds
    ]
    items.append('<li><span class="line line-highlight"></span>a finding\'s path</li>')
    return '<ul class="legend" aria-label="Edge kinds">' + "".join(items) + "</ul>"


def graph_section(document: GraphDocument) -> str:
    """The interactive graph's markup; graph.js fills it in."""
    kinds = sorted({n.kind for n in document.nodes}, key=KINDS.index)
    filters = "".join(
        f'<label class="filter"><input type="checkbox" checked data-kind="{escape(kind)}">'
        f'<span class="swatch swatch-{escape(kind)}"></span>{escape(kind)}</label>'
        for kind in kinds
    )
    return f"""<section class="graph-app" aria-label="Trigger cascade graph">
<div class="toolbar">
<input type="search" id="graph-search" placeholder="Search tables, triggers, functions"
 aria-label="Search the graph" autocomplete="off">
<span id="search-status" aria-live="polite"></span>
<div class="filters" id="kind-filters" aria-label="Show node kinds">{filters}</div>
<select id="view-select" hidden aria-label="Subgraph"></select>
<div class="zoom"><button type="button" id="zoom-out" title="Zoom out">&minus;</button>
<button type="button" id="zoom-in" title="Zoom in">+</button>
<button type="button" id="zoom-fit" title="Fit the graph">Fit</button></div>
</div>
<div class="legend-bar">{legend(document)}</div>
<div class="graph-body">
<aside class="side"><h4>Findings</h4><ol class="findings" id="finding-list"></ol></aside>
<div class="canvas">
<div id="cy"></div>
<aside class="details" id="details" aria-live="polite"></aside>
</div>
</div>
<img id="graph-print" alt="The trigger cascade graph">
<noscript><p class="hint">The graph needs JavaScript; everything else on this page does not.</p>
</noscript>
</section>"""


def _script_hash(code: str) -> str:
    digest = hashlib.sha256(code.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def page(title: str, body: str, data: dict[str, Any], body_class: str) -> str:
    """A complete page: CSP, style, the data block, the vendored libraries and graph.js."""
    scripts = [asset(name) for name in (*VENDORED, "graph.js")]
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(_script_hash(code) for code in [_PROBE, *scripts]),
            "style-src 'unsafe-inline'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    inline = "".join(f"<script data-sqlripple>{code}</script>\n" for code in scripts)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{escape(policy)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sqlripple {escape(tool_version())}">
<title>{escape(title)}</title>
<script data-sqlripple>{_PROBE}</script>
<style>
{asset("graph.css")}</style>
</head>
<body class="{body_class}">
{body}
<pre id="selftest" hidden></pre>
<script type="application/json" id="sqlripple-data" data-sqlripple>{json_for_script(data)}</script>
{inline}</body>
</html>
"""


def render(document: GraphDocument) -> str:
    header = f"""<header class="page-header">
<span class="brand">sqlripple</span>
<h1>{escape(document.title)}</h1>
<span class="scope">{escape(document.scope)}</span>
<span class="counts">{len(document.nodes)} nodes · {len(document.edges)} edges ·
{len(document.findings)} findings</span>
</header>"""
    body = header + "\n" + graph_section(document)
    return page(f"sqlripple graph: {document.title}", body, graph_data(document), "graph-page")
