"""Every fixture schema loads into a real PostgreSQL, and its trace.toml is the truth.

`fixtures/<case>/trace.toml` lists workload entries (setup SQL, one measured statement)
together with what PostgreSQL's statistics report for that statement: function calls
(pg_stat_xact_user_functions) and row writes (pg_stat_xact_user_tables). These tests
re-measure every entry and fail when the file has drifted. To rewrite the measured
fields after changing a fixture or a workload:

    SQLRIPPLE_UPDATE_TRACES=1 .venv/bin/pytest tests/test_fixtures_load.py
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from analyzer.pgserver import (
    XactStats,
    load_sql_files,
    load_sql_text,
    prelude_path,
    sql_files,
    xact_stats,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
UPDATE_TRACES = os.environ.get("SQLRIPPLE_UPDATE_TRACES") == "1"

FIXTURE_DIRS = sorted({path.parent for path in FIXTURES.glob("*/*.sql")})
TRACE_FILES = sorted(FIXTURES.glob("*/trace.toml"))


@pytest.fixture(scope="session")
def loaded_fixture(pg_database: Callable[[str], str]) -> Callable[[Path], str]:
    """Load a fixture folder into its own database once; returns the conninfo."""
    loaded: dict[Path, str] = {}

    def load(folder: Path) -> str:
        if folder not in loaded:
            conninfo = pg_database(folder.name)
            with psycopg.connect(conninfo, autocommit=True) as conn:
                load_sql_files(conn, [prelude_path("supabase"), *sql_files(folder)])
            loaded[folder] = conninfo
        return loaded[folder]

    return load


@pytest.mark.integration
@pytest.mark.parametrize("folder", FIXTURE_DIRS, ids=[path.name for path in FIXTURE_DIRS])
def test_fixture_loads(folder: Path, loaded_fixture: Callable[[Path], str]) -> None:
    conninfo = loaded_fixture(folder)
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v')"
        ).fetchone()
    assert row is not None and row[0] > 0, f"{folder.name} created no table in public"


@pytest.mark.integration
def test_prelude_is_idempotent(pg_database: Callable[[str], str]) -> None:
    with psycopg.connect(pg_database("prelude"), autocommit=True) as conn:
        load_sql_files(conn, [prelude_path("supabase")] * 2)
        conn.execute("SELECT set_config('request.jwt.claims', %s, false)", [_claims()])
        row = conn.execute("SELECT auth.uid(), auth.role(), auth.jwt() ->> 'email'").fetchone()
    assert row is not None
    assert str(row[0]) == "00000000-0000-4000-8000-000000000001"
    assert row[1:] == ("authenticated", "ada@example.com")


def _claims() -> str:
    return (
        '{"sub": "00000000-0000-4000-8000-000000000001", "role": "authenticated",'
        ' "email": "ada@example.com"}'
    )


# ------------------------------------------------------------------------ measurement

MEASURED_FIELDS = ("rows", "total_row_writes", "function_calls", "row_writes")


@dataclass(frozen=True)
class Measurement:
    rows: int
    stats: XactStats

    def fields(self) -> dict[str, Any]:
        writes = {name: w.as_dict() for name, w in self.stats.row_writes.items()}
        return {
            "rows": self.rows,
            "total_row_writes": sum(sum(w.values()) for w in writes.values()),
            "function_calls": dict(self.stats.function_calls),
            "row_writes": writes,
        }


def measure(conninfo: str, entry: dict[str, Any], trace_file: Path) -> Measurement:
    """Run the entry's setup and statement in one transaction, diffing the statistics
    around the statement, then roll everything back."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("SET track_functions = 'all'")
        load_sql_text(conn, entry.get("setup", ""), f"{trace_file} [{entry['name']}] setup")
        before = xact_stats(conn)
        cursor = conn.execute(entry["sql"])
        after = xact_stats(conn)
        conn.rollback()
    return Measurement(cursor.rowcount, after - before)


@pytest.mark.integration
@pytest.mark.parametrize("trace_file", TRACE_FILES, ids=[path.parent.name for path in TRACE_FILES])
def test_trace_toml_matches_the_server(
    trace_file: Path, loaded_fixture: Callable[[Path], str]
) -> None:
    conninfo = loaded_fixture(trace_file.parent)
    document = tomllib.loads(trace_file.read_text(encoding="utf-8"))
    entries: list[dict[str, Any]] = document["entry"]
    measured = {entry["name"]: measure(conninfo, entry, trace_file).fields() for entry in entries}
    if UPDATE_TRACES:
        for entry in entries:
            entry.update(measured[entry["name"]])
        trace_file.write_text(render_trace(document), encoding="utf-8")
        return
    differences = [
        f"{entry['name']}: {line}"
        for entry in entries
        for line in _differences(
            {key: entry.get(key) for key in MEASURED_FIELDS}, measured[entry["name"]]
        )
    ]
    assert not differences, (
        f"{trace_file} differs from the server (rerun with SQLRIPPLE_UPDATE_TRACES=1 if "
        "the change is intended):\n  " + "\n  ".join(differences)
    )


def _differences(recorded: Any, measured: Any, path: str = "") -> list[str]:
    """Readable 'path: recorded X, server Y' lines for two nested dicts."""
    if isinstance(recorded, dict) and isinstance(measured, dict):
        return [
            line
            for key in sorted(set(recorded) | set(measured))
            for line in _differences(
                recorded.get(key), measured.get(key), f"{path}.{key}" if path else key
            )
        ]
    if recorded == measured:
        return []
    return [f"{path}: trace.toml has {recorded!r}, the server says {measured!r}"]


# ------------------------------------------------------------------- trace.toml writer

TRACE_HEADER = """\
# What PostgreSQL really does for each entry (one statement on this fixture).
# Measured fields (rows, total_row_writes, function_calls, row_writes) come from
# pg_stat_xact_user_functions / pg_stat_xact_user_tables, read before and after `sql`
# inside one transaction (SET track_functions = 'all'; setup; sql; ROLLBACK).
# function_calls: qualified function name without arguments -> calls.
# row_writes: table -> rows inserted, updated, deleted (FK actions included).
# Checked by tests/test_fixtures_load.py; regenerate the measured fields with
#   SQLRIPPLE_UPDATE_TRACES=1 .venv/bin/pytest tests/test_fixtures_load.py
"""

WORKLOAD_FIELDS = (
    "name",
    "description",
    "table",
    "op",
    "scenario",
    "unchanged",
    "columns",
    "child_rows",
    "setup",
    "sql",
)


def render_trace(document: dict[str, Any]) -> str:
    lines = [TRACE_HEADER.rstrip("\n")]
    for key, value in document.items():
        if key != "entry":
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for entry in document["entry"]:
        lines.append("\n[[entry]]")
        for key in (*WORKLOAD_FIELDS, "rows", "total_row_writes"):
            if key in entry:
                lines.append(f"{key} = {_toml_value(entry[key])}")
        extra = sorted(set(entry) - {*WORKLOAD_FIELDS, *MEASURED_FIELDS})
        for key in extra:
            lines.append(f"{_toml_key(key)} = {_toml_value(entry[key])}")
        lines.append("\n[entry.function_calls]")
        for name, calls in sorted(entry["function_calls"].items()):
            lines.append(f"{_toml_key(name)} = {calls}")
        lines.append("\n[entry.row_writes]")
        for name, writes in sorted(entry["row_writes"].items()):
            lines.append(f"{_toml_key(name)} = {_toml_value(writes)}")
    return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else _toml_string(key)


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if "\n" not in text:
        return f'"{escaped}"'
    return '"""\n' + escaped + '"""'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }"
    raise TypeError(f"cannot write {value!r} to TOML")


def test_render_trace_round_trips() -> None:
    document = {
        "entry": [
            {
                "name": "x",
                "table": "public.t",
                "unchanged": False,
                "setup": "INSERT INTO t VALUES ('a\"b\\c');\nSELECT 1;\n",
                "sql": "DELETE FROM t",
                "child_rows": {"public.u": 3},
                "rows": 1,
                "total_row_writes": 1,
                "function_calls": {"public.f": 2},
                "row_writes": {"public.t": {"insert": 0, "update": 0, "delete": 1}},
            }
        ]
    }
    assert tomllib.loads(render_trace(document)) == document
