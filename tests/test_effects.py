"""Function bodies to effects: one small case per construct, each with its look-alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.effects import (
    Accumulation,
    BodyEffects,
    CallEffect,
    DynamicEffect,
    Read,
    ReturnEffect,
    RowAssignment,
    Write,
    analyze_bodies,
)
from analyzer.guards import ChangeAtom, ErrorAtom, Guard, OpAtom, ParamAtom
from analyzer.loader import load

SCHEMA = """
CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric NOT NULL DEFAULT 0,
                       tags text[] NOT NULL DEFAULT '{}', stats jsonb NOT NULL DEFAULT '{}');
CREATE TABLE entries (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
                      amount numeric NOT NULL);
CREATE TABLE audit_log (id bigserial PRIMARY KEY, note text);
CREATE TABLE daily (day date, account_id bigint, n integer NOT NULL DEFAULT 0,
                    PRIMARY KEY (day, account_id));
"""


def body_effects(tmp_path: Path, function_sql: str) -> BodyEffects:
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA + function_sql, encoding="utf-8")
    catalog = load([str(path)])
    bodies = analyze_bodies(catalog)
    (found,) = [b for key, b in bodies.functions.items() if key.startswith("public.f(")]
    return found


def trigger_body(statements: str, declare: str = "") -> str:
    return (
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"{declare}BEGIN\n{statements}\nRETURN NEW;\nEND $$;\n"
    )


def writes(body: BodyEffects) -> list[Write]:
    return [e for e in body.effects if isinstance(e, Write)]


def test_delta_is_not_an_accumulation(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "UPDATE accounts SET balance = balance + (NEW.amount - OLD.amount) "
            "WHERE id = NEW.account_id;"
        ),
    )
    (write,) = writes(body)
    assert (write.table, write.kind, write.keyed_by) == ("public.accounts", "update", "row")
    assert write.accumulations == ()
    assert write.deltas == ("balance",)


@pytest.mark.parametrize(
    ("assignment", "column"),
    [
        ("balance = balance + NEW.amount", "balance"),
        ("balance = COALESCE(balance, 0) + 1", "balance"),
        ("balance = accounts.balance - 1", "balance"),
        ("tags = array_append(tags, 'x')", "tags"),
        ("tags = tags || ARRAY['x']", "tags"),
        (
            "stats = jsonb_set(jsonb_set(stats, '{a}', to_jsonb(COALESCE((stats->>'a')::int, 0)"
            " + 1)), '{b}', '1')",
            "stats",
        ),
    ],
)
def test_accumulations(tmp_path: Path, assignment: str, column: str) -> None:
    body = body_effects(
        tmp_path, trigger_body(f"UPDATE accounts SET {assignment} WHERE id = NEW.account_id;")
    )
    (write,) = writes(body)
    assert [a.column for a in write.accumulations] == [column]


@pytest.mark.parametrize(
    "assignment",
    [
        "balance = NEW.amount",
        "balance = (SELECT sum(amount) FROM entries WHERE account_id = NEW.account_id)",
        "stats = stats || jsonb_build_object('last', NEW.amount)",
        "balance = GREATEST(balance, NEW.amount)",
    ],
)
def test_overwrites_are_not_accumulations(tmp_path: Path, assignment: str) -> None:
    body = body_effects(
        tmp_path, trigger_body(f"UPDATE accounts SET {assignment} WHERE id = NEW.account_id;")
    )
    assert [w.accumulations for w in writes(body) if w.table == "public.accounts"] == [()]


def test_upsert_accumulates_from_excluded(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "INSERT INTO daily AS d (day, account_id, n) VALUES (current_date, NEW.account_id, 1)"
            " ON CONFLICT (day, account_id) DO UPDATE SET n = d.n + EXCLUDED.n;"
        ),
    )
    (write,) = writes(body)
    assert (write.kind, write.conflict_columns, write.keyed_by) == ("upsert", ("n",), "row")
    assert write.accumulations == (Accumulation("n", "n = d.n + EXCLUDED.n"),)


def test_plain_insert_into_log_appends_but_keyed_insert_does_not(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "INSERT INTO audit_log (note) VALUES ('changed');\n"
            "INSERT INTO daily (day, account_id) VALUES (current_date, NEW.account_id)"
            " ON CONFLICT DO NOTHING;\n"
            "INSERT INTO accounts (id) VALUES (NEW.account_id);"
        ),
    )
    assert [(w.table, w.kind, w.appends) for w in writes(body)] == [
        ("public.audit_log", "insert", True),
        ("public.daily", "insert-or-ignore", False),
        ("public.accounts", "insert", False),
    ]


def test_keyed_by_row_set_and_table(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "UPDATE accounts SET balance = 0 WHERE id = NEW.account_id;\n"
            "UPDATE entries SET amount = 0 WHERE account_id = NEW.account_id;\n"
            "DELETE FROM audit_log;"
        ),
    )
    assert [(w.table, w.keyed_by) for w in writes(body)] == [
        ("public.accounts", "row"),
        ("public.entries", "set"),
        ("public.audit_log", "table"),
    ]


def test_tg_op_chain_gives_disjoint_guards(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "IF TG_OP = 'INSERT' THEN\n"
            "  UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.account_id;\n"
            "ELSIF TG_OP = 'DELETE' THEN\n"
            "  UPDATE accounts SET balance = balance - OLD.amount WHERE id = OLD.account_id;\n"
            "ELSE\n"
            "  INSERT INTO audit_log (note) VALUES ('other');\n"
            "END IF;"
        ),
    )
    guards = [w.guard for w in writes(body)]
    assert guards == [
        Guard.of(OpAtom(frozenset({"INSERT"}))),
        Guard.of(OpAtom(frozenset({"DELETE"}))),
        Guard.of(OpAtom(frozenset({"UPDATE", "TRUNCATE"}))),
    ]


def test_return_ends_a_path_so_later_effects_carry_the_negation(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
        "UPDATE accounts SET balance = balance + 1 WHERE id = NEW.account_id;\n"
        "RETURN NEW;\nEND $$;\n",
    )
    (write,) = writes(body)
    assert write.guard == Guard.of(OpAtom(frozenset({"INSERT", "UPDATE", "TRUNCATE"})))
    returns = [(e.value, e.guard) for e in body.effects if isinstance(e, ReturnEffect)]
    assert returns == [
        ("old", Guard.of(OpAtom(frozenset({"DELETE"})))),
        ("new", Guard.of(OpAtom(frozenset({"INSERT", "UPDATE", "TRUNCATE"})))),
    ]
    assert body.falls_off_end.is_never


def test_change_guard_on_a_write(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "IF NEW.amount IS DISTINCT FROM OLD.amount THEN\n"
            "  INSERT INTO audit_log (note) VALUES ('amount');\nEND IF;\n"
            "IF ROW(NEW.amount, NEW.account_id) IS NOT DISTINCT FROM "
            "ROW(OLD.amount, OLD.account_id) THEN RETURN NULL; END IF;"
        ),
    )
    (write,) = writes(body)
    assert write.guard == Guard.of(ChangeAtom(("amount",), True))
    null_return = next(e for e in body.effects if isinstance(e, ReturnEffect))
    assert null_return.value == "null"
    assert null_return.guard == Guard.of(ChangeAtom(("amount", "account_id"), False))


def test_write_in_exception_handler_is_marked(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "BEGIN\n  INSERT INTO accounts (id) VALUES (NEW.account_id);\n"
            "EXCEPTION WHEN unique_violation THEN\n"
            "  UPDATE accounts SET balance = balance + 1 WHERE id = NEW.account_id;\nEND;"
        ),
    )
    first, handled = writes(body)
    assert first.guard.is_always
    assert handled.guard == Guard.of(ErrorAtom("unique_violation"))


def test_dynamic_format_is_inferred_with_unknown_table(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body("EXECUTE format('UPDATE %I SET n = n + 1 WHERE id = $1', TG_ARGV[0]);"),
    )
    (dynamic,) = [e for e in body.effects if isinstance(e, DynamicEffect)]
    assert dynamic.text == "UPDATE sqlripple_dynamic_ident SET n = n + 1 WHERE id = $1"
    (inferred,) = dynamic.inferred
    assert (inferred.table, inferred.kind, inferred.inferred) == (None, "update", True)
    assert [a.column for a in inferred.accumulations] == ["n"]
    assert writes(body) == []


def test_constant_execute_is_a_plain_effect(tmp_path: Path) -> None:
    body = body_effects(tmp_path, trigger_body("EXECUTE 'DELETE FROM ' || 'audit_log';"))
    assert [(w.table, w.kind, w.inferred) for w in writes(body)] == [
        ("public.audit_log", "delete", True)
    ]
    assert [e for e in body.effects if isinstance(e, DynamicEffect)] == []


def test_calls_from_every_position(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql AS 'SELECT a';\n"
        "CREATE PROCEDURE p() LANGUAGE sql AS 'SELECT 1';\n"
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "DECLARE v int := g(1);\nBEGIN\n"
        "PERFORM g(2);\nSELECT g(3) INTO v;\nv := g(4);\n"
        "IF g(5) > 0 THEN NULL; END IF;\nCALL p();\n"
        "INSERT INTO audit_log (note) VALUES (g(6)::text);\nRETURN NEW;\nEND $$;\n",
    )
    calls = [(e.name, e.location.line) for e in body.effects if isinstance(e, CallEffect)]
    assert [name for name, _ in calls] == [("g",)] * 5 + [("p",), ("g",)]
    assert [line for _, line in calls] == [12, 14, 15, 16, 17, 18, 19]


def test_parameter_conditions_are_kept_by_name(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        "CREATE FUNCTION f(p_id bigint, p_created boolean) RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\nIF p_created THEN\n"
        "  UPDATE accounts SET balance = balance + 1 WHERE id = p_id;\nEND IF;\nEND $$;\n",
    )
    (write,) = writes(body)
    (alternative,) = write.guard.alternatives
    (atom,) = alternative
    assert isinstance(atom, ParamAtom) and (atom.text, atom.negated) == ("p_created", False)


def test_row_assignments_and_select_into_new(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "NEW.amount := 0;\nSELECT a.balance INTO NEW.account_id FROM accounts a "
            "WHERE a.id = NEW.account_id;"
        ),
    )
    assert [e.column for e in body.effects if isinstance(e, RowAssignment)] == [
        "amount",
        "account_id",
    ]


def test_aggregate_read_keyed_by_parent(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "UPDATE accounts SET balance = (SELECT sum(e.amount) FROM entries e "
            "WHERE e.account_id = NEW.account_id) WHERE id = NEW.account_id;"
        ),
    )
    (read,) = [e for e in body.effects if isinstance(e, Read)]
    assert (read.table, read.aggregates, read.keyed_by, read.key_columns) == (
        "public.entries",
        ("sum",),
        "set",
        ("account_id",),
    )


def test_falling_off_the_end_of_a_trigger_function(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "IF TG_OP = 'INSERT' THEN RETURN NEW; END IF;\nEND $$;\n",
    )
    assert body.falls_off_end == Guard.of(OpAtom(frozenset({"UPDATE", "DELETE", "TRUNCATE"})))


def test_sql_body_effects_are_unconditional(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        "CREATE FUNCTION f(a bigint) RETURNS void LANGUAGE sql BEGIN ATOMIC\n"
        "  UPDATE accounts SET balance = balance + 1 WHERE id = a;\n"
        "  INSERT INTO audit_log (note) VALUES ('x');\nEND;\n",
    )
    assert [(w.table, w.kind, w.guard.is_always, w.location.line) for w in writes(body)] == [
        ("public.accounts", "update", True, 10),
        ("public.audit_log", "insert", True, 11),
    ]


def test_body_that_does_not_parse_is_incomplete_with_a_located_diagnostic(
    tmp_path: Path,
) -> None:
    body = body_effects(
        tmp_path,
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "UPDATE accounts SET balance = balance + 1 WHERE id = NEW.account_id;\n"
        "IF NEW.amount > 0 THEN\n  INSERT INTO audit_log (note) VALUES ('x');\n"
        "RETURN NEW;\nEND $$;\n",
    )
    assert body.incomplete
    assert body.diagnostics and body.diagnostics[0].path.endswith("schema.sql")
    assert body.diagnostics[0].line >= 10
    assert [w.table for w in writes(body)][:1] == ["public.accounts"]


def test_tg_argv_and_tg_table_name_tests_are_decided_per_trigger(tmp_path: Path) -> None:
    from analyzer.cascade import TraceEntry, Tracer
    from analyzer.graph import build_model

    path = tmp_path / "schema.sql"
    path.write_text(
        SCHEMA + "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "IF TG_ARGV[0] = 'count' THEN\n"
        "  UPDATE accounts SET balance = balance + 1 WHERE id = NEW.account_id;\nEND IF;\n"
        "IF TG_TABLE_NAME = 'audit_log' THEN\n"
        "  INSERT INTO daily (day, account_id) VALUES (current_date, 1);\nEND IF;\n"
        "RETURN NULL;\nEND $$;\n"
        "CREATE TRIGGER counted AFTER INSERT ON entries FOR EACH ROW EXECUTE FUNCTION f('count');\n"
        "CREATE TRIGGER plain AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION f('skip');\n",
        encoding="utf-8",
    )
    catalog = load([str(path)])
    write, log_insert = writes(analyze_bodies(catalog).functions["public.f()"])
    assert str(write.guard) == "TG_ARGV[0] IN ('COUNT')"
    assert str(log_insert.guard) == "TG_TABLE_NAME IN ('audit_log')"
    tracer = Tracer(build_model(catalog))
    entries = tracer.trace(TraceEntry("public.entries", "insert")).totals(1).counts
    assert entries[("write", "public.accounts", "update")] == (1, 1)
    assert ("write", "public.daily", "insert-or-ignore") not in entries
    assert ("write", "public.daily", "insert") not in entries
    logs = tracer.trace(TraceEntry("public.audit_log", "insert")).totals(1).counts
    assert ("write", "public.accounts", "update") not in logs
    assert logs[("write", "public.daily", "insert")] == (1, 1)
