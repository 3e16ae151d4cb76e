"""`sqlripple graph`: scope selection, the Mermaid, DOT and JSON renderers, the command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import networkx as nx
import pytest
from click.testing import CliRunner
from conftest import integration_unavailable

from analyzer.analysis import Result, analyze
from analyzer.cli import cli
from analyzer.report import dot, graph_json, mermaid
from analyzer.report.graph_view import (
    ScopeError,
    build_document,
    parse_entry,
    plain,
    resolve_focus,
)

ROOT = Path(__file__).resolve().parent.parent
UPSERT_PATH = [
    "table:public.chat_messages",
    "trigger:public.chat_messages.on_message_change",
    "function:public.update_session_stats()",
    "function:public.track_user_usage(uuid,text,text,integer,integer,boolean)",
    "table:public.user_usage_daily",
]


@pytest.fixture(scope="module")
def chat() -> Result:
    return _analyze("fixtures/chat")


@pytest.fixture(scope="module")
def injection() -> Result:
    return _analyze("fixtures/injection")


def _analyze(folder: str) -> Result:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        return analyze([folder])


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# ---- scope -----------------------------------------------------------------------------------


def test_whole_schema_is_the_default_for_small_schemas(chat: Result) -> None:
    document = build_document(chat, "chat")
    assert document.scope == "whole schema"
    assert len(document.views) == 1
    assert [n.id for n in document.nodes] == sorted(chat.model.graph.nodes)
    assert len(document.edges) == chat.model.graph.number_of_edges()
    assert len(document.findings) == len(chat.findings)


def test_finding_paths_map_onto_nodes_and_edges(chat: Result) -> None:
    document = build_document(chat, "chat")
    inflation = next(
        f
        for f in document.findings
        if f.finding.rule == "analytics-inflation" and f.finding.location.line == 51
    )
    assert list(inflation.highlight.nodes) == UPSERT_PATH
    edge_ids = {e.id: e for e in document.edges}
    kinds = [edge_ids[e].kind for e in inflation.highlight.edges]
    assert kinds == ["fires", "executes", "calls", "writes"]
    # The write edge is the upsert at the finding's line, not another write of the body.
    write = edge_ids[inflation.highlight.edges[-1]]
    assert write.attrs["effect"]["location"]["line"] == 51


def test_above_the_limit_each_finding_gets_its_subgraph(chat: Result) -> None:
    document = build_document(chat, "chat", limit=5)
    assert document.scope.startswith("one subgraph per finding")
    assert len(document.views) == len(chat.findings)
    for view, finding in zip(document.views, document.findings, strict=True):
        assert set(view.nodes) == set(finding.highlight.nodes)
        assert set(view.edges) == set(finding.highlight.edges)
        assert finding.finding.code in view.title


def test_focus_takes_an_undirected_neighbourhood(chat: Result) -> None:
    document = build_document(chat, "chat", focus="track_user_usage", depth=1)
    assert {n.id for n in document.nodes} == {
        "function:public.track_user_usage(uuid,text,text,integer,integer,boolean)",
        "function:public.handle_session_created()",
        "function:public.update_session_stats()",
        "table:public.profiles",
        "table:public.user_usage_daily",
    }
    wider = build_document(chat, "chat", focus="track_user_usage", depth=2)
    assert len(wider.nodes) > len(document.nodes)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("public.chat_messages", ["table:public.chat_messages"]),
        ("chat_messages", ["table:public.chat_messages"]),
        ("table:public.chat_messages", ["table:public.chat_messages"]),
        ("on_message_change", ["trigger:public.chat_messages.on_message_change"]),
        (
            "public.track_user_usage(uuid,text,text,integer,integer,boolean)",
            ["function:public.track_user_usage(uuid,text,text,integer,integer,boolean)"],
        ),
        # A trigger and its function share the name: both are the focus.
        (
            "fill_message_defaults",
            [
                "function:public.fill_message_defaults()",
                "trigger:public.chat_messages.fill_message_defaults",
            ],
        ),
        ("nothing_here", []),
    ],
)
def test_focus_names(chat: Result, name: str, expected: list[str]) -> None:
    assert resolve_focus(chat.model, name) == expected


def test_entry_draws_what_the_trace_visits(chat: Result) -> None:
    entry = parse_entry(chat.model, "chat_messages:upsert")
    document = build_document(chat, "chat", entry=entry)
    ids = {n.id for n in document.nodes}
    assert set(UPSERT_PATH) <= ids
    # Not visited by an upsert: the RPC that writes the table, auth.users and its trigger.
    assert "function:public.sync_user_conversations(uuid,jsonb)" not in ids
    assert "table:auth.users" not in ids
    assert "trigger:public.chat_sessions.on_session_created" not in ids
    # Only the profiles write under the branch the call takes (p_session_created = false).
    writes = [e for e in document.edges if e.target == "table:public.profiles"]
    assert len(writes) == 1 and writes[0].attrs["effect"]["guard"] == "NOT (p_session_created)"
    assert {f.finding.entry.operation for f in document.findings if f.finding.entry} == {"upsert"}


@pytest.mark.parametrize(
    "text", ["chat_messages", "chat_messages:explode", "no_such_table:insert", ":insert"]
)
def test_bad_entries_are_scope_errors(chat: Result, text: str) -> None:
    with pytest.raises(ScopeError):
        parse_entry(chat.model, text)


# ---- plain data and JSON -----------------------------------------------------------------------


def test_plain_converts_locations_effects_and_sets(chat: Result) -> None:
    edge = next(d for _, _, d in chat.model.graph.edges(data=True) if d["kind"] == "writes")
    converted = plain(edge)
    assert converted["effect"]["type"] == "Write"
    assert set(converted["effect"]["location"]) == {
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
    }
    assert plain(frozenset({"b", "a"})) == ["a", "b"]
    json.dumps(converted)  # plain data all the way down


def test_json_is_node_link_data_with_every_attribute(chat: Result) -> None:
    document = build_document(chat, "chat", limit=None)
    data = json.loads(graph_json.render(document))
    try:
        graph = nx.node_link_graph(data, edges="edges")
    except TypeError:  # networkx < 3.4 names the key `link`
        graph = nx.node_link_graph(data, link="edges")
    model = chat.model.graph
    assert graph.is_multigraph() and graph.is_directed()
    assert sorted(graph.nodes) == sorted(model.nodes)
    assert graph.number_of_edges() == model.number_of_edges()
    for node, attrs in model.nodes(data=True):
        assert set(graph.nodes[node]) == set(attrs)
        assert graph.nodes[node]["kind"] == attrs["kind"]
    for u, v, key, attrs in model.edges(keys=True, data=True):
        assert set(graph.edges[u, v, key]) == set(attrs)
    assert [n["id"] for n in data["nodes"]] == sorted(n["id"] for n in data["nodes"])
    order = [(e["source"], e["target"], e["key"]) for e in data["edges"]]
    assert order == sorted(order)


# ---- Mermaid -----------------------------------------------------------------------------------

_ID = r"[A-Za-z][A-Za-z0-9_]*"
_LABEL = r"(?:[A-Za-z0-9 _.,:()\-/+=*?!@$^~']|#\d+;)*"
_NODE = re.compile(
    rf'^\s+(?P<id>{_ID})(?:\[\("{_LABEL}"\)\]|\{{\{{"{_LABEL}"\}}\}}|\[\["{_LABEL}"\]\]'
    rf'|\["{_LABEL}"\]|\[/"{_LABEL}"/\]|>"{_LABEL}"\])$'
)
_EDGE = re.compile(
    rf'^\s+(?P<source>{_ID}) (?:-->|==>|-\.->)(?:\|"{_LABEL}"\|)? (?P<target>{_ID})$'
)


def check_mermaid(text: str) -> tuple[set[str], int]:
    """Every line is a known, well-formed statement; returns the ids and the edge count."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    ids: set[str] = set()
    edges = 0
    link_styles: list[int] = []
    for line in lines[1:]:
        if node := _NODE.match(line):
            assert node["id"] not in ids, f"duplicate id in {line!r}"
            assert node["id"].lower() not in {"end", "graph", "subgraph", "flowchart"}
            ids.add(node["id"])
        elif edge := _EDGE.match(line):
            assert edge["source"] in ids and edge["target"] in ids, line
            edges += 1
        elif (
            re.fullmatch(rf'  subgraph v\d+\["{_LABEL}"\]', line)
            or line == "  end"
            or re.fullmatch(r"  classDef k_[a-z]+ [a-z:#0-9,\- ]+", line)
        ):
            pass
        elif match := re.fullmatch(rf"  class ({_ID}(?:,{_ID})*) k_[a-z]+", line):
            assert set(match[1].split(",")) <= ids, line
        elif match := re.fullmatch(r"  linkStyle ([\d,]+) [a-z:#0-9,\- ]+", line):
            link_styles.extend(int(i) for i in match[1].split(","))
        else:
            pytest.fail(f"unexpected Mermaid line: {line!r}")
    assert all(0 <= i < edges for i in link_styles)
    return ids, edges


def test_mermaid_is_well_formed(chat: Result) -> None:
    document = build_document(chat, "chat")
    ids, edges = check_mermaid(mermaid.render(document))
    assert len(ids) == len(document.nodes)
    assert edges == len(document.edges)


def test_mermaid_subgraphs_repeat_nodes_under_their_own_ids(chat: Result) -> None:
    document = build_document(chat, "chat", limit=5)
    text = mermaid.render(document)
    ids, _ = check_mermaid(text)
    assert text.count("  subgraph ") == len(document.views)
    assert len(ids) == sum(len(v.nodes) for v in document.views)


def test_mermaid_labels_escape_everything_but_a_safe_set() -> None:
    name = 'a"b]c[d|e{f}g<h>i#j`k;l&m\nn\tö✓ end --> x'
    escaped = mermaid.escape_label(name)
    assert re.fullmatch(_LABEL, escaped)
    assert re.sub(r"#(\d+);", lambda m: chr(int(m[1])), escaped) == name


def test_mermaid_of_hostile_names(injection: Result) -> None:
    text = mermaid.render(build_document(injection, "injection"))
    ids, edges = check_mermaid(text)
    assert len(ids) == 5 and edges == 5
    # No character of a name reaches Mermaid's syntax unescaped.
    assert text.isascii()
    assert all(re.fullmatch(_LABEL, label) for label in re.findall(r'"([^"]*)"', text))
    # Every label decodes back to the real name.
    labels = re.findall(r'"((?:[^"])*)"', text)
    decoded = {re.sub(r"#(\d+);", lambda m: chr(int(m[1])), label) for label in labels}
    assert "</script><img src=x onerror=alert(1)>" in decoded
    assert '--> ]] "end" {{x}} | #quot; `md` \\' in decoded
    assert "naïve tåble.ünïcode ✓" in decoded
    assert '"; alert(4); // <i>' in decoded


def test_mermaid_ids_are_unique_when_names_sanitize_alike(chat: Result) -> None:
    graph = chat.model.graph.copy()
    graph.add_node("table:public.a b", kind="table", name="public.a b", location=None)
    graph.add_node("table:public.a_b", kind="table", name="public.a_b", location=None)
    graph.add_node("table:public.a.b", kind="table", name="public.a.b", location=None)
    model = type(chat.model)(chat.catalog, chat.model.bodies, graph)
    result = Result(chat.catalog, model, chat.findings, chat.diagnostics, chat.rules)
    ids = mermaid.node_ids(build_document(result, "chat"))
    assert len(set(ids.values())) == len(ids)
    assert {ids["table:public.a b"], ids["table:public.a_b"], ids["table:public.a.b"]} == {
        "tbl_public_a_b",
        "tbl_public_a_b_2",
        "tbl_public_a_b_3",
    }


# ---- DOT and SVG -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a\\"b"'),
        ("ends with \\", '"ends with \\\\"'),
        ("two\nlines", '"two\\nlines"'),
        ("cr\r\nlf", '"cr\\nlf"'),
    ],
)
def test_dot_quoting(text: str, quoted: str) -> None:
    assert dot.quote(text) == quoted


def _dot_binary() -> str:
    binary = shutil.which("dot")
    if binary is None:
        integration_unavailable("Graphviz's dot is not installed (apt-get install graphviz)")
    return binary


def _graphviz(source: str, output: str = "svg") -> str:
    done = subprocess.run(
        [_dot_binary(), f"-T{output}"],
        input=source.encode("utf-8"),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert not done.stderr, done.stderr.decode()
    return done.stdout.decode("utf-8")


@pytest.mark.integration
@pytest.mark.parametrize("limit", [150, 5])
def test_graphviz_accepts_the_dot(chat: Result, limit: int) -> None:
    document = build_document(chat, "chat", limit=limit)
    laid_out = json.loads(_graphviz(dot.render(document), "json"))
    # Per-finding subgraphs repeat nodes under per-view ids: one Graphviz node each.
    nodes = [o for o in laid_out["objects"] if "nodes" not in o and "subgraphs" not in o]
    assert len(nodes) == sum(len(v.nodes) for v in document.views)
    assert len(laid_out["edges"]) == sum(len(v.edges) for v in document.views)


@pytest.mark.integration
def test_graphviz_reads_back_every_hostile_name(injection: Result) -> None:
    document = build_document(injection, "injection")
    svg = ElementTree.fromstring(_graphviz(dot.render(document)))
    texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    # Every node's label is drawn exactly as the name reads.
    assert {n.label for n in document.nodes} <= texts
    titles = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")}
    assert "table:public.</script><img src=x onerror=alert(1)>" in titles


def test_svg_without_graphviz_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(dot.shutil, "which", lambda name: None)
    code, out, err = run("graph", "fixtures/chat", "--format", "svg")
    assert code == 2
    assert out == ""
    assert "apt-get install graphviz" in err and "--format dot" in err


# ---- the command -------------------------------------------------------------------------------


def test_graph_writes_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    target = tmp_path / "g.mmd"
    code, out, err = run("graph", "fixtures/chat", "--format", "mermaid", "-o", str(target))
    assert code == 0
    assert out == ""
    assert target.read_text(encoding="utf-8").startswith("flowchart LR\n")
    assert "19 nodes, 28 edges (whole schema)" in err


def test_graph_html_is_the_default_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = run("graph", "fixtures/chat")
    assert code == 0
    assert out.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--focus", "nope"], "no table, function or trigger named nope"),
        (["--entry", "nope:insert"], "table nope is not in the schema"),
        (["--entry", "chat_messages"], "TABLE:OP"),
        (["--focus", "chat_messages", "--entry", "chat_messages:insert"], "not both"),
        (["--depth", "1"], "--depth goes with --focus"),
    ],
)
def test_graph_usage_errors(args: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run("graph", "fixtures/chat", "--format", "mermaid", *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_graph_focus_and_entry_from_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = run("graph", "fixtures/chat", "--format", "json", "--focus", "profiles")
    assert code == 0
    data = json.loads(out)
    assert data["graph"]["scope"] == "public.profiles and 2 hops around"
    assert "table:public.profiles" in {n["id"] for n in data["nodes"]}
    code, out, _ = run(
        "graph", "fixtures/chat", "--format", "dot", "--entry", "public.chat_sessions:delete"
    )
    assert code == 0
    assert "cascade of DELETE public.chat_sessions" in out
    assert '"table:public.chat_sessions" -> "table:public.chat_messages"' in out
