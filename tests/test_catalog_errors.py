"""Bad input: one diagnostic at the right place, the rest still analysed, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.catalog import Catalog
from analyzer.ddl import build_catalog
from analyzer.findings import Diagnostic
from analyzer.loader import load
from analyzer.source import SourceFile, decode

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_FILES = sorted((ROOT / "fixtures").glob("*/*.sql")) + sorted(
    (ROOT / "tests" / "catalog_cases").glob("*.sql")
)

BEFORE = "CREATE TABLE before_it (id int PRIMARY KEY);\n"
AFTER = "\nCREATE TABLE after_it (id int REFERENCES before_it);\n"


def build(text: str) -> Catalog:
    return build_catalog([SourceFile.from_text("bad.sql", text)])


@pytest.mark.parametrize(
    ("bad", "column", "message"),
    [
        (
            "CREATE TRIGGER t AFTER FROB ON before_it EXECUTE FUNCTION f();",
            24,
            "unknown trigger event 'FROB'",
        ),
        (
            "CREATE TRIGGER t AFTER INSERT ON before_it FOR EACH ROW f();",
            57,
            "expected EXECUTE",
        ),
        ("CREATE TABLE t (a);", 17, "column a has no type"),
        (
            "CREATE TABLE t (a int, b text PRIMARY);",
            31,
            "unexpected 'PRIMARY' in column definition",
        ),
        (
            "CREATE TABLE t (a int REFERENCES before_it ON DELETE EXPLODE);",
            54,
            "expected a foreign key action",
        ),
        ("CREATE TABLE t (a int;", 22, "unexpected end of statement"),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BOGUS AS 'select 1';",
            46,
            "unexpected 'BOGUS' in function definition",
        ),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 1;", 49, "expected the function body"),
        (
            "CREATE FUNCTION f(a int DEFAULT) RETURNS int LANGUAGE sql AS 'select 1';",
            25,
            "expected a default value",
        ),
        ("CREATE FUNCTION f(a int, ) RETURNS int AS 'select 1';", 25, "empty element in a list"),
        ("ALTER TABLE before_it ALTER COLUMN;", 35, "unexpected end of statement"),
        ("ALTER TABLE before_it RENAME COLUMN id;", 39, "expected TO"),
        ("DO LANGUAGE plpgsql;", 1, "DO without a body"),
        ("DROP TRIGGER t;", 15, "expected ON"),
        ("CREATE RULE r AS ON FROB TO before_it DO NOTHING;", 21, "unknown rule event 'FROB'"),
        ("CREATE EVENT TRIGGER e ON ddl_command_end;", 42, "expected EXECUTE"),
        ("SET search_path = a b;", 21, "unexpected 'b' in search_path"),
    ],
)
def test_a_bad_statement_gives_one_diagnostic_and_the_rest_is_analysed(
    bad: str, column: int, message: str
) -> None:
    catalog = build(BEFORE + bad + AFTER)
    excerpt = " ".join(bad.split())
    excerpt = excerpt if len(excerpt) <= 60 else excerpt[:59] + "…"
    assert catalog.diagnostics == (
        Diagnostic("bad.sql", 2, column, f"{message}; statement not analysed: {excerpt}"),
    )
    assert sorted(catalog.tables) == ["public.after_it", "public.before_it"]
    assert catalog.tables["public.after_it"].foreign_keys[0].ref_table == "public.before_it"
    assert (catalog.statements, catalog.unanalyzed_statements) == (3, 1)


@pytest.mark.parametrize(
    ("bad", "column", "what"),
    [
        ("SELECT 'it''s;\nCREATE TABLE lost (id int);\n", 8, "string"),
        (
            "CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1 $f$;\nCREATE TABLE lost (id int);\n",
            36,
            "dollar quote $fn$",
        ),
        ('CREATE TABLE "lost (id int);\nCREATE TABLE lost2 (id int);\n', 14, "quoted identifier"),
        ("/* a /* nested */ comment;\nCREATE TABLE lost (id int);\n", 1, "comment"),
    ],
)
def test_an_unterminated_quote_skips_the_rest_of_its_file_only(
    bad: str, column: int, what: str
) -> None:
    files = [
        SourceFile.from_text("1.sql", BEFORE + bad),
        SourceFile.from_text("2.sql", AFTER),
    ]
    catalog = build_catalog(files)
    assert catalog.diagnostics == (
        Diagnostic(
            "1.sql", 2, column, f"unterminated {what}: the rest of the file is not analysed"
        ),
    )
    assert sorted(catalog.tables) == ["public.after_it", "public.before_it"]
    assert (catalog.statements, catalog.unanalyzed_statements) == (4, 2)


def test_a_rejected_statement_is_analysed_but_changes_nothing() -> None:
    catalog = build(BEFORE + "ALTER TABLE before_it ADD COLUMN id int;" + AFTER)
    assert [str(d) for d in catalog.diagnostics] == [
        'bad.sql:2:34: column "id" of relation public.before_it already exists: '
        "statement has no effect"
    ]
    assert (catalog.statements, catalog.unanalyzed_statements) == (3, 0)


def test_load_never_raises_on_unreadable_paths(tmp_path: Path) -> None:
    catalog = load([str(tmp_path / "missing"), "\x00bad"])
    assert [d.message for d in catalog.diagnostics] == ["no such file or directory"] * 2
    assert (catalog.statements, catalog.unanalyzed_statements) == (0, 0)


# ---- property tests -------------------------------------------------------------------------


def check_invariants(catalog: Catalog, sources: list[SourceFile]) -> None:
    """Whatever the input: counts are consistent, skipped input is explained, and every
    diagnostic points into the file it names."""
    assert 0 <= catalog.unanalyzed_statements <= catalog.statements
    if catalog.unanalyzed_statements:
        assert catalog.diagnostics
    lines = {s.path: s.text.count("\n") + 1 for s in sources}
    for diagnostic in catalog.diagnostics:
        assert diagnostic.path in lines
        assert 1 <= diagnostic.line <= lines[diagnostic.path]
        assert diagnostic.column >= 1
    for table in catalog.tables.values():
        assert table.location.line >= 1
    for trigger in catalog.triggers.values():
        assert trigger.location.line >= 1


SQL_WORDS = st.sampled_from(
    (
        "CREATE",
        "OR",
        "REPLACE",
        "TABLE",
        "VIEW",
        "FUNCTION",
        "PROCEDURE",
        "TRIGGER",
        "CONSTRAINT",
        "RULE",
        "EVENT",
        "DO",
        "CALL",
        "SELECT",
        "SET",
        "RESET",
        "ALTER",
        "DROP",
        "IF",
        "NOT",
        "EXISTS",
        "ON",
        "BEFORE",
        "AFTER",
        "INSTEAD",
        "OF",
        "INSERT",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "FOR",
        "EACH",
        "ROW",
        "STATEMENT",
        "WHEN",
        "EXECUTE",
        "REFERENCES",
        "PRIMARY",
        "KEY",
        "UNIQUE",
        "CHECK",
        "DEFAULT",
        "GENERATED",
        "ALWAYS",
        "AS",
        "IDENTITY",
        "STORED",
        "PARTITION",
        "BY",
        "OF",
        "INHERITS",
        "LIKE",
        "RETURNS",
        "SETOF",
        "TABLE",
        "LANGUAGE",
        "plpgsql",
        "sql",
        "SECURITY",
        "DEFINER",
        "search_path",
        "TO",
        "=",
        ",",
        ";",
        "(",
        ")",
        ".",
        "::",
        "||",
        "$$",
        "$x$",
        "'",
        "''",
        '"',
        "\\",
        "BEGIN",
        "ATOMIC",
        "END",
        "RETURN",
        "IN",
        "OUT",
        "INOUT",
        "VARIADIC",
        "CASCADE",
        "RENAME",
        "COLUMN",
        "ADD",
        "ENABLE",
        "DISABLE",
        "REPLICA",
        "ALL",
        "USER",
        "ATTACH",
        "DETACH",
        "SCHEMA",
        "format",
        "replace",
        "t",
        "u",
        "f()",
        "1",
        "NULL",
        "--",
        "/*",
        "*/",
        "E'",
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SQL_WORDS, max_size=60).map(" ".join))
def test_random_sql_words_never_raise(text: str) -> None:
    sources = [SourceFile.from_text("r.sql", text)]
    check_invariants(build_catalog(sources), sources)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    source, diagnostics = decode("b.sql", data)
    sources = [] if source is None else [source]
    catalog = build_catalog(sources, diagnostics=diagnostics, skipped_files=int(source is None))
    if source is None:
        assert (catalog.statements, catalog.unanalyzed_statements) == (1, 1)
        assert [d.message for d in catalog.diagnostics] == ["NUL byte in file: file skipped"]
    else:
        check_invariants(catalog, sources)
    for diagnostic in catalog.diagnostics:
        assert diagnostic.path == "b.sql" and diagnostic.line >= 1 and diagnostic.column >= 1


@st.composite
def mutated_fixture(draw: st.DrawFn) -> str:
    path = draw(st.sampled_from(FIXTURE_FILES))
    text = path.read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, max(len(text) - 1, 0)))
        length = draw(st.integers(0, 40))
        action = draw(st.sampled_from(["delete", "duplicate", "insert", "swap"]))
        if action == "delete":
            text = text[:start] + text[start + length :]
        elif action == "duplicate":
            text = text[:start] + text[start : start + length] * 2 + text[start + length :]
        elif action == "insert":
            text = text[:start] + draw(SQL_WORDS) + text[start:]
        else:
            other = draw(st.integers(0, max(len(text) - 1, 0)))
            text = text[:start] + text[other : other + length] + text[start:]
    return text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_fixture())
def test_mutated_fixtures_never_raise(text: str) -> None:
    sources = [SourceFile.from_text("m.sql", text)]
    catalog = build_catalog(sources)
    check_invariants(catalog, sources)
    internal = [d for d in catalog.diagnostics if "internal error" in d.message]
    assert internal == []


def test_a_do_block_that_cannot_be_read_to_its_end_gives_one_diagnostic() -> None:
    catalog = build(
        BEFORE
        + "DO $$ BEGIN\n  CREATE TABLE made_before (id int);\n  IF true THEN\nEND $$;"
        + AFTER
    )
    ((path, line, _, message),) = [
        (d.path, d.line, d.column, d.message) for d in catalog.diagnostics
    ]
    assert (path, line) == ("bad.sql", 5)
    assert message.endswith(": the DDL this body runs after here is not analysed")
    assert sorted(catalog.tables) == ["public.after_it", "public.before_it", "public.made_before"]
    assert (catalog.statements, catalog.unanalyzed_statements) == (3, 1)
