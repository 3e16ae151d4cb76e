"""TRUNCATE of a table another table references fails without CASCADE, however empty
both are (0A000, checked before any trigger fires); with CASCADE, or when the only
reference is the table's own, it succeeds and its TRUNCATE triggers fire."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import integration_unavailable

from analyzer.cascade import TraceEntry, Tracer
from analyzer.cli import cli
from analyzer.graph import build_model
from analyzer.loader import load
from analyzer.pgserver import find_pg_bindir

LEDGER = """CREATE TABLE account (id int PRIMARY KEY);
CREATE TABLE ledger (id int PRIMARY KEY, account_id int NOT NULL REFERENCES account);
CREATE TABLE tree (id int PRIMARY KEY, parent_id int REFERENCES tree);
CREATE TABLE log (id serial PRIMARY KEY, op text);
CREATE FUNCTION t_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO log (op) VALUES (TG_OP); RETURN NULL; END $$;
CREATE TRIGGER t_log AFTER TRUNCATE ON account FOR EACH STATEMENT EXECUTE FUNCTION t_log();
CREATE TRIGGER t_log AFTER TRUNCATE ON tree FOR EACH STATEMENT EXECUTE FUNCTION t_log();
"""


def _tracer(tmp_path: Path) -> Tracer:
    schema = tmp_path / "schema.sql"
    schema.write_text(LEDGER, encoding="utf-8")
    return Tracer(build_model(load([str(schema)])))


def test_truncating_a_referenced_table_certainly_fails(tmp_path: Path) -> None:
    cascade = _tracer(tmp_path).trace(TraceEntry("public.account", "truncate"))
    assert cascade.fails == "certainly"
    (error,) = cascade.errors
    assert (error.condition, error.message, error.line, error.certain) == (
        "feature_not_supported",
        "cannot truncate a table referenced in a foreign key constraint",
        2,
        True,
    )
    assert not [k for k in cascade.totals().counts if k[0] != "error"]  # no trigger ran
    (node,) = cascade.tree.children
    assert (node.kind, node.name) == ("error", "public.ledger")
    assert node.detail.endswith("public.ledger (account_id) references public.account")


def test_with_cascade_or_a_self_reference_it_succeeds(tmp_path: Path) -> None:
    tracer = _tracer(tmp_path)
    cascaded = tracer.trace(TraceEntry("public.account", "truncate", cascade=True))
    assert cascaded.fails == "no"
    assert cascaded.totals().counts[("write", "public.log", "insert")] == (1, 1)
    own = tracer.trace(TraceEntry("public.tree", "truncate"))
    assert own.fails == "no"
    assert own.totals().counts[("write", "public.log", "insert")] == (1, 1)


@pytest.mark.integration
def test_the_server_agrees(pg_database: Callable[[str], str], tmp_path: Path) -> None:
    if find_pg_bindir() is None:
        integration_unavailable("PostgreSQL server binaries not found")
    (tmp_path / "schema.sql").write_text(LEDGER, encoding="utf-8")
    workload = tmp_path / "workload.sql"
    workload.write_text(
        "-- sqlripple: measure\nTRUNCATE account;\n"
        "-- sqlripple: measure\nTRUNCATE account CASCADE;\n"
        "-- sqlripple: measure\nTRUNCATE tree;\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli,
        ["verify", str(tmp_path / "schema.sql"), "--workload", str(workload),
         "--dsn", pg_database("truncate"), "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout
    plain, cascaded, own = json.loads(result.stdout)["measurements"]
    assert plain["server"]["error"]["sqlstate"] == "0A000"
    assert plain["prediction"]["outcome"]["fails"] == "certainly"
    assert cascaded["server"]["error"] is None
    assert cascaded["server"]["function_calls"] == {"public.t_log": 1}
    assert own["server"]["function_calls"] == {"public.t_log": 1}
