"""Writes to views: PostgreSQL rewrites a write to an automatically updatable view (one
table or view in FROM, no DISTINCT, GROUP BY, HAVING, LIMIT, set operations, WITH,
aggregates, window or set-returning functions) into the same write on its base
relation, whose triggers then fire; the view's own statement triggers do not (they fire
only when an INSTEAD OF trigger handles the write). A write to any other view without an
INSTEAD OF trigger or INSTEAD rule fails: "cannot insert into view".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cascade import Cascade, TraceEntry, Tracer, totals_document
from analyzer.catalog import Catalog, ViewUpdate
from analyzer.cli import cli
from analyzer.ddl import build_catalog
from analyzer.graph import build_model
from analyzer.source import SourceFile

SCHEMA = """
CREATE TABLE public.base (id int PRIMARY KEY, name text, hidden int DEFAULT 0);
CREATE TABLE public.log (id serial PRIMARY KEY, what text);
CREATE FUNCTION public.lg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.log (what) VALUES (TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER base_row AFTER INSERT OR UPDATE OR DELETE ON public.base
    FOR EACH ROW EXECUTE FUNCTION public.lg();
CREATE TRIGGER base_hidden AFTER UPDATE OF hidden ON public.base
    FOR EACH ROW EXECUTE FUNCTION public.lg();
CREATE VIEW public.v AS SELECT id, name AS label, upper(name) AS shout FROM public.base
    WHERE id > 0;
CREATE TRIGGER v_statement AFTER INSERT OR UPDATE OR DELETE ON public.v
    FOR EACH STATEMENT EXECUTE FUNCTION public.lg();
CREATE VIEW public.vv AS SELECT id, label FROM public.v;
CREATE VIEW public.everything AS SELECT * FROM public.base;
CREATE VIEW public.by_name AS SELECT name, count(*) AS n FROM public.base GROUP BY name;
CREATE TABLE public.src (id int PRIMARY KEY, name text);
CREATE FUNCTION public.copy_src() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.v SET label = NEW.name WHERE id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER copy_src AFTER INSERT ON public.src
    FOR EACH ROW EXECUTE FUNCTION public.copy_src();
"""


@pytest.fixture
def empty_database(pg_database: Callable[[str], str]) -> str:
    return pg_database("views")


def catalog_of(sql: str) -> Catalog:
    return build_catalog([SourceFile.from_text("s.sql", sql)])


def trace(entry: TraceEntry, sql: str = SCHEMA) -> Cascade:
    return Tracer(build_model(catalog_of(sql))).trace(entry)


def bounds(cascade: Cascade) -> dict[str, tuple[int, int | None]]:
    low, high = (totals_document(cascade.totals(), b) for b in (0, 1))
    found: dict[str, tuple[int, int | None]] = {}
    for part in ("trigger_firings", "row_writes"):
        lows, highs = low[part], high[part]
        assert isinstance(lows, dict) and isinstance(highs, dict)
        for name, value in highs.items():
            if isinstance(value, dict):
                for kind, count in value.items():
                    if count != 0:
                        found[f"{name} {kind}"] = (lows.get(name, {}).get(kind, 0), count)
            else:
                found[name] = (lows.get(name, 0), value)
    return found


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("SELECT DISTINCT id FROM base", "containing DISTINCT"),
        ("SELECT name FROM base GROUP BY name", "containing GROUP BY"),
        ("SELECT 1 AS one FROM base HAVING max(id) > 0", "containing HAVING"),
        ("SELECT count(*) FROM base", "that return aggregate functions"),
        ("SELECT id, rank() OVER () FROM base", "that return window functions"),
        (
            "SELECT id FROM base UNION SELECT -id FROM base",
            "containing UNION, INTERSECT, or EXCEPT",
        ),
        ("WITH t AS (SELECT id FROM base) SELECT * FROM t", "containing WITH"),
        ("SELECT id FROM base ORDER BY id OFFSET 1", "containing LIMIT or OFFSET"),
        ("SELECT id FROM base ORDER BY id LIMIT 1", "containing LIMIT or OFFSET"),
        ("SELECT 1 AS a", "that do not select from a single table or view"),
        ("SELECT b1.id FROM base b1, base b2", "that do not select from a single table or view"),
        ("SELECT b1.id FROM base b1 JOIN base b2 USING (id)", "that do not select from a single"),
        ("SELECT * FROM generate_series(1, 10) AS g(a)", "that do not select from a single"),
        ("SELECT id FROM (SELECT * FROM base) AS t", "that do not select from a single"),
        ("SELECT id, generate_series(1, 3) FROM base", "that return set-returning functions"),
    ],
)
def test_views_postgresql_does_not_update_automatically(query: str, reason: str) -> None:
    catalog = catalog_of(f"CREATE TABLE base (id int PRIMARY KEY, name text);\n"
                         f"CREATE VIEW ro AS {query};")  # fmt: skip
    update = catalog.tables["public.ro"].view_update
    assert update is not None and update.base is None
    assert update.reason.startswith(f"Views {reason}")
    assert update.reason.endswith("are not automatically updatable.")


def test_an_updatable_view_names_its_base_columns_and_keys() -> None:
    catalog = catalog_of(SCHEMA)
    v = catalog.tables["public.v"]
    # shout is computed: not writable; id shows the base's primary key whole.
    assert v.view_update == ViewUpdate("public.base", (("id", "id"), ("label", "name")))
    assert v.unique_keys == (("id",),)
    assert catalog.tables["public.vv"].view_update == ViewUpdate(
        "public.v", (("id", "id"), ("label", "label"))
    )
    assert catalog.tables["public.everything"].view_update == ViewUpdate(
        "public.base", (("id", "id"), ("name", "name"), ("hidden", "hidden"))
    )


def test_an_update_of_the_view_is_an_update_of_the_base_table() -> None:
    cascade = trace(TraceEntry("public.v", "update", columns=("label",)))
    # base's row trigger fires; its UPDATE OF hidden trigger does not (label is name);
    # the view's statement trigger does not fire either.
    assert bounds(cascade) == {
        "public.base.base_row": (1, 1),
        "public.base update": (1, 1),
        "public.log insert": (1, 1),
    }
    assert cascade.tree.children[0].detail == (
        "automatically updatable: the write goes to public.base"
    )


def test_a_view_of_a_view_goes_down_to_the_table_and_keeps_the_column_names() -> None:
    hidden = trace(TraceEntry("public.everything", "update", columns=("hidden",)))
    assert bounds(hidden)["public.base.base_hidden"] == (1, 1)
    label = trace(TraceEntry("public.vv", "insert"))
    assert bounds(label) == {
        "public.base.base_row": (1, 1),
        "public.base insert": (1, 1),
        "public.log insert": (1, 1),
    }


def test_a_trigger_writing_the_view_writes_the_base_row_it_keys() -> None:
    cascade = trace(TraceEntry("public.src", "insert"))
    # WHERE id = NEW.id picks one base row through the view's key: 0..1, not a set.
    assert bounds(cascade) == {
        "public.src.copy_src": (1, 1),
        "public.base.base_row": (0, 1),
        "public.base update": (0, 1),
        "public.log insert": (0, 1),
        "public.src insert": (1, 1),
    }


def test_an_instead_of_trigger_still_takes_the_write() -> None:
    sql = SCHEMA + (
        "CREATE TRIGGER v_instead INSTEAD OF UPDATE ON public.v "
        "FOR EACH ROW EXECUTE FUNCTION public.lg();\n"
    )
    cascade = trace(TraceEntry("public.v", "update", columns=("label",)), sql)
    assert bounds(cascade) == {
        "public.v.v_instead": (1, 1),
        "public.v.v_statement": (1, 1),
        "public.log insert": (2, 2),
    }


def test_a_write_to_a_view_that_is_not_updatable_fails() -> None:
    cascade = trace(TraceEntry("public.by_name", "insert"))
    assert cascade.fails == "certainly"
    (error,) = cascade.errors
    assert (error.condition, error.message) == (
        "object_not_in_prerequisite_state",
        'cannot insert into view "by_name"',
    )
    assert bounds(cascade) == {}


def test_a_view_whose_query_is_not_understood_is_unknown_ground() -> None:
    sql = (
        "CREATE TABLE t (id int PRIMARY KEY);\n"
        "CREATE VIEW odd AS SELECT id FROM t WHERE id @@@ 1 !!! 2;\n"
    )
    cascade = trace(TraceEntry("public.odd", "insert"), sql)
    assert [(u.reason, u.name) for u in cascade.unknowns] == [
        ("write to a view whose query was not understood", "public.odd")
    ]
    assert bounds(cascade) == {"public.odd insert": (1, 1)}
    values = trace(TraceEntry("public.vals", "insert"), "CREATE VIEW vals AS VALUES (1), (2);")
    assert values.fails == "certainly"


def test_a_view_follows_its_base_table_when_it_is_renamed() -> None:
    sql = SCHEMA + "ALTER TABLE public.base RENAME TO accounts;\n"
    update = catalog_of(sql).tables["public.v"].view_update
    assert update is not None and update.base == "public.accounts"
    cascade = trace(TraceEntry("public.v", "update", columns=("label",)), sql)
    assert bounds(cascade)["public.accounts update"] == (1, 1)


def test_renamed_columns_stay_mapped() -> None:
    sql = SCHEMA + (
        "ALTER TABLE public.base RENAME COLUMN hidden TO secret;\n"
        "ALTER TABLE public.v RENAME COLUMN label TO caption;\n"
    )
    catalog = catalog_of(sql)
    v, everything = catalog.tables["public.v"], catalog.tables["public.everything"]
    assert v.view_update is not None and everything.view_update is not None
    assert v.view_update.columns == (("id", "id"), ("caption", "name"))
    assert ("hidden", "secret") in everything.view_update.columns
    cascade = trace(TraceEntry("public.everything", "update", columns=("hidden",)), sql)
    assert bounds(cascade)["public.base.base_hidden"] == (1, 1)


def test_views_that_reach_each_other_end_the_walk() -> None:
    # Not possible on the server, but a catalog replaced view by view can hold it.
    sql = (
        "CREATE TABLE t (id int PRIMARY KEY);\n"
        "CREATE VIEW a AS SELECT id FROM t;\n"
        "CREATE VIEW b AS SELECT id FROM a;\n"
        "CREATE OR REPLACE VIEW a AS SELECT id FROM b;\n"
    )
    cascade = trace(TraceEntry("public.a", "insert"), sql)
    assert bounds(cascade) == {"public.b insert": (1, 1)}


@pytest.mark.integration
def test_the_server_writes_the_base_table_as_traced(empty_database: str, tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    workload = tmp_path / "workload.sql"
    workload.write_text(
        "INSERT INTO public.base (id, name) VALUES (1, 'a');\n"
        "-- sqlripple: measure\n"
        "UPDATE public.v SET label = 'b' WHERE id = 1;\n"
        "-- sqlripple: measure\n"
        "INSERT INTO public.src VALUES (1, 'c');\n"
        "-- sqlripple: measure\n"
        "INSERT INTO public.by_name (name) VALUES ('x');\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli,
        ["verify", str(tmp_path / "schema.sql"), "--workload", str(workload),
         "--dsn", empty_database, "--format", "json"],
    )  # fmt: skip
    assert (result.exit_code, result.stderr) == (0, ""), result.stdout
    update, copy, refused = json.loads(result.stdout)["measurements"]
    assert update["server"]["row_writes"] == {
        "public.base": {"insert": 0, "update": 1, "delete": 0},
        "public.log": {"insert": 1, "update": 0, "delete": 0},
    }
    assert copy["server"]["row_writes"]["public.base"]["update"] == 1
    assert refused["server"]["error"]["sqlstate"] == "55000"
    assert [m["differences"] for m in (update, copy, refused)] == [[], [], []]
