"""RP201 claims a loop that always ends in 'stack depth limit exceeded' (error) only when
each round certainly finds a row to write again. A DELETE that reaches an AFTER DELETE
row trigger of its own table runs out of rows (a row is deleted once): a note. The
server runs such a loop to the end (tests/test_verify_fixtures.py measures
fixtures/rules-trigger-recursion/07-cleanup.sql)."""

from __future__ import annotations

from pathlib import Path

from analyzer.analysis import analyze
from analyzer.config import Config
from analyzer.findings import Severity

BLOCKS = "CREATE TABLE blocks (id bigserial PRIMARY KEY, n bigint NOT NULL UNIQUE);\n"


def recursion(tmp_path: Path, sql: str) -> list[tuple[Severity, str]]:
    path = tmp_path / "schema.sql"
    path.write_text(BLOCKS + sql, encoding="utf-8")
    result = analyze([str(path)], Config())
    return [(f.severity, f.message) for f in result.findings if f.rule == "trigger-recursion"]


def trigger(body: str, timing: str = "AFTER", level: str = "ROW") -> str:
    return (
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body}\nRETURN OLD;\nEND $$;\n"
        f"CREATE TRIGGER t {timing} DELETE ON blocks FOR EACH {level} EXECUTE FUNCTION f();\n"
    )


LOOP = "public.blocks.t -> public.blocks.t"


def test_deleting_later_rows_runs_out_of_rows(tmp_path: Path) -> None:
    assert recursion(tmp_path, trigger("DELETE FROM blocks WHERE n > OLD.n;")) == [
        (
            Severity.NOTE,
            f"trigger loop {LOOP}, broken by: DELETE FROM public.blocks runs out of rows "
            "(nothing on the loop adds any)",
        )
    ]


UNBOUNDED = (
    Severity.ERROR,
    f"trigger loop {LOOP} with nothing to stop it: every firing ends in "
    "'stack depth limit exceeded'",
)


def test_a_before_delete_trigger_still_sees_its_own_row(tmp_path: Path) -> None:
    # BEFORE: the row is still there, so the nested DELETE finds it again, forever.
    sql = trigger("DELETE FROM blocks WHERE id = OLD.id;", timing="BEFORE")
    assert recursion(tmp_path, sql) == [UNBOUNDED]


def test_a_statement_trigger_fires_for_zero_rows(tmp_path: Path) -> None:
    sql = trigger("DELETE FROM blocks WHERE n > 0;", level="STATEMENT")
    assert recursion(tmp_path, sql) == [UNBOUNDED]


def test_a_loop_that_adds_rows_back_does_not_run_out(tmp_path: Path) -> None:
    # Each round inserts the row the next round deletes.
    sql = trigger(
        "INSERT INTO blocks (n) VALUES (OLD.n + 1);\nDELETE FROM blocks WHERE n = OLD.n + 1;"
    )
    assert recursion(tmp_path, sql) == [UNBOUNDED]
