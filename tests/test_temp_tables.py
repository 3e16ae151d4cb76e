"""A temporary table a PL/pgSQL body creates is the table its later statements name.

pg_temp comes first on the search path: after `CREATE TEMP TABLE x` (static, or run by
EXECUTE), an unqualified `x` in later static or dynamic SQL of the same body is
`pg_temp.x`, not a table missing from the schema. Writes to it are row writes to
pg_temp.x; no trigger of the schema can fire on it.
"""

from __future__ import annotations

from pathlib import Path

from analyzer import analyze
from analyzer.cascade import TraceEntry, Tracer, totals_document
from analyzer.ddl import build_catalog
from analyzer.effects import Read, Write
from analyzer.graph import Model, build_model
from analyzer.source import SourceFile

TABLES = """
CREATE TABLE public.sales (id serial PRIMARY KEY, buyer int NOT NULL, amount numeric);
CREATE TABLE public.top_log (id serial PRIMARY KEY, buyer int);
"""

BODY = (
    TABLES
    + """
CREATE FUNCTION public.note_top() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    {create}
    EXECUTE 'INSERT INTO tmp_buyers SELECT buyer FROM sales GROUP BY buyer';
    INSERT INTO tmp_buyers VALUES (NEW.buyer) ON CONFLICT DO NOTHING;
    FOR r IN EXECUTE 'SELECT buyer FROM tmp_buyers' LOOP
        INSERT INTO top_log (buyer) VALUES (r.buyer);
    END LOOP;
    EXECUTE 'DROP TABLE tmp_buyers';
    RETURN NULL;
END $$;
CREATE TRIGGER note_top AFTER INSERT ON public.sales
    FOR EACH ROW EXECUTE FUNCTION public.note_top();
"""
)

STATIC = "CREATE TEMPORARY TABLE tmp_buyers (buyer int PRIMARY KEY) ON COMMIT DROP;"


def model_of(sql: str) -> Model:
    return build_model(build_catalog([SourceFile.from_text("s.sql", sql)]))


def tables(model: Model, function: str = "public.note_top()") -> list[tuple[str, str | None]]:
    body = model.bodies.functions[function]
    return [(type(e).__name__, e.table) for e in body.effects if isinstance(e, (Read, Write))]


def test_later_static_and_dynamic_sql_names_the_temporary_table() -> None:
    model = model_of(BODY.format(create=STATIC))
    body = model.bodies.functions["public.note_top()"]
    assert not body.incomplete and body.diagnostics == ()
    assert tables(model) == [
        ("Write", "pg_temp.tmp_buyers"),
        ("Read", "public.sales"),
        ("Write", "pg_temp.tmp_buyers"),
        ("Read", "pg_temp.tmp_buyers"),
        ("Write", "public.top_log"),
    ]


def test_a_temporary_table_created_by_execute_counts_too() -> None:
    create = "EXECUTE 'CREATE TEMP TABLE IF NOT EXISTS tmp_buyers (buyer int PRIMARY KEY)';"
    assert {t for _, t in tables(model_of(BODY.format(create=create)))} == {
        "pg_temp.tmp_buyers",
        "public.sales",
        "public.top_log",
    }


def test_the_trace_writes_the_temporary_table_and_crosses_no_unknown_ground() -> None:
    cascade = Tracer(model_of(BODY.format(create=STATIC))).trace(
        TraceEntry("public.sales", "insert")
    )
    low, high = (totals_document(cascade.totals(), b) for b in (0, 1))
    # The set-based INSERT … SELECT: any number of rows; the single-row upsert: 0..1.
    assert "pg_temp.tmp_buyers" not in low["row_writes"]  # type: ignore[operator]
    assert high["row_writes"]["pg_temp.tmp_buyers"]["insert"] is None  # type: ignore[index]
    assert cascade.unknowns == []


def test_no_unresolved_reference_for_the_temporary_table(tmp_path: Path) -> None:
    path = tmp_path / "schema.sql"
    path.write_text(BODY.format(create=STATIC), encoding="utf-8")
    result = analyze([str(path)])
    assert [f.code for f in result.findings if f.code in {"RP301", "RP302"}] == []
    assert result.diagnostics == ()


def test_without_the_create_the_name_is_a_missing_public_table(tmp_path: Path) -> None:
    # The look-alike: a plain (not temporary) table created in the body, and no create.
    for create in ("CREATE TABLE other (buyer int);", ""):
        model = model_of(BODY.format(create=create))
        assert {t for _, t in tables(model)} == {
            "public.tmp_buyers",
            "public.sales",
            "public.top_log",
        }
    path = tmp_path / "schema.sql"
    path.write_text(BODY.format(create=""), encoding="utf-8")
    found = [(f.code, f.subject) for f in analyze([str(path)]).findings if f.code == "RP301"]
    assert found == [("RP301", "public.tmp_buyers")] * 3


def test_only_later_unqualified_names_of_the_same_body_mean_it() -> None:
    sql = (
        TABLES
        + """
    CREATE TABLE public.scratch (buyer int);
    CREATE FUNCTION public.fill() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO scratch VALUES (1);
        CREATE TEMP TABLE scratch (buyer int);
        INSERT INTO scratch VALUES (2);
        INSERT INTO public.scratch VALUES (3);
        CREATE TEMP TABLE "Quoted" (buyer int);
        INSERT INTO "Quoted" VALUES (4);
    END $$;
    CREATE FUNCTION public.other() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO scratch VALUES (5);
    END $$;
    """
    )
    model = model_of(sql)
    assert tables(model, "public.fill()") == [
        ("Write", "public.scratch"),
        ("Write", "pg_temp.scratch"),
        ("Write", "public.scratch"),
        ("Write", "pg_temp.Quoted"),
    ]
    assert tables(model, "public.other()") == [("Write", "public.scratch")]


def test_a_sql_function_is_parsed_whole_before_it_runs() -> None:
    # PostgreSQL analyses every statement of a LANGUAGE sql body before running the
    # first: a table the body creates is not what its later statements resolve to.
    sql = (
        TABLES
        + """
    CREATE TABLE public.scratch (buyer int);
    CREATE FUNCTION public.fill() RETURNS void LANGUAGE sql AS $$
        CREATE TEMP TABLE scratch (buyer int);
        INSERT INTO scratch VALUES (2);
    $$;
    """
    )
    assert tables(model_of(sql), "public.fill()") == [("Write", "public.scratch")]
