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
    load_sql_files,
    load_sql_text,
    make_conninfo,
    sql_files,
    throwaway_server,
)

# ------------------------------------------------------------------ no server needed


def test_sql_files_follow_migration_order(tmp_path: Path) -> None:
    for name in ["10-b.sql", "2-a.sql", "01-x.sql", "notes.txt", "down.sql"]:
        (tmp_path / name).write_text("SELECT 1;\n")
    assert [path.name for path in sql_files(tmp_path)] == ["01-x.sql", "2-a.sql", "10-b.sql"]


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


@pytest.mark.integration
def test_copy_from_stdin_takes_the_following_lines(
    pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    conninfo = pg_database("copy")
    dump = tmp_path / "dump.sql"
    dump.write_text(
        "CREATE TABLE t (id int, name text);\n"
        "COPY t (id, name) FROM stdin;\n"
        "1\tada\n"
        "2\tgrace\n"
        "\\.\n"
        "INSERT INTO t VALUES (3, 'edsger');\n"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        assert load_sql_files(conn, [dump]) == 3
        rows = conn.execute("SELECT id, name FROM t ORDER BY id").fetchall()
    assert rows == [(1, "ada"), (2, "grace"), (3, "edsger")]


@pytest.mark.integration
def test_single_transaction_folds_commit_and_refuses_rollback(
    pg_database: Callable[[str], str],
) -> None:
    conninfo = pg_database("single")
    with psycopg.connect(conninfo) as conn:
        ran = load_sql_text(
            conn,
            "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n",
            "m.sql",
            single_transaction=True,
        )
        assert ran == 1
        with pytest.raises(SqlLoadError) as info:
            load_sql_text(conn, "SELECT 1;\n  ROLLBACK;\n", "undo.sql", single_transaction=True)
        conn.rollback()
        assert (info.value.path, info.value.line, info.value.column) == ("undo.sql", 2, 3)
        # The COMMIT was folded into the open transaction, so the rollback undid the table.
        row = conn.execute("SELECT to_regclass('public.t') IS NULL").fetchone()
    assert row == (True,)


@pytest.mark.integration
def test_unterminated_quote_is_reported_where_it_starts(
    pg_database: Callable[[str], str],
) -> None:
    conninfo = pg_database("unterminated")
    with psycopg.connect(conninfo, autocommit=True) as conn, pytest.raises(SqlLoadError) as info:
        load_sql_text(conn, "SELECT 1;\nSELECT 'oops;\n", "q.sql")
    assert (info.value.line, info.value.column) == (2, 8)
    assert "unterminated" in info.value.message
