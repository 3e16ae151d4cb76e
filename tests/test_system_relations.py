"""Unqualified relation names resolve as PostgreSQL resolves them: pg_temp first, then
pg_catalog, then the search_path, unless the path itself places pg_temp or pg_catalog.

`pg_roles`, `pg_class`, `pg_stat_activity` … named without a schema are the system
catalogs, not user tables in public: they are not missing tables of the schema.
"""

from __future__ import annotations

from pathlib import Path

from analyzer import analyze
from analyzer.builtins import relation_search_order
from analyzer.ddl import build_catalog
from analyzer.graph import build_model
from analyzer.source import SourceFile

BODY = """
CREATE TABLE public.audit (id serial PRIMARY KEY, who text, backends int);
CREATE FUNCTION public.snapshot() RETURNS void LANGUAGE plpgsql {path} AS $$
BEGIN
    INSERT INTO audit (who, backends)
    SELECT rolname, (SELECT count(*) FROM pg_stat_activity) FROM pg_roles
    WHERE rolname = current_user;
    PERFORM 1 FROM pg_class WHERE relname = 'audit';
    PERFORM 1 FROM pg_gadgets;
END;
$$;
"""


def tables_used(sql: str) -> list[str]:
    catalog = build_catalog([SourceFile.from_text("s.sql", sql)])
    graph = build_model(catalog).graph
    return sorted(
        graph.nodes[v]["name"]
        for u, v, data in graph.edges(data=True)
        if u == "function:public.snapshot()" and data["kind"] in {"reads", "writes"}
    )


def test_search_order_puts_the_implicit_schemas_first_unless_the_path_places_them() -> None:
    assert relation_search_order(["$user", "public"]) == ["pg_temp", "pg_catalog", "public"]
    assert relation_search_order(["public", "pg_catalog"]) == ["pg_temp", "public", "pg_catalog"]
    assert relation_search_order(["pg_temp", "app"]) == ["pg_catalog", "pg_temp", "app"]


def test_system_catalogs_named_without_a_schema_are_pg_catalog() -> None:
    # pg_gadgets is no system relation: it stays a (missing) table of public.
    assert tables_used(BODY.format(path="")) == [
        "pg_catalog.pg_class",
        "pg_catalog.pg_roles",
        "pg_catalog.pg_stat_activity",
        "public.audit",
        "public.pg_gadgets",
    ]


def test_a_user_table_of_the_same_name_is_shadowed_unless_the_path_places_pg_catalog() -> None:
    mine = "CREATE TABLE public.pg_roles (rolname text);\n"
    assert "pg_catalog.pg_roles" in tables_used(mine + BODY.format(path=""))
    placed = mine + BODY.format(path="SET search_path = public, pg_catalog")
    assert "public.pg_roles" in tables_used(placed)
    assert "pg_catalog.pg_class" in tables_used(placed)


def test_system_catalogs_are_no_unresolved_reference(tmp_path: Path) -> None:
    path = tmp_path / "schema.sql"
    path.write_text(BODY.format(path=""), encoding="utf-8")
    result = analyze([str(path)])
    assert [(f.code, f.subject, f.location.line) for f in result.findings] == [
        ("RP301", "public.pg_gadgets", 9)
    ]


def test_a_migration_temporary_table_is_gone_when_functions_run() -> None:
    # The migration's session sees its temporary table first (DDL on `scratch` is DDL
    # on it); a function runs later, in a session of its own, where it does not exist.
    sql = (
        "CREATE TABLE public.scratch (id int);\n"
        "CREATE TEMPORARY TABLE scratch (id int);\n"
        "ALTER TABLE scratch ADD COLUMN note text;\n"
        "CREATE FUNCTION public.snapshot() RETURNS void LANGUAGE sql AS "
        "$$ INSERT INTO scratch VALUES (1) $$;\n"
    )
    assert tables_used(sql) == ["public.scratch"]
    catalog = build_catalog([SourceFile.from_text("s.sql", sql)])
    assert [c.name for c in catalog.tables["pg_temp.scratch"].columns] == ["id", "note"]
    assert [c.name for c in catalog.tables["public.scratch"].columns] == ["id"]
    assert relation_search_order(["public"], session=False) == ["pg_catalog", "public"]
