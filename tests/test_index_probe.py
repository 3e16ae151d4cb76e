"""MIN/MAX that a btree index answers with one probe (PostgreSQL's planagg): the catalog
keeps plain btree indexes, and a read of nothing but MIN/MAX of a column is a probe when
an index leads with exactly the columns the WHERE fixes by equality, then that column."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.catalog import Catalog
from analyzer.effects import Read, analyze_bodies, index_probe
from analyzer.loader import load

TABLE = "CREATE TABLE t (id bigint PRIMARY KEY, a int, b int, n int, live boolean);\n"


def catalog_of(tmp_path: Path, sql: str) -> Catalog:
    path = tmp_path / "schema.sql"
    path.write_text(TABLE + sql, encoding="utf-8")
    return load([str(path)])


def test_plain_btree_indexes_are_kept_in_column_order(tmp_path: Path) -> None:
    catalog = catalog_of(
        tmp_path,
        "CREATE INDEX ON t (b, a);\n"
        "CREATE INDEX t_hash ON t USING hash (n);\n"
        "CREATE INDEX t_partial ON t (n) WHERE live;\n"
        "CREATE INDEX t_expr ON t ((a + b));\n"
        "CREATE INDEX IF NOT EXISTS t_n ON t (n);\n"
        "DROP INDEX t_n;\n"
        "CREATE INDEX t_an ON t (a, n);\n"
        "ALTER TABLE t RENAME COLUMN a TO aa;\n",
    )
    table = catalog.tables["public.t"]
    assert table.indexes == (("aa", "n"), ("b", "aa"))
    assert table.btree_indexes == (("id",), ("aa", "n"), ("b", "aa"))


def read_of(tmp_path: Path, indexes: str, query: str) -> tuple[Read, bool]:
    catalog = catalog_of(
        tmp_path,
        indexes + "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"DECLARE v bigint;\nBEGIN\n{query} INTO v;\nRETURN NEW;\nEND $$;\n",
    )
    body = analyze_bodies(catalog).functions["public.f()"]
    (read,) = [e for e in body.effects if isinstance(e, Read)]
    return read, index_probe(read, catalog.tables["public.t"])


@pytest.mark.parametrize(
    ("indexes", "query", "probe"),
    [
        ("", "SELECT max(id) FROM t", True),  # the primary key
        ("", "SELECT coalesce(max(id), 0) + 1 FROM t", True),
        ("", "SELECT min(id), max(id) FROM t", True),
        ("CREATE INDEX ON t (a, n);", "SELECT max(n) FROM t WHERE a = NEW.a", True),
        ("CREATE INDEX ON t (b, a, n);", "SELECT max(n) FROM t WHERE a = NEW.a AND b = 1", True),
        ("CREATE UNIQUE INDEX ON t (a, n);", "SELECT max(t.n) FROM t WHERE t.a = NEW.a", True),
        # Look-alikes that read the matching rows.
        ("CREATE INDEX ON t (n, a);", "SELECT max(n) FROM t WHERE a = NEW.a", False),
        ("CREATE INDEX ON t (a);", "SELECT max(n) FROM t WHERE a = NEW.a", False),
        ("CREATE INDEX ON t (a, b, n);", "SELECT max(n) FROM t WHERE a = NEW.a", False),
        ("CREATE INDEX ON t (a, n);", "SELECT count(*) FROM t WHERE a = NEW.a", False),
        ("CREATE INDEX ON t (a, n);", "SELECT max(n), count(*) FROM t WHERE a = NEW.a", False),
        ("CREATE INDEX ON t (a, n);", "SELECT max(n) FROM t WHERE a = NEW.a AND live", False),
        ("CREATE INDEX ON t (a, n);", "SELECT max(n) FROM t WHERE a > NEW.a", False),
        ("CREATE INDEX ON t (a, n);", "SELECT max(n + 1) FROM t WHERE a = NEW.a", False),
        ("CREATE INDEX t_h ON t USING hash (n);", "SELECT max(n) FROM t", False),
        ("CREATE INDEX ON t (n) WHERE live;", "SELECT max(n) FROM t", False),
    ],
)
def test_min_max_is_an_index_probe_only_with_a_leading_index(
    tmp_path: Path, indexes: str, query: str, probe: bool
) -> None:
    _, found = read_of(tmp_path, indexes, query)
    assert found is probe
