"""`SET standard_conforming_strings = off`: backslashes escape in plain '…' literals.

Old pg_dump and Rails structure.sql headers set it; PostgreSQL then reads 'it\\'s; fine'
as one string. Every file starts with the setting on, like a new session; SET (also TO,
SESSION, quoted and boolean spellings), SET LOCAL until the end of the transaction, RESET
and ROLLBACK change it as on the server. A backslash-quote becomes a doubled quote at the
same offset, so sqlglot and the catalog read the same value and positions stay exact.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer import analyze
from analyzer.cascade import TraceEntry, Tracer, totals_document
from analyzer.ddl import build_catalog
from analyzer.graph import build_model
from analyzer.parse import split_statements
from analyzer.source import SourceFile

BODY = r"""
CREATE TABLE notes (id int PRIMARY KEY, body text DEFAULT 'it\'s; fine');
CREATE TABLE note_log (id int, path text DEFAULT 'C:\\');
CREATE FUNCTION log_note() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
  INSERT INTO note_log VALUES (NEW.id, \'x\');
  RETURN NULL;
END';
CREATE TRIGGER log_note AFTER INSERT ON notes FOR EACH ROW EXECUTE PROCEDURE log_note();
"""


def texts(sql: str) -> list[str]:
    statements, diagnostics, lost = split_statements(SourceFile.from_text("s.sql", sql))
    assert diagnostics == [] and lost == 0
    return [s.text for s in statements]


def test_statements_end_where_postgresql_ends_them() -> None:
    sql = "SET standard_conforming_strings = off;\nSELECT 'a\\';b';\nSELECT 'c\\\\';\n"
    # Same length, the quote escaped the standard way; a backslash pair stays as it is.
    assert texts(sql) == [
        "SET standard_conforming_strings = off;",
        "SELECT 'a'';b';",
        "SELECT 'c\\\\';",
    ]


@pytest.mark.parametrize(
    "setting",
    [
        "SET standard_conforming_strings = off",
        "SET standard_conforming_strings TO false",
        "SET SESSION standard_conforming_strings = 'off'",
        "set STANDARD_CONFORMING_STRINGS = 0",
        "BEGIN; SET LOCAL standard_conforming_strings = off",
    ],
)
def test_each_spelling_turns_it_off(setting: str) -> None:
    assert texts(f"{setting};\nSELECT 'a\\';b';")[-1] == "SELECT 'a'';b';"


@pytest.mark.parametrize(
    "setting",
    [
        "SELECT 1",  # every file starts with it on
        "SET standard_conforming_strings = on",
        "SET standard_conforming_strings = off; SET standard_conforming_strings = DEFAULT",
        "SET standard_conforming_strings = off; RESET standard_conforming_strings",
        "SET standard_conforming_strings = off; RESET ALL",
        "SET LOCAL standard_conforming_strings = off",  # outside a transaction: no effect
        "BEGIN; SET LOCAL standard_conforming_strings = off; COMMIT",
        "BEGIN; SET standard_conforming_strings = off; ROLLBACK",
        "SET standard_conforming_strings_x = off",
    ],
)
def test_the_look_alikes_leave_it_on(setting: str) -> None:
    # With the setting on, the backslash is a character and the literal ends after it.
    assert texts(f"{setting};\nSELECT 'C:\\', ';';")[-1] == "SELECT 'C:\\', ';';"


def test_a_session_set_inside_a_transaction_outlives_its_commit() -> None:
    sql = "BEGIN; SET standard_conforming_strings = off; COMMIT;\nSELECT 'a\\';b';"
    assert texts(sql)[-1] == "SELECT 'a'';b';"


def test_a_file_read_with_it_off_is_analysed_whole(tmp_path: Path) -> None:
    path = tmp_path / "structure.sql"
    path.write_text("SET standard_conforming_strings = off;" + BODY, encoding="utf-8")
    result = analyze([str(path)])
    assert result.diagnostics == ()
    summary = result.catalog.summary
    assert (summary.tables, summary.functions, summary.triggers) == (2, 1, 1)
    assert summary.unanalyzed_statements == 0
    catalog = build_catalog([SourceFile.from_text("s.sql", path.read_text(encoding="utf-8"))])
    column = catalog.tables["public.notes"].column("body")
    assert column is not None and column.default == "'it''s; fine'"
    # The '…'-quoted body is read: its INSERT fires nothing, and is one row.
    cascade = Tracer(build_model(catalog)).trace(TraceEntry("public.notes", "insert"))
    assert totals_document(cascade.totals(), 0)["row_writes"] == {
        "public.note_log": {"insert": 1, "update": 0, "delete": 0, "upsert": 0},
        "public.notes": {"insert": 1, "update": 0, "delete": 0, "upsert": 0},
    }
    # Positions are those of the file as written.
    trigger = catalog.triggers["public.notes.log_note"]
    assert (trigger.location.line, trigger.location.column) == (9, 1)


def test_the_same_file_with_it_on_is_not_standard_sql(tmp_path: Path) -> None:
    path = tmp_path / "structure.sql"
    path.write_text(BODY, encoding="utf-8")
    result = analyze([str(path)])
    assert [d.message for d in result.diagnostics][-1] == (
        "unterminated string: the rest of the file is not analysed"
    )
