"""analyzer.plpgsql: PL/pgSQL bodies → statement trees, one construct at a time.

Bodies are placed at file line 10, column 5 unless a test says otherwise, so every line
asserted below is `10 + (line inside the body) - 1`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from analyzer.findings import Diagnostic, Location
from analyzer.loader import load
from analyzer.plpgsql import (
    MAX_NESTING,
    Assert,
    Assign,
    Block,
    Call,
    Case,
    Close,
    Commit,
    DynExecute,
    ExecSql,
    Exit,
    Fetch,
    ForCursor,
    ForDynamic,
    ForEach,
    ForQuery,
    ForRange,
    Fragment,
    GetDiagnostics,
    If,
    Loop,
    Open,
    Perform,
    PlFunction,
    Raise,
    Return,
    ReturnNext,
    ReturnQuery,
    Rollback,
    Statement,
    While,
    parse_plpgsql,
    render,
    walk,
)

LINE, COLUMN = 10, 5


def parse(body: str, line: int = LINE, column: int = COLUMN, offset: int = 0) -> PlFunction:
    return parse_plpgsql(body, path="f.sql", line=line, column=column, offset=offset)


def ok(body: str) -> Block:
    function = parse(body)
    assert not function.incomplete, function.diagnostics
    assert function.diagnostics == ()
    assert function.block is not None
    return function.block


def shape(statements: tuple[Statement, ...]) -> list[Any]:
    """(kind, line, [bodies…]) per statement, bodies only for compound statements."""
    out: list[Any] = []
    for statement in statements:
        bodies = statement.bodies()
        out.append(
            (statement.kind, statement.line, [shape(b) for b in bodies])
            if bodies
            else (statement.kind, statement.line)
        )
    return out


def only(block: Block) -> Statement:
    (statement,) = block.body
    return statement


# --------------------------------------------------------------------------- blocks


def test_minimal_block_and_locations() -> None:
    function = parse("BEGIN\nEND")
    assert function.block == Block(location=Location("f.sql", 10, 5, 11, 3), line=10)
    assert function.block.kind == "block"
    assert function.block.pglast_kind == "PLpgSQL_stmt_block"
    assert not function.incomplete
    assert function.path == "f.sql"


def test_first_line_columns_are_shifted_by_the_body_column() -> None:
    block = ok("BEGIN x := 1;\n  y := 2; END")
    first, second = block.body
    assert first.location == Location("f.sql", 10, 11, 10, 17)
    assert second.location == Location("f.sql", 11, 3, 11, 9)


def test_label_declare_and_end_label() -> None:
    block = ok("\n<<main>>\nDECLARE\n  n int;\nBEGIN\n  NULL;\nEND main;\n")
    assert block.label == "main"
    assert block.line == 14  # BEGIN's line, as PostgreSQL reports it
    assert block.location.line == 11  # the label starts the statement
    assert [d.name for d in block.declarations] == ["n"]
    assert block.body == ()  # NULL leaves no node, as in pglast


def test_nested_blocks_with_exception_handlers() -> None:
    block = ok(
        "BEGIN\n"
        "  BEGIN\n"
        "    INSERT INTO t VALUES (1);\n"
        "  EXCEPTION\n"
        "    WHEN unique_violation OR SQLSTATE '23503' THEN\n"
        "      x := 1;\n"
        "      RAISE;\n"
        "    WHEN OTHERS THEN\n"
        "      NULL;\n"
        "  END;\n"
        "END"
    )
    inner = only(block)
    assert isinstance(inner, Block)
    assert shape(block.body) == [
        ("block", 11, [[("execsql", 12)], [("assign", 15), ("raise", 16)], []])
    ]
    first, second = inner.handlers
    assert first.conditions == ("unique_violation", "23503")
    assert (first.line, second.line) == (14, 17)
    assert second.conditions == ("others",)
    assert second.body == ()
    assert inner.location == Location("f.sql", 11, 3, 19, 6)


def test_declarations() -> None:
    block = ok(
        "DECLARE\n"
        "  a CONSTANT integer := 10;\n"
        "  b varchar(40) NOT NULL DEFAULT 'x';\n"
        "  c items.price%TYPE;\n"
        "  d timestamp with time zone = now();\n"
        '  e text COLLATE "C" := upper($2);\n'
        "  f ALIAS FOR $1;\n"
        "  g CURSOR (k int) FOR SELECT * FROM t WHERE id = k;\n"
        "  h NO SCROLL CURSOR IS SELECT 1;\n"
        "  i jsonb := jsonb_build_object('a', coalesce(b, 'z'));\n"
        "  DECLARE j int[];\n"
        "BEGIN\nEND"
    )
    by_name = {d.name: d for d in block.declarations}
    assert list(by_name) == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    a, b = by_name["a"], by_name["b"]
    assert (a.type, a.constant, a.not_null, a.line) == ("integer", True, False, 11)
    assert a.default is not None and a.default.text == "10"
    assert isinstance(a.default.tree, exp.Literal)
    assert (b.type, b.not_null) == ("varchar(40)", True)
    assert b.default is not None and b.default.text == "'x'"
    assert by_name["c"].type == "items.price%TYPE"
    assert by_name["c"].default is None
    assert by_name["d"].type == "timestamp with time zone"
    assert by_name["e"].type == "text"
    e_default = by_name["e"].default
    assert e_default is not None and isinstance(e_default.tree, exp.Upper)
    assert (by_name["f"].alias_for, by_name["f"].type) == ("$1", None)
    g = by_name["g"]
    assert (g.type, g.cursor_args) == ("refcursor", "k int")
    assert g.cursor_query is not None
    assert g.cursor_query.text == "SELECT * FROM t WHERE id = k"
    assert isinstance(g.cursor_query.tree, exp.Select)
    assert by_name["h"].cursor_query is not None
    i_default = by_name["i"].default
    assert i_default is not None
    assert i_default.text == "jsonb_build_object('a', coalesce(b, 'z'))"
    assert i_default.tree is not None
    assert i_default.tree.find(exp.Coalesce) is not None
    assert by_name["j"].type == "int[]"
    assert by_name["i"].location == Location("f.sql", 19, 3, 19, 55)


# --------------------------------------------------------------------------- branches


def test_if_elsif_elseif_else() -> None:
    block = ok(
        "BEGIN\n"
        "  IF TG_OP = 'INSERT' THEN\n"
        "    x := 1;\n"
        "  ELSIF TG_OP = 'UPDATE' AND NEW.x IS DISTINCT FROM OLD.x THEN\n"
        "    x := 2;\n"
        "  ELSEIF TG_OP = 'DELETE' THEN\n"
        "  ELSE\n"
        "    x := 3;\n"
        "    x := 4;\n"
        "  END IF;\n"
        "END"
    )
    statement = only(block)
    assert isinstance(statement, If)
    assert shape(block.body) == [
        ("if", 11, [[("assign", 12)], [("assign", 14)], [], [("assign", 17), ("assign", 18)]])
    ]
    assert [b.line for b in statement.branches] == [11, 13, 15]
    first, second, _ = statement.branches
    assert first.condition.text == "TG_OP = 'INSERT'"
    assert isinstance(first.condition.tree, exp.EQ)
    assert first.condition.location == Location("f.sql", 11, 6, 11, 21)
    assert second.condition.tree is not None
    assert second.condition.tree.find(exp.NullSafeNEQ) is not None
    assert statement.location == Location("f.sql", 11, 3, 19, 9)


def test_if_without_else_and_with_empty_else() -> None:
    block = ok("BEGIN IF a THEN END IF; IF b THEN ELSE END IF; END")
    without, empty = block.body
    assert isinstance(without, If) and isinstance(empty, If)
    assert without.else_body is None
    assert empty.else_body == ()


def test_simple_case_builds_conditions_against_the_subject() -> None:
    block = ok(
        "BEGIN\n"
        "  CASE TG_OP\n"
        "    WHEN 'INSERT', 'UPDATE' THEN x := 1;\n"
        "    WHEN 'DELETE' THEN\n"
        "      x := 2;\n"
        "    ELSE\n"
        "      RAISE 'unexpected';\n"
        "  END CASE;\n"
        "END"
    )
    statement = only(block)
    assert isinstance(statement, Case)
    assert shape(block.body) == [
        ("case", 11, [[("assign", 12)], [("assign", 14)], [("raise", 16)]])
    ]
    assert statement.subject is not None and statement.subject.text == "TG_OP"
    first, second = statement.whens
    assert (first.line, second.line) == (12, 13)
    assert first.values.text == "'INSERT', 'UPDATE'"
    assert isinstance(first.values.tree, exp.Tuple)
    assert isinstance(first.condition, exp.In)
    assert first.condition.sql("postgres") == "TG_OP IN ('INSERT', 'UPDATE')"
    assert isinstance(second.condition, exp.EQ)
    assert second.condition.sql("postgres") == "TG_OP = 'DELETE'"


def test_searched_case_without_else() -> None:
    block = ok(
        "BEGIN\n  CASE\n    WHEN n < 0 THEN x := -1;\n    WHEN n > 0 THEN x := 1;\n  END CASE;\nEND"
    )
    statement = only(block)
    assert isinstance(statement, Case)
    assert statement.subject is None
    assert statement.else_body is None
    assert [w.condition.sql() for w in statement.whens if w.condition] == ["n < 0", "n > 0"]
    assert shape(block.body) == [("case", 11, [[("assign", 12)], [("assign", 13)], []])]


# --------------------------------------------------------------------------- loops


def test_loop_while_and_end_labels() -> None:
    block = ok(
        "BEGIN\n"
        "  <<outer>>\n"
        "  LOOP\n"
        "    EXIT outer WHEN n > 3;\n"
        "    WHILE n < 10 LOOP\n"
        "      n := n + 1;\n"
        "      CONTINUE;\n"
        "    END LOOP;\n"
        "  END LOOP outer;\n"
        "END"
    )
    loop = only(block)
    assert isinstance(loop, Loop) and loop.label == "outer"
    assert (loop.line, loop.location.line) == (12, 11)
    assert shape(block.body) == [
        ("loop", 12, [[("exit", 13), ("while", 14, [[("assign", 15), ("exit", 16)]])]])
    ]
    exit_, while_ = loop.body
    assert isinstance(exit_, Exit) and isinstance(while_, While)
    assert (exit_.is_exit, exit_.label) == (True, "outer")
    assert exit_.condition is not None and exit_.condition.text == "n > 3"
    assert while_.condition.text == "n < 10"
    continue_ = while_.body[1]
    assert isinstance(continue_, Exit)
    assert (continue_.is_exit, continue_.label, continue_.condition) == (False, None, None)


def test_integer_for_loops() -> None:
    block = ok(
        "BEGIN\n"
        "  FOR i IN 1..10 LOOP NULL; END LOOP;\n"
        "  FOR i IN REVERSE n .. lo + 1 BY 2 LOOP x := i; END LOOP;\n"
        "END"
    )
    plain, reverse = block.body
    assert isinstance(plain, ForRange) and isinstance(reverse, ForRange)
    assert (plain.variable, plain.lower.text, plain.upper.text, plain.step) == (
        "i",
        "1",
        "10",
        None,
    )
    assert not plain.reverse
    assert reverse.reverse
    assert (reverse.lower.text, reverse.upper.text) == ("n", "lo + 1")
    assert reverse.step is not None and reverse.step.text == "2"
    assert isinstance(reverse.upper.tree, exp.Add)
    assert shape(block.body) == [("fori", 11, [[]]), ("fori", 12, [[("assign", 12)]])]


def test_query_dynamic_cursor_and_array_loops() -> None:
    block = ok(
        "DECLARE\n"
        "  c CURSOR (k int) FOR SELECT id FROM t WHERE g = k;\n"
        "BEGIN\n"
        "  FOR r IN SELECT * FROM chat_messages WHERE session_id = NEW.session_id LOOP\n"
        "    RETURN NEXT r;\n"
        "  END LOOP;\n"
        "  FOR a, b IN SELECT 1, 2 LOOP END LOOP;\n"
        "  FOR r IN EXECUTE format('SELECT * FROM %I', t) USING x, y LOOP END LOOP;\n"
        "  FOR r IN c(3) LOOP END LOOP;\n"
        "  FOR r IN c LOOP END LOOP;\n"
        "  FOREACH x SLICE 1 IN ARRAY arr LOOP END LOOP;\n"
        "  FOREACH y IN ARRAY ARRAY[1, 2] LOOP END LOOP;\n"
        "END"
    )
    query, multi, dynamic, cursor_args, cursor, sliced, plain = block.body
    assert isinstance(query, ForQuery)
    assert query.targets == ("r",)
    assert query.query.text == "SELECT * FROM chat_messages WHERE session_id = NEW.session_id"
    assert isinstance(query.query.tree, exp.Select)
    assert isinstance(multi, ForQuery) and multi.targets == ("a", "b")
    assert isinstance(dynamic, ForDynamic)
    assert dynamic.query.text == "format('SELECT * FROM %I', t)"
    assert [u.text for u in dynamic.using] == ["x", "y"]
    assert isinstance(cursor_args, ForCursor)
    assert cursor_args.cursor == "c"
    assert cursor_args.args is not None and cursor_args.args.text == "3"
    assert isinstance(cursor, ForCursor) and cursor.args is None
    assert isinstance(sliced, ForEach) and (sliced.targets, sliced.slice) == (("x",), 1)
    assert sliced.array.text == "arr"
    assert isinstance(plain, ForEach) and plain.slice == 0
    assert [s.kind for s in block.body] == [
        "fors", "fors", "dynfors", "forc", "forc", "foreach_a", "foreach_a",
    ]  # fmt: skip
    assert [s.line for s in block.body] == [13, 16, 17, 18, 19, 20, 21]


def test_unbound_name_in_for_is_a_query_loop() -> None:
    # only a cursor declared with CURSOR FOR makes a cursor FOR loop
    # (PostgreSQL rejects it; the "query" `rc` is not SQL sqlglot can read either)
    function = parse("DECLARE rc refcursor; BEGIN FOR r IN rc LOOP END LOOP; END")
    assert function.block is not None and not function.incomplete
    assert only(function.block).kind == "fors"
    assert [d.column for d in function.diagnostics] == [42]


# --------------------------------------------------------------------------- simple statements


def test_exit_forms() -> None:
    block = ok("BEGIN LOOP EXIT; EXIT WHEN done; CONTINUE lbl; CONTINUE WHEN x > 1; END LOOP; END")
    loop = only(block)
    assert isinstance(loop, Loop)
    exits = [
        (s.is_exit, s.label, s.condition.text if s.condition else None)
        for s in loop.body
        if isinstance(s, Exit)
    ]
    assert exits == [
        (True, None, None),
        (True, None, "done"),
        (False, "lbl", None),
        (False, None, "x > 1"),
    ]


def test_return_forms() -> None:
    block = ok(
        "BEGIN\n"
        "  RETURN;\n"
        "  RETURN coalesce(NEW, OLD);\n"
        "  RETURN NEXT;\n"
        "  RETURN NEXT r.a + 1;\n"
        "  RETURN QUERY SELECT * FROM t;\n"
        "  RETURN QUERY EXECUTE 'SELECT $1' USING x;\n"
        "END"
    )
    bare, value, next_bare, next_value, query, dynamic = block.body
    assert isinstance(bare, Return) and bare.value is None
    assert isinstance(value, Return) and value.value is not None
    assert isinstance(value.value.tree, exp.Coalesce)
    assert isinstance(next_bare, ReturnNext) and next_bare.value is None
    assert isinstance(next_value, ReturnNext) and next_value.value is not None
    assert next_value.value.text == "r.a + 1"
    assert isinstance(query, ReturnQuery) and query.query is not None
    assert isinstance(query.query.tree, exp.Select)
    assert query.dynquery is None
    assert isinstance(dynamic, ReturnQuery) and dynamic.dynquery is not None
    assert dynamic.dynquery.text == "'SELECT $1'"
    assert [u.text for u in dynamic.using] == ["x"]
    assert [s.kind for s in block.body] == [
        "return", "return", "return_next", "return_next", "return_query", "return_query",
    ]  # fmt: skip
    assert [s.line for s in block.body] == [11, 12, 13, 14, 15, 16]


def test_raise_forms() -> None:
    block = ok(
        "BEGIN\n"
        "  RAISE NOTICE 'x % and %', a, b + 1 USING HINT = 'h', ERRCODE := 'P0001';\n"
        "  RAISE;\n"
        "  RAISE unique_violation USING MESSAGE = 'dup';\n"
        "  RAISE WARNING SQLSTATE '22012';\n"
        "  RAISE EXCEPTION USING MESSAGE = format('%s', x);\n"
        "  RAISE 'plain';\n"
        "END"
    )
    notice, reraise, named, sqlstate, using_only, plain = block.body
    assert isinstance(notice, Raise)
    assert (notice.level, notice.message, notice.condition) == ("NOTICE", "x % and %", None)
    assert [p.text for p in notice.params] == ["a", "b + 1"]
    assert [(o.name, o.value.text) for o in notice.options] == [
        ("HINT", "'h'"),
        ("ERRCODE", "'P0001'"),
    ]
    assert isinstance(reraise, Raise)
    assert (reraise.level, reraise.message, reraise.condition, reraise.options) == (
        "EXCEPTION",
        None,
        None,
        (),
    )
    assert isinstance(named, Raise) and named.condition == "unique_violation"
    assert isinstance(sqlstate, Raise) and (sqlstate.level, sqlstate.condition) == (
        "WARNING",
        "22012",
    )
    assert isinstance(using_only, Raise) and [o.name for o in using_only.options] == ["MESSAGE"]
    assert isinstance(plain, Raise) and (plain.level, plain.message) == ("EXCEPTION", "plain")


def test_assert_and_perform() -> None:
    block = ok(
        "BEGIN\n"
        "  ASSERT n > 0, 'positive';\n"
        "  ASSERT ok;\n"
        "  PERFORM track_usage(NEW.user_id, 1);\n"
        "  PERFORM 1 FROM t WHERE id = 3 FOR UPDATE;\n"
        "END"
    )
    with_message, bare, call, select = block.body
    assert isinstance(with_message, Assert)
    assert with_message.condition.text == "n > 0"
    assert with_message.message is not None and with_message.message.text == "'positive'"
    assert isinstance(bare, Assert) and bare.message is None
    assert isinstance(call, Perform)
    assert call.query.text == "track_usage(NEW.user_id, 1)"
    assert isinstance(call.query.tree, exp.Select)  # PERFORM runs SELECT <text>
    assert call.query.tree.find(exp.Anonymous) is not None
    assert isinstance(select, Perform) and isinstance(select.query.tree, exp.Select)
    assert select.query.tree.find(exp.From) is not None


def test_assignments() -> None:
    block = ok(
        "BEGIN\n"
        "  n := n + 1;\n"
        "  NEW.updated_at = now();\n"
        "  arr[i + 1] := 0;\n"
        "  rec.f := jsonb_set(coalesce(s, '{}'), '{k}', to_jsonb(1));\n"
        '  "Odd Name" := 1;\n'
        "  total := count(*) FROM t;\n"
        "END"
    )
    targets = [(s.target, s.value.text) for s in block.body if isinstance(s, Assign)]
    assert targets == [
        ("n", "n + 1"),
        ("NEW.updated_at", "now()"),
        ("arr[i + 1]", "0"),
        ("rec.f", "jsonb_set(coalesce(s, '{}'), '{k}', to_jsonb(1))"),
        ('"Odd Name"', "1"),
        ("total", "count(*) FROM t"),
    ]
    values = [s.value.tree for s in block.body if isinstance(s, Assign)]
    assert isinstance(values[0], exp.Add)
    assert isinstance(values[3], exp.Anonymous)
    assert isinstance(values[5], exp.Select)  # `x := expr FROM …` is a query
    assert all(s.kind == "assign" for s in block.body)
    assert [s.line for s in block.body] == [11, 12, 13, 14, 15, 16]


def test_select_into_anywhere() -> None:
    body = (
        "BEGIN\n"
        "  SELECT count(*), sum(n) INTO STRICT c, s FROM t WHERE k = NEW.k;\n"
        "  SELECT INTO r * FROM t;\n"
        "  SELECT a FROM t INTO x;\n"
        "  SELECT a\n    INTO NEW.cnt\n    FROM t;\n"
        "END"
    )
    block = ok(body)
    middle, first, last, multiline = block.body
    assert isinstance(middle, ExecSql) and middle.into is not None
    assert (middle.into.targets, middle.into.strict) == (("c", "s"), True)
    assert middle.sql.text == "SELECT count(*), sum(n)                  FROM t WHERE k = NEW.k"
    assert isinstance(middle.sql.tree, exp.Select)
    assert middle.sql.tree.args.get("into") is None
    assert middle.into.location == Location("f.sql", 11, 27, 11, 42)
    assert isinstance(first, ExecSql) and first.into is not None
    assert first.into.targets == ("r",) and not first.into.strict
    assert isinstance(last, ExecSql) and last.sql.text == "SELECT a FROM t"
    assert isinstance(multiline, ExecSql) and multiline.into is not None
    assert multiline.into.targets == ("NEW.cnt",)
    assert multiline.sql.text == "SELECT a\n                \n    FROM t"
    # the blanked text keeps every other character where it was in the file
    assert body[body.index("FROM t WHERE") :].startswith(
        middle.sql.text[middle.sql.text.index("FROM") :]
    )
    assert [s.line for s in block.body] == [11, 12, 13, 14]


def test_into_blanking_covers_a_trailing_comment_like_postgresql() -> None:
    block = ok("BEGIN\n  SELECT a INTO x -- note\n  FROM t;\nEND")
    statement = only(block)
    assert isinstance(statement, ExecSql)
    assert statement.sql.text == "SELECT a" + " " * 15 + "\n  FROM t"


def test_dml_with_returning_into_and_ctes() -> None:
    block = ok(
        "BEGIN\n"
        "  INSERT INTO usage AS u (user_id, n) VALUES (NEW.user_id, 1)\n"
        "    ON CONFLICT (user_id) DO UPDATE SET n = u.n + EXCLUDED.n\n"
        "    RETURNING id INTO v_id;\n"
        "  UPDATE t SET c = c + 1 WHERE id = 1 RETURNING c INTO STRICT v_c;\n"
        "  DELETE FROM t WHERE id = 2;\n"
        "  MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET c = s.c;\n"
        "  WITH moved AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM moved;\n"
        "END"
    )
    insert, update, delete, merge, cte = block.body
    assert isinstance(insert, ExecSql) and insert.into is not None
    assert insert.into.targets == ("v_id",)
    assert isinstance(insert.sql.tree, exp.Insert)
    assert insert.sql.tree.args.get("conflict") is not None
    assert insert.sql.text.endswith("RETURNING id")
    assert isinstance(update, ExecSql) and update.into is not None and update.into.strict
    assert isinstance(update.sql.tree, exp.Update)
    assert isinstance(delete, ExecSql) and delete.into is None
    assert isinstance(delete.sql.tree, exp.Delete)
    assert isinstance(merge, ExecSql) and merge.into is None  # MERGE INTO is not a target
    assert isinstance(merge.sql.tree, exp.Merge)
    assert isinstance(cte, ExecSql) and cte.sql.tree is not None
    assert cte.sql.tree.find(exp.Delete) is not None
    assert [s.kind for s in block.body] == ["execsql"] * 5
    assert [s.line for s in block.body] == [11, 14, 15, 16, 17]


def test_dynamic_execute() -> None:
    block = ok(
        "BEGIN\n"
        "  EXECUTE format('UPDATE %I SET n = n + 1 WHERE id = $1', TG_TABLE_NAME) USING NEW.id;\n"
        "  EXECUTE 'SELECT count(*) FROM ' || quote_ident(t) INTO STRICT n;\n"
        "  EXECUTE q USING a, b INTO r;\n"
        "END"
    )
    first, second, third = block.body
    assert isinstance(first, DynExecute)
    assert first.query.text == "format('UPDATE %I SET n = n + 1 WHERE id = $1', TG_TABLE_NAME)"
    assert isinstance(first.query.tree, exp.Anonymous) or first.query.tree is not None
    assert [u.text for u in first.using] == ["NEW.id"] and first.into is None
    assert isinstance(second, DynExecute) and second.into is not None
    assert (second.into.targets, second.into.strict) == (("n",), True)
    assert isinstance(second.query.tree, exp.DPipe)
    assert isinstance(third, DynExecute) and third.into is not None
    assert [u.text for u in third.using] == ["a", "b"] and third.into.targets == ("r",)


def test_get_diagnostics() -> None:
    block = ok(
        "BEGIN\n"
        "  GET DIAGNOSTICS n = ROW_COUNT;\n"
        "  GET CURRENT DIAGNOSTICS n := ROW_COUNT, ctx = PG_CONTEXT;\n"
        "  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;\n"
        "END"
    )
    plain, current, stacked = block.body
    assert isinstance(plain, GetDiagnostics) and not plain.stacked
    assert isinstance(current, GetDiagnostics) and not current.stacked
    assert [(i.target, i.item) for i in current.items] == [
        ("n", "ROW_COUNT"),
        ("ctx", "PG_CONTEXT"),
    ]
    assert isinstance(stacked, GetDiagnostics) and stacked.stacked
    assert [s.kind for s in block.body] == ["getdiag"] * 3


def test_cursor_statements() -> None:
    block = ok(
        "DECLARE c CURSOR (k int) FOR SELECT 1; rc refcursor;\n"
        "BEGIN\n"
        "  OPEN c(7);\n"
        "  OPEN rc SCROLL FOR SELECT * FROM t;\n"
        "  OPEN rc FOR EXECUTE 'SELECT $1' USING 5;\n"
        "  FETCH c INTO r;\n"
        "  FETCH NEXT FROM c INTO a, b;\n"
        "  MOVE FORWARD 2 IN c;\n"
        "  MOVE c;\n"
        "  CLOSE c;\n"
        "END"
    )
    bound, query, dynamic, fetch, fetch_next, move, move_plain, close = block.body
    assert isinstance(bound, Open) and bound.cursor == "c"
    assert bound.args is not None and bound.args.text == "7"
    assert isinstance(query, Open) and query.query is not None
    assert isinstance(query.query.tree, exp.Select)
    assert isinstance(dynamic, Open) and dynamic.dynquery is not None
    assert [u.text for u in dynamic.using] == ["5"]
    assert isinstance(fetch, Fetch) and (fetch.cursor, fetch.direction, fetch.is_move) == (
        "c",
        "",
        False,
    )
    assert fetch.into is not None and fetch.into.targets == ("r",)
    assert isinstance(fetch_next, Fetch) and (fetch_next.cursor, fetch_next.direction) == (
        "c",
        "NEXT",
    )
    assert fetch_next.into is not None and fetch_next.into.targets == ("a", "b")
    assert isinstance(move, Fetch) and (move.cursor, move.direction, move.is_move) == (
        "c",
        "FORWARD 2",
        True,
    )
    assert move.into is None
    assert isinstance(move_plain, Fetch) and move_plain.cursor == "c"
    assert isinstance(close, Close) and close.cursor == "c"
    assert [s.kind for s in block.body] == [
        "open", "open", "open", "fetch", "fetch", "fetch", "fetch", "close",
    ]  # fmt: skip


def test_call_do_null_and_transactions() -> None:
    block = ok(
        "BEGIN\n"
        "  CALL archive(now() - interval '1 day');\n"
        "  DO 'BEGIN NULL; END';\n"
        "  NULL;\n"
        "  COMMIT;\n"
        "  COMMIT AND CHAIN;\n"
        "  ROLLBACK AND NO CHAIN;\n"
        "END"
    )
    call, do, commit, chained, rollback = block.body
    assert isinstance(call, Call) and call.is_call
    assert call.call.text == "archive(now() - interval '1 day')"
    assert isinstance(call.call.tree, exp.Anonymous)
    assert isinstance(do, Call) and not do.is_call
    assert isinstance(commit, Commit) and not commit.chain
    assert isinstance(chained, Commit) and chained.chain
    assert isinstance(rollback, Rollback) and not rollback.chain
    assert [s.line for s in block.body] == [11, 12, 14, 15, 16]


def test_keywords_inside_strings_comments_and_dollar_quotes() -> None:
    block = ok(
        "DECLARE\n"
        "  s text := 'END IF; END LOOP;';\n"
        "  d text := $q$ BEGIN RAISE 'x'; END $q$;\n"
        "  e text := E'it\\'s ; END';\n"
        "BEGIN\n"
        "  /* END; IF x THEN -- not code */\n"
        "  -- END LOOP;\n"
        "  IF s = 'END' THEN  -- END\n"
        "    RETURN $$ END $$;\n"
        "  END IF;\n"
        "END"
    )
    assert shape(block.body) == [("if", 17, [[("return", 18)], []])]
    e = block.declarations[2].default
    assert e is not None and e.text == "E'it\\'s ; END'"


def test_compile_options_are_recorded() -> None:
    function = parse("#variable_conflict use_column\n#print_strict_params on\nBEGIN END")
    assert function.options == ("#variable_conflict use_column", "#print_strict_params on")
    assert function.block is not None and function.block.line == 12


def test_fragments_carry_file_offsets() -> None:
    body = "BEGIN\n  UPDATE t SET n = n + 1;\nEND"
    function = parse(body, offset=1000)
    assert function.block is not None
    statement = only(function.block)
    assert isinstance(statement, ExecSql)
    assert statement.sql.offset == 1000 + body.index("UPDATE")
    assert statement.sql.location == Location("f.sql", 11, 3, 11, 24)


def test_walk_visits_in_source_order() -> None:
    function = parse(
        "BEGIN IF a THEN x := 1; ELSE LOOP y := 2; END LOOP; END IF; "
        "BEGIN z := 3; EXCEPTION WHEN others THEN w := 4; END; END"
    )
    kinds = [s.kind for s in function.statements()]
    assert kinds == ["block", "if", "assign", "loop", "assign", "block", "assign", "assign"]
    assert [s.kind for s in walk(())] == []


def test_nodes_are_frozen_tuples() -> None:
    block = ok("BEGIN x := 1; END")
    with pytest.raises(dataclasses.FrozenInstanceError):
        block.label = "x"  # type: ignore[misc]
    assert isinstance(block.body, tuple)


def test_unparseable_sql_keeps_the_statement_with_a_diagnostic() -> None:
    function = parse("BEGIN\n  x := 1;\n  UPDATE SET WHERE;\n  y := 2;\nEND")
    assert not function.incomplete
    assert function.block is not None
    bad = function.block.body[1]
    assert isinstance(bad, ExecSql) and bad.sql.tree is None
    assert [s.kind for s in function.block.body] == ["assign", "execsql", "assign"]
    (diagnostic,) = function.diagnostics
    assert diagnostic.message.startswith("could not parse SQL")
    assert (diagnostic.line, diagnostic.column) == (12, 14)  # where sqlglot gave up


def test_sqlglot_commands_are_reported_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    # LOCK falls back to an opaque Command; NOTIFY would be misread as `NOTIFY AS c`, but
    # it writes no row and fires no trigger, so only LOCK is reported
    function = parse("BEGIN LOCK TABLE t IN EXCLUSIVE MODE; NOTIFY c; END")
    assert function.block is not None
    assert [s.sql.tree for s in function.block.body if isinstance(s, ExecSql)] == [None, None]
    assert [d.column for d in function.diagnostics] == [11]
    assert capsys.readouterr() == ("", "")


def test_end_label_mismatch_is_reported_but_not_fatal() -> None:
    function = parse("<<a>> BEGIN NULL; END b")
    assert not function.incomplete
    assert [d.message for d in function.diagnostics] == [
        'end label "b" differs from the block\'s label "a"'
    ]


# --------------------------------------------------------------------------- errors


def test_unterminated_string_keeps_earlier_statements() -> None:
    function = parse(
        "BEGIN\n  x := 1;\n  IF x > 0 THEN\n    y := 2;\n    z := 'abc;\n  END IF;\nEND"
    )
    assert function.incomplete
    assert function.diagnostics == (Diagnostic("f.sql", 14, 10, "unterminated string literal"),)
    assert function.block is not None
    assert shape(function.block.body) == [("assign", 11), ("if", 12, [[("assign", 13)], []])]


def test_unterminated_string_on_the_first_body_line_uses_the_body_column() -> None:
    function = parse("BEGIN x := 'oops; END", column=40)
    assert function.diagnostics == (Diagnostic("f.sql", 10, 51, "unterminated string literal"),)
    assert function.incomplete


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("$q$ abc", "unterminated dollar-quoted string"),
        ('"abc', "unterminated quoted identifier"),
        ("/* abc", "unterminated /* comment"),
        ("E'abc\\'", "unterminated string literal"),
    ],
)
def test_other_unterminated_tokens(snippet: str, message: str) -> None:
    function = parse("BEGIN\n  a := 1;\n  b := " + snippet + ";\nEND")
    assert function.diagnostics == (Diagnostic("f.sql", 12, 8, message),)
    assert function.incomplete
    assert function.block is not None
    assert [s.kind for s in function.block.body] == ["assign"]


def test_missing_end_if() -> None:
    function = parse("BEGIN\n  x := 1;\n  IF x > 0 THEN\n    y := 2;\n  END;\nEND")
    assert function.incomplete
    assert function.diagnostics == (
        Diagnostic("f.sql", 14, 6, 'expected "IF" to close the IF at line 12, found ";"'),
    )
    assert function.block is not None
    assert shape(function.block.body) == [("assign", 11), ("if", 12, [[("assign", 13)], []])]


def test_missing_then() -> None:
    function = parse("BEGIN\n  x := 1;\n  IF x > 0\n    y := 2;\n  END IF;\nEND")
    assert function.incomplete
    (diagnostic,) = function.diagnostics
    assert (diagnostic.line, diagnostic.column) == (13, 11)
    assert '"THEN"' in diagnostic.message
    assert function.block is not None and [s.kind for s in function.block.body] == ["assign"]


def test_garbage_statement() -> None:
    function = parse("BEGIN\n  x := 1;\n  ) garbage (;\n  y := 2;\nEND")
    assert function.incomplete
    assert function.diagnostics == (
        Diagnostic("f.sql", 12, 3, 'syntax error: a statement cannot start here, found ")"'),
    )
    assert function.block is not None and [s.kind for s in function.block.body] == ["assign"]


def test_missing_final_end() -> None:
    function = parse("BEGIN\n  x := 1;\n")
    assert function.incomplete
    assert function.diagnostics == (
        Diagnostic("f.sql", 11, 9, 'unexpected end of function body: missing "END"'),
    )
    assert function.block is not None and [s.kind for s in function.block.body] == ["assign"]


def test_end_loop_closing_a_block() -> None:
    function = parse("BEGIN\n  x := 1;\nEND LOOP;")
    assert function.incomplete
    assert function.diagnostics == (
        Diagnostic("f.sql", 12, 5, '"END LOOP" where the block ends, found "LOOP"'),
    )


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("", (10, 5)),
        ("  -- only a comment\n", (10, 5)),
        ("x := 1;", (10, 5)),
        ("BEGIN END; extra", (10, 16)),
    ],
)
def test_bodies_that_are_not_a_block(body: str, where: tuple[int, int]) -> None:
    function = parse(body)
    assert function.incomplete
    assert (function.diagnostics[0].line, function.diagnostics[0].column) == where


def test_nesting_1000_deep_is_a_diagnostic_not_a_crash() -> None:
    depth = 1000
    body = "BEGIN\n" + "IF a THEN\n" * depth + "x := 1;\n" + "END IF;\n" * depth + "END"
    function = parse(body)
    assert function.incomplete
    (diagnostic,) = function.diagnostics
    assert f"more than {MAX_NESTING} levels" in diagnostic.message
    assert diagnostic.line == 11 + MAX_NESTING - 1  # the first IF past the limit
    # the levels that were read are all there
    statement: Statement | None = function.block
    levels = 0
    while statement is not None and statement.bodies() and statement.bodies()[0]:
        statement = statement.bodies()[0][0]
        levels += 1
    assert levels == MAX_NESTING - 1


def test_deep_blocks_and_expressions_do_not_raise() -> None:
    blocks = parse("BEGIN " * 1000 + "NULL;" + " END;" * 999 + " END")
    assert blocks.incomplete and blocks.diagnostics
    parens = parse("BEGIN x := " + "(" * 1000 + "1" + ")" * 1000 + "; END")
    assert parens.block is not None and [s.kind for s in parens.block.body] == ["assign"]
    assert parens.diagnostics  # sqlglot gives up; the statement is still there


def test_two_hundred_line_function_is_fast() -> None:
    lines = ["DECLARE n int := 0; BEGIN"]
    for i in range(49):
        lines += [
            f"  IF TG_OP = 'INSERT' AND NEW.k{i} IS DISTINCT FROM OLD.k{i} THEN",
            f"    UPDATE t{i} SET c = c + 1 WHERE id = NEW.id;",
            f"    n := n + {i};",
            "  END IF;",
        ]
    lines.append("END")
    body = "\n".join(lines)
    parse(body)  # warm up sqlglot
    start = time.perf_counter()
    function = parse(body)
    elapsed = time.perf_counter() - start
    assert not function.incomplete and len(list(function.statements())) == 1 + 49 * 3
    assert elapsed < 1.0


# --------------------------------------------------------------------------- robustness

_VALID = (
    "<<main>>\nDECLARE\n  n int := 0;\n  c CURSOR FOR SELECT 1;\nBEGIN\n"
    "  IF TG_OP = 'INSERT' THEN\n    n := n + 1;\n  ELSIF x THEN NULL;\n  END IF;\n"
    "  FOR i IN 1..3 LOOP EXIT WHEN i > n; END LOOP;\n"
    "  CASE n WHEN 1 THEN RAISE NOTICE 'one %', n; ELSE PERFORM f(); END CASE;\n"
    "  SELECT count(*) INTO n FROM t;\n"
    "  EXECUTE format('SELECT %I', 'x') INTO n USING n;\n"
    "  BEGIN INSERT INTO t VALUES (1); EXCEPTION WHEN others THEN RETURN NULL; END;\n"
    "  RETURN NEW;\nEND main;\n"
)

_PIECES = st.sampled_from(
    [
        "BEGIN", "END", "IF", "THEN", "ELSE", "ELSIF", "END IF", "LOOP", "END LOOP", "CASE",
        "WHEN", "FOR", "IN", "..", "EXCEPTION", "DECLARE", "<<", ">>", ";", "(", ")", "[", "]",
        "'", '"', "$$", "$q$", "/*", "*/", "--", ":=", "=", "x", "NEW.x", "1", ",", "\n", " ",
        "INTO", "STRICT", "EXECUTE", "USING", "RETURN", "NEXT", "QUERY", "RAISE", "SELECT",
        "FROM", "t", "#", "OPEN", "FETCH", "CURSOR", "GET", "DIAGNOSTICS",
    ]
)  # fmt: skip


def _check_never_raises(body: str) -> None:
    function = parse(body)
    lines = body.count("\n")
    for diagnostic in function.diagnostics:
        assert LINE <= diagnostic.line <= LINE + lines
        assert diagnostic.column >= 1
        assert not diagnostic.message.startswith("internal error")
    if function.incomplete:
        assert function.diagnostics
    for statement in function.statements():
        assert LINE <= statement.line <= LINE + lines
        assert statement.location.line <= statement.location.end_line


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(_PIECES, max_size=60))
def test_token_soup_never_raises(pieces: list[str]) -> None:
    _check_never_raises(" ".join(pieces))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts=st.lists(
        st.tuples(st.integers(0, len(_VALID)), st.integers(0, 8), st.text(max_size=3)), max_size=4
    )
)
def test_mangled_function_never_raises(cuts: list[tuple[int, int, str]]) -> None:
    body = _VALID
    for at, length, insert in cuts:
        body = body[:at] + insert + body[at + length :]
    _check_never_raises(body)


def test_valid_robustness_seed_parses_cleanly() -> None:
    block = ok(_VALID)
    assert [s.kind for s in block.body] == [
        "if",
        "fori",
        "case",
        "execsql",
        "dynexecute",
        "block",
        "return",
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE PUBLICATION supabase_realtime",
        "ALTER PUBLICATION supabase_realtime ADD TABLE public.notes",
        "DROP SUBSCRIPTION IF EXISTS mirror",
        "CREATE STATISTICS s ON a, b FROM t",
    ],
)
def test_statements_that_touch_no_row_are_not_reported(statement: str) -> None:
    """A publication or statistics object writes no row and fires no trigger: a body
    that creates one (Supabase's realtime setup does, in a DO block) is fully analysed."""
    function = parse(f"BEGIN {statement}; END")
    assert function.diagnostics == ()
    assert not function.incomplete


def _fragment_trees(value: object) -> Iterator[exp.Expr]:
    """Every parsed fragment's tree inside a parsed body, depth first."""
    if isinstance(value, Fragment):
        if value.tree is not None:
            yield value.tree
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _fragment_trees(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _fragment_trees(getattr(value, field.name))


def test_render_writes_what_sqlglot_writes_and_leaves_every_fixture_tree_unchanged() -> None:
    # `render` skips sqlglot's defensive deep copy; that is only right while rendering a
    # tree read from PostgreSQL text never changes it, whatever node is rendered.
    catalog = load(sorted(str(path) for path in Path("fixtures").iterdir() if path.is_dir()))
    trees = nodes = 0
    for function in catalog.functions.values():
        if function.language.lower() != "plpgsql" or function.body is None:
            continue
        parsed = parse_plpgsql(function.body, path="f.sql", line=1, column=1)
        for tree in _fragment_trees(parsed.block):
            pristine = tree.copy()
            expected = tree.sql(dialect="postgres")
            for node in list(tree.walk()):
                render(node)
                nodes += 1
            assert render(tree) == expected
            assert tree == pristine, expected
            trees += 1
    assert trees >= 400 and nodes >= 4000, (trees, nodes)  # the fixtures hold 468 and 5,015
