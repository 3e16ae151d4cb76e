"""What the analysis keeps alive once a stage is done: plain data, shared where equal.

A sqlglot node keeps its whole statement tree alive through its parent links, so effects
and guards hold SQL text and parse it again only where the cascade needs a tree
(BENCHMARKS.md, "Peak memory").
"""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

from sqlglot import exp

from analyzer.cascade import TraceEntry, Tracer
from analyzer.effects import CallEffect, DynamicEffect, analyze_bodies
from analyzer.graph import build_model
from analyzer.guards import Guard, OpAtom, ParamAtom
from analyzer.loader import load
from analyzer.report.check import SourceLines

SCHEMA = """
CREATE TABLE entries (id bigint PRIMARY KEY, kind text, amount numeric);
CREATE TABLE entries_log (id bigserial PRIMARY KEY, note text);
CREATE TABLE totals (kind text PRIMARY KEY, n integer NOT NULL DEFAULT 0);
CREATE FUNCTION log_change(p_table text, p_loud boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF p_loud THEN
    EXECUTE format('INSERT INTO public.%I (note) VALUES (%L)', p_table || '_log', 'x  y');
  END IF;
END $$;
CREATE FUNCTION changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM log_change(TG_TABLE_NAME, true);
  PERFORM log_change(TG_TABLE_NAME, false);
  UPDATE totals SET n = n + 1 WHERE kind = NEW.kind;
  RETURN NULL;
END $$;
CREATE TRIGGER changed AFTER INSERT OR UPDATE OR DELETE ON entries
FOR EACH ROW EXECUTE FUNCTION changed();
"""


def _reachable(root: object) -> list[object]:
    """Every object reachable from `root` through dataclass fields and containers."""
    seen: set[int] = set()
    found: list[object] = []
    stack = [root]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, (str, int, float, bool, type(None))):
            continue
        seen.add(id(item))
        found.append(item)
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, (tuple, list, set, frozenset)):
            stack.extend(item)
        elif hasattr(item, "items"):
            for key, value in item.items():
                stack.extend((key, value))
    return found


def _model(tmp_path: Path) -> Tracer:
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA, encoding="utf-8")
    catalog = load([str(path)])
    return Tracer(build_model(catalog, analyze_bodies(catalog)))


def test_bodies_hold_no_sqlglot_node(tmp_path: Path) -> None:
    bodies = _model(tmp_path).model.bodies
    kept = _reachable(bodies)
    assert [type(o).__name__ for o in kept if isinstance(o, exp.Expr)] == []
    changed = bodies.functions["public.changed()"]
    calls = [e for e in changed.effects if isinstance(e, CallEffect)]
    assert [c.arguments for c in calls] == [("TG_TABLE_NAME", "TRUE"), ("TG_TABLE_NAME", "FALSE")]
    helper = bodies.functions["public.log_change(text,boolean)"]
    (dynamic,) = [e for e in helper.effects if isinstance(e, DynamicEffect)]
    assert dynamic.template == (
        "FORMAT('INSERT INTO public.%I (note) VALUES (%L)', p_table || '_log', 'x  y')"
    )
    (param,) = [a for a in dynamic.guard.atoms() if isinstance(a, ParamAtom)]
    assert (param.text, param.sql) == ("p_loud", "p_loud")


def test_constant_arguments_still_decide_the_callee(tmp_path: Path) -> None:
    """The arguments and the guard are parsed again from their text: `true` runs the
    EXECUTE (its table folded from TG_TABLE_NAME), `false` does not."""
    tracer = _model(tmp_path)
    cascade = tracer.trace(TraceEntry("public.entries", "insert"))
    counts = cascade.totals(1).counts
    assert counts[("write", "public.entries_log", "insert")] == (1, 1)
    assert counts[("call", "public.log_change")] == (2, 2)
    assert cascade.unknowns == []


def test_a_parameter_test_keeps_the_spacing_of_its_strings() -> None:
    """`text` is for people (spacing folded); `sql` is what is parsed again."""
    from analyzer.guards import FiringContext, expression_of_sql, guard_of

    condition = expression_of_sql("p_note = 'a  b'")
    guard = guard_of(condition, "p_note = 'a  b'", frozenset({"p_note"}))
    (atom,) = guard.atoms()
    assert isinstance(atom, ParamAtom)
    assert (atom.text, atom.sql) == ("p_note = 'a b'", "p_note = 'a  b'")
    same = FiringContext(arguments={"p_note": exp.Literal.string("a  b")})
    other = FiringContext(arguments={"p_note": exp.Literal.string("a b")})
    assert (same.decide(atom), other.decide(atom)) == (True, False)


def test_equal_guards_unpickle_as_one_object() -> None:
    first, second = Guard.of(OpAtom(frozenset({"INSERT"}))), Guard.of(OpAtom(frozenset({"INSERT"})))
    assert first == second and first is not second
    copies = pickle.loads(pickle.dumps([first, second, Guard.always()]))
    assert copies[0] == first
    assert copies[0] is copies[1]
    assert copies[2] is Guard.always()
    assert Guard.never() is Guard.never()


def test_memo_keys_share_equal_column_sets(tmp_path: Path) -> None:
    tracer = _model(tmp_path)
    for operation in ("insert", "update", "delete", "upsert"):
        tracer.trace(TraceEntry("public.entries", operation))
    sets = [part for key in tracer.memo for part in key if isinstance(part, frozenset)]
    assert len({s for s in sets if s}) >= 2
    by_value: dict[frozenset[object], int] = {}
    for column_set in sets:
        assert by_value.setdefault(column_set, id(column_set)) == id(column_set)


def test_source_lines_are_split_when_asked_for() -> None:
    lines = SourceLines({"a.sql": "one\ntwo", "b.sql": "three"})
    assert (len(lines), sorted(lines)) == (2, ["a.sql", "b.sql"])
    assert lines["a.sql"] == ("one", "two")
    assert lines["b.sql"] == ("three",)
    assert lines["a.sql"] == ("one", "two")
    assert lines.get("c.sql") is None


def test_a_cached_check_keeps_its_report_unescaped() -> None:
    from analyzer.cli import CheckOutcome

    rendered = '{\n  "message": "a\\nb é"\n}\n'
    outcome = CheckOutcome(rendered, ("sqlripple: note",), "1 finding", True)
    head, report = outcome.encode()
    assert report == outcome.rendered
    assert head == b'{"notices": ["sqlripple: note"], "summary": "1 finding", "failed": true}\n'
    assert CheckOutcome.decode(head + report.encode("utf-8")) == outcome
    before = b'{"rendered": "x", "notices": [], "summary": "", "failed": false}'
    assert CheckOutcome.decode(before) is None
    assert CheckOutcome.decode(None) is None
