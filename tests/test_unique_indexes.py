"""A unique index identifies at most one row like a UNIQUE constraint does: Prisma and
pg_dump write unique keys as CREATE UNIQUE INDEX. A partial or expression index does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analyzer.cli import cli
from analyzer.loader import load

SCHEMA = """CREATE TABLE accounts (id bigint PRIMARY KEY, handle text NOT NULL,
    region text, signups int NOT NULL DEFAULT 0);
CREATE {index} ON accounts {columns};
CREATE TABLE signups (id bigint PRIMARY KEY, referrer_handle text NOT NULL);
CREATE FUNCTION credit_referrer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE accounts SET signups = signups + 1 WHERE handle = NEW.referrer_handle;
  RETURN NULL;
END $$;
CREATE TRIGGER credit_referrer AFTER INSERT ON signups
    FOR EACH ROW EXECUTE FUNCTION credit_referrer();
"""


def _trace(tmp_path: Path, index: str, columns: str) -> dict[str, Any]:
    schema = tmp_path / "schema.sql"
    schema.write_text(SCHEMA.format(index=index, columns=columns), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["trace", str(schema), "--table", "signups", "--op", "insert", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.mark.parametrize(
    ("index", "columns", "upper"),
    [
        ("UNIQUE INDEX accounts_handle_key", "(handle)", 1),
        ("UNIQUE INDEX CONCURRENTLY IF NOT EXISTS accounts_handle_key", "USING btree (handle)", 1),
        ("UNIQUE INDEX", "(handle) INCLUDE (region)", 1),
        # unique among some rows only, or over an expression: the WHERE fixes no key
        ("UNIQUE INDEX accounts_handle_key", "(handle) WHERE region IS NOT NULL", None),
        ("UNIQUE INDEX accounts_handle_key", "(lower(handle))", None),
        ("INDEX accounts_handle_idx", "(handle)", None),
        ("UNIQUE INDEX accounts_pair_key", "(handle, region)", None),
    ],
)
def test_a_unique_index_bounds_a_keyed_update_to_one_row(
    tmp_path: Path, index: str, columns: str, upper: int | None
) -> None:
    document = _trace(tmp_path, index, columns)
    assert document["totals"]["row_writes"]["public.accounts"]["update"] == upper
    low = document["totals_min"]["row_writes"].get("public.accounts", {})
    assert low.get("update", 0) == 0  # no foreign key promises a referrer


def test_unique_indexes_are_catalog_facts_and_follow_drops(tmp_path: Path) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(
        "CREATE TABLE t (a int, b int, c int);\n"
        "CREATE UNIQUE INDEX t_a ON t (a);\n"
        "CREATE UNIQUE INDEX t_bc ON t (b, c);\n"
        "CREATE UNIQUE INDEX t_c_partial ON t (c) WHERE a > 0;\n"
        "DROP INDEX t_a;\n",
        encoding="utf-8",
    )
    table = load([str(schema)]).tables["public.t"]
    assert table.unique_indexes == (("b", "c"),)
    assert table.unique_keys == (("b", "c"),)
