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


NODES = "CREATE TABLE nodes (id bigint PRIMARY KEY, parent_id bigint, archived boolean);\n"


def update_loop(tmp_path: Path, body: str, timing: str = "AFTER") -> list[tuple[Severity, str]]:
    return recursion(
        tmp_path,
        NODES + "CREATE FUNCTION g() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body}\nRETURN NEW;\nEND $$;\n"
        f"CREATE TRIGGER u {timing} UPDATE ON nodes FOR EACH ROW EXECUTE FUNCTION g();\n",
    )


NODE_LOOP = "public.nodes.u -> public.nodes.u"


def test_an_update_whose_where_excludes_the_rows_it_set_runs_out(tmp_path: Path) -> None:
    # Archiving a subtree: each child is archived once, then no longer matches.
    for body, settled in (
        ("UPDATE nodes SET archived = true WHERE parent_id = NEW.id AND NOT archived;", "archived"),
        (
            "UPDATE nodes SET archived = true WHERE parent_id = NEW.id "
            "AND archived IS DISTINCT FROM true;",
            "archived",
        ),
    ):
        assert update_loop(tmp_path, body) == [
            (
                Severity.NOTE,
                f"trigger loop {NODE_LOOP}, broken by: UPDATE public.nodes sets {settled} so "
                "that its WHERE no longer matches the row",
            )
        ]


def test_an_update_that_still_matches_its_rows_never_ends(tmp_path: Path) -> None:
    unbounded = [
        (
            Severity.ERROR,
            f"trigger loop {NODE_LOOP} with nothing to stop it: every firing ends in "
            "'stack depth limit exceeded'",
        )
    ]
    # The WHERE does not test what the SET changes.
    body = "UPDATE nodes SET archived = true WHERE parent_id = NEW.id;"
    assert update_loop(tmp_path, body) == unbounded
    # Set to a value that passes the test again.
    body = "UPDATE nodes SET archived = false WHERE id = NEW.id AND NOT archived;"
    assert update_loop(tmp_path, body) == unbounded
    # A BEFORE trigger still sees the old value in its own row.
    body = "UPDATE nodes SET archived = true WHERE id = NEW.id AND NOT archived;"
    assert update_loop(tmp_path, body, timing="BEFORE") == unbounded
    # Something else on the loop sets the column back.
    body = (
        "UPDATE nodes SET archived = true WHERE parent_id = NEW.id AND NOT archived;\n"
        "UPDATE nodes SET archived = false WHERE id = NEW.parent_id;"
    )
    assert update_loop(tmp_path, body) == unbounded
