"""The throwaway PostgreSQL server and SQL file loading (analyzer/pgserver.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from conftest import integration_unavailable

from analyzer.pgserver import (
    PgServerUnavailable,
    RowWrites,
    Server,
    SqlLoadError,
    XactStats,
    find_pg_bindir,
    line_column,
    load_sql_files,
    make_conninfo,
    natural_key,
    split_statements,
    throwaway_server,
)

# ------------------------------------------------------------------ no server needed


def statement_texts(sql: str) -> list[str]:
    return [statement.text.strip() for statement in split_statements(sql)]


def test_split_plain_statements_and_offsets() -> None:
    sql = "SELECT 1;\n-- note; not a statement\nSELECT 2 ; /* x; y */\n"
    statements = split_statements(sql)
    assert [s.text.strip() for s in statements] == [
        "SELECT 1;",
        "-- note; not a statement\nSELECT 2 ;",
    ]
    assert sql[statements[1].offset :].startswith("\n-- note")


def test_split_keeps_quoted_semicolons_together() -> None:
    sql = (
        "SELECT 'a;b', E'it\\'s; fine', \"odd;name\" FROM t;\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END; $body$;\n"
        "DO $$ BEGIN PERFORM 1; END $$;\n"
        "SELECT $1, a$b FROM t;"
    )
    assert len(statement_texts(sql)) == 4


def test_split_understands_begin_atomic_bodies() -> None:
    sql = (
        "BEGIN;\n"
        "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC\n"
        "  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n"
        "  SELECT 2;\n"
        "END;\n"
        "COMMIT;"
    )
    texts = statement_texts(sql)
    assert texts[0] == "BEGIN;"
    assert texts[1].startswith("CREATE FUNCTION") and texts[1].endswith("END;")
    assert texts[2] == "COMMIT;"


def test_split_drops_comment_only_tail_and_keeps_unterminated_last_statement() -> None:
    assert statement_texts("SELECT 1;\n/* done */\n-- bye\n") == ["SELECT 1;"]
    assert statement_texts("SELECT 1") == ["SELECT 1"]


def test_line_column_is_one_based() -> None:
    text = "ab\ncd\n"
    assert line_column(text, 0) == (1, 1)
    assert line_column(text, 4) == (2, 2)


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["10-b.sql", "2-a.sql", "01-x.sql", "V1_10__y.sql", "V1_9__z.sql"]
    assert sorted(names, key=natural_key) == [
        "01-x.sql",
        "2-a.sql",
        "10-b.sql",
        "V1_9__z.sql",
        "V1_10__y.sql",
    ]


def test_make_conninfo_quotes_values() -> None:
    assert make_conninfo(host="/tmp/a b", dbname="it's") == r"host='/tmp/a b' dbname='it\'s'"


def test_missing_binaries_raise_pg_server_unavailable(tmp_path: Path) -> None:
    with pytest.raises(PgServerUnavailable, match="initdb"), throwaway_server(tmp_path):
        pass


def test_xact_stats_difference_keeps_only_changes() -> None:
    before = XactStats({"public.f": 1}, {"public.t": RowWrites(1, 0, 0)})
    after = XactStats(
        {"public.f": 1, "public.g": 2},
        {"public.t": RowWrites(1, 0, 0), "public.u": RowWrites(0, 1, 0)},
    )
    diff = after - before
    assert diff.function_calls == {"public.g": 2}
    assert diff.row_writes == {"public.u": RowWrites(0, 1, 0)}


# ------------------------------------------------------------------------ integration


@pytest.mark.integration
def test_find_pg_bindir_finds_server_binaries() -> None:
    bindir = find_pg_bindir()
    if bindir is None:
        integration_unavailable("PostgreSQL server binaries not found")
    assert (bindir / "initdb").exists()
    assert (bindir / "pg_ctl").exists()


def _process_exists(pid: int) -> bool:
    """Live process; an exited server waiting for init to reap it counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.integration
@pytest.mark.parametrize("exit_with", [None, KeyboardInterrupt])
def test_server_is_stopped_and_removed_on_exit(exit_with: type[BaseException] | None) -> None:
    if find_pg_bindir() is None:
        integration_unavailable("PostgreSQL server binaries not found")
    seen: list[Server] = []

    def run() -> None:
        with throwaway_server() as server:
            seen.append(server)
            with server.connect() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
                assert conn.execute("SHOW listen_addresses").fetchone() == ("",)
                assert conn.execute("SHOW fsync").fetchone() == ("off",)
            assert _process_exists(server.pid)
            if exit_with is not None:
                raise exit_with("leaving the block")

    if exit_with is None:
        run()
    else:
        with pytest.raises(exit_with):
            run()
    (server,) = seen
    assert not _process_exists(server.pid)
    assert not server.socket_dir.exists()
    assert not server.datadir.exists()


@pytest.mark.integration
def test_session_server_answers(pg_server: Server) -> None:
    with pg_server.connect() as conn:
        row = conn.execute("SELECT current_user, current_setting('server_version_num')").fetchone()
    assert row is not None
    assert row[0] == "postgres"
    assert int(row[1]) // 10000 == int(pg_server.version)


def _load_error(conninfo: str, *files: Path) -> SqlLoadError:
    with psycopg.connect(conninfo, autocommit=True) as conn, pytest.raises(SqlLoadError) as info:
        load_sql_files(conn, files)
    return info.value


@pytest.mark.integration
def test_rejected_schema_reports_file_line_and_column(
    pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    conninfo = pg_database("rejected")
    good = tmp_path / "01-good.sql"
    good.write_text("CREATE TABLE t (id int PRIMARY KEY);\n")
    bad = tmp_path / "02-bad.sql"
    bad.write_text(
        "-- a migration with a typo\n"
        "CREATE TABLE u (id int);\n"
        "\n"
        "CREATE INDEX u_idx ON u (id);\n"
        "ALTER TABLE u ADD COLUMN note text;\n"
        "SELECT id FRM u;\n"
    )
    error = _load_error(conninfo, good, bad)
    # "FRM" parses as a column alias, so the server stumbles on "u".
    assert (error.path, error.line, error.column) == (str(bad), 6, 15)
    assert error.sqlstate == "42601"
    assert str(error).startswith(f'{bad}:6:15: syntax error at or near "u"')


@pytest.mark.integration
def test_error_inside_function_body_points_into_the_body(
    pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    conninfo = pg_database("body")
    bad = tmp_path / "fn.sql"
    bad.write_text(
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "    NEW.x := 1;\n"
        "    RETRUN NEW;\n"
        "END;\n"
        "$$;\n"
    )
    error = _load_error(conninfo, bad)
    assert (error.line, error.column) == (4, 5)
    assert "RETRUN" in error.message


@pytest.mark.integration
def test_error_without_position_points_at_the_statement(
    pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    conninfo = pg_database("runtime")
    bad = tmp_path / "seed.sql"
    bad.write_text("CREATE TABLE t (id int NOT NULL);\n/* seed */ INSERT INTO t\nVALUES (NULL);\n")
    error = _load_error(conninfo, bad)
    assert (error.line, error.column) == (2, 12)
    assert error.sqlstate == "23502"
