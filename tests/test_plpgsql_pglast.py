"""Differential tests: our PL/pgSQL statement trees against PostgreSQL's own parser.

pglast version: 8.8 (PostgreSQL 18 parser, libpg_query 18-6.x), pinned in the test extra.
pglast 8.x releases built on libpg_query 18.0.0 (8.4 among them) emit malformed JSON for
trigger functions: the NEW/OLD and tg_* "promise" datums serialise as `{}},{}},…`, so
`pglast.parse_plpgsql()` raises JSONDecodeError on every trigger function
(pganalyze/libpg_query#337, lelit/pglast#205). 8.8 emits valid JSON for them, which
`test_pglast_emits_valid_json_for_trigger_functions` checks, so no older release is needed.

pglast's `lineno` counts lines of the body from the one holding the opening dollar quote
(line 1 = the rest of that line), which is exactly `file line - body's first line + 1`.
PostgreSQL also adds an implicit RETURN (no lineno) at the end of void/SETOF/OUT
functions, wrapping the body in an extra unnumbered block when the outer block has a
label or an EXCEPTION section; both are compile artefacts and are removed before comparing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.plpgsql import (
    DynExecute,
    ExecSql,
    If,
    Perform,
    PlFunction,
    Return,
    ReturnNext,
    Statement,
    While,
    parse_plpgsql,
)

pglast = pytest.importorskip(
    "pglast", reason="pglast (test extra) is not installed: PL/pgSQL differential tests skipped"
)
from pglast.parser import ParseError as PglastParseError  # noqa: E402
from pglast.parser import parse_plpgsql_json  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "tests" / "plpgsql_cases").glob("*.sql"))
FIXTURES = sorted((ROOT / "fixtures").glob("**/*.sql"))


# --------------------------------------------------------------------------- extraction

_SCAN = re.compile(
    r"""
      (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z0-9_]*)?\$)
    | (?P<string>[EeUuBbXx]?'(?:[^']|'')*'|"(?:[^"]|"")*")
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<semi>;)
    """,
    re.VERBOSE | re.DOTALL,
)


_NAME = re.compile(r"(?:FUNCTION|PROCEDURE)\s+((?:\w+|\"[^\"]+\")(?:\.(?:\w+|\"[^\"]+\"))?)", re.I)


@dataclass(frozen=True)
class PlSource:
    """One PL/pgSQL function or DO block found in a SQL file."""

    path: str
    statement: str  # the whole CREATE FUNCTION / DO statement, for pglast
    body: str
    body_line: int  # file line of the body's first character
    body_column: int
    name: str

    def __str__(self) -> str:
        return f"{self.path}:{self.body_line}:{self.name}"


def find_plpgsql(path: str, text: str) -> list[PlSource]:
    """CREATE [OR REPLACE] FUNCTION/PROCEDURE … plpgsql and DO blocks with dollar-quoted bodies."""
    found: list[PlSource] = []
    words: list[str] = []
    bodies: list[tuple[int, int]] = []  # (start, end) of each dollar-quoted body
    statement_start = 0
    pos = 0
    while (m := _SCAN.search(text, pos)) is not None:
        pos = m.end()
        if m.group("dollar") is not None:
            close = text.find(m.group("dollar"), m.end())
            if close < 0:
                break
            bodies.append((m.end(), close))
            pos = close + len(m.group("dollar"))
        elif m.group("word") is not None:
            words.append(m.group("word").lower())
        elif m.group("semi") is not None or pos >= len(text):
            found.extend(_statement(path, text, statement_start, m.end(), words, bodies))
            words, bodies, statement_start = [], [], m.end()
    found.extend(_statement(path, text, statement_start, len(text), words, bodies))
    return found


def _statement(
    path: str, text: str, start: int, end: int, words: list[str], bodies: list[tuple[int, int]]
) -> list[PlSource]:
    if not words or not bodies:
        return []
    is_do = words[0] == "do"
    is_create = words[0] == "create" and any(w in ("function", "procedure") for w in words[:4])
    if not (is_do or is_create):
        return []
    if "language" in words:
        language = words[words.index("language") + 1]
        if language != "plpgsql":
            return []
    elif not is_do:
        return []
    body_start, body_end = bodies[0]
    before = text[:body_start]
    line = before.count("\n") + 1
    column = body_start - (before.rfind("\n") + 1) + 1
    named = _NAME.search(text, start, body_start)
    name = "DO" if is_do or named is None else named.group(1)
    statement_text = text[start:end].strip().rstrip(";")
    return [PlSource(path, statement_text, text[body_start:body_end], line, column, name)]


def _sources(files: list[Path]) -> list[PlSource]:
    sources: list[PlSource] = []
    for file in files:
        rel = file.relative_to(ROOT).as_posix()
        sources.extend(find_plpgsql(rel, file.read_text(encoding="utf-8")))
    return sources


CASE_SOURCES = _sources(CASES)
FIXTURE_SOURCES = _sources(FIXTURES)


# --------------------------------------------------------------------------- shapes

Shape = tuple[str, int, tuple[Any, ...]]


def pglast_action(statement: str) -> dict[str, Any]:
    functions = json.loads(parse_plpgsql_json(statement))
    assert len(functions) == 1
    action: dict[str, Any] = functions[0]["PLpgSQL_function"]["action"]
    return action


def pglast_shape(action: dict[str, Any], body_line: int) -> Shape:
    block = action["PLpgSQL_stmt_block"]
    if "lineno" not in block:  # PostgreSQL's wrapper around a labelled / EXCEPTION block
        (action,) = [s for s in block["body"] if "lineno" in next(iter(s.values()))]
    else:
        body = [s for s in block.get("body", []) if "lineno" in next(iter(s.values()))]
        action = {"PLpgSQL_stmt_block": {**block, "body": body}}
    return _pg_node(action, body_line)


def _pg_node(node: dict[str, Any], body_line: int) -> Shape:
    ((name, fields),) = node.items()
    kind = name.removeprefix("PLpgSQL_stmt_")

    def stmts(items: list[dict[str, Any]] | None) -> tuple[Shape, ...]:
        return tuple(_pg_node(s, body_line) for s in items or [])

    children: tuple[tuple[Shape, ...], ...] = ()
    if kind == "block":
        handlers = fields.get("exceptions", {}).get("PLpgSQL_exception_block", {})
        children = (
            stmts(fields.get("body")),
            *(stmts(e["PLpgSQL_exception"].get("action")) for e in handlers.get("exc_list", [])),
        )
    elif kind == "if":
        children = (
            stmts(fields.get("then_body")),
            *(stmts(e["PLpgSQL_if_elsif"].get("stmts")) for e in fields.get("elsif_list", [])),
            stmts(fields.get("else_body")),
        )
    elif kind == "case":
        children = (
            *(stmts(w["PLpgSQL_case_when"].get("stmts")) for w in fields["case_when_list"]),
            stmts(fields.get("else_stmts")),
        )
    elif kind in ("loop", "while", "fori", "fors", "forc", "dynfors", "foreach_a"):
        children = (stmts(fields.get("body")),)
    return kind, body_line + fields["lineno"] - 1, children


def our_shape(statement: Statement) -> Shape:
    return (
        statement.kind,
        statement.line,
        tuple(tuple(our_shape(s) for s in body) for body in statement.bodies()),
    )


def _pg_texts(node: dict[str, Any], out: list[tuple[str, str]]) -> None:
    """(kind, SQL text) of the fragments compared textually, in source order."""
    ((name, fields),) = node.items()
    kind = name.removeprefix("PLpgSQL_stmt_")

    def query(key: str) -> str | None:
        value = fields.get(key)
        return value["PLpgSQL_expr"]["query"] if value else None

    if kind == "execsql":
        out.append((kind, query("sqlstmt") or ""))
    elif kind in ("while", "return", "return_next", "dynexecute", "perform"):
        text = query("cond" if kind == "while" else "query" if kind == "dynexecute" else "expr")
        if text is not None:
            out.append((kind, text))
    elif kind == "if":
        out.append((kind, query("cond") or ""))
        out.extend(
            (kind, e["PLpgSQL_if_elsif"]["cond"]["PLpgSQL_expr"]["query"])
            for e in fields.get("elsif_list", [])
        )
    for value in fields.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and len(item) == 1:
                ((key, inner),) = item.items()
                if key.startswith("PLpgSQL_stmt_"):
                    _pg_texts(item, out)
                elif key in ("PLpgSQL_if_elsif", "PLpgSQL_case_when", "PLpgSQL_exception_block"):
                    for sub in inner.values():
                        for nested in sub if isinstance(sub, list) else []:
                            if isinstance(nested, dict):
                                ((k2, v2),) = nested.items()
                                if k2.startswith("PLpgSQL_stmt_"):
                                    _pg_texts(nested, out)
                                elif k2 == "PLpgSQL_exception":
                                    for s in v2.get("action", []):
                                        _pg_texts(s, out)


def _our_texts(function: PlFunction) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for statement in function.statements():
        if isinstance(statement, ExecSql):
            out.append(("execsql", statement.sql.text))
        elif isinstance(statement, While):
            out.append(("while", statement.condition.text))
        elif isinstance(statement, (Return, ReturnNext)) and statement.value is not None:
            out.append((statement.kind, statement.value.text))
        elif isinstance(statement, DynExecute):
            out.append(("dynexecute", statement.query.text))
        elif isinstance(statement, Perform):
            out.append(("perform", "SELECT " + statement.query.text))
        elif isinstance(statement, If):
            out.extend(("if", branch.condition.text) for branch in statement.branches)
    return out


_COMMENT_OR_STRING = re.compile(r"('(?:[^']|'')*'|\$\w*\$)|--[^\n]*|/\*.*?\*/", re.DOTALL)


def _normalise(text: str) -> str:
    """Comments dropped (PostgreSQL keeps those before a terminator), blanks collapsed."""
    text = _COMMENT_OR_STRING.sub(lambda m: m.group(1) or " ", text)
    return " ".join(text.split())


def _ordered(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # The two walks visit IF conditions at different moments: compare as multisets.
    # `RETURN [NEXT] v` of a single variable (NEW, OLD, r, i) becomes `retvarno`, which
    # libpg_query does not print, so single-name RETURNs are left out on both sides.
    return sorted(
        (kind, _normalise(text))
        for kind, text in texts
        if not (kind in ("return", "return_next") and re.fullmatch(r"\w+", text.strip()))
    )


def parse_source(source: PlSource) -> PlFunction:
    return parse_plpgsql(
        source.body, path=source.path, line=source.body_line, column=source.body_column
    )


def assert_same_as_pglast(source: PlSource, *, texts: bool) -> None:
    ours = parse_source(source)
    assert not ours.incomplete, ours.diagnostics
    assert ours.block is not None
    action = pglast_action(source.statement)
    assert our_shape(ours.block) == pglast_shape(action, source.body_line)
    if texts:
        pg_texts: list[tuple[str, str]] = []
        _pg_texts(action, pg_texts)
        assert _ordered(_our_texts(ours)) == _ordered(pg_texts)


# --------------------------------------------------------------------------- tests


def test_pglast_emits_valid_json_for_trigger_functions() -> None:
    statement = (
        "CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$"
    )
    (function,) = json.loads(parse_plpgsql_json(statement))
    names = [next(iter(d.values())).get("refname") for d in function["PLpgSQL_function"]["datums"]]
    assert {"new", "old", "tg_op"} <= set(names)
    assert pglast.parse_plpgsql(statement)  # the high-level API decodes it too


def test_case_corpus_covers_every_construct() -> None:
    kinds = set()
    for source in CASE_SOURCES:
        function = parse_source(source)
        kinds |= {s.kind for s in function.statements()}
    assert len(CASE_SOURCES) >= 40
    assert kinds >= {
        "block", "assign", "if", "case", "loop", "while", "fori", "fors", "forc", "foreach_a",
        "exit", "return", "return_next", "return_query", "raise", "assert", "execsql",
        "dynexecute", "dynfors", "getdiag", "open", "fetch", "close", "perform", "call",
        "commit", "rollback",
    }  # fmt: skip
    triggers = [s for s in CASE_SOURCES if "TG_OP" in s.body]
    assert len(triggers) >= 8


@pytest.mark.parametrize("source", CASE_SOURCES, ids=str)
def test_case_matches_pglast(source: PlSource) -> None:
    assert_same_as_pglast(source, texts=True)


@pytest.mark.parametrize("source", FIXTURE_SOURCES or [None], ids=str)
def test_fixture_function_matches_pglast(source: PlSource | None) -> None:
    if source is None:
        pytest.skip("no PL/pgSQL functions under fixtures/ yet")
    try:
        pglast_action(source.statement)
    except PglastParseError as error:
        pytest.skip(f"PostgreSQL itself rejects this fixture function: {error}")
    assert_same_as_pglast(source, texts=True)


def test_extraction_finds_bodies_and_positions() -> None:
    sql = (
        "-- CREATE FUNCTION commented_out() … $$ BEGIN END $$\n"
        "CREATE TABLE t (id int);\n"
        "CREATE OR REPLACE FUNCTION public.f() RETURNS trigger\n"
        "LANGUAGE plpgsql AS $fn$\nBEGIN RETURN NEW; END $fn$;\n"
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
        "CREATE FUNCTION h() RETURNS int AS $$BEGIN RETURN 1; END$$ LANGUAGE plpgsql;\n"
        "DO $$ BEGIN PERFORM 1; END $$;\n"
    )
    found = find_plpgsql("x.sql", sql)
    assert [(s.name, s.body_line, s.body_column) for s in found] == [
        ("public.f", 4, 25),
        ("h", 7, 38),
        ("DO", 8, 6),
    ]
    assert found[0].body == "\nBEGIN RETURN NEW; END "


# --------------------------------------------------------------------------- generated

_VARS = ("x", "y", "n")


def _gap(draw: st.DrawFn) -> str:
    return draw(st.sampled_from([" ", "\n", "\n\n  ", "  ", " -- note\n", " /* c */ "]))


@st.composite
def _gen_statements(draw: st.DrawFn, depth: int, in_loop: bool) -> str:
    count = draw(st.integers(0, 3))
    return "".join(draw(_gen_statement(depth, in_loop)) + _gap(draw) for _ in range(count))


@st.composite
def _gen_statement(draw: st.DrawFn, depth: int, in_loop: bool) -> str:
    var = draw(st.sampled_from(_VARS))
    simple = [
        f"{var} := {var} + 1;",
        f"{var} ={_gap(draw)}coalesce({var}, 0);",
        f"UPDATE counters SET c = c + 1{_gap(draw)}WHERE id = {var};",
        f"INSERT INTO log (v) VALUES ({var}) ON CONFLICT (v) DO UPDATE SET hits = log.hits + 1;",
        f"SELECT count(*) INTO {var} FROM t WHERE k = {var};",
        f"PERFORM pg_notify('c', {var}::text);",
        f"EXECUTE format('SELECT %s', {var}) INTO {var};",
        f"RAISE NOTICE 'v %', {var};",
        "NULL;",
        f"RETURN NEXT {var};",
        f"GET DIAGNOSTICS {var} = ROW_COUNT;",
        f"ASSERT {var} IS NOT NULL;",
        f"{var} := CASE WHEN {var} > 0 THEN 1 ELSE 2 END;",
        "RETURN QUERY SELECT 1;",
        f"RETURN QUERY EXECUTE 'SELECT $1'{_gap(draw)}USING {var};",
        f"WITH d AS (DELETE FROM t WHERE k = {var} RETURNING k) SELECT count(*) INTO {var} FROM d;",
        "RAISE EXCEPTION USING MESSAGE = 'm', ERRCODE = 'P0001';",
    ]
    if in_loop:
        simple += [f"EXIT WHEN {var} > 3;", "CONTINUE;"]
    if depth <= 0 or draw(st.booleans()):
        return draw(st.sampled_from(simple))
    g = _gap(draw)

    def inner() -> str:
        return draw(_gen_statements(depth - 1, in_loop))

    def loop_body() -> str:
        return draw(_gen_statements(depth - 1, True))

    compound: list[Callable[[], str]] = [
        lambda: f"IF {var} > 0 THEN{g}{inner()}END IF;",
        lambda: (
            f"IF {var} = 1 THEN{g}{inner()}ELSIF {var} = 2 THEN {inner()}ELSE{g}{inner()}END IF;"
        ),
        lambda: f"CASE {var} WHEN 1, 2 THEN{g}{inner()}ELSE {inner()}END CASE;",
        lambda: f"CASE WHEN {var} < 0 THEN{g}{inner()}WHEN {var} > 9 THEN {inner()}END CASE;",
        lambda: f"LOOP{g}{loop_body()}EXIT;{g}END LOOP;",
        lambda: f"WHILE {var} < 10 LOOP{g}{loop_body()}END LOOP;",
        lambda: f"FOR i IN 1..{var} LOOP{g}{loop_body()}END LOOP;",
        lambda: f"FOR r IN SELECT * FROM t LOOP{g}{loop_body()}END LOOP;",
        lambda: f"FOREACH {var} IN ARRAY arr LOOP{g}{loop_body()}END LOOP;",
        lambda: f"BEGIN{g}{inner()}END;",
        lambda: f"<<lbl>>{g}LOOP{g}{loop_body()}EXIT lbl;{g}END LOOP lbl;",
        lambda: f"<<blk>>{g}DECLARE z int := {var};{g}BEGIN{g}{inner()}END blk;",
        lambda: f"FOR r IN EXECUTE 'SELECT 1'{g}LOOP{g}{loop_body()}END LOOP;",
        lambda: f"IF {var} IN (SELECT k FROM t WHERE k > 0) THEN{g}{inner()}END IF;",
        lambda: f"BEGIN{g}{inner()}EXCEPTION WHEN others THEN{g}{inner()}END;",
    ]
    return draw(st.sampled_from(compound))()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_gen_statements(3, False), lead=st.sampled_from(["", "\n", "\n\n"]))
def test_generated_bodies_match_pglast(body: str, lead: str) -> None:
    text = f"{lead}DECLARE\n  x int; y int; n int; r record; arr int[];\nBEGIN\n{body}END"
    statement = "CREATE FUNCTION gen() RETURNS SETOF int LANGUAGE plpgsql AS\n$$" + text + "$$"
    source = PlSource("gen.sql", statement, text, 2, 3, "gen")
    assert_same_as_pglast(source, texts=True)
