from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import cli

COMMANDS = ["check", "trace", "graph", "report", "verify", "rules", "explain"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_every_command() -> None:
    code, out, _ = run("--help")
    assert code == 0
    listed = [line.split()[0] for line in out.split("Commands:")[1].strip().splitlines()]
    assert sorted(listed) == sorted(COMMANDS)


def test_version_comes_from_package_metadata() -> None:
    from importlib.metadata import version

    code, out, _ = run("--version")
    assert code == 0
    assert out == f"sqlripple, version {version('sqlripple')}\n"


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    code, _, err = run("check", str(tmp_path / "nope.sql"))
    assert code == 2
    assert "nope.sql: no such file or directory" in err


def test_check_json_summary_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "1_init.sql").write_text(
        "CREATE TABLE t (id int PRIMARY KEY, n int);\n"
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n"
        "GRANT SELECT ON t TO PUBLIC;\n",
        encoding="utf-8",
    )
    (tmp_path / "m" / "2_trig.sql").write_text(
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "CREATE TRIGGER broken AFTER FROB ON t EXECUTE FUNCTION f();\n",
        encoding="utf-8",
    )
    code, out, _ = run("check", "m", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["schema_version"] == 1
    assert document["summary"] == {
        "files": 2,
        "statements": 5,
        "unanalyzed_statements": 1,
        "tables": 1,
        "functions": 1,
        "triggers": 1,
        "unanalyzed_functions": 0,
        "findings": {"error": 0, "warning": 0, "note": 0},
    }
    assert document["diagnostics"] == [
        {
            "path": "m/2_trig.sql",
            "line": 2,
            "column": 29,
            "message": "unknown trigger event 'FROB'; statement not analysed: "
            "CREATE TRIGGER broken AFTER FROB ON t EXECUTE FUNCTION f();",
        }
    ]


def test_check_text_never_looks_clean_when_input_was_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.sql").write_text("CREATE TABLE t (id int);\nSELECT 'oops;\n", encoding="utf-8")
    code, out, _ = run("check", "a.sql")
    assert code == 0
    assert "a.sql:2:8: unterminated string: the rest of the file is not analysed" in out
    last = out.splitlines()[-1]
    assert last.startswith("0 findings (0 error, 0 warning, 0 note); 1 files, ")
    assert "; INCOMPLETE: " in last and "not fully analysed (see the diagnostics)" in last


def test_rules_lists_every_builtin_with_code_and_severity() -> None:
    code, out, _ = run("rules")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 12
    assert lines[0].split()[:3] == ["RP101", "analytics-inflation", "warning"]
    code, out, _ = run("rules", "--format", "json")
    names = [r["name"] for r in json.loads(out)]
    assert names == [
        "analytics-inflation",
        "write-amplification",
        "aggregate-recompute",
        "hot-row-contention",
        "noop-update-trigger",
        "trigger-recursion",
        "missing-trigger-return",
        "unresolved-reference",
        "dynamic-sql",
        "security-definer-search-path",
        "suppression-without-reason",
        "unused-suppression",
    ]


@pytest.mark.parametrize("name", ["analytics-inflation", "RP101", "rp101"])
def test_explain_prints_the_rule_documentation(name: str) -> None:
    code, out, _ = run("explain", name)
    assert code == 0
    assert out.startswith("RP101 analytics-inflation (warning): ")
    assert "Bad:" in out and "Fix:" in out


def test_explain_unknown_rule_exits_2() -> None:
    code, out, err = run("explain", "no-such-rule")
    assert (code, out) == (2, "")
    assert "no rule named 'no-such-rule'" in err
