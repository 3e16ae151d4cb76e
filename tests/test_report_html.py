"""The HTML graph and the audit report: structure, escaping, and a real headless browser.

The browser tests load the pages from disk in headless Chromium with name resolution
disabled (the pages' Content Security Policy allows no network either). graph.js runs a
self-test when the URL has `#selftest`: it writes the node and edge counts, search and
highlight results, console errors, alerts and any injected element into `#selftest`,
which `--dump-dom` prints.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from conftest import integration_unavailable

from analyzer.analysis import analyze
from analyzer.cli import cli
from analyzer.report import audit, html
from analyzer.report.graph_view import build_document

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = "</script><img src=x onerror=alert(1)>"
HOSTILE_TABLE = f"table:public.{PAYLOAD}"
HOSTILE_TRIGGER = f'trigger:public.{PAYLOAD}."; alert(4); // <i>'
HOSTILE_FUNCTION = "function:public.<svg onload=alert(2)>()"
UPSERT_PATH = sorted(
    [
        "table:public.chat_messages",
        "trigger:public.chat_messages.on_message_change",
        "function:public.update_session_stats()",
        "function:public.track_user_usage(uuid,text,text,integer,integer,boolean)",
        "table:public.user_usage_daily",
    ]
)
OUR_SCRIPTS = 5  # the self-test probe, the data block, cytoscape, cytoscape-dagre, graph.js


def render_graph(folder: str, **options: Any) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        return html.render(build_document(analyze([folder]), folder, **options))


def render_report(folder: str) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        return audit.render(audit.build_audit(analyze([folder]), folder))


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each script element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    tags.close()
    return tags


def data_block(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="sqlripple-data" data-sqlripple>(.*?)</script>',
        page,
        re.S,
    )
    assert match, "no data block"
    return json.loads(match.group(1))


# ---- static structure ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["graph", "report"])
def test_page_is_self_contained(kind: str) -> None:
    page = render_graph("fixtures/chat") if kind == "graph" else render_report("fixtures/chat")
    tags = parse(page)
    names = [tag for tag, _ in tags.tags]
    assert "link" not in names and "iframe" not in names
    for tag, attrs in tags.tags:
        for attribute in ("src", "href"):
            value = attrs.get(attribute)
            assert value is None or not re.match(r"[a-z]+:", value), (tag, value)
    policy = next(a["content"] for t, a in tags.tags if t == "meta" and a.get("http-equiv"))
    assert policy is not None and "default-src 'none'" in policy
    # Every inline script is allowed by its hash, and no other script can run.
    executable = [
        code
        for (tag, attrs), code in zip(
            [t for t in tags.tags if t[0] == "script"], tags.scripts, strict=True
        )
        if attrs.get("type") != "application/json"
    ]
    assert len(executable) == OUR_SCRIPTS - 1
    for code in executable:
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


def test_graph_data_block_describes_the_graph() -> None:
    data = data_block(render_graph("fixtures/chat"))
    assert len(data["nodes"]) == 19 and len(data["edges"]) == 28
    assert len(data["findings"]) == 11
    node = next(n for n in data["nodes"] if n["id"] == "function:public.update_session_stats()")
    assert node["excerpt"].startswith("CREATE OR REPLACE FUNCTION public.update_session_stats()")
    assert {e["kind"] for e in node["effects"]} == {"reads", "writes", "calls"}
    call = next(e for e in node["effects"] if e["kind"] == "calls")
    assert "NEW.role IN ('user', 'assistant')" in call["guard"]


def test_json_in_script_cannot_break_out() -> None:
    text = html.json_for_script({"a": "</script><!-- & \u2028 >"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028 >"}


@pytest.mark.parametrize("kind", ["graph", "report"])
def test_hostile_names_stay_text(kind: str) -> None:
    page = (
        render_graph("fixtures/injection")
        if kind == "graph"
        else render_report("fixtures/injection")
    )
    assert PAYLOAD not in page
    assert "<svg onload" not in page
    assert "<script>alert(3)" not in page
    assert "<i>" not in page
    tags = parse(page)
    scripts = [attrs for tag, attrs in tags.tags if tag == "script"]
    assert len(scripts) == OUR_SCRIPTS
    assert all("data-sqlripple" in attrs for attrs in scripts)
    assert [attrs.get("id") for tag, attrs in tags.tags if tag == "img"] == ["graph-print"]
    assert not any(name.startswith("on") for _, attrs in tags.tags for name in attrs), (
        "an event handler attribute"
    )
    # The names themselves arrive intact, as data.
    data = data_block(page)
    names = {n["name"] for n in data["nodes"]}
    assert f"public.{PAYLOAD}" in names
    assert "public.<svg onload=alert(2)>()" in names
    excerpts = "".join(n["excerpt"] or "" for n in data["nodes"])
    assert "'</script><script>alert(3)</script><!--'" in excerpts
    if kind == "report":
        assert unescape("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;") == PAYLOAD
        assert "public.&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_report_sections() -> None:
    page = render_report("fixtures/chat")
    assert '<div class="cards">' in page
    findings = re.findall(r"<tr data-finding=\"(\d+)\">", page)
    assert sorted(map(int, findings)) == list(range(11))
    entries = re.findall(r'<div class="entry" data-entry="(\d+)"><h3>([^<]*)</h3>', page)
    assert [label for _, label in entries] == [
        "DELETE auth.users",  # account deletion: the platform's table, reached by FK actions
        "INSERT auth.users",  # the Supabase signup trigger: the platform's table is an entry
        "DELETE public.chat_messages",
        "INSERT public.chat_messages",
        "UPDATE public.chat_messages",
        "UPSERT public.chat_messages",
        "DELETE public.chat_sessions",
        "INSERT public.chat_sessions",
        "UPDATE public.chat_sessions",
        "UPSERT public.chat_sessions",
        "UPDATE public.profiles",
    ]
    upsert = page.split("<h3>UPSERT public.chat_messages</h3>")[1].split('<div class="entry"')[0]
    assert (
        "<td>rows written</td><td>public.user_usage_daily (upsert)</td>"
        '<td class="num">0</td><td class="num">1</td>'
    ) in upsert
    assert (
        '<td>total row writes</td><td></td><td class="num">2</td><td class="num">4</td>' in upsert
    )
    assert len(data_block(page)["entries"]) == 11
    assert "@media print" in page


def test_report_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    target = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", "fixtures/chat", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "11 findings, 11 write entries, 19 graph nodes" in result.stderr
    first = target.read_text(encoding="utf-8")
    CliRunner().invoke(cli, ["report", "fixtures/chat", "-o", str(target)])
    assert target.read_text(encoding="utf-8") == first  # deterministic
    missing = CliRunner().invoke(cli, ["report", "fixtures/chat"])
    assert missing.exit_code == 2


# ---- the browser -----------------------------------------------------------------------------


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    integration_unavailable(
        "Chromium not installed (apt-get install --no-install-recommends chromium)"
    )


def run_selftest(binary: str, page: Path, params: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                f"{page.as_uri()}#selftest&{params}",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
    dom = done.stdout.decode("utf-8", "replace")
    match = re.search(r'<pre id="selftest">(.*?)</pre>', dom, re.S)
    assert match, f"no self-test output (exit {done.returncode}): {done.stderr[-2000:]!r}"
    return json.loads(unescape(match.group(1)))


def _node_param(node_id: str) -> str:
    return quote(node_id, safe="")


@pytest.fixture(scope="module")
def browser_results() -> Iterator[dict[str, dict[str, Any]]]:
    """Every page's self-test, run in parallel: one Chromium start per page."""
    binary = chromium_binary()
    with tempfile.TemporaryDirectory() as folder:
        pages = {
            "chat-graph": render_graph("fixtures/chat"),
            "chat-report": render_report("fixtures/chat"),
            "chat-per-finding": render_graph("fixtures/chat", limit=5),
            "injection-graph": render_graph("fixtures/injection"),
            "injection-report": render_report("fixtures/injection"),
        }
        # A page where a renderer let a payload through: the self-test must notice.
        broken = pages["chat-graph"].replace(
            '<pre id="selftest"', '<img src=x onerror="alert(1)"><pre id="selftest"', 1
        )
        pages["broken-control"] = broken
        params = {
            # finding 0 is account deletion (DELETE auth.users); 1 the re-sent message
            "chat-graph": "search=track_user_usage&finding=1&select="
            + _node_param("function:public.update_session_stats()"),
            "chat-report": "search=user_usage_daily&finding=1",
            "chat-per-finding": "view=2",
            "injection-graph": "search=onerror&finding=0&select=" + _node_param(HOSTILE_TABLE),
            "injection-report": "search=svg&select=" + _node_param(HOSTILE_FUNCTION),
            "broken-control": "",
        }
        paths = {}
        for name, page in pages.items():
            paths[name] = Path(folder) / f"{name}.html"
            paths[name].write_text(page, encoding="utf-8")
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {
                name: pool.submit(run_selftest, binary, paths[name], params[name]) for name in pages
            }
            yield {name: future.result() for name, future in futures.items()}


def clean(result: dict[str, Any]) -> None:
    assert result["errors"] == []
    assert result["alerts"] == []
    assert result["injected"] == []
    assert result["canvases"] > 0 and result["laid_out"]


@pytest.mark.integration
def test_browser_renders_the_chat_graph(browser_results: dict[str, dict[str, Any]]) -> None:
    result = browser_results["chat-graph"]
    clean(result)
    assert (result["nodes"], result["edges"]) == (19, 28)
    track = "function:public.track_user_usage(uuid,text,text,integer,integer,boolean)"
    assert result["search"]["matched"] == [track]
    assert result["search"]["highlighted"] == [track]
    assert result["finding"]["nodes"] == UPSERT_PATH
    assert len(result["finding"]["edges"]) == 4
    assert "Effects and guards" in result["details"]
    assert "if NEW.role IN ('user', 'assistant')" in result["details"]
    assert "CREATE OR REPLACE FUNCTION public.update_session_stats()" in result["details"]


@pytest.mark.integration
def test_browser_renders_the_report(browser_results: dict[str, dict[str, Any]]) -> None:
    result = browser_results["chat-report"]
    clean(result)
    assert (result["nodes"], result["edges"]) == (19, 28)
    assert result["search"]["matched"] == ["table:public.user_usage_daily"]
    assert result["finding"]["nodes"] == UPSERT_PATH


@pytest.mark.integration
def test_browser_switches_per_finding_views(browser_results: dict[str, dict[str, Any]]) -> None:
    result = browser_results["chat-per-finding"]
    clean(result)
    assert result["views"] == 11
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        document = build_document(analyze(["fixtures/chat"]), "chat", limit=5)
    view = document.views[2]
    assert (result["nodes"], result["edges"]) == (len(view.nodes), len(view.edges))


@pytest.mark.integration
@pytest.mark.parametrize("page", ["injection-graph", "injection-report"])
def test_browser_shows_hostile_names_as_text(
    browser_results: dict[str, dict[str, Any]], page: str
) -> None:
    result = browser_results[page]
    clean(result)
    assert (result["nodes"], result["edges"]) == (5, 5)
    if page == "injection-graph":
        assert HOSTILE_TABLE in result["search"]["matched"]
        assert result["finding"]["nodes"] == sorted(
            [HOSTILE_TABLE, HOSTILE_TRIGGER, HOSTILE_FUNCTION]
        )
        assert f"public.{PAYLOAD}" in result["details"]
        assert '"note ""quoted"" & <b>bold</b>" text' in result["details"]
    else:
        assert result["search"]["matched"] == [HOSTILE_FUNCTION]
        assert "public.<svg onload=alert(2)>()" in result["details"]
        assert "'</script><script>alert(3)</script><!--'" in result["details"]


@pytest.mark.integration
def test_the_selftest_notices_an_injection(browser_results: dict[str, dict[str, Any]]) -> None:
    result = browser_results["broken-control"]
    assert "img" in result["injected"] and "img[onerror]" in result["injected"]
    assert result["errors"], "the blocked handler or the failed load is reported"
