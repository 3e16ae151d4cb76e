"""Syntax is never a call; functions of extensions the input creates are known ground."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer import analyze
from analyzer.cascade import TraceEntry, Tracer
from analyzer.effects import CallEffect, analyze_function
from analyzer.graph import build_model
from analyzer.loader import load

TABLES = """
CREATE TABLE t (id int PRIMARY KEY, kind text NOT NULL, a text);
CREATE TABLE t_log (id int, note text);
"""


def schema(tmp_path: Path, body: str, prelude: str = "", trigger: str = "") -> str:
    path = tmp_path / "schema.sql"
    path.write_text(
        prelude
        + TABLES
        + "CREATE FUNCTION t_log() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        + body
        + "\n  RETURN NULL;\nEND $$;\n"
        + "CREATE TRIGGER t_log AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_log();\n"
        + trigger,
        encoding="utf-8",
    )
    return str(path)


def unknowns(path: str) -> list[tuple[str, str]]:
    cascade = Tracer(build_model(load([path]))).trace(TraceEntry("public.t", "insert"))
    return [(u.reason, u.name) for u in cascade.unknowns]


def unresolved_messages(path: str) -> list[tuple[int, str]]:
    result = analyze([path])
    return [(f.location.line, f.message) for f in result.findings if f.code == "RP301"]


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO t_log VALUES (NEW.id, ROW(NEW.id, NEW.a)::text);",
        "IF NEW.kind <> ALL (ARRAY['a', 'b']) THEN INSERT INTO t_log VALUES (NEW.id); END IF;",
        "IF NEW.kind = SOME (ARRAY['c']) THEN INSERT INTO t_log VALUES (NEW.id); END IF;",
        "IF NEW.kind = ANY (ARRAY['c']) THEN INSERT INTO t_log VALUES (NEW.id); END IF;",
    ],
)
def test_syntax_is_not_a_call(tmp_path: Path, statement: str) -> None:
    path = schema(tmp_path, statement)
    catalog = load([path])
    body = analyze_function(catalog, catalog.functions["public.t_log()"])
    assert [e for e in body.effects if isinstance(e, CallEffect)] == []
    assert unknowns(path) == []
    assert unresolved_messages(path) == []


def test_a_quoted_row_is_a_call(tmp_path: Path) -> None:
    path = schema(tmp_path, 'PERFORM "row"(NEW.id);')
    assert unknowns(path) == [("unresolved function", '"row"')]


HSTORE_CALL = "INSERT INTO t_log VALUES (NEW.id, hstore(NEW.*)::text);"


def test_function_of_a_created_extension_is_known_ground(tmp_path: Path) -> None:
    path = schema(tmp_path, HSTORE_CALL, prelude='CREATE EXTENSION IF NOT EXISTS "hstore";\n')
    assert list(load([path]).extensions) == ["hstore"]
    assert unknowns(path) == []
    assert unresolved_messages(path) == []


def test_function_of_an_extension_not_created_is_unresolved_and_says_so(tmp_path: Path) -> None:
    path = schema(tmp_path, HSTORE_CALL)
    assert unknowns(path) == [("unresolved function", "hstore")]
    assert unresolved_messages(path) == [
        (
            6,
            "public.t_log uses function hstore(), which is not defined in the analysed files"
            " (a function of extension hstore, which they do not create): the cascade stops"
            " there",
        )
    ]


def test_unknown_function_next_to_an_unknown_extension_names_it(tmp_path: Path) -> None:
    path = schema(
        tmp_path,
        "INSERT INTO t_log VALUES (NEW.id, id_encode(NEW.id));",
        prelude="CREATE EXTENSION pg_hashids;\n",
    )
    assert unknowns(path) == [("unresolved function", "id_encode")]
    assert unresolved_messages(path) == [
        (
            7,
            "public.t_log uses function id_encode(), which is not defined in the analysed"
            " files nor by an extension sqlripple knows; it may come from extension"
            f" pg_hashids ({path}:1): the cascade stops there",
        )
    ]


def test_postgis_functions_are_known_once_postgis_is_created(tmp_path: Path) -> None:
    call = "INSERT INTO t_log VALUES (NEW.id, ST_AsText(ST_SetSRID(NEW.a::geometry, 4326)));"
    created = schema(tmp_path, call, prelude="CREATE EXTENSION postgis;\n")
    assert unknowns(created) == []
    (tmp_path / "alter").mkdir()
    alters = schema(
        tmp_path / "alter",
        "PERFORM AddGeometryColumn('t_log', 'spot', 4326, 'POINT', 2);",
        prelude="CREATE EXTENSION postgis;\n",
    )
    assert unknowns(alters) == [("unresolved function", "addgeometrycolumn")]
    (tmp_path / "other").mkdir()
    missing = schema(tmp_path / "other", call)
    assert sorted(unknowns(missing)) == [
        ("unresolved function", "st_astext"),
        ("unresolved function", "st_setsrid"),
    ]


def test_supabase_webhook_trigger_is_outside_code_without_writes(tmp_path: Path) -> None:
    hook = (
        "CREATE TRIGGER t_hook AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION "
        "supabase_functions.http_request('https://example.com/hook', 'POST', '{}', '{}', '1000');\n"
    )
    path = schema(tmp_path, "INSERT INTO t_log VALUES (NEW.id);", trigger=hook)
    assert unknowns(path) == []
    assert unresolved_messages(path) == []
    missing = schema(
        tmp_path,
        "INSERT INTO t_log VALUES (NEW.id);",
        trigger=hook.replace("supabase_functions.http_request", "hooks.http_request"),
    )
    assert unknowns(missing) == [("trigger function not found", "hooks.http_request()")]
