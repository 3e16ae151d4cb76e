"""`sqlripple verify`: workload synthesis, comparison, and the runs themselves.

The differential test over every fixture is in tests/test_verify_fixtures.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from conftest import integration_unavailable

from analyzer.cascade import Cascade, Cycle, Node, Tally, TraceEntry, Tracer
from analyzer.catalog import Function
from analyzer.cli import cli
from analyzer.ddl import build_catalog
from analyzer.pgserver import RowWrites, XactStats, find_pg_bindir
from analyzer.source import SourceFile
from analyzer.verify import (
    Count,
    Difference,
    ServerError,
    VerifyError,
    _marked_statements,
    _outcome,
    compare,
    may_be_inlined,
    verify,
)
from analyzer.workload import ColumnShape, WorkloadError, _check_facts, value_text

ROOT = Path(__file__).resolve().parent.parent
CHAT = "fixtures/chat"


@pytest.fixture(autouse=True)
def in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths in messages are relative to the current directory."""
    monkeypatch.chdir(ROOT)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------ no server needed


def test_check_facts_reads_value_lists_and_bounds_as_postgresql_prints_them() -> None:
    allowed, minimum, maximum = _check_facts(
        [
            "CHECK ((role = ANY (ARRAY['user'::text, 'assistant'::text, 'it''s'::text])))",
            "CHECK (((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character"
            " varying])::text[])))",
            "CHECK (((stars >= 1) AND (stars <= 5)))",
            "CHECK ((quantity > 0))",
            "CHECK ((kind IN ('x', 'y')))",
            "CHECK (((a > 0) OR (b > 0)))",
        ]
    )
    assert allowed == {
        "role": ("user", "assistant", "it's"),
        "status": ("a", "b"),
        "kind": ("x", "y"),
    }
    assert minimum == {"stars": 1, "quantity": 1}
    assert maximum == {"stars": 5}


def column(name: str, type_: str, base: str, category: str, **extra: Any) -> ColumnShape:
    return ColumnShape(name, type_, base, category, not_null=True, has_default=False, **extra)


@pytest.mark.parametrize(
    ("shape", "number", "text"),
    [
        (column("id", "uuid", "uuid", "U"), 10, "2e2ac0ea-0000-4000-8000-00000000000a"),
        (column("n", "integer", "int4", "N"), 7, "7"),
        (column("n", "smallint", "int2", "N", minimum=1, maximum=5), 7, "2"),
        (column("rate", "numeric(5,4)", "numeric", "N"), 12, "3"),
        (column("title", "text", "text", "S"), 3, "title-3"),
        (column("code", "character(3)", "bpchar", "S", length=3), 40, "014"),
        (column("on", "boolean", "bool", "B"), 3, "true"),
        (column("day", "date", "date", "D"), 2, "2024-01-03"),
        (column("at", "timestamp with time zone", "timestamptz", "D"), 5, "2024-01-01 00:05:00+00"),
        (column("doc", "jsonb", "jsonb", "U"), 4, '{"n": 4}'),
        (column("role", "text", "text", "S", allowed=("user", "assistant")), 2, "assistant"),
        (column("ip", "inet", "inet", "I"), 258, "10.0.1.2"),
        (
            column("tags", "text[]", "_text", "A", element=column("tags", "text", "text", "S")),
            6,
            '{"tags-6"}',
        ),
    ],
)
def test_value_text_makes_fresh_values_the_type_and_checks_accept(
    shape: ColumnShape, number: int, text: str
) -> None:
    assert value_text(shape, number) == text


def test_value_text_refuses_types_it_does_not_know() -> None:
    with pytest.raises(WorkloadError, match="type box for column b"):
        value_text(column("b", "box", "box", "G"), 1)


def test_measure_markers_pick_statements_and_their_options() -> None:
    source = SourceFile.from_text(
        "w.sql",
        "INSERT INTO t VALUES (1);\n"
        "-- sqlripple: measure\n"
        "UPDATE t SET a = 2;\n"
        "SELECT 1; -- sqlripple: measure new-row unchanged children=3\n"
        "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING;\n",
    )
    from analyzer.parse import split_statements

    statements, _, _ = split_statements(source)
    marked = [(s.text, o) for s, o in _marked_statements(source, statements)]
    assert [text for text, _ in marked] == [
        "INSERT INTO t VALUES (1);",
        "UPDATE t SET a = 2;",
        "SELECT 1;",
        "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING;",
    ]
    options = [o if o is None else (o.new_row, o.unchanged, o.children) for _, o in marked]
    assert options == [None, (False, False, 1), None, (True, True, 3)]


def test_unknown_measure_option_names_its_line() -> None:
    source = SourceFile.from_text("w.sql", "SELECT 1;\n\n-- sqlripple: measure twice\nSELECT 2;\n")
    from analyzer.parse import split_statements

    statements, _, _ = split_statements(source)
    with pytest.raises(VerifyError, match=r"^w\.sql:3:1: unknown measure option 'twice'"):
        _marked_statements(source, statements)


def cascade(
    per_row: dict[tuple[str, ...], tuple[int, int]], cycles: list[Cycle] | None = None
) -> Cascade:
    rows = Tally()
    for key, (low, high) in per_row.items():
        rows.bump(key, low, high)
    entry = TraceEntry("public.t", "update")
    return Cascade(entry, Tally(), rows, Node("statement", "public.t"), cycles or [], [])


def test_compare_ranges_upserts_and_functions_outside_the_schema() -> None:
    predicted = cascade(
        {
            ("call", "public.f"): (1, 1),
            ("call", "public.g"): (0, 1),
            ("call", "public.h"): (1, 1),
            ("write", "public.t", "update"): (1, 1),
            ("write", "public.daily", "upsert"): (0, 1),
        }
    )
    server = XactStats(
        {"public.f": 2, "public.g": 1, "public.k": 1, "extensions.digest": 4},
        {
            "public.t": RowWrites(0, 1, 0),
            "public.daily": RowWrites(1, 0, 0),
            "public.log": RowWrites(3, 0, 0),
        },
    )
    counts, not_compared = compare(
        predicted, server, frozenset({"public.f", "public.g", "public.h", "public.k"})
    )
    assert counts == (
        Count("function", "public.f", "calls", 1, 1, 2),
        Count("function", "public.g", "calls", 0, 1, 1),
        Count("function", "public.h", "calls", 1, 1, 0),
        Count("function", "public.k", "calls", 0, 0, 1),
        Count("table", "public.daily", "insert+update", 0, 1, 1),
        Count("table", "public.log", "insert", 0, 0, 3),
        Count("table", "public.t", "update", 1, 1, 1),
    )
    assert not_compared == ("extensions.digest",)


def test_outcome_of_recursion() -> None:
    endless = Cycle(("public.a.copy", "public.b.copy"), (), None)
    guarded = Cycle(("public.a.copy", "public.b.copy"), ("WHEN (x) on public.a.copy",), None)
    # ('reentry', trigger): the loop comes round to the trigger a third time.
    entered = {("firing", "public.a.copy"): (1, 1), ("reentry", "public.b.copy"): (1, 1)}
    maybe = {("firing", "public.a.copy"): (1, 1), ("reentry", "public.b.copy"): (0, 1)}
    overflow = ServerError("54001", "stack depth limit exceeded")
    assert _outcome("E", cascade(entered, [guarded]), overflow) is None
    assert _outcome("E", cascade(entered, [guarded]), None) is None
    # Entered for sure, but the row a copy updates may be missing: it may end at once.
    assert _outcome("E", cascade(maybe, [endless]), None) is None
    assert _outcome("E", cascade(entered, [endless]), None) == Difference(
        "statement",
        "E",
        "outcome",
        "the trace predicts endless recursion (public.a.copy -> public.b.copy), "
        "the server finished",
    )
    assert _outcome("E", cascade(entered, []), overflow) == Difference(
        "statement",
        "E",
        "outcome",
        "the statement fails: stack depth limit exceeded, not predicted",
    )


RAISED = ("error", "raise_exception", "card % holds % cents", "f.sql", "7")
NO_RETURN = (
    "error",
    "function_executed_no_return_statement",
    "control reached end of trigger procedure without RETURN",
    "f.sql",
    "2",
)


def test_outcome_of_a_statement_that_fails() -> None:
    raised = ServerError("P0001", "card abc holds 500 cents")
    no_return = ServerError("2F005", "control reached end of trigger procedure without RETURN")
    # A possible RAISE agrees with the server failing with its message, and with the
    # server finishing; a certain one only with the failure.
    assert _outcome("E", cascade({RAISED: (0, 1)}), raised) is None
    assert _outcome("E", cascade({RAISED: (0, 1)}), None) is None
    assert _outcome("E", cascade({RAISED: (1, 1)}), raised) is None
    assert _outcome("E", cascade({RAISED: (1, 1)}), None) == Difference(
        "statement",
        "E",
        "outcome",
        "the trace predicts the statement fails: card % holds % cents (f.sql:7); "
        "the server finished",
    )
    # Another error than the predicted one disagrees.
    assert _outcome("E", cascade({RAISED: (1, 1)}), no_return) == Difference(
        "statement",
        "E",
        "outcome",
        "the statement fails: control reached end of trigger procedure without RETURN, "
        "not predicted",
    )
    assert _outcome("E", cascade({NO_RETURN: (1, 1)}), no_return) is None
    assert _outcome("E", cascade({}), raised) is not None


def test_predicted_error_messages_match_the_servers_text() -> None:
    (error,) = cascade({RAISED: (0, 1)}).errors
    assert (error.certain, error.message, error.path, error.line) == (
        False,
        "card % holds % cents",
        "f.sql",
        7,
    )
    assert error.matches("card abc holds 500 cents")
    assert error.matches("card  holds  cents")  # parameters may be empty
    assert not error.matches("card abc holds 500 euros")
    percent = replace(error, message="100%% of % used")
    assert percent.matches("100% of quota used")
    assert not percent.matches("100x of quota used")
    assert replace(error, message=None).matches("anything at all")
    assert cascade({RAISED: (0, 1)}).fails == "possibly"
    assert cascade({RAISED: (2, 2)}).fails == "certainly"
    assert cascade({}).fails == "no"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([CHAT], "give either --table and --op, or --workload FILE"),
        ([CHAT, "--table", "chat_messages"], "give either --table and --op, or --workload FILE"),
        ([CHAT, "--table", "t", "--op", "insert", "--new-row"], "--new-row only applies to"),
        ([CHAT, "--table", "t", "--op", "delete", "--unchanged"], "--unchanged and --columns"),
        ([CHAT, "--workload", CHAT + "/06-seed.sql", "--unchanged"], "go with --table/--op"),
        ([CHAT, "--table", "nope", "--op", "insert"], "table nope is not in the schema"),
        ([CHAT, "--table", "chat_messages", "--op", "insert", "--prelude", "x"], "--prelude x"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    code, out, err = run("verify", *args)
    assert (code, out) == (2, "")
    assert message in err


def test_verify_wants_an_entry_or_a_workload() -> None:
    with pytest.raises(VerifyError, match="give either"):
        verify([CHAT])


# ------------------------------------------------------------------------ integration


@pytest.fixture
def empty_database(pg_database: Callable[[str], str]) -> str:
    return pg_database("verify")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory short enough for a unix socket path, all our own."""
    path = Path(tempfile.mkdtemp(prefix="sqr-", dir="/tmp"))
    path.chmod(0o711)  # the server account must reach the cluster inside
    yield path
    path.rmdir()  # fails the test's teardown when a run left something behind


def _catalog_snapshot(conninfo: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            "SELECT 'relation', n.nspname || '.' || c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
            " UNION ALL SELECT 'schema', nspname FROM pg_namespace"
            " UNION ALL SELECT 'function', oid::regprocedure::text FROM pg_proc"
            " WHERE pronamespace <> 'pg_catalog'::regnamespace"
            " UNION ALL SELECT 'role', rolname FROM pg_roles"
            " UNION ALL SELECT 'extension', extname FROM pg_extension ORDER BY 1, 2"
        ).fetchall()


CHAT_UPSERT_UNCHANGED = {
    "function_calls": {
        "public.fill_message_defaults": 1,
        "public.set_updated_at": 2,
        "public.track_user_usage": 1,
        "public.update_session_stats": 1,
    },
    "row_writes": {
        "public.chat_messages": {"insert": 0, "update": 1, "delete": 0},
        "public.chat_sessions": {"insert": 0, "update": 1, "delete": 0},
        "public.profiles": {"insert": 0, "update": 1, "delete": 0},
        "public.user_usage_daily": {"insert": 0, "update": 1, "delete": 0},
    },
}


@pytest.mark.integration
def test_throwaway_run_agrees_and_leaves_nothing(
    short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if find_pg_bindir() is None:
        integration_unavailable("PostgreSQL server binaries not found")
    monkeypatch.setattr(tempfile, "tempdir", str(short_tmp))
    args = ["--table", "chat_messages", "--op", "upsert", "--unchanged", "--prelude", "supabase"]
    code, out, err = run("verify", CHAT, *args, "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert (document["agrees"], document["differences"]) == (True, 0)
    (measurement,) = document["measurements"]
    assert measurement["label"] == "UPSERT public.chat_messages (conflict, unchanged)"
    assert measurement["server"] == {"rows": 1, "error": None, **CHAT_UPSERT_UNCHANGED}
    assert [
        (c["name"], c["predicted_min"], c["predicted_max"]) for c in measurement["comparison"]
    ] == [
        ("public.fill_message_defaults", 1, 1),
        ("public.set_updated_at", 1, 2),
        ("public.track_user_usage", 0, 1),
        ("public.update_session_stats", 1, 1),
        ("public.chat_messages", 1, 1),
        ("public.chat_sessions", 1, 1),
        ("public.profiles", 0, 1),
        ("public.user_usage_daily", 0, 1),
    ]
    assert list(short_tmp.iterdir()) == []


@pytest.mark.integration
def test_dsn_run_prints_side_by_side_and_changes_nothing(empty_database: str) -> None:
    before = _catalog_snapshot(empty_database)
    code, out, err = run(
        "verify", CHAT, "--table", "chat_messages", "--op", "upsert", "--unchanged",
        "--prelude", "supabase", "--dsn", empty_database,
    )  # fmt: skip
    assert (code, err) == (0, "")
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert "UPSERT public.chat_messages (conflict, unchanged) (1 row)" in lines
    assert "calls public.set_updated_at 1..2 2 ok" in lines
    assert "insert+update public.user_usage_daily 0..1 1 ok" in lines
    assert lines[-1] == "prediction and server agree"
    assert _catalog_snapshot(empty_database) == before


@pytest.mark.integration
@pytest.mark.parametrize(("children", "deletes"), [(0, 0), (3, 3)])
def test_children_option_sets_the_rows_an_fk_action_reaches(
    empty_database: str, children: int, deletes: int
) -> None:
    """The workload creates `--children` rows per FK-action child table and the trace
    predicts the same number: the server deletes exactly that many order lines."""
    code, out, err = run(
        "verify", "fixtures/sem-fk-actions", "--table", "orders", "--op", "delete",
        "--children", str(children), "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    document = json.loads(out)
    (measurement,) = document["measurements"]
    lines = measurement["server"]["row_writes"].get("public.order_items", {"delete": 0})
    assert lines["delete"] == deletes
    assert measurement["server"]["function_calls"].get("public.release_reserved_stock", 0) == (
        deletes
    )


@pytest.mark.integration
def test_a_wrong_prediction_is_a_difference(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Tracer.trace

    def wrong(self: Tracer, entry: TraceEntry) -> Cascade:
        predicted = original(self, entry)
        predicted.row_totals.bump(("call", "public.update_session_stats"), 1, 1)
        predicted.row_totals.bump(("write", "public.audit", "insert"), 1, 1)
        return predicted

    monkeypatch.setattr(Tracer, "trace", wrong)
    code, out, _ = run(
        "verify", CHAT, "--table", "chat_messages", "--op", "upsert", "--unchanged",
        "--prelude", "supabase", "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert code == 1
    document = json.loads(out)
    assert (document["agrees"], document["differences"]) == (False, 2)
    assert document["measurements"][0]["differences"] == [
        {
            "subject": "function",
            "name": "public.update_session_stats",
            "metric": "calls",
            "predicted_min": 2,
            "predicted_max": 2,
            "server": 1,
            "reason": "outside the predicted range",
        },
        {
            "subject": "table",
            "name": "public.audit",
            "metric": "insert",
            "predicted_min": 1,
            "predicted_max": 1,
            "server": 0,
            "reason": "predicted, but the server did not do it",
        },
    ]


@pytest.mark.integration
def test_a_rejected_schema_names_file_and_line(empty_database: str, tmp_path: Path) -> None:
    (tmp_path / "01-tables.sql").write_text("CREATE TABLE t (id int PRIMARY KEY);\n")
    bad = tmp_path / "02-trigger.sql"
    bad.write_text(
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN RETURN NEW; END $$;\n"
        "\n"
        "CREATE TRIGGER t_f AFTER INSERT ON missing FOR EACH ROW EXECUTE FUNCTION f();\n"
    )
    before = _catalog_snapshot(empty_database)
    code, out, err = run(
        "verify", str(tmp_path), "--table", "t", "--op", "insert", "--dsn", empty_database
    )
    assert (code, out) == (2, "")
    assert err == (
        f"sqlripple: the server rejected the schema: {bad}:4:1: "
        'relation "missing" does not exist [42P01]\n'
    )
    assert _catalog_snapshot(empty_database) == before


SUPABASE_STYLE = """CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TABLE public.notes (
    id uuid DEFAULT uuid_generate_v4() PRIMARY KEY,
    token text NOT NULL DEFAULT encode(gen_random_bytes(8), 'hex'),
    owner uuid REFERENCES auth.users ON DELETE CASCADE
);
CREATE TABLE public.note_log (id uuid);
CREATE FUNCTION public.log_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.note_log VALUES (NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER log_note AFTER INSERT ON public.notes
  FOR EACH ROW EXECUTE FUNCTION public.log_note();
ALTER PUBLICATION supabase_realtime ADD TABLE public.notes;
GRANT ALL ON public.notes TO supabase_auth_admin, dashboard_user;
"""


@pytest.mark.integration
def test_supabase_prelude_loads_what_supabase_schemas_assume(
    empty_database: str, tmp_path: Path
) -> None:
    """Unqualified extension functions (Supabase puts `extensions` on the search_path),
    the supabase_realtime publication and the platform's roles."""
    (tmp_path / "schema.sql").write_text(SUPABASE_STYLE, encoding="utf-8")
    code, out, err = run(
        "verify", str(tmp_path), "--table", "notes", "--op", "insert",
        "--prelude", "supabase", "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    (measurement,) = json.loads(out)["measurements"]
    assert measurement["server"]["row_writes"]["public.note_log"]["insert"] == 1


@pytest.mark.integration
def test_a_supabase_schema_without_prelude_gets_a_hint(empty_database: str) -> None:
    code, _, err = run(
        "verify", CHAT, "--table", "chat_messages", "--op", "insert", "--dsn", empty_database
    )
    assert code == 2
    assert err.startswith(f"sqlripple: the server rejected the schema: {CHAT}/01-extensions.sql:5:")
    assert err.endswith(
        "hint: the schema uses Supabase's auth schema (auth.users, auth.uid()); "
        "add --prelude supabase\n"
    )


@pytest.mark.integration
def test_no_supabase_hint_when_the_error_is_about_something_else(
    empty_database: str, tmp_path: Path
) -> None:
    """The schema mentions auth.uid(), but the server rejects it for a missing extension
    function: the hint would send the user the wrong way."""
    (tmp_path / "schema.sql").write_text(
        "DO $$ BEGIN IF to_regproc('auth.uid') IS NULL THEN RAISE NOTICE 'none'; END IF; END $$;\n"
        "CREATE TABLE t (id uuid PRIMARY KEY DEFAULT uuid_generate_v4());\n",
        encoding="utf-8",
    )
    code, _, err = run(
        "verify", str(tmp_path), "--table", "t", "--op", "insert", "--dsn", empty_database
    )
    assert code == 2
    assert err == (
        f"sqlripple: the server rejected the schema: {tmp_path}/schema.sql:2:45: "
        "function uuid_generate_v4() does not exist [42883]\n"
    )


SHOP = """\
CREATE TABLE orders (id bigint PRIMARY KEY, total integer NOT NULL CHECK (total >= 0));
CREATE TABLE order_log (order_id bigint NOT NULL, what text NOT NULL);
CREATE FUNCTION log_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO order_log VALUES (NEW.id, TG_OP);
    RETURN NULL;
END $$;
CREATE TRIGGER orders_log AFTER INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION log_order();
"""


@pytest.mark.integration
def test_workload_file_measures_each_marked_statement(empty_database: str, tmp_path: Path) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(SHOP)
    workload = tmp_path / "workload.sql"
    workload.write_text(
        "INSERT INTO orders VALUES (1, 10), (2, 20);\n"
        "-- sqlripple: measure\n"
        "UPDATE orders SET total = total + 1;\n"
        "-- sqlripple: measure new-row\n"
        "INSERT INTO orders VALUES (3, 5) ON CONFLICT (id) DO UPDATE SET total = 0;\n"
        "-- sqlripple: measure\n"
        "UPDATE orders SET total = -1 WHERE id = 3;\n"
    )
    code, out, _ = run(
        "verify", str(schema), "--workload", str(workload), "--dsn", empty_database,
        "--format", "json",
    )  # fmt: skip
    assert code == 1
    first, second, third = json.loads(out)["measurements"]
    assert (first["label"], first["entry"]["rows"], first["setup"]) == (
        f"UPDATE public.orders (changed) at {workload}:3:1",
        2,
        ["INSERT INTO orders VALUES (1, 10), (2, 20);"],
    )
    assert first["server"]["function_calls"] == {"public.log_order": 2}
    assert first["server"]["row_writes"] == {
        "public.order_log": {"insert": 2, "update": 0, "delete": 0},
        "public.orders": {"insert": 0, "update": 2, "delete": 0},
    }
    assert (first["differences"], second["differences"]) == ([], [])
    assert second["entry"]["scenario"] == "new-row"
    assert third["server"]["error"]["sqlstate"] == "23514"
    assert third["prediction"]["outcome"] == {"fails": "no", "errors": []}
    assert third["differences"] == [
        {
            "subject": "statement",
            "name": f"UPDATE public.orders (changed) at {workload}:7:1",
            "metric": "outcome",
            "predicted_min": None,
            "predicted_max": None,
            "server": None,
            "reason": "the statement fails: "
            f'{workload}:7:1: new row for relation "orders" violates check constraint'
            ' "orders_total_check" [23514], not predicted',
        }
    ]


@pytest.mark.integration
def test_workload_setup_errors_are_located(empty_database: str, tmp_path: Path) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(SHOP)
    workload = tmp_path / "workload.sql"
    workload.write_text(
        "INSERT INTO orders VALUES (1, 10);\n  INSERT INTO orders VALUES (1, 10);\n"
        "-- sqlripple: measure\nDELETE FROM orders;\n"
    )
    code, _, err = run("verify", str(schema), "--workload", str(workload), "--dsn", empty_database)
    assert code == 2
    assert err.startswith(
        f"sqlripple: workload setup failed: {workload}:2:3: duplicate key value violates"
    )


@pytest.mark.integration
def test_a_role_that_cannot_count_function_calls_is_refused(
    pg_server: Any, empty_database: str, tmp_path: Path
) -> None:
    with pg_server.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS verify_plain")
        conn.execute("CREATE ROLE verify_plain LOGIN")
    schema = tmp_path / "schema.sql"
    schema.write_text(SHOP)
    code, _, err = run(
        "verify", str(schema), "--table", "orders", "--op", "insert",
        "--dsn", empty_database + " user=verify_plain",
    )  # fmt: skip
    assert code == 2
    assert "SET track_functions = 'all'" in err


# -------------------------------------------------------------------- interruption


def _processes_on(path: Path) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            continue
        if any(str(path).encode() in arg for arg in argv):
            found.append(int(entry.name))
    return found


@pytest.mark.integration
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_leaves_nothing_behind(
    short_tmp: Path, sig: signal.Signals, code: int
) -> None:
    if find_pg_bindir() is None:
        integration_unavailable("PostgreSQL server binaries not found")
    process = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "verify", CHAT, "--table", "chat_messages",
         "--op", "upsert", "--prelude", "supabase"],
        env={**os.environ, "TMPDIR": str(short_tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(short_tmp.glob("sqlripple-pg-*/data/postmaster.pid")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    server_dirs = list(short_tmp.iterdir())
    assert _processes_on(server_dirs[0]), "no server running from the temporary directory"
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert err.endswith("sqlripple verify: interrupted; nothing was left behind\n")
    assert _processes_on(server_dirs[0]) == []
    assert list(short_tmp.iterdir()) == []


@pytest.mark.integration
def test_a_dsn_run_says_when_it_moved_an_existing_sequence(
    empty_database: str, tmp_path: Path
) -> None:
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
    schema = tmp_path / "schema.sql"
    schema.write_text(
        "CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL);\n"
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN RETURN NEW; END $$;\n"
        "CREATE TRIGGER items_touch BEFORE INSERT ON items\n"
        "    FOR EACH ROW EXECUTE FUNCTION touch();\n"
    )
    before = _catalog_snapshot(empty_database)
    code, out, _ = run(
        "verify", str(schema), "--table", "items", "--op", "insert",
        "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["notes"] == [
        "sequence public.items_id_seq advanced from unused to 1: a rollback does not undo nextval()"
    ]
    assert _catalog_snapshot(empty_database) == before


@pytest.mark.integration
def test_writes_to_partitions_count_for_the_partitioned_table(
    empty_database: str, tmp_path: Path
) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(
        "CREATE TABLE events (id bigint, at date, kind text NOT NULL, PRIMARY KEY (id, at))\n"
        "    PARTITION BY RANGE (at);\n"
        "CREATE TABLE events_2024 PARTITION OF events\n"
        "    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
        "CREATE TABLE event_log (kind text NOT NULL);\n"
        "CREATE FUNCTION log_event() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN INSERT INTO event_log VALUES (NEW.kind); RETURN NULL; END $$;\n"
        "CREATE TRIGGER events_log AFTER INSERT ON events\n"
        "    FOR EACH ROW EXECUTE FUNCTION log_event();\n"
    )
    code, out, _ = run(
        "verify", str(schema), "--table", "events", "--op", "insert",
        "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert code == 0
    (measurement,) = json.loads(out)["measurements"]
    assert measurement["sql"] == (
        "INSERT INTO public.events (id, at, kind)"
        " VALUES ('1'::bigint, '2024-01-03'::date, 'kind-3'::text)"
    )
    assert measurement["server"]["row_writes"] == {
        "public.event_log": {"insert": 1, "update": 0, "delete": 0},
        "public.events": {"insert": 1, "update": 0, "delete": 0},
    }


CHECKED_AND_PREFIXED = """CREATE TABLE accounts (
  id int PRIMARY KEY,
  slug text UNIQUE,
  personal boolean NOT NULL DEFAULT false,
  CHECK ((personal AND slug IS NULL) OR (NOT personal AND slug IS NOT NULL))
);
CREATE TABLE members (id uuid PRIMARY KEY, handle text UNIQUE NOT NULL);
CREATE TABLE follows (
  follower uuid NOT NULL REFERENCES members,
  followed uuid NOT NULL REFERENCES members,
  PRIMARY KEY (follower, followed)
);
CREATE FUNCTION name_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.handle := 'm_' || substr(NEW.id::text, 1, 8);
  RETURN NEW;
END $$;
CREATE TRIGGER name_member BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION name_member();
CREATE TABLE account_log (id int);
CREATE FUNCTION log_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO account_log VALUES (NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER log_account AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION log_account();
"""


@pytest.mark.integration
@pytest.mark.parametrize("table", ["accounts", "follows"])
def test_synthesised_rows_pass_or_checks_and_prefix_derived_keys(
    empty_database: str, tmp_path: Path, table: str
) -> None:
    """A CHECK that is an OR of two cases wants a nullable column filled; two members
    whose handle is derived from the first 8 characters of their uuid must not collide."""
    (tmp_path / "schema.sql").write_text(CHECKED_AND_PREFIXED, encoding="utf-8")
    code, out, err = run(
        "verify", str(tmp_path), "--table", table, "--op", "insert",
        "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    (measurement,) = json.loads(out)["measurements"]
    assert measurement["server"]["row_writes"][f"public.{table}"]["insert"] == 1


@pytest.mark.integration
def test_a_row_no_value_can_satisfy_is_refused_not_a_difference(
    empty_database: str, tmp_path: Path
) -> None:
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE odd (id int PRIMARY KEY, s text NOT NULL CHECK (s <> s));\n"
        "CREATE TABLE odd_log (id int);\n"
        "CREATE FUNCTION log_odd() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN INSERT INTO odd_log VALUES (NEW.id); RETURN NULL; END $$;\n"
        "CREATE TRIGGER log_odd AFTER INSERT ON odd FOR EACH ROW EXECUTE FUNCTION log_odd();\n",
        encoding="utf-8",
    )
    code, out, err = run(
        "verify", str(tmp_path), "--table", "odd", "--op", "insert", "--dsn", empty_database
    )
    assert (code, out) == (2, "")
    assert "cannot make up a row of public.odd that its CHECK constraints accept" in err


ACCOUNTS = """
CREATE TABLE accounts (
    id serial PRIMARY KEY,
    personal boolean NOT NULL DEFAULT false,
    slug text,
    touched_at timestamptz,
    CONSTRAINT slug_only_for_teams
        CHECK ((personal AND slug IS NULL) OR (NOT personal AND slug IS NOT NULL))
);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.touched_at := now(); RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION touch();
"""


@pytest.mark.integration
@pytest.mark.parametrize("operation", ["update", "upsert"])
def test_a_change_the_check_rejects_is_retried_with_nulls_not_reported_as_a_difference(
    empty_database: str, tmp_path: Path, operation: str
) -> None:
    """Flipping `personal` with a new slug breaks the CHECK; the same change with the
    slug set to NULL (from a value: still a change) is what a real application writes."""
    (tmp_path / "schema.sql").write_text(ACCOUNTS, encoding="utf-8")
    code, out, err = run(
        "verify", str(tmp_path), "--table", "accounts", "--op", operation,
        "--columns", "personal,slug", "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    (measurement,) = json.loads(out)["measurements"]
    assert measurement["server"]["row_writes"]["public.accounts"]["update"] == 1
    assert measurement["server"]["function_calls"] == {"public.touch": 1}
    assert (
        "set to NULL so that the CHECK constraints accept the change: slug"
        in (measurement["notes"])
    )


@pytest.mark.integration
def test_a_change_no_value_can_satisfy_is_refused_not_a_difference(
    empty_database: str, tmp_path: Path
) -> None:
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE frozen (id int PRIMARY KEY, open boolean NOT NULL CHECK (NOT open));\n"
        "CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN RETURN NEW; END $$;\n"
        "CREATE TRIGGER keep BEFORE UPDATE ON frozen FOR EACH ROW EXECUTE FUNCTION keep();\n",
        encoding="utf-8",
    )
    code, out, err = run(
        "verify", str(tmp_path), "--table", "frozen", "--op", "update", "--columns", "open",
        "--dsn", empty_database,
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err == (
        "sqlripple: --table public.frozen --op update: cannot make up new values for open "
        'of public.frozen that its CHECK constraints accept (new row for relation "frozen" '
        'violates check constraint "frozen_open_check"); use --workload FILE\n'
    )


REMINDERS = """CREATE TABLE orders (id int PRIMARY KEY);
CREATE TABLE reminders (id serial PRIMARY KEY, order_id int NOT NULL
    REFERENCES orders ON DELETE CASCADE);
CREATE TABLE lines (order_id int NOT NULL REFERENCES orders ON DELETE CASCADE, n int);
CREATE FUNCTION schedule() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..3 LOOP INSERT INTO reminders (order_id) VALUES (NEW.id); END LOOP;
  RETURN NULL;
END $$;
CREATE TRIGGER schedule AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION schedule();
"""


@pytest.mark.integration
def test_child_rows_a_trigger_made_are_the_ones_traced(empty_database: str, tmp_path: Path) -> None:
    """The setup asks for one child row per FK-action table; the orders trigger makes three
    reminders itself. verify traces with the rows the server holds (3 reminders, 1 line)
    and says why, instead of reporting its own setup as a difference."""
    (tmp_path / "schema.sql").write_text(REMINDERS, encoding="utf-8")
    code, out, err = run(
        "verify", str(tmp_path), "--table", "orders", "--op", "delete",
        "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    (measurement,) = json.loads(out)["measurements"]
    assert measurement["server"]["row_writes"]["public.reminders"]["delete"] == 3
    assert measurement["server"]["row_writes"]["public.lines"]["delete"] == 1
    assert (
        "3 row(s) of public.reminders reference the public.orders row (order_id), not 1: "
        "triggers made them"
    ) in measurement["notes"]


def _function(create: str) -> Function:
    (function,) = build_catalog([SourceFile.from_text("f.sql", create)]).functions.values()
    return function


@pytest.mark.parametrize(
    ("create", "inlinable"),
    [
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql STABLE AS $$ SELECT 1 $$", True),
        (
            "CREATE FUNCTION f() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT nullif("
            "current_setting('request.jwt.claim.sub', true), '')::uuid $$",
            True,
        ),
        ("CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'SELECT a + 1;'", True),
        # what inline_function refuses: other languages, SECURITY DEFINER, SET clauses,
        # sets, and bodies that are not one plain expression
        ("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$", False),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$", False),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = '' AS $$ SELECT 1 $$",
            False,
        ),
        ("CREATE FUNCTION f() RETURNS SETOF int LANGUAGE sql AS $$ SELECT 1 $$", False),
        ("CREATE FUNCTION f() RETURNS TABLE (n int) LANGUAGE sql AS $$ SELECT 1 $$", False),
        ("CREATE FUNCTION f() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM t $$", False),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT (SELECT 1) $$", False),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 WHERE true $$", False),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1, 2 $$", False),
        ("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM t $$", False),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2 $$", False),
    ],
)
def test_may_be_inlined_follows_the_planners_rules(create: str, inlinable: bool) -> None:
    assert may_be_inlined(_function(create)) is inlinable


INLINED_SCHEMA = """
CREATE FUNCTION current_tenant() RETURNS int LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('app.tenant', true), '')::int
$$;
CREATE FUNCTION tenant_of_row() RETURNS int LANGUAGE sql STABLE SECURITY DEFINER AS $$
  SELECT nullif(current_setting('app.tenant', true), '')::int
$$;
CREATE TABLE notes (id serial PRIMARY KEY, tenant int, checked_tenant int);
CREATE FUNCTION stamp_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tenant := current_tenant();
  NEW.checked_tenant := tenant_of_row();
  RETURN NEW;
END $$;
CREATE TRIGGER stamp_note BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION stamp_note();
"""


@pytest.mark.integration
def test_calls_of_an_inlined_sql_function_are_compared_from_zero(
    empty_database: str, tmp_path: Path
) -> None:
    """The server counts no call of an SQL function it inlines (current_tenant) and every
    call of one it cannot inline (SECURITY DEFINER): both agree, and a note says why."""
    schema = tmp_path / "schema.sql"
    schema.write_text(INLINED_SCHEMA, encoding="utf-8")
    code, out, err = run(
        "verify", str(schema), "--table", "notes", "--op", "insert",
        "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    (measurement,) = json.loads(out)["measurements"]
    assert [
        (c["name"], c["predicted_min"], c["predicted_max"], c["server"])
        for c in measurement["comparison"]
        if c["subject"] == "function"
    ] == [
        ("public.current_tenant", 0, 1, 0),
        ("public.stamp_note", 1, 1, 1),
        ("public.tenant_of_row", 1, 1, 1),
    ]
    assert measurement["notes"] == [
        "PostgreSQL may inline the SQL function public.current_tenant into the query that "
        "calls it, and then counts no call: its calls are compared from 0"
    ]


REPLY_TREE = """
CREATE TABLE nodes (id int PRIMARY KEY, parent_id int REFERENCES nodes (id) ON DELETE CASCADE);
CREATE TABLE node_events (id serial PRIMARY KEY, node_id int NOT NULL);
CREATE FUNCTION log_node() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO node_events (node_id) VALUES (OLD.id);
  RETURN NULL;
END $$;
CREATE TRIGGER log_node AFTER DELETE ON nodes FOR EACH ROW EXECUTE FUNCTION log_node();
"""


@pytest.mark.integration
def test_a_self_referencing_cascade_gets_one_level_of_children(
    empty_database: str, tmp_path: Path
) -> None:
    """verify builds `children` rows referencing the deleted row in its own table, as the
    trace counts them, and none below: the trace's levels past the first are 0..∞."""
    (tmp_path / "schema.sql").write_text(REPLY_TREE, encoding="utf-8")
    code, out, err = run(
        "verify", str(tmp_path), "--table", "nodes", "--op", "delete", "--children", "2",
        "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    (measurement,) = json.loads(out)["measurements"]
    assert measurement["server"]["row_writes"]["public.nodes"]["delete"] == 3
    assert measurement["server"]["function_calls"] == {"public.log_node": 3}


TEMPORARY = """
CREATE TABLE sales (id serial PRIMARY KEY, buyer int NOT NULL);
CREATE TABLE top_log (id serial PRIMARY KEY, buyer int);
CREATE FUNCTION note_top() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  CREATE TEMPORARY TABLE tmp_buyers (buyer int PRIMARY KEY) ON COMMIT DROP;
  INSERT INTO tmp_buyers VALUES (NEW.buyer);
  FOR r IN EXECUTE 'SELECT buyer FROM tmp_buyers' LOOP
    INSERT INTO top_log (buyer) VALUES (r.buyer);
  END LOOP;
  EXECUTE 'DROP TABLE tmp_buyers';
  RETURN NULL;
END $$;
CREATE TRIGGER note_top AFTER INSERT ON sales FOR EACH ROW EXECUTE FUNCTION note_top();
"""


@pytest.mark.integration
def test_a_temporary_table_the_function_drops_is_not_compared(
    empty_database: str, tmp_path: Path
) -> None:
    """The trace writes pg_temp.tmp_buyers once; the server forgets the counts of a table
    dropped before they are read: the two agree on everything else."""
    (tmp_path / "schema.sql").write_text(TEMPORARY, encoding="utf-8")
    code, out, err = run(
        "verify", str(tmp_path), "--table", "sales", "--op", "insert",
        "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    (measurement,) = json.loads(out)["measurements"]
    prediction = measurement["prediction"]["totals_min"]["row_writes"]
    assert prediction["pg_temp.tmp_buyers"]["insert"] == 1
    assert measurement["server"]["row_writes"] == {
        "public.sales": {"insert": 1, "update": 0, "delete": 0},
        "public.top_log": {"insert": 1, "update": 0, "delete": 0},
    }
    assert [c["name"] for c in measurement["comparison"]] == [
        "public.note_top",
        "public.sales",
        "public.top_log",
    ]
    assert measurement["differences"] == []


POSTS_AND_REPLIES = """
CREATE TABLE posts (id int PRIMARY KEY, comment_count int NOT NULL DEFAULT 0);
CREATE TABLE comments (id int PRIMARY KEY, post_id int NOT NULL REFERENCES posts (id)
    ON DELETE CASCADE, parent_id int REFERENCES comments (id) ON DELETE CASCADE);
CREATE FUNCTION dec_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE posts SET comment_count = comment_count - 1 WHERE id = OLD.post_id;
  RETURN NULL;
END $$;
CREATE TRIGGER dec_count AFTER DELETE ON comments FOR EACH ROW EXECUTE FUNCTION dec_count();
"""


@pytest.mark.integration
def test_replies_are_made_under_the_post_of_what_they_answer(
    empty_database: str, tmp_path: Path
) -> None:
    """A reply's NOT NULL post_id is its parent comment's (a new post would lead back to
    the one being deleted); deleting the post deletes both, and neither finds a post to
    update, as the trace allows (0..∞)."""
    (tmp_path / "schema.sql").write_text(POSTS_AND_REPLIES, encoding="utf-8")
    code, out, err = run(
        "verify", str(tmp_path), "--table", "posts", "--op", "delete",
        "--dsn", empty_database, "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    (measurement,) = json.loads(out)["measurements"]
    assert measurement["server"]["row_writes"] == {
        "public.comments": {"insert": 0, "update": 0, "delete": 2},
        "public.posts": {"insert": 0, "update": 0, "delete": 1},
    }
    # Two comments reference the post, both made by the setup: no trigger made them.
    assert measurement["notes"] == []


@pytest.mark.integration
def test_verify_and_trace_reject_an_unknown_set_column_alike(
    empty_database: str, tmp_path: Path
) -> None:
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);\n", encoding="utf-8"
    )
    message = "public.users has no column emial (its columns: id, email)"
    options = ("--table", "users", "--op", "update", "--columns", "emial")
    code, _, err = run("verify", str(tmp_path), *options, "--dsn", empty_database)
    assert (code, err) == (2, f"sqlripple: --table public.users --op update: {message}\n")
    code, _, err = run("trace", str(tmp_path), *options)
    assert (code, err) == (2, f"sqlripple: --columns: {message}\n")
