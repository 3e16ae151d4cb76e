"""Size and depth limits: each has a defined behaviour (README, "Limits and guarantees").

Big inputs are generated in tmp_path; every test stays well under 10 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer import analyze
from analyzer.cascade import MAX_TRIGGER_DEPTH, TraceEntry, Tracer
from analyzer.cli import cli
from analyzer.graph import build_model
from analyzer.loader import load

ROOT = Path(__file__).resolve().parent.parent


def _sets(count: int, start: int = 0) -> str:
    """`count` tables, each with a counting trigger function and its trigger."""
    return "".join(
        f"CREATE TABLE t{i} (id int PRIMARY KEY, n int DEFAULT 0, note text);\n"
        f"CREATE FUNCTION f{i}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"  IF TG_OP = 'INSERT' THEN\n    UPDATE t{i} SET n = n + 1 WHERE id = NEW.id;\n"
        f"  END IF;\n  RETURN NEW;\nEND $$;\n"
        f"CREATE TRIGGER g{i} AFTER INSERT ON t{i} FOR EACH ROW EXECUTE FUNCTION f{i}();\n"
        f"-- comment {i}\n"
        for i in range(start, start + count)
    )


def _elapsed(paths: list[str]) -> float:
    start = time.perf_counter()
    load(paths)
    return time.perf_counter() - start


# ---- big files --------------------------------------------------------------------------------


def test_a_5_mb_file_of_seed_data_and_ddl_is_analysed(tmp_path: Path) -> None:
    path = tmp_path / "dump.sql"
    rows = ",\n".join(f"({i}, 'seed row {i} with some text', {i % 7})" for i in range(40_000))
    seed = f"INSERT INTO t0 (id, note, n) VALUES\n{rows};\n"
    with path.open("w", encoding="utf-8") as stream:
        stream.write(_sets(100))
        while stream.tell() < 5_000_000:
            stream.write(seed)
        stream.write("CREATE TABLE last_one (id int);\n")
    assert path.stat().st_size >= 5_000_000
    start = time.perf_counter()
    result = analyze([str(path)])
    assert time.perf_counter() - start < 30  # about 2.5 s; a quadratic step takes minutes
    summary = result.catalog.summary
    assert (summary.tables, summary.functions, summary.triggers) == (101, 100, 100)
    assert summary.unanalyzed_statements == 0 and result.diagnostics == ()


def test_a_single_5_mb_statement(tmp_path: Path) -> None:
    path = tmp_path / "one.sql"
    rows = ",\n".join(f"({i}, 'row {i} with some text to make it longer')" for i in range(110_000))
    path.write_text(
        "CREATE TABLE t (id int PRIMARY KEY, note text);\n"
        f"INSERT INTO t VALUES\n{rows};\nCREATE TABLE after_it (id int);\n",
        encoding="utf-8",
    )
    assert path.stat().st_size >= 5_000_000
    start = time.perf_counter()
    catalog = load([str(path)])
    assert time.perf_counter() - start < 5
    assert sorted(catalog.tables) == ["public.after_it", "public.t"]
    assert (catalog.statements, catalog.unanalyzed_statements) == (3, 0)


def test_a_single_5_mb_unterminated_string_costs_one_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "open.sql"
    path.write_text(
        "CREATE TABLE t (id int);\nINSERT INTO t VALUES ('" + "x" * 5_000_000 + "\n",
        encoding="utf-8",
    )
    catalog = load([str(path)])
    assert list(catalog.tables) == ["public.t"]
    ((line, column),) = [(d.line, d.column) for d in catalog.diagnostics]
    assert (line, column) == (2, 23)


# ---- many files ---------------------------------------------------------------------------------


def test_ten_thousand_files_are_all_read_in_order(tmp_path: Path) -> None:
    tree = tmp_path / "migrations"
    for group in range(10):
        folder = tree / f"{group:02d}"
        folder.mkdir(parents=True)
        for i in range(1000):
            n = group * 1000 + i
            (folder / f"{n}_t.sql").write_text(f"CREATE TABLE t{n} (id int);\n", encoding="utf-8")
    start = time.perf_counter()
    catalog = load([str(tree)])
    assert time.perf_counter() - start < 30  # about 8 s; a quadratic step takes minutes
    assert catalog.summary.files == 10_000 and len(catalog.tables) == 10_000
    assert (catalog.statements, catalog.unanalyzed_statements) == (10_000, 0)
    assert [f.path.rsplit("/", 1)[-1] for f in catalog.files[:3]] == [
        "0_t.sql",
        "1_t.sql",
        "2_t.sql",
    ]


# ---- deep nesting -------------------------------------------------------------------------------

DEEP = 1000


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT " + "(" * DEEP + "1" + ")" * DEEP + ";",
        "CREATE TABLE deep (a int CHECK (" + "(" * DEEP + "a > 0" + ")" * DEEP + "));",
        "CREATE VIEW v AS SELECT " + "(" * DEEP + "1" + ")" * DEEP + " AS x;",
        "CREATE TRIGGER g AFTER UPDATE ON base FOR EACH ROW WHEN ("
        + "(" * DEEP
        + "OLD.id <> NEW.id"
        + ")" * DEEP
        + ") EXECUTE FUNCTION f();",
        "CREATE TABLE unbalanced (a int CHECK (" + "(" * DEEP + "a > 0));",
    ],
    ids=["select", "check", "view", "trigger-when", "unbalanced"],
)
def test_top_level_sql_nested_1000_deep(tmp_path: Path, statement: str) -> None:
    path = tmp_path / "deep.sql"
    path.write_text(
        "CREATE TABLE base (id int PRIMARY KEY);\n"
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
        + statement
        + "\nCREATE TABLE after_it (id int);\n",
        encoding="utf-8",
    )
    result = analyze([str(path)])  # no RecursionError escapes
    assert {"public.base", "public.after_it"} <= set(result.catalog.tables)
    for diagnostic in result.diagnostics:
        assert diagnostic.path.endswith("deep.sql") and diagnostic.line >= 1
        assert diagnostic.column >= 1 and "internal error" not in diagnostic.message
    if result.catalog.unanalyzed_statements:
        assert any(d.line == 3 for d in result.diagnostics)


@pytest.mark.parametrize(
    "body",
    [
        "BEGIN\n" + "IF a THEN\n" * DEEP + "x := 1;\n" + "END IF;\n" * DEEP + "RETURN NEW;\nEND",
        "BEGIN\n" + "BEGIN\n" * DEEP + "NULL;\n" + "END;\n" * DEEP + "RETURN NEW;\nEND",
        "BEGIN\n" + "LOOP\n" * DEEP + "EXIT;\n" + "END LOOP;\n" * DEEP + "RETURN NEW;\nEND",
        "DECLARE x int; BEGIN\n  x := " + "(" * DEEP + "1" + ")" * DEEP + ";\nRETURN NEW;\nEND",
        "BEGIN\n  IF " + "(" * DEEP + "NEW.id > 0" + ")" * DEEP + " THEN\n"
        "    UPDATE counters SET n = n + 1;\n  END IF;\n  RETURN NEW;\nEND",
        "BEGIN\n  UPDATE counters SET n = " + "(" * DEEP + "n + 1" + ")" * DEEP + ";\n"
        "  RETURN NEW;\nEND",
    ],
    ids=["if", "block", "loop", "assign-expression", "if-condition", "update-expression"],
)
def test_plpgsql_bodies_nested_1000_deep(tmp_path: Path, body: str) -> None:
    path = tmp_path / "deep.sql"
    path.write_text(
        "CREATE TABLE counters (id int PRIMARY KEY, n int);\n"
        "CREATE TABLE base (id int PRIMARY KEY);\n"
        f"CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n{body}\n$$;\n"
        "CREATE TRIGGER g AFTER INSERT ON base FOR EACH ROW EXECUTE FUNCTION f();\n",
        encoding="utf-8",
    )
    result = analyze([str(path)])
    assert "public.base.g" in result.catalog.triggers
    lines = path.read_text(encoding="utf-8").count("\n") + 1
    for diagnostic in result.diagnostics:
        assert diagnostic.path.endswith("deep.sql")
        assert 1 <= diagnostic.line <= lines and diagnostic.column >= 1
        assert "internal error" not in diagnostic.message
    if result.unanalyzed_functions:
        assert result.diagnostics  # what was skipped is explained


def test_sql_function_nested_1000_deep(tmp_path: Path) -> None:
    path = tmp_path / "deep.sql"
    path.write_text(
        "CREATE TABLE counters (id int PRIMARY KEY, n int);\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT "
        + "(" * DEEP
        + "1"
        + ")" * DEEP
        + " $$;\n",
        encoding="utf-8",
    )
    result = analyze([str(path)])
    assert "public.f()" in result.catalog.functions
    assert all(d.line >= 1 and d.column >= 1 for d in result.diagnostics)


# ---- long trigger chains ------------------------------------------------------------------------


def _chain(length: int) -> str:
    parts = [f"CREATE TABLE t{i} (id int PRIMARY KEY);\n" for i in range(length + 1)]
    for i in range(length):
        parts.append(
            f"CREATE FUNCTION f{i}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO t{i + 1} VALUES (NEW.id); RETURN NEW; END $$;\n"
            f"CREATE TRIGGER g{i} AFTER INSERT ON t{i} FOR EACH ROW EXECUTE FUNCTION f{i}();\n"
        )
    return "".join(parts)


def test_a_chain_past_the_depth_limit_is_cut_with_a_message(tmp_path: Path) -> None:
    """t0 → t1 → … each trigger inserting into the next table: MAX_TRIGGER_DEPTH levels are
    followed, the rest is reported as not followed; nothing raises and the recursion limit
    is restored afterwards."""
    length = MAX_TRIGGER_DEPTH + 20
    path = tmp_path / "chain.sql"
    path.write_text(_chain(length), encoding="utf-8")
    model = build_model(load([str(path)]))
    limit = sys.getrecursionlimit()
    cascade = Tracer(model).trace(TraceEntry("public.t0", "insert"))
    assert sys.getrecursionlimit() == limit
    reasons = [u.reason for u in cascade.unknowns]
    assert f"cascade deeper than {MAX_TRIGGER_DEPTH} trigger levels: not followed" in reasons


def test_trace_cli_on_a_chain_of_300(tmp_path: Path) -> None:
    path = tmp_path / "chain.sql"
    path.write_text(_chain(300), encoding="utf-8")
    outcome = CliRunner().invoke(
        cli, ["trace", str(path), "--table", "t0", "--op", "insert", "--format", "json"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert '"public.t300"' in outcome.output


# ---- input that is not plain SQL text, end to end ----------------------------------------------


def test_a_tree_of_bad_files_is_reported_and_the_rest_analysed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Symlink loop, a directory named x.sql, an unreadable file, invalid UTF-8, NUL bytes,
    BOM, CRLF, an empty file and an empty directory next to a real schema: every problem is
    one located diagnostic, every finding of the schema is still there."""
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "fixtures" / "chat", tree / "chat")
    (tree / "loop").mkdir()
    (tree / "loop" / "back").symlink_to(tree, target_is_directory=True)
    (tree / "dir.sql").mkdir()
    (tree / "dir.sql" / "inside.txt").write_text("not sql", encoding="utf-8")
    (tree / "empty").mkdir()
    (tree / "z1-latin1.sql").write_bytes(b"-- caf\xe9\nCREATE TABLE latin (id int);\n")
    (tree / "z2-nul.sql").write_bytes(b"CREATE TABLE nul (id int);\n\x00\n")
    (tree / "z3-bom.sql").write_bytes(b"\xef\xbb\xbfCREATE TABLE bom (id int);\n")
    (tree / "z4-crlf.sql").write_bytes(b"CREATE TABLE crlf (\r\n  id int\r\n);\r\n")
    (tree / "z5-empty.sql").write_bytes(b"")
    (tree / "z6-locked.sql").write_text("CREATE TABLE locked (id int);\n", encoding="utf-8")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "z6-locked.sql":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.chdir(tmp_path)
    expected = {(f.rule, f.location.line) for f in analyze(["tree/chat"]).findings}
    result = analyze(["tree"])
    assert expected == {(f.rule, f.location.line) for f in result.findings}
    assert {"public.latin", "public.bom", "public.crlf"} <= set(result.catalog.tables)
    assert not {"public.nul", "public.locked"} & set(result.catalog.tables)
    messages = {(d.path, d.line, d.column, d.message) for d in result.diagnostics}
    assert ("tree/z1-latin1.sql", 1, 7, "invalid UTF-8: file decoded as latin-1") in messages
    assert ("tree/z2-nul.sql", 2, 1, "NUL byte in file: file skipped") in messages
    assert (
        "tree/z6-locked.sql",
        1,
        1,
        "cannot read file: Permission denied: file skipped",
    ) in messages
    assert any("symlink loop" in d.message for d in result.diagnostics)
    assert result.catalog.unanalyzed_statements == 2  # the two skipped files
    assert len(result.diagnostics) == 4


def test_a_directory_with_no_sql_is_a_usage_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    outcome = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)
    assert "directory contains no .sql files" in outcome.output


def test_limits_are_recorded_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Limits and guarantees", 1)[1].split("\n## ", 1)[0]
    for needle in ("50 MB", "10,000 files", f"{MAX_TRIGGER_DEPTH:,}", "1,000"):
        assert needle in section, needle


def test_a_when_condition_too_deep_to_parse_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "when.sql"
    path.write_text(
        "CREATE TABLE base (id int PRIMARY KEY);\n"
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
        "CREATE TRIGGER g AFTER UPDATE ON base FOR EACH ROW WHEN ("
        + "(" * DEEP
        + "OLD.id <> NEW.id"
        + ")" * DEEP
        + ") EXECUTE FUNCTION f();\n",
        encoding="utf-8",
    )
    result = analyze([str(path)])
    assert "public.base.g" in result.catalog.triggers  # kept, with an opaque condition
    ((line, column, message),) = [(d.line, d.column, d.message) for d in result.diagnostics]
    assert (line, column) == (3, 58)
    assert message == "WHEN condition not understood: taken as one that may fail"
