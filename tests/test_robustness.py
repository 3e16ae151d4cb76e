"""Damaged input, honest reports, safe output (issue 11).

Property tests over real fixtures: whatever is done to one file, a run of `analyze` ends,
raises nothing, explains with a `file:line:column` diagnostic what it could not read, and
still reports every finding of the statements that were left alone. Then what every
output format says about input it skipped, how it escapes what came from the input, and
how `-o` writes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import analyze
from analyzer.analysis import Result
from analyzer.cli import cli
from analyzer.report import check as check_report

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FORMATS = ("text", "json", "sarif", "github", "markdown", "junit")
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# The garbage a hand edit or a bad merge leaves behind. (A NUL byte is not text: it makes
# the whole file unreadable, see test_limits.py, so appended garbage leaves it out.)
TEXT_GARBAGE = [
    "'",
    '"',
    "$$",
    "$body$",
    "E'\\",
    "(",
    ")",
    "((((",
    "))))",
    ";",
    "/*",
    "--",
    "BEGIN",
    "END IF;",
    "CREATE FUNCTION",
    "CREATE TRIGGER x AFTER",
    "\ufeff",
    "\r\n",
    "\x1b[31m",
    "ñ",
    "DO $$ BEGIN",
]
GARBAGE = st.sampled_from([*TEXT_GARBAGE, "\x00"])


def _key(result: Result) -> set[tuple[str, str, int, int, str]]:
    return {
        (f.rule, f.location.path, f.location.line, f.location.column, f.subject or "")
        for f in result.findings
    }


def _copy(fixture: str, where: Path) -> Path:
    target = where / fixture
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(FIXTURES / fixture, target)
    return target


def _run(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(directory.parent)  # paths shown relative, like the originals
    return analyze([directory.name])


def _check_explained(result: Result, directory: Path) -> None:
    """Every diagnostic points at a real place; anything skipped has a diagnostic."""
    for diagnostic in result.diagnostics:
        if diagnostic.path.startswith(("plugin ", "rule ")):
            continue
        assert (directory.parent / diagnostic.path).exists(), diagnostic
        assert diagnostic.line >= 1 and diagnostic.column >= 1, diagnostic
        assert "internal error" not in diagnostic.message, diagnostic
    summary = result.catalog.summary
    assert 0 <= summary.unanalyzed_statements <= max(summary.statements, 1)
    if summary.unanalyzed_statements or result.unanalyzed_functions:
        assert result.diagnostics


_BASELINES: dict[str, set[tuple[str, str, int, int, str]]] = {}


def _baseline(
    fixture: str, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> set[tuple[str, str, int, int, str]]:
    if fixture not in _BASELINES:
        _BASELINES[fixture] = _key(_run(_copy(fixture, tmp / "base"), monkeypatch))
    return _BASELINES[fixture]


@st.composite
def damage(draw: st.DrawFn, data: bytes) -> bytes:
    """Bytes of `data` after 1 to 4 edits: truncation, flipped bytes, inserted garbage,
    deleted semicolons, duplicated statements."""
    for _ in range(draw(st.integers(1, 4))):
        action = draw(
            st.sampled_from(["truncate", "flip", "insert", "semicolons", "duplicate", "delete"])
        )
        at = draw(st.integers(0, len(data)))
        if action == "truncate":
            data = data[:at]
        elif action == "flip" and data:
            index = min(at, len(data) - 1)
            data = (
                data[:index] + bytes([data[index] ^ draw(st.integers(1, 255))]) + data[index + 1 :]
            )
        elif action == "insert":
            data = data[:at] + draw(GARBAGE).encode() + data[at:]
        elif action == "semicolons":
            data = data.replace(b";", b"", draw(st.integers(1, 3)))
        elif action == "duplicate":
            statements = data.split(b";")
            i = min(draw(st.integers(0, len(statements))), len(statements) - 1)
            statements.insert(i, statements[i])
            data = b";".join(statements)
        else:
            data = data[:at] + data[at + draw(st.integers(1, 60)) :]
    return data


@pytest.mark.parametrize(
    ("fixture", "victim"),
    [("chat", "06-seed.sql"), ("chat-fixed", "06-seed.sql"), ("chat", "05-policies.sql")],
)
@PROPERTY
@given(data=st.data())
def test_damaging_a_file_without_findings_keeps_every_other_finding(
    fixture: str,
    victim: str,
    data: st.DataObject,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tmp = tmp_path_factory.getbasetemp()
    expected = _baseline(fixture, tmp, monkeypatch)
    directory = _copy(fixture, tmp / "damaged")
    original = (directory / victim).read_bytes()
    (directory / victim).write_bytes(data.draw(damage(original)))
    result = _run(directory, monkeypatch)
    _check_explained(result, directory)
    assert expected <= _key(result)


@pytest.mark.parametrize(
    "fixture", ["chat", "chat-fixed", "rules-trigger-recursion", "rules-dynamic-sql"]
)
@PROPERTY
@given(data=st.data())
def test_garbage_appended_to_any_file_keeps_every_finding(
    fixture: str,
    data: st.DataObject,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tmp = tmp_path_factory.getbasetemp()
    expected = _baseline(fixture, tmp, monkeypatch)
    directory = _copy(fixture, tmp / "appended")
    victim = data.draw(st.sampled_from(sorted(p.name for p in directory.glob("*.sql"))))
    tail = "".join(data.draw(st.lists(st.sampled_from(TEXT_GARBAGE), min_size=1, max_size=8)))
    # a line break and a semicolon first, so that the garbage never joins the file's last
    # statement (or hides inside a trailing line comment)
    with (directory / victim).open("a", encoding="utf-8", newline="") as stream:
        stream.write("\n;\n" + tail)
    result = _run(directory, monkeypatch)
    _check_explained(result, directory)
    assert expected <= _key(result)
    if result.catalog.summary.unanalyzed_statements:
        # what could not be read is located in the damaged file, past its original end
        lines = (FIXTURES / fixture / victim).read_text(encoding="utf-8").count("\n") + 1
        assert any(d.path.endswith(victim) and d.line >= lines for d in result.diagnostics)


@PROPERTY
@given(data=st.data())
def test_damaging_any_fixture_file_never_raises(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = data.draw(
        st.sampled_from(
            ["chat", "chat-fixed", "injection", "rules-dynamic-sql", "sem-upsert-paths"]
        )
    )
    directory = _copy(fixture, tmp_path_factory.getbasetemp() / "anywhere")
    victim = data.draw(st.sampled_from(sorted(p.name for p in directory.glob("*.sql"))))
    (directory / victim).write_bytes(data.draw(damage((directory / victim).read_bytes())))
    _check_explained(_run(directory, monkeypatch), directory)


# ---- honesty: every format says what it skipped ---------------------------------------------


BROKEN = (
    "CREATE TABLE broken (a;\n"
    "CREATE FUNCTION g() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF x THEN END $$;\n"
)


def _cli(*args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return outcome.exit_code, outcome.output


@pytest.mark.parametrize("output_format", FORMATS)
def test_every_format_states_what_was_not_analysed(tmp_path: Path, output_format: str) -> None:
    schema = tmp_path / "schema"
    shutil.copytree(FIXTURES / "chat-fixed", schema)
    (schema / "07-bad.sql").write_text(BROKEN, encoding="utf-8")
    # Without RP102 (account deletion through auth.users) chat-fixed has no findings at all.
    _, out = _cli(
        "check", str(schema), "--format", output_format, "--ignore", "write-amplification"
    )
    if output_format == "json":
        summary = json.loads(out)["summary"]
        assert (summary["unanalyzed_statements"], summary["unanalyzed_functions"]) == (1, 1)
    elif output_format == "sarif":
        (invocation,) = json.loads(out)["runs"][0]["invocations"]
        texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
        assert any("1 statements and 1 function bodies not fully analysed" in t for t in texts)
        assert invocation["properties"] == {"unanalyzedStatements": 1, "unanalyzedFunctions": 1}
    else:
        assert "1 statements and 1 function bodies not fully analysed" in out
    # never "nothing found" without the count
    assert "0 findings" not in out or "not fully analysed" in out


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_complete_run_says_nothing_about_skipped_input(output_format: str) -> None:
    _, out = _cli("check", str(FIXTURES / "chat-fixed"), "--format", output_format)
    assert "INCOMPLETE" not in out and "not fully analysed" not in out


# ---- security: what comes from the input never drives the terminal or the markup ------------

HOSTILE = "evil\x1b[31m\x07<b>&amp;</b>`*_[x](y)\u202e"
HOSTILE_SCHEMA = f"""
CREATE TABLE "{HOSTILE}" (id int PRIMARY KEY, n int);
CREATE TABLE counters (id int PRIMARY KEY, n int);
-- a comment with \x1b]0;title\x07 and \x1b[2J in it
CREATE FUNCTION "bump{HOSTILE}"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE counters SET n = n + 1 WHERE id = 1;
  EXECUTE 'UPDATE "{HOSTILE}" SET n = 1';
  RETURN NEW;
END $$;
CREATE TRIGGER "t{HOSTILE}" AFTER INSERT OR UPDATE ON "{HOSTILE}"
  FOR EACH ROW EXECUTE FUNCTION "bump{HOSTILE}"();
CREATE TABLE "broken{HOSTILE}" (a;
"""


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "h\x1b[1mostile.sql"
    path.write_text(HOSTILE_SCHEMA, encoding="utf-8")
    return path


@pytest.mark.parametrize("output_format", ["text", "github", "markdown", "junit"])
def test_control_characters_never_reach_the_terminal(hostile: Path, output_format: str) -> None:
    _, out = _cli("check", str(hostile), "--format", output_format)
    assert "evil" in out  # the findings and diagnostics are there ...
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out  # ... defused
    assert "\\x1b" in out


@pytest.mark.parametrize("output_format", ["json", "sarif"])
def test_json_and_sarif_strings_round_trip(hostile: Path, output_format: str) -> None:
    _, out = _cli("check", str(hostile), "--format", output_format)
    assert "\x1b" not in out and "\x07" not in out  # JSON escapes control characters
    json.loads(out)  # and stays one valid document


def test_junit_is_well_formed_xml(hostile: Path) -> None:
    import xml.etree.ElementTree as ET

    _, out = _cli("check", str(hostile), "--format", "junit")
    ET.fromstring(out)


def test_markdown_neutralises_markup(hostile: Path) -> None:
    _, out = _cli("check", str(hostile), "--format", "markdown")
    assert "<b>" not in out and "[x](y)" not in out


@pytest.mark.parametrize("graph_format", ["html", "mermaid", "dot", "json", "svg"])
def test_graphs_escape_names(hostile: Path, tmp_path: Path, graph_format: str) -> None:
    target = tmp_path / f"graph.{graph_format}"
    code, _ = _cli("graph", str(hostile), "--format", graph_format, "-o", str(target))
    text = target.read_text(encoding="utf-8")
    assert code == 0 and "\x1b" not in text and "\x07" not in text
    if graph_format == "json":
        json.loads(text)  # a JSON string, never markup
    elif graph_format == "dot":
        assert "=<" not in text  # labels are quoted strings, never HTML-like labels
    else:
        assert "<b>" not in text  # never live markup in html, svg, mermaid or dot


def test_audit_report_escapes_names(hostile: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, _ = _cli("report", str(hostile), "-o", str(target))
    text = target.read_text(encoding="utf-8")
    assert code == 0 and "<b>" not in text and "\x1b" not in text


# ---- -o writes one file, atomically --------------------------------------------------------


def test_output_replaces_only_the_named_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    _cli("check", str(FIXTURES / "chat"), "--format", "json", "-o", str(target))
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temporary left
    assert json.loads(target.read_text(encoding="utf-8"))["summary"]["files"] == 6


def test_a_failing_render_leaves_the_previous_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous", encoding="utf-8")

    class Boom(Exception):
        pass

    def failing_replace(source: str, destination: object) -> None:
        raise Boom

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", failing_replace)
        with pytest.raises(Boom):
            check_report.write_atomically(str(target), "new text")
    assert target.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_output_through_a_device_does_not_replace_it(tmp_path: Path) -> None:
    # the device nodes are never replaced by a regular file (an earlier bug did that
    # to /dev/null when running as root)
    null = Path("/dev/null")
    if not null.exists() or null.is_file():
        pytest.skip("no /dev/null character device here")
    check_report.write_atomically(str(null), "text")
    assert not null.is_file()


# ---- no eval or exec of analysed input ------------------------------------------------------


def test_no_eval_or_exec_of_input() -> None:
    calls = re.compile(r"\b(eval|exec|compile)\s*\(|exec_module|__import__|pickle|marshal")
    offenders = []
    for path in sorted([*(ROOT / "analyzer").rglob("*.py"), *(ROOT / "rules").rglob("*.py")]):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if calls.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    # the one exec allowed: local rule files named by explicit config paths (rules_path)
    assert [o for o in offenders if "re.compile(" not in o and "regex" not in o] == [
        o for o in offenders if o.startswith("analyzer/rules.py:") and "exec_module" in o
    ]


def test_plugins_come_only_from_entry_points_and_configured_paths() -> None:
    source = (ROOT / "analyzer" / "rules.py").read_text(encoding="utf-8")
    assert 'entry_points(group="sqlripple.rules")' in source or "sqlripple.rules" in source
    assert "config.rules_path" in source
    assert "sys.path" not in source and "os.environ" not in source
