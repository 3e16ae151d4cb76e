"""Configuration: [tool.sqlripple] in pyproject.toml or sqlripple.toml, found upwards from
the current directory or named with --config; every key, every error, flag overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_check_helpers import copy_chat, patch_analysis, run

from analyzer.config import Config, ConfigError, load_config
from analyzer.source import DEFAULT_EXCLUDE

KNOWN_KEYS = (
    "baseline, cache, entrypoints, exclude, fail_on, ignore, include, known_objects, rules, "
    "rules_path, search_path, select, severity"
)
RULES = (
    "aggregate-recompute, analytics-inflation, dynamic-sql, hot-row-contention, "
    "missing-trigger-return, noop-update-trigger, security-definer-search-path, "
    "suppression-without-reason, trigger-recursion, unresolved-reference, "
    "unused-suppression, write-amplification"
)


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_analysis(monkeypatch)


@pytest.fixture
def chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_chat(tmp_path, monkeypatch)


def findings(*args: str) -> tuple[int, list[tuple[str, str, int]]]:
    code, out, err = run("check", *args, "--format", "json")
    assert err == "", err
    document = json.loads(out)
    return code, [(f["rule"], f["severity"], f["location"]["line"]) for f in document["findings"]]


def rules_of(args: tuple[str, ...] = ("chat",)) -> list[str]:
    return sorted({rule for rule, _, _ in findings(*args)[1]})


def summary(*args: str) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(run("check", *args, "--format", "json")[1])["summary"]
    return summary


CHAT_RULES = [
    "aggregate-recompute",
    "analytics-inflation",
    "hot-row-contention",
    "noop-update-trigger",
    "write-amplification",
]


# ---- finding and reading the file -------------------------------------------------------


def test_defaults_without_a_file(tmp_path: Path) -> None:
    assert load_config(tmp_path) == Config()


def test_sqlripple_toml_is_found_walking_up(chat: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("sqlripple.toml").write_text('select = ["RP104"]\n', "utf-8")
    monkeypatch.chdir(chat)
    assert rules_of((".",)) == ["hot-row-contention"]


def test_pyproject_tool_table_is_found_and_one_without_it_is_skipped(
    chat: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("pyproject.toml").write_text('[tool.sqlripple]\nselect = ["RP103"]\n', "utf-8")
    (chat / "pyproject.toml").write_text('[project]\nname = "x"\n', "utf-8")
    monkeypatch.chdir(chat)
    assert rules_of((".",)) == ["aggregate-recompute"]


def test_sqlripple_toml_wins_over_pyproject_in_the_same_directory(chat: Path) -> None:
    Path("pyproject.toml").write_text('[tool.sqlripple]\nselect = ["RP103"]\n', "utf-8")
    Path("sqlripple.toml").write_text('select = ["RP105"]\n', "utf-8")
    assert rules_of() == ["noop-update-trigger"]


def test_explicit_config_file(chat: Path) -> None:
    Path("sqlripple.toml").write_text('select = ["RP105"]\n', "utf-8")
    Path("other.toml").write_text('select = ["RP101"]\n', "utf-8")
    assert rules_of(("chat", "--config", "other.toml")) == ["analytics-inflation"]
    Path("pyproject.toml").write_text('[tool.sqlripple]\nselect = ["RP103"]\n', "utf-8")
    assert rules_of(("chat", "--config", "pyproject.toml")) == ["aggregate-recompute"]


# ---- every key ----------------------------------------------------------------------------


def test_include_and_exclude(chat: Path) -> None:
    (chat / "07-extra.psql").write_text("CREATE TABLE public.extra (id int);\n", "utf-8")
    assert summary("chat")["files"] == 6
    Path("sqlripple.toml").write_text('include = ["*.psql"]\n', "utf-8")
    assert (summary("chat")["files"], summary("chat")["tables"]) == (7, 6)
    Path("sqlripple.toml").write_text('exclude = ["05-*.sql", "06-*"]\n', "utf-8")
    assert summary("chat")["files"] == 4
    assert load_config(".").exclude == (*DEFAULT_EXCLUDE, "05-*.sql", "06-*")


def test_select_and_ignore(chat: Path) -> None:
    Path("sqlripple.toml").write_text('select = ["RP10"]\nignore = ["RP104", "RP105"]\n', "utf-8")
    assert rules_of() == ["aggregate-recompute", "analytics-inflation", "write-amplification"]


def test_severity(chat: Path) -> None:
    Path("sqlripple.toml").write_text(
        '[severity]\n"analytics-inflation" = "error"\nhot-row-contention = "warning"\n', "utf-8"
    )
    found = findings("chat")[1]
    assert {(rule, severity) for rule, severity, _ in found} == {
        ("analytics-inflation", "error"),
        ("hot-row-contention", "warning"),
        ("aggregate-recompute", "warning"),
        ("noop-update-trigger", "warning"),
        ("write-amplification", "warning"),
    }


def test_rule_options(chat: Path) -> None:
    # 02-tables.sql:19 is account deletion (auth.users, 5 row writes); 04-triggers.sql:15 a
    # session insert (3) and :24 a message upsert (4).
    assert [line for rule, _, line in findings("chat")[1] if rule == "write-amplification"] == [
        19,
        15,
        24,
    ]
    Path("pyproject.toml").write_text(
        "[tool.sqlripple.rules.write-amplification]\nmax_row_writes = 4\n", "utf-8"
    )
    assert [line for rule, _, line in findings("chat")[1] if rule == "write-amplification"] == [
        19,
        24,
    ]


def test_fail_on(chat: Path) -> None:
    Path("sqlripple.toml").write_text('fail_on = "error"\n', "utf-8")
    assert run("check", "chat")[0] == 0
    Path("sqlripple.toml").write_text('fail_on = "note"\nselect = ["RP104"]\n', "utf-8")
    assert run("check", "chat")[0] == 1


def test_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.sql").write_text(
        "CREATE SCHEMA app;\n"
        "CREATE TABLE app.t (id int PRIMARY KEY);\n"
        "CREATE FUNCTION app.f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n"
        "CREATE TRIGGER stamp BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n",
        "utf-8",
    )
    assert findings("a.sql")[1] == [("unresolved-reference", "note", 4)]
    Path("sqlripple.toml").write_text('search_path = ["app", "public"]\n', "utf-8")
    assert findings("a.sql")[1] == []


def test_entrypoints_raise_the_severity_of_declared_writes(chat: Path) -> None:
    Path("sqlripple.toml").write_text(
        '[entrypoints]\n"public.chat_messages" = ["upsert", "delete"]\n', "utf-8"
    )
    assert [
        (rule, severity) for rule, severity, _ in findings("chat")[1] if rule.startswith("ana")
    ] == [("analytics-inflation", "error"), ("analytics-inflation", "error")]
    assert load_config(".").entrypoints == {"public.chat_messages": ("upsert", "delete")}


def test_known_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.sql").write_text(
        "CREATE TABLE public.t (id int PRIMARY KEY);\n"
        "CREATE TRIGGER audit AFTER UPDATE ON public.t FOR EACH ROW "
        "EXECUTE FUNCTION audit.log_change();\n",
        "utf-8",
    )
    assert findings("a.sql")[1] == [("unresolved-reference", "note", 2)]
    Path("sqlripple.toml").write_text('known_objects = ["audit.log_change"]\n', "utf-8")
    assert findings("a.sql")[1] == []


LOCAL_RULE = '''
from analyzer.findings import Severity
from analyzer.rules import Rule


class EveryTable(Rule):
    """Reports every table (a test rule)."""

    code = "XP001"
    name = "every-table"
    severity = Severity.NOTE
    summary = "Every table"
    options = {"prefix": "table"}

    def check(self, ctx):
        for name, table in sorted(ctx.catalog.tables.items()):
            yield self.finding(table.location, f"{self.settings['prefix']} {name}", subject=name)
'''


def test_rules_path_is_relative_to_the_file(chat: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (chat.parent / "local").mkdir()
    (chat.parent / "local" / "every_table.py").write_text(LOCAL_RULE, "utf-8")
    Path("sqlripple.toml").write_text(
        'rules_path = ["local"]\nselect = ["every-table"]\n'
        '[rules.every-table]\nprefix = "relation"\n',
        "utf-8",
    )
    monkeypatch.chdir(chat)
    assert load_config(".").rules_path == ("../local",)
    code, out, _ = run("check", ".", "--format", "json")
    messages = [f["message"] for f in json.loads(out)["findings"]]
    assert messages == [
        "relation public.profiles",
        "relation public.chat_sessions",
        "relation public.chat_messages",
        "relation public.user_usage_daily",
        "relation public.session_overview",
    ]
    assert code == 0


def test_baseline_key(chat: Path) -> None:
    assert run("check", "chat", "--write-baseline", "accepted.json")[0] == 0
    Path("sqlripple.toml").write_text('baseline = "accepted.json"\n', "utf-8")
    code, out, _ = run("check", "chat")
    assert code == 0
    assert out.endswith("; 11 in baseline accepted.json\n")


# ---- the command line overrides the file ----------------------------------------------------


def test_flags_override_the_file(chat: Path) -> None:
    Path("sqlripple.toml").write_text(
        'select = ["RP101"]\nfail_on = "never"\nbaseline = "missing.json"\n', "utf-8"
    )
    assert run("check", "chat", "--baseline", "other.json")[2] == (
        "sqlripple: other.json: cannot read baseline: No such file or directory\n"
    )
    Path("sqlripple.toml").write_text('select = ["RP101"]\nfail_on = "never"\n', "utf-8")
    assert findings("chat") == (
        0,
        [("analytics-inflation", "warning", 51), ("analytics-inflation", "warning", 90)],
    )
    code, found = findings("chat", "--select", "RP105", "--fail-on", "warning")
    assert (code, found) == (1, [("noop-update-trigger", "warning", 24)])
    assert rules_of(("chat", "--ignore", "RP101", "--select", "RP1")) == [
        "aggregate-recompute",
        "hot-row-contention",
        "noop-update-trigger",
        "write-amplification",
    ]


# ---- every error: exit 2, the file and the key named -------------------------------------


ERRORS = [
    (
        "sqlripple.toml",
        'colour = "always"\n',
        f"sqlripple.toml: colour: unknown key (known keys: {KNOWN_KEYS})",
    ),
    (
        "pyproject.toml",
        '[tool.sqlripple]\nfail_on = "warning"\n[tool.sqlripple.colours]\nx = 1\n',
        f"pyproject.toml: tool.sqlripple.colours: unknown key (known keys: {KNOWN_KEYS})",
    ),
    (
        "sqlripple.toml",
        'select = "RP101"\n',
        "sqlripple.toml: select: must be an array of strings, not a string",
    ),
    (
        "sqlripple.toml",
        'include = ["*.sql", 3]\n',
        "sqlripple.toml: include: must be an array of strings, not an array",
    ),
    (
        "sqlripple.toml",
        "fail_on = 3\n",
        "sqlripple.toml: fail_on: must be one of error, warning, note, never, not an integer",
    ),
    (
        "sqlripple.toml",
        'fail_on = "always"\n',
        "sqlripple.toml: fail_on: must be one of error, warning, note, never, not 'always'",
    ),
    (
        "sqlripple.toml",
        'severity = "error"\n',
        "sqlripple.toml: severity: must be a table, not a string",
    ),
    (
        "pyproject.toml",
        '[tool.sqlripple.severity]\nanalytics-inflation = "fatal"\n',
        "pyproject.toml: tool.sqlripple.severity.analytics-inflation: must be one of error, "
        "warning, note, not 'fatal'",
    ),
    (
        "sqlripple.toml",
        '[severity]\nno-such-rule = "error"\n',
        f"sqlripple.toml: severity.no-such-rule: unknown rule (rules: {RULES})",
    ),
    (
        "pyproject.toml",
        '[tool.sqlripple]\nselect = ["analytics-inflation", "no-such-rule"]\n',
        f"pyproject.toml: tool.sqlripple.select: unknown rule 'no-such-rule' (rules: {RULES})",
    ),
    (
        "sqlripple.toml",
        'ignore = ["XX1"]\n',
        f"sqlripple.toml: ignore: unknown rule 'XX1' (rules: {RULES})",
    ),
    (
        "sqlripple.toml",
        "[rules.no-such-rule]\nlimit = 1\n",
        f"sqlripple.toml: rules.no-such-rule: unknown rule (rules: {RULES})",
    ),
    (
        "sqlripple.toml",
        "[rules.write-amplification]\nmax_rows = 5\n",
        "sqlripple.toml: rules.write-amplification.max_rows: unknown option "
        "(options of write-amplification: max_depth, max_row_writes)",
    ),
    (
        "sqlripple.toml",
        '[rules.write-amplification]\nmax_row_writes = "5"\n',
        "sqlripple.toml: rules.write-amplification.max_row_writes: must be an integer like "
        "the default 3, not a string",
    ),
    (
        "sqlripple.toml",
        "[rules.write-amplification]\nmax_row_writes = true\n",
        "sqlripple.toml: rules.write-amplification.max_row_writes: must be an integer like "
        "the default 3, not a boolean",
    ),
    (
        "sqlripple.toml",
        'rules = ["write-amplification"]\n',
        "sqlripple.toml: rules: must be a table, not an array",
    ),
    (
        "sqlripple.toml",
        '[entrypoints]\n"public.chat_messages" = ["upsrt"]\n',
        'sqlripple.toml: entrypoints."public.chat_messages": must be one of insert, update, '
        "delete, truncate, upsert, merge, not 'upsrt'",
    ),
    (
        "sqlripple.toml",
        '[entrypoints]\n"public.chat_messages" = []\n',
        'sqlripple.toml: entrypoints."public.chat_messages": must list at least one operation',
    ),
    (
        "sqlripple.toml",
        "search_path = []\n",
        "sqlripple.toml: search_path: must name at least one schema",
    ),
    (
        "sqlripple.toml",
        "baseline = 1\n",
        "sqlripple.toml: baseline: must be a file name, not an integer",
    ),
    (
        "sqlripple.toml",
        "rules_path = 'local'\n",
        "sqlripple.toml: rules_path: must be an array of strings, not a string",
    ),
    (
        "sqlripple.toml",
        "known_objects = {a = 1}\n",
        "sqlripple.toml: known_objects: must be an array of strings, not a table",
    ),
    (
        "sqlripple.toml",
        "select = [\n",
        "sqlripple.toml: invalid TOML: Invalid value (at end of document)",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), ERRORS)
def test_config_errors_exit_2_naming_file_and_key(
    chat: Path, name: str, content: str, message: str
) -> None:
    Path(name).write_text(content, "utf-8")
    assert run("check", "chat") == (2, "", f"sqlripple: {message}\n")


def test_config_found_above_is_named_relative_to_the_current_directory(
    chat: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("sqlripple.toml").write_text("fail_on = 1\n", "utf-8")
    monkeypatch.chdir(chat)
    assert run("check", ".")[2] == (
        "sqlripple: ../sqlripple.toml: fail_on: must be one of error, warning, note, never, "
        "not an integer\n"
    )


def test_command_line_errors(chat: Path) -> None:
    assert run("check", "chat", "--config", "nope.toml") == (
        2,
        "",
        "sqlripple: nope.toml: configuration file not found\n",
    )
    Path("pyproject.toml").write_text('[project]\nname = "x"\n', "utf-8")
    assert run("check", "chat", "--config", "pyproject.toml")[2] == (
        "sqlripple: pyproject.toml: no [tool.sqlripple] table\n"
    )
    assert run("check", "chat", "--select", "RP101,nope") == (
        2,
        "",
        "sqlripple: --select: unknown rule 'nope' (`sqlripple rules` lists them)\n",
    )
    assert run("check", "chat", "--ignore", "XP")[2] == (
        "sqlripple: --ignore: unknown rule 'XP' (`sqlripple rules` lists them)\n"
    )


def test_load_config_raises_config_error(tmp_path: Path) -> None:
    (tmp_path / "sqlripple.toml").write_text("select = 1\n", "utf-8")
    with pytest.raises(ConfigError, match=r"^sqlripple.toml: select: must be an array"):
        load_config(tmp_path)


def test_the_readme_example_is_a_valid_configuration(tmp_path: Path) -> None:
    from test_check_helpers import ROOT

    from analyzer.config import RuleSpec, check_rule_references
    from analyzer.rules import load_rules
    from analyzer.suppressions import SUPPRESSION_RULES

    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## Configuration") :]
    example = section[section.index("```toml\n") + 8 : section.index("```\n", 1)]
    (tmp_path / "pyproject.toml").write_text(example, "utf-8")
    config = load_config(tmp_path)
    classes, _ = load_rules(Config())
    specs = [RuleSpec(c.name, c.code, dict(c.options)) for c in (*classes, *SUPPRESSION_RULES)]
    check_rule_references(config, specs)
    assert config.severity == {"analytics-inflation": "error"}
    assert config.rule_options == {"write-amplification": {"max_row_writes": 5}}
    assert config.baseline == "sqlripple-baseline.json"


def test_a_pyproject_whose_tool_is_not_a_table_is_passed_over(chat: Path) -> None:
    Path("pyproject.toml").write_text("tool = 3\n", "utf-8")
    assert load_config(".") == Config()
    Path("pyproject.toml").write_text("tool = [\n", "utf-8")
    assert run("check", "chat")[2] == (
        "sqlripple: pyproject.toml: invalid TOML: Invalid value (at end of document)\n"
    )


def test_default_search_path_is_the_catalogs() -> None:
    from analyzer.catalog import DEFAULT_SEARCH_PATH

    assert Config().search_path == DEFAULT_SEARCH_PATH
