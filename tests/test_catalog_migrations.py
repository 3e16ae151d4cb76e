"""Migration semantics across files: what PostgreSQL has after applying them in order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analyzer.catalog import Catalog
from analyzer.findings import Location
from analyzer.loader import load


@pytest.fixture
def migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "migrations"
    folder.mkdir()
    return folder


def apply(folder: Path, files: dict[str, str]) -> Catalog:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return load([folder.name])


FUNCTION = (
    "CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN NEW.n := {n}; RETURN NEW; END $$;\n"
)


def test_files_apply_in_migration_order_not_listing_order(migrations: Path) -> None:
    catalog = apply(
        migrations,
        {
            "10_rename.sql": "ALTER TABLE t RENAME TO renamed;\n",
            "2_create.sql": "CREATE TABLE t (id int);\n",
            "1_schema.sql": "CREATE SCHEMA app;\n",
        },
    )
    assert list(catalog.tables) == ["public.renamed"]
    assert catalog.diagnostics == ()


def test_or_replace_moves_the_function_to_its_new_definition_and_keeps_triggers(
    migrations: Path,
) -> None:
    catalog = apply(
        migrations,
        {
            "1_init.sql": "CREATE TABLE t (id int, n int);\n"
            + FUNCTION.format(n=1)
            + "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();\n",
            "2_fix.sql": "-- fix the stamp\n" + FUNCTION.format(n=2),
        },
    )
    function = catalog.functions["public.touch()"]
    assert function.body == "\nBEGIN NEW.n := 2; RETURN NEW; END "
    assert function.location == Location("migrations/2_fix.sql", 2, 1, 3, 37)
    assert function.body_location == Location("migrations/2_fix.sql", 2, 74, 3, 34)
    assert catalog.triggers["public.t.tr"].function == "public.touch"
    assert catalog.triggers["public.t.tr"].location.path == "migrations/1_init.sql"


def test_drop_in_a_later_file_removes_and_recreate_gets_the_new_location(migrations: Path) -> None:
    catalog = apply(
        migrations,
        {
            "1.sql": "CREATE TABLE t (id int);\n"
            + FUNCTION.format(n=1)
            + "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();\n",
            "2.sql": "DROP TRIGGER tr ON t;\nDROP FUNCTION touch();\n",
            "3.sql": FUNCTION.format(n=3)
            + "CREATE TRIGGER tr AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();\n",
        },
    )
    trigger = catalog.triggers["public.t.tr"]
    assert (trigger.timing, trigger.events, str(trigger.location)) == (
        "after",
        ("update",),
        "migrations/3.sql:3:1",
    )
    assert str(catalog.functions["public.touch()"].location) == "migrations/3.sql:1:1"


def test_disable_in_a_later_file_marks_the_trigger_and_enable_restores_it(
    migrations: Path,
) -> None:
    files = {
        "1.sql": "CREATE TABLE t (id int);\n"
        + FUNCTION.format(n=1)
        + "CREATE TRIGGER a BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();\n"
        + "CREATE TRIGGER b BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();\n",
        "2.sql": "ALTER TABLE t DISABLE TRIGGER a;\nALTER TABLE t ENABLE REPLICA TRIGGER b;\n",
    }
    catalog = apply(migrations, files)
    assert {t.name: t.enabled for t in catalog.triggers.values()} == {
        "a": "disabled",
        "b": "replica",
    }
    catalog = apply(migrations, {"3.sql": "ALTER TABLE t ENABLE TRIGGER ALL;\n"})
    assert {t.name: t.enabled for t in catalog.triggers.values()} == {"a": "origin", "b": "origin"}


def test_renames_carry_triggers_and_foreign_keys_across_files(migrations: Path) -> None:
    catalog = apply(
        migrations,
        {
            "1.sql": "CREATE TABLE users (id int PRIMARY KEY, email text);\n"
            "CREATE TABLE posts (id int, author int REFERENCES users ON DELETE CASCADE);\n"
            + FUNCTION.format(n=1)
            + "CREATE TRIGGER stamp BEFORE UPDATE OF email ON users "
            "FOR EACH ROW EXECUTE FUNCTION touch();\n",
            "2.sql": "ALTER TABLE users RENAME TO accounts;\n"
            "ALTER TABLE accounts RENAME COLUMN email TO mail;\n"
            "ALTER TABLE accounts RENAME COLUMN id TO account_id;\n"
            "ALTER TRIGGER stamp ON accounts RENAME TO stamp_mail;\n"
            "ALTER FUNCTION touch() RENAME TO touch_row;\n",
        },
    )
    assert sorted(catalog.tables) == ["public.accounts", "public.posts"]
    trigger = catalog.triggers["public.accounts.stamp_mail"]
    assert (trigger.table, trigger.update_columns, trigger.function) == (
        "public.accounts",
        ("mail",),
        "public.touch_row",
    )
    (key,) = catalog.tables["public.posts"].foreign_keys
    assert (key.ref_table, key.ref_columns, key.on_delete) == (
        "public.accounts",
        ("account_id",),
        "cascade",
    )
    assert catalog.tables["public.accounts"].primary_key == ("account_id",)


def test_set_search_path_does_not_leak_into_the_next_file(migrations: Path) -> None:
    catalog = apply(
        migrations,
        {
            "1.sql": "CREATE SCHEMA app;\nSET search_path = app;\nCREATE TABLE a (id int);\n",
            "2.sql": "CREATE TABLE b (id int);\n",
        },
    )
    assert sorted(catalog.tables) == ["app.a", "public.b"]


def test_unqualified_references_resolve_through_the_path_in_force(migrations: Path) -> None:
    catalog = apply(
        migrations,
        {
            "1.sql": "CREATE SCHEMA app;\nCREATE TABLE app.items (id int);\n"
            "CREATE TABLE public.items (id int);\n",
            "2.sql": "SET search_path = app, public;\n"
            + FUNCTION.format(n=1)
            + "CREATE TRIGGER tr BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION touch();\n",
            "3.sql": "CREATE TRIGGER tr BEFORE INSERT ON items\n"
            "  FOR EACH ROW EXECUTE FUNCTION app.touch();\n",
        },
    )
    assert {k: t.function for k, t in catalog.triggers.items()} == {
        "app.items.tr": "app.touch",
        "public.items.tr": "app.touch",
    }


def test_functions_are_keyed_by_argument_types_and_resolved_by_arity(migrations: Path) -> None:
    catalog = apply(
        migrations,
        {
            "1.sql": "CREATE FUNCTION bump(a int) RETURNS int LANGUAGE sql RETURN a + 1;\n"
            "CREATE FUNCTION bump(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql RETURN a + b;\n"
            "CREATE FUNCTION bump(a text) RETURNS text LANGUAGE sql RETURN a;\n"
            "CREATE FUNCTION many(VARIADIC a int[]) RETURNS int LANGUAGE sql RETURN 1;\n",
        },
    )
    assert sorted(catalog.functions) == [
        "public.bump(integer)",
        "public.bump(integer,integer)",
        "public.bump(text)",
        "public.many(integer[])",
    ]
    two = catalog.resolve_function(["bump"], 2)
    assert two is not None and two.key == "public.bump(integer,integer)"
    many = catalog.resolve_function(["public", "many"], 5)
    assert many is not None and many.key == "public.many(integer[])"
    assert catalog.resolve_function(["bump"], 3) is None
    assert catalog.resolve_function(["nope"]) is None


# ---- the catalog against a real server ------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SERVER_FOLDERS = sorted(
    {p.parent for p in (ROOT / "fixtures").glob("*/*.sql")}
    | {p.parent for p in (ROOT / "tests" / "catalog_cases").glob("*.sql")}
)
_TIMING = {2: "before", 64: "instead of"}
_EVENTS = {4: "insert", 8: "delete", 16: "update", 32: "truncate"}
_ENABLED = {"O": "origin", "D": "disabled", "R": "replica", "A": "always"}
_FK_ACTION = {
    "a": "no action",
    "r": "restrict",
    "c": "cascade",
    "n": "set null",
    "d": "set default",
}
_USER_SCHEMAS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
    " AND n.nspname NOT LIKE 'pg_temp%'"
)


def _config_path(config: list[str] | None) -> tuple[str, ...] | None:
    for entry in config or ():
        if entry.startswith("search_path="):
            value = entry.split("=", 1)[1]
            parts = [p.strip() for p in value.split(",")] if value != '""' else []
            return tuple(p[1:-1].replace('""', '"') if p.startswith('"') else p for p in parts)
    return None


def server_catalog(conninfo: str) -> dict[str, Any]:
    """What pg_catalog says, in the shape of our catalog's comparable fields."""
    import psycopg

    from analyzer.types import normalize_type

    with psycopg.connect(conninfo) as conn:
        relations = dict(
            conn.execute(
                "SELECT n.nspname || '.' || c.relname, c.relkind::text FROM pg_class c "
                f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_SCHEMAS} "
                "AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            ).fetchall()
        )
        columns: dict[str, list[tuple[str, str, bool]]] = {}
        for table, name, type_, not_null in conn.execute(
            "SELECT n.nspname || '.' || c.relname, a.attname, format_type(a.atttypid, a.atttypmod),"
            " a.attnotnull FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            f" JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_SCHEMAS}"
            " AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped"
            " ORDER BY 1, a.attnum"
        ):
            columns.setdefault(table, []).append((name, normalize_type(type_), not_null))
        keys: dict[str, set[tuple[Any, ...]]] = {}
        for (
            table,
            name,
            kind,
            key_columns,
            ref_table,
            ref_columns,
            on_delete,
            on_update,
        ) in conn.execute(
            "SELECT n.nspname || '.' || c.relname, k.conname, k.contype::text,"
            " array(SELECT attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)"
            "  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY i),"
            " fn.nspname || '.' || f.relname,"
            " array(SELECT attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)"
            "  JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY i),"
            " k.confdeltype::text, k.confupdtype::text"
            " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_class f ON f.oid = k.confrelid"
            " LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace"
            f" WHERE {_USER_SCHEMAS} AND k.contype IN ('p', 'f')"
        ):
            if kind == "p":
                keys.setdefault(table, set()).add(("p", tuple(key_columns)))
            else:
                keys.setdefault(table, set()).add(
                    (
                        "f",
                        name,
                        tuple(key_columns),
                        ref_table,
                        tuple(ref_columns),
                        _FK_ACTION[on_delete],
                        _FK_ACTION[on_update],
                    )
                )
        functions = {}
        for name, types, language, definer, config, kind in conn.execute(
            "SELECT n.nspname || '.' || p.proname,"
            " array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t), l.lanname,"
            " p.prosecdef, p.proconfig, p.prokind::text FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            f" JOIN pg_language l ON l.oid = p.prolang WHERE {_USER_SCHEMAS}"
            " AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
        ):
            key = f"{name}({','.join(normalize_type(t) for t in types)})"
            functions[key] = (language, definer, _config_path(config), kind == "p")
        triggers = {}
        for row in conn.execute(
            "SELECT n.nspname || '.' || c.relname, t.tgname, t.tgtype, t.tgenabled::text,"
            " array(SELECT attname FROM unnest(t.tgattr::int2[]) WITH ORDINALITY u(n, i)"
            "  JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = u.n ORDER BY i),"
            " t.tgqual IS NOT NULL, t.tgargs, t.tgconstraint <> 0, t.tgdeferrable,"
            " t.tginitdeferred, t.tgoldtable, t.tgnewtable, t.tgparentid <> 0,"
            " pn.nspname || '.' || p.proname"
            " FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace"
            f" WHERE {_USER_SCHEMAS} AND NOT t.tgisinternal"
        ):
            table, name, type_bits, enabled, update_columns, has_when, args = row[:7]
            constraint, deferrable, deferred, old_table, new_table, inherited, function = row[7:]
            referencing = (("old", old_table),) * bool(old_table) + (("new", new_table),) * bool(
                new_table
            )
            triggers[f"{table}.{name}"] = (
                next((t for bit, t in _TIMING.items() if type_bits & bit), "after"),
                sorted(e for bit, e in _EVENTS.items() if type_bits & bit),
                "row" if type_bits & 1 else "statement",
                function,
                tuple(update_columns),
                has_when,
                tuple(a.decode() for a in bytes(args).split(b"\x00")[:-1]),
                _ENABLED[enabled],
                constraint,
                deferrable,
                deferred,
                referencing,
                inherited,
            )
    return {
        "relations": relations,
        "columns": columns,
        "keys": keys,
        "functions": functions,
        "triggers": triggers,
    }


def our_catalog(catalog: Catalog) -> dict[str, Any]:
    kinds = {"table": "r", "partitioned": "p", "view": "v", "materialized view": "m"}
    kinds["foreign"] = "f"
    relations = {
        name: kinds[t.relkind]
        for name, t in catalog.tables.items()
        if not name.startswith("pg_temp.")
    }
    columns = {
        name: [(c.name, c.type, c.not_null) for c in t.columns]
        for name, t in catalog.tables.items()
        if t.relkind in {"table", "partitioned"} and not name.startswith("pg_temp.")
    }
    keys: dict[str, set[tuple[Any, ...]]] = {}
    for name, table in catalog.tables.items():
        if table.primary_key:
            keys.setdefault(name, set()).add(("p", table.primary_key))
        for key in table.foreign_keys:
            keys.setdefault(name, set()).add(
                (
                    "f",
                    key.name,
                    key.columns,
                    key.ref_table,
                    key.ref_columns,
                    key.on_delete,
                    key.on_update,
                )
            )
    functions = {
        key: (f.language, f.security_definer, f.search_path, f.is_procedure)
        for key, f in catalog.functions.items()
    }
    triggers = {
        key: (
            t.timing,
            sorted(t.events),
            t.level,
            t.function,
            t.update_columns,
            t.when is not None,
            t.arguments,
            t.enabled,
            t.constraint,
            t.deferrable,
            t.initially_deferred,
            t.referencing,
            t.inherited_from is not None,
        )
        for key, t in catalog.triggers.items()
    }
    return {
        "relations": relations,
        "columns": columns,
        "keys": keys,
        "functions": functions,
        "triggers": triggers,
    }


@pytest.mark.integration
@pytest.mark.parametrize(
    "folder", SERVER_FOLDERS, ids=[f"{p.parent.name}/{p.name}" for p in SERVER_FOLDERS]
)
def test_catalog_matches_a_real_server(folder: Path, pg_database: Any) -> None:
    """Load the files into PostgreSQL (one session per file, so that SET search_path stays
    in its file) and compare what pg_catalog has with our catalog."""
    import psycopg

    from analyzer.pgserver import load_sql_files, prelude_path, sql_files

    conninfo = pg_database(f"catalog_{folder.name}")
    files = [prelude_path("supabase"), *sql_files(folder)]
    for path in files:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            load_sql_files(conn, [path])
    server = server_catalog(conninfo)
    ours = our_catalog(load([str(p) for p in files]))
    assert ours["relations"] == server["relations"]
    assert ours["columns"] == server["columns"]
    assert ours["keys"] == server["keys"]
    assert ours["functions"] == server["functions"]
    assert ours["triggers"] == server["triggers"]
