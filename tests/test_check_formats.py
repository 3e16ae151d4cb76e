"""Exit codes, -o, escaping in every format, SARIF code flows and fingerprints, JUnit
structure and the progress display."""

from __future__ import annotations

import io
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_check_helpers import ROOT, patch_analysis, run

from analyzer.report import github, markdown
from analyzer.report.check import printable
from analyzer.report.progress import analysing

EVIL = "ev\x1bil|*_`<b>@x #1, a:b %0A\r\n::error::pwned\u202e"
EVIL_SQL = """\
CREATE TABLE public."{name}" (id int PRIMARY KEY, n int);
CREATE TABLE public.counts (id int PRIMARY KEY, total int);
CREATE FUNCTION public.bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.counts SET total = total + 1 WHERE id = 1;
    UPDATE public.counts SET total = total + 1 WHERE id = 2;
    RETURN NEW;
END
$$;
CREATE TRIGGER bump AFTER INSERT OR UPDATE ON public."{name}"
    FOR EACH ROW EXECUTE FUNCTION public.bump();
"""


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_analysis(monkeypatch)


@pytest.fixture
def evil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.sql"
    path.write_text(EVIL_SQL.format(name=EVIL.replace('"', '""')), "utf-8")
    return path


# ---- exit codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fail_on", "select", "code"),
    [
        (None, None, 1),
        ("error", None, 0),
        ("warning", None, 1),
        ("note", None, 1),
        ("never", None, 0),
        ("warning", "RP104", 0),
        ("note", "RP104", 1),
        ("error", "RP104", 0),
    ],
)
def test_exit_code_for_each_fail_on(
    fail_on: str | None, select: str | None, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    args = ["check", "fixtures/chat", "--format", "json"]
    args += ["--fail-on", fail_on] if fail_on else []
    args += ["--select", select] if select else []
    assert run(*args)[0] == code


def test_error_findings_fail_at_every_threshold_but_never(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.sql").write_text(
        "CREATE TABLE t (id int);\n"
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NULL; END$$;\n"
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n",
        "utf-8",
    )
    assert json.loads(run("check", "a.sql", "--format", "json")[1])["summary"]["findings"] == {
        "error": 1,
        "warning": 0,
        "note": 0,
    }
    codes = [run("check", "a.sql", "--fail-on", level)[0] for level in ("error", "note", "never")]
    assert codes == [1, 1, 0]


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run("check", "fixtures/chat", "-o", str(tmp_path / "no" / "such" / "r.txt"))
    assert (code, out) == (2, "")
    assert err == f"sqlripple: {tmp_path}/no/such/r.txt: cannot write: No such file or directory\n"
    assert run("check", "fixtures/chat", "--format", "yaml")[0] == 2


def test_output_replaces_the_file_and_a_failed_write_leaves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    target = tmp_path / "r.json"
    target.write_text("old", "utf-8")
    assert run("check", "fixtures/chat", "--format", "json", "-o", str(target))[0] == 1
    assert json.loads(target.read_text("utf-8"))["schema_version"] == 1
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())

    def broken(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    target.write_text("old", "utf-8")
    monkeypatch.setattr(os, "replace", broken)
    code, _, err = run("check", "fixtures/chat", "-o", str(target))
    assert (code, err) == (2, f"sqlripple: {target}: cannot write: No space left on device\n")
    assert target.read_text("utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---- escaping -------------------------------------------------------------------------------


def test_printable_makes_control_and_bidi_characters_visible() -> None:
    assert printable("a\x1b[31mb\x07\r\n\t\u202ec\u2066\x9b") == (
        "a\\x1b[31mb\\x07\\x0d\\x0a\\x09\\u202ec\\u2066\\x9b"
    )
    assert printable("plain ünïcode ✓") == "plain ünïcode ✓"


def test_github_escaping() -> None:
    assert github.escape_data("100%\r\nnext: a,b") == "100%25%0D%0Anext: a,b"
    assert github.escape_property("100%\r\nnext: a,b") == "100%25%0D%0Anext%3A a%2Cb"
    assert github.command("error", {"file": "a,b:c.sql", "line": 3}, "x\ny") == (
        "::error file=a%2Cb%3Ac.sql,line=3::x%0Ay"
    )


def test_markdown_escaping() -> None:
    assert markdown.escape("a|b *c* _d_ `e` [f](g) <b>&amp; ~h~ #1 @me \\") == (
        "a\\|b \\*c\\* \\_d\\_ \\`e\\` \\[f\\](g) &lt;b&gt;&amp;amp; \\~h\\~ \\#1 \\@me \\\\"
    )


def test_no_format_lets_an_identifier_drive_a_terminal_or_forge_a_command(evil: Path) -> None:
    outputs = {
        name: run("check", "evil.sql", "--format", name, "--fail-on", "never")
        for name in ("text", "github", "markdown", "junit", "json", "sarif")
    }
    for name, (code, out, err) in outputs.items():
        assert (code, err) == (0, ""), name
        assert "\x1b" not in out and "\u202e" not in out and "\r" not in out, name
        shown = {"json": "ev\\u001bil", "sarif": "ev\\u001bil", "markdown": "ev\\\\x1bil"}
        assert shown.get(name, "ev\\x1bil") in out, name
    github_lines = outputs["github"][1].splitlines()
    assert len(github_lines) == 6 + 1  # one command per finding, then the summary
    assert all(re.match(r"::(warning|notice) file=evil\.sql,line=", x) for x in github_lines[:-1])
    table_rows = [
        line for line in outputs["markdown"][1].splitlines() if line.startswith("| 🟠 warning")
    ]
    assert table_rows and all(len(re.findall(r"(?<!\\)\|", row)) == 5 for row in table_rows), (
        table_rows
    )
    ET.fromstring(outputs["junit"][1].encode("utf-8"))  # well-formed
    name = json.loads(outputs["json"][1])["findings"][0]["path"][0]["name"]
    assert name == f"public.{EVIL}"  # machine formats keep the name, JSON-escaped


# ---- SARIF and JUnit details ------------------------------------------------------------------


def test_sarif_code_flow_related_locations_and_fingerprints(evil: Path) -> None:
    Path("evil.sql").write_text(EVIL_SQL.format(name="t"), "utf-8")
    document = json.loads(run("check", "evil.sql", "--format", "sarif")[1])
    results = document["runs"][0]["results"]
    first = results[0]
    assert first["ruleId"] == "RP101"
    assert first["partialFingerprints"]["sqlripple/v1"].endswith(":1")
    assert results[2]["ruleId"] == "RP101"
    assert results[2]["partialFingerprints"]["sqlripple/v1"] == (
        first["partialFingerprints"]["sqlripple/v1"][:-2] + ":2"
    )
    steps = first["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [(s["executionOrder"], s["location"]["message"]["text"]) for s in steps] == [
        (1, "table public.t: UPDATE (unchanged)"),
        (2, "trigger public.t.bump: AFTER UPDATE ROW"),
        (3, "function public.bump: executes"),
        (4, "write public.counts: update accumulates total"),
    ]
    assert [
        (r["id"], r["physicalLocation"]["region"]["startLine"]) for r in first["relatedLocations"]
    ] == [(1, 1), (2, 10), (3, 3), (4, 5)]
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "evil.sql"},
        "region": {"startLine": 5, "startColumn": 5, "endLine": 5, "endColumn": 60},
    }
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert rules[first["ruleIndex"]]["name"] == "analytics-inflation"
    assert rules[first["ruleIndex"]]["help"]["text"].startswith("Counters that count again")


def test_junit_has_one_case_per_rule_and_a_failure_per_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    root = ET.fromstring(run("check", "fixtures/chat", "--format", "junit")[1].encode())
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 12 == int(suite.attrib["tests"])
    failures = {c.attrib["name"]: len(c.findall("failure")) for c in cases}
    assert failures == {
        "RP101 analytics-inflation": 2,
        "RP102 write-amplification": 3,  # one is account deletion (auth.users)
        "RP103 aggregate-recompute": 1,
        "RP104 hot-row-contention": 4,
        "RP105 noop-update-trigger": 1,
        "RP201 trigger-recursion": 0,
        "RP202 missing-trigger-return": 0,
        "RP301 unresolved-reference": 0,
        "RP302 dynamic-sql": 0,
        "RP303 security-definer-search-path": 0,
        "RP901 suppression-without-reason": 0,
        "RP902 unused-suppression": 0,
    }
    assert suite.attrib["failures"] == "5"


def test_incomplete_input_is_never_reported_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.sql").write_text("CREATE TABLE t (id int);\nSELECT 'oops;\n", "utf-8")
    junit = ET.fromstring(run("check", "a.sql", "--format", "junit")[1].encode())
    errors = junit.findall("testsuite/testcase/error")
    assert [e.attrib["message"] for e in errors] == [
        "1 statements and 0 function bodies not fully analysed"
    ]
    md = run("check", "a.sql", "--format", "markdown")[1]
    assert "part of the input was not analysed" in md
    gh = run("check", "a.sql", "--format", "github")[1]
    assert gh.startswith(
        "::warning file=a.sql,line=2,col=8,title=sqlripple%3A input not analysed::"
    )


# ---- progress -------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_for_many_files(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("TERM", "xterm")
    with analysing(12):
        pass
    assert terminal.getvalue() == ""
    with analysing(120):
        pass
    assert "analysing 120 files" in terminal.getvalue()
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with analysing(120):
        pass
    assert pipe.getvalue() == ""


def test_no_progress_on_a_pipe_with_many_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for number in range(60):
        Path(f"{number:02d}.sql").write_text(f"CREATE TABLE t{number} (id int);\n", "utf-8")
    code, out, err = run("check", ".")
    assert (code, err) == (0, "")
    assert out.startswith("0 findings") and "60 files" in out


def test_output_to_a_fifo_writes_through_it_and_keeps_the_node(tmp_path: Path) -> None:
    """-o /dev/null (or a pipe) must never be replaced by a regular file."""
    import os
    import stat
    import threading

    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    from analyzer.report.check import write_atomically

    write_atomically(str(fifo), "hello\n")
    reader.join(timeout=10)
    assert received == [b"hello\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


SKIPS_ODD_ROWS = """CREATE TABLE t (id int PRIMARY KEY);
CREATE FUNCTION skip_odd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id % 2 = 1 THEN RETURN NULL; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER skip_odd BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION skip_odd();
"""


def test_findings_by_rule_shows_the_severity_reported_not_the_default(tmp_path: Path) -> None:
    """RP202's default is error; a RETURN NULL under a guard is reported as a warning, and
    the per-rule summary must say warning (an 'error' line that --fail-on error ignores
    would mislead a CI log)."""
    schema = tmp_path / "s.sql"
    schema.write_text(SKIPS_ODD_ROWS, encoding="utf-8")
    code, out, _ = run("check", str(schema), "--fail-on", "error")
    assert code == 0
    per_rule = out[out.index("Findings by rule:") :].splitlines()
    assert [" ".join(line.split()) for line in per_rule[1:2]] == [
        "RP202 missing-trigger-return warning 1"
    ]
    _, out, _ = run("check", str(schema), "--format", "markdown")
    assert "| RP202 missing-trigger-return | 🟠 warning | 1 |" in out.splitlines()
