"""The statement splitter: exact spans, kinds, and the inputs sqlglot alone gets wrong."""

from __future__ import annotations

import re

import pytest

from analyzer.findings import Diagnostic
from analyzer.parse import Statement, classify, split_statements
from analyzer.source import SourceFile
from analyzer.tokens import IDENT_PART, IDENT_START, TAG_PART


def split(text: str, path: str = "s.sql") -> tuple[list[Statement], list[Diagnostic], int]:
    return split_statements(SourceFile.from_text(path, text))


def spans(text: str) -> list[tuple[str, int, int, int, int]]:
    """(text, line, column, end line, end column) of every statement."""
    statements, diagnostics, lost = split(text)
    assert diagnostics == [] and lost == 0
    return [
        (s.text, s.location.line, s.location.column, s.location.end_line, s.location.end_column)
        for s in statements
    ]


def test_statements_keep_exact_spans_including_the_semicolon() -> None:
    text = "  CREATE TABLE a (x int);\n-- note\nDROP TABLE a;   SELECT 1;\n"
    assert spans(text) == [
        ("CREATE TABLE a (x int);", 1, 3, 1, 25),
        ("DROP TABLE a;", 3, 1, 3, 13),
        ("SELECT 1;", 3, 17, 3, 25),
    ]


def test_last_statement_without_semicolon_ends_at_its_last_character() -> None:
    assert spans("SELECT 1;\nSELECT\n  2  \n\n") == [
        ("SELECT 1;", 1, 1, 1, 9),
        ("SELECT\n  2", 2, 1, 3, 3),
    ]


def test_trailing_comment_after_the_last_semicolon_is_not_a_statement() -> None:
    """sqlglot turns a trailing comment into an extra (empty) expression."""
    text = "CREATE TABLE t (id int);\n-- the end\n/* really\n the end */\n"
    statements, diagnostics, lost = split(text)
    assert [s.text for s in statements] == ["CREATE TABLE t (id int);"]
    assert (diagnostics, lost) == ([], 0)


def test_semicolons_inside_literals_comments_and_identifiers_do_not_split() -> None:
    text = (
        "SELECT 'a;b', E'c\\';d', $$e;f$$, $tag$ $$;$$ $tag$, \"g;h\" /* i; /* j; */ k; */;\n"
        "SELECT U&'l\\0061;';\n"
    )
    statements, _, _ = split(text)
    assert [s.location.line for s in statements] == [1, 2]
    assert statements[1].text == "SELECT U&'l\\0061;';"


def test_dollar_signs_inside_names_and_parameters_are_not_quotes() -> None:
    assert [t for t, *_ in spans("SELECT a$b$ FROM t WHERE x = $1;\nSELECT 2;")] == [
        "SELECT a$b$ FROM t WHERE x = $1;",
        "SELECT 2;",
    ]


def test_begin_atomic_body_is_one_statement() -> None:
    """sqlglot splits a SQL-standard body at its inner semicolons."""
    text = (
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n"
        "  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\n"
        "  SELECT 2;\n"
        "END;\n"
        "SELECT 3;\n"
    )
    statements, _, _ = split(text)
    assert [(s.location.line, s.location.end_line, s.kind) for s in statements] == [
        (1, 5, "create_function"),
        (6, 6, "select"),
    ]
    assert statements[0].text.endswith("END;")


def test_begin_atomic_outside_a_routine_does_not_swallow_the_file() -> None:
    text = "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n"
    assert [line for _, line, *_ in spans(text)] == [1, 2, 3]


def test_rule_actions_in_parentheses_stay_in_the_rule() -> None:
    text = (
        "CREATE RULE r AS ON INSERT TO t DO ALSO (\n"
        "  INSERT INTO log VALUES (1); UPDATE c SET n = n + 1\n"
        ");\n"
        "SELECT 1;\n"
    )
    statements, _, _ = split(text)
    assert [(s.kind, s.location.line, s.location.end_line) for s in statements] == [
        ("create_rule", 1, 3),
        ("select", 4, 4),
    ]


def test_pg_dump_meta_commands_are_not_sql() -> None:
    """pg_dump 17.6+ writes `\\restrict KEY` / `\\unrestrict KEY`, and `\\connect` between
    databases; sqlglot reads them as part of the next statement."""
    text = (
        "\\restrict 7ffx0Ab\n"
        "SET statement_timeout = 0;\n"
        "\\connect app\n"
        "CREATE TABLE public.t (id integer);\n"
        "\\unrestrict 7ffx0Ab\n"
    )
    assert spans(text) == [
        ("SET statement_timeout = 0;", 2, 1, 2, 26),
        ("CREATE TABLE public.t (id integer);", 4, 1, 4, 35),
    ]


def test_psql_send_command_ends_the_statement() -> None:
    assert spans("SELECT 1 \\gset\nSELECT 2 \\g\nSELECT 3;") == [
        ("SELECT 1", 1, 1, 1, 8),
        ("SELECT 2", 2, 1, 2, 8),
        ("SELECT 3;", 3, 1, 3, 9),
    ]


def test_copy_from_stdin_data_is_skipped() -> None:
    text = (
        "COPY public.t (id, name) FROM stdin;\n"
        "1\tit's; fine\n"
        "2\t$$\n"
        "\\.\n"
        "CREATE TABLE u (id int);\n"
    )
    assert spans(text) == [
        ("COPY public.t (id, name) FROM stdin;", 1, 1, 1, 36),
        ("CREATE TABLE u (id int);", 5, 1, 5, 24),
    ]


def test_crlf_line_endings_keep_columns() -> None:
    assert spans("SELECT 1;\r\n  SELECT 2;\r\n") == [
        ("SELECT 1;", 1, 1, 1, 9),
        ("SELECT 2;", 2, 3, 2, 11),
    ]


@pytest.mark.parametrize(
    ("text", "line", "column", "what", "lost"),
    [
        ("SELECT 1;\nSELECT 'abc;\nSELECT 2;\n", 2, 8, "string", 2),
        ("SELECT 1;\nDO $body$ BEGIN; END $bod$;\nSELECT 2;", 2, 4, "dollar quote $body$", 2),
        ('CREATE TABLE "t (id int);\nSELECT 1;', 1, 14, "quoted identifier", 2),
        ("SELECT 1; /* a /* b */ ;\nSELECT 2;\nSELECT 'x;\n", 1, 11, "comment", 3),
        ("SELECT E'it\\'s;\n", 1, 8, "string", 1),
    ],
)
def test_unterminated_quote_gives_one_diagnostic_at_its_start(
    text: str, line: int, column: int, what: str, lost: int
) -> None:
    statements, diagnostics, skipped = split(text)
    assert diagnostics == [
        Diagnostic(
            "s.sql", line, column, f"unterminated {what}: the rest of the file is not analysed"
        )
    ]
    assert skipped == lost
    assert [s.text for s in statements] == (["SELECT 1;"] if text.startswith("SELECT 1;") else [])


def test_a_region_of_a_file_splits_with_file_offsets() -> None:
    source = SourceFile.from_text(
        "r.sql", "DO $$ BEGIN\n  CREATE TABLE a (id int); DROP TABLE b;\nEND $$;"
    )
    begin = source.text.index("CREATE")
    stop = source.text.index("\nEND")
    statements, _, _ = split_statements(source, begin, stop)
    assert [(s.text, str(s.location)) for s in statements] == [
        ("CREATE TABLE a (id int);", "r.sql:2:3"),
        ("DROP TABLE b;", "r.sql:2:28"),
    ]


def test_derived_text_reports_positions_in_the_real_file() -> None:
    source = SourceFile.from_text("d.sql", "DO 'BEGIN\n  EXECUTE ''DROP TABLE t'';\nEND';")
    inner = "DROP TABLE t"
    first = source.text.index("DROP")
    derived = SourceFile.derived(source, inner, range(first, first + len(inner)))
    statements, _, _ = split_statements(derived)
    assert [(s.text, str(s.location), s.location.end_column) for s in statements] == [
        ("DROP TABLE t", "d.sql:2:13", 24)
    ]


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("CREATE TABLE t (a int)", "create_table"),
        ("CREATE UNLOGGED TABLE t (a int)", "create_table"),
        ("create global temporary table t (a int)", "create_table"),
        ("CREATE FOREIGN TABLE t (a int) SERVER s", "create_table"),
        ("CREATE TABLE t AS SELECT 1", "create_table"),
        ("CREATE OR REPLACE VIEW v AS SELECT 1", "create_view"),
        ("CREATE TEMP RECURSIVE VIEW v (n) AS SELECT 1", "create_view"),
        ("CREATE MATERIALIZED VIEW m AS SELECT 1", "create_view"),
        (
            "CREATE OR REPLACE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql",
            "create_function",
        ),
        ("CREATE PROCEDURE p() AS 'select 1' LANGUAGE sql", "create_function"),
        (
            "CREATE CONSTRAINT TRIGGER t AFTER INSERT ON x FOR EACH ROW EXECUTE FUNCTION f()",
            "create_trigger",
        ),
        ("CREATE OR REPLACE TRIGGER t", "create_trigger"),
        ("CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION f()", "create_event_trigger"),
        ("CREATE OR REPLACE RULE r AS ON INSERT TO t DO NOTHING", "create_rule"),
        ("CREATE SCHEMA s", "create_schema"),
        ("CREATE UNIQUE INDEX i ON t (a)", "create_unique_index"),
        ("CREATE INDEX i ON t (a)", "create_index"),
        ("CREATE POLICY p ON t USING (true)", "other"),
        ("CREATE EXTENSION pgcrypto", "create_extension"),
        ("ALTER TABLE t ADD COLUMN a int", "alter_table"),
        ("ALTER FOREIGN TABLE t RENAME TO u", "alter_table"),
        ("ALTER MATERIALIZED VIEW m RENAME TO n", "alter_view"),
        ("ALTER ROUTINE f() RENAME TO g", "alter_function"),
        ("ALTER TRIGGER t ON x RENAME TO u", "alter_trigger"),
        ("ALTER RULE r ON t RENAME TO s", "alter_rule"),
        ("ALTER EVENT TRIGGER e DISABLE", "alter_event_trigger"),
        ("ALTER INDEX i RENAME TO j", "other"),
        ("DROP TABLE IF EXISTS t CASCADE", "drop_relation"),
        ("DROP MATERIALIZED VIEW m", "drop_relation"),
        ("DROP FOREIGN TABLE f", "drop_relation"),
        ("DROP PROCEDURE p", "drop_function"),
        ("DROP TRIGGER t ON x", "drop_trigger"),
        ("DROP RULE r ON t", "drop_rule"),
        ("DROP EVENT TRIGGER e", "drop_event_trigger"),
        ("DROP INDEX i", "drop_index"),
        ("DROP SCHEMA s CASCADE", "drop_schema"),
        ("DROP TYPE x", "other"),
        ("DO $$ BEGIN END $$", "do"),
        ("CALL p()", "call"),
        ("SELECT f()", "select"),
        ("SET search_path = a", "set_search_path"),
        ("SET LOCAL search_path TO a", "set_search_path"),
        ("set session search_path to default", "set_search_path"),
        ("SET SCHEMA 'a'", "set_search_path"),
        ("RESET search_path", "set_search_path"),
        ("RESET ALL", "set_search_path"),
        ("SET statement_timeout = 0", "other"),
        ("GRANT SELECT ON t TO u", "other"),
        ("COMMENT ON TABLE t IS 'x'", "other"),
        ("INSERT INTO t VALUES (1)", "other"),
    ],
)
def test_kind_comes_from_the_leading_keywords(sql: str, kind: str) -> None:
    statements, _, _ = split(sql)
    assert statements[0].kind == kind
    assert classify(statements[0].words) == kind


def test_empty_input_has_no_statements() -> None:
    assert split("") == ([], [], 0)
    assert split("\n  -- only a comment\n") == ([], [], 0)


@pytest.mark.parametrize(
    ("fast", "plain", "ascii_count"),
    [
        (IDENT_START, r"[A-Za-z_\x80-\U0010ffff]", 53),
        (IDENT_PART, r"[A-Za-z0-9_$\x80-\U0010ffff]", 64),
        (TAG_PART, r"[A-Za-z0-9_\x80-\U0010ffff]", 63),
    ],
)
def test_identifier_classes_match_the_plain_classes(
    fast: str, plain: str, ascii_count: int
) -> None:
    # every character up to U+00FF, and the edges of the ranges above
    points = [*range(0x100), 0xD7FF, 0xD800, 0xE000, 0xFFFF, 0x10000, 0x10FFFF]
    fast_re, plain_re = re.compile(fast), re.compile(plain)
    assert [p for p in points if bool(fast_re.match(chr(p))) != bool(plain_re.match(chr(p)))] == []
    assert sum(bool(fast_re.match(chr(p))) for p in range(0x80)) == ascii_count
    assert all(fast_re.match(chr(p)) for p in points if p >= 0x80)


def test_dollar_quoted_bodies_become_one_token_each_without_being_scanned() -> None:
    from analyzer.parse import tokenize

    text = (
        "SELECT 1;\r\nCREATE FUNCTION f(a int DEFAULT 1) RETURNS int\r\n"
        "LANGUAGE plpgsql AS $fn$\nBEGIN RETURN $$x$$ || 'it''s'; END\n$fn$;\n"
        "DO $body$ BEGIN PERFORM f(2); END $body$;\n"
        "COMMENT ON FUNCTION f(int) IS $c$a $ b$c$;\n"
    )
    statements, _, _ = split(text)
    quoted = [s for s in statements if s.dollar_quotes]
    assert [[text[a : b + 1] for a, b in s.dollar_quotes] for s in quoted] == [
        ["$fn$\nBEGIN RETURN $$x$$ || 'it''s'; END\n$fn$"],
        ["$body$ BEGIN PERFORM f(2); END $body$"],
        ["$c$a $ b$c$"],
    ]
    for statement in quoted:
        whole = tokenize(statement.text, statement.start)
        assert [
            (t.token_type, t.text, t.start, t.end, t.line, t.col) for t in statement.tokens
        ] == [(t.token_type, t.text, t.start, t.end, t.line, t.col) for t in whole]
    assert quoted[0].tokens[-2].text == "\nBEGIN RETURN $$x$$ || 'it''s'; END\n"
