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
    "assignment",
    [
        "balance = balance - OLD.amount + NEW.amount",
        "balance = NEW.amount + balance - OLD.amount",
        "balance = -OLD.amount + balance + NEW.amount",
        "balance = balance - (OLD.amount - NEW.amount)",
        "balance = balance + (new.amount - old.amount)",
    ],
)
def test_delta_in_any_term_order(tmp_path: Path, assignment: str) -> None:
    body = body_effects(
        tmp_path, trigger_body(f"UPDATE accounts SET {assignment} WHERE id = NEW.account_id;")
    )
    (write,) = writes(body)
    assert (write.accumulations, write.deltas) == ((), ("balance",))


@pytest.mark.parametrize(
    ("assignment", "column"),
    [
        ("balance = balance - OLD.amount", "balance"),
        ("balance = balance - OLD.amount + NEW.fee", "balance"),
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


def _trace_counts(tmp_path: Path, sql: str, table: str, operation: str) -> dict[object, object]:
    from analyzer.cascade import TraceEntry, Tracer
    from analyzer.graph import build_model

    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA + sql, encoding="utf-8")
    tracer = Tracer(build_model(load([str(path)])))
    cascade = tracer.trace(TraceEntry(table, operation))
    counts: dict[object, object] = dict(cascade.totals(1).counts)
    counts["unknowns"] = [u.reason for u in cascade.unknowns]
    return counts


GENERIC_TOUCH = (
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
    "EXECUTE format('UPDATE public.%I SET balance = balance + 1 WHERE id = $1.%I', "
    "TG_ARGV[0], TG_ARGV[1]) USING NEW;\n"
    "RETURN NULL;\nEND $$;\n"
)


def test_execute_is_folded_per_trigger_from_tg_argv(tmp_path: Path) -> None:
    sql = (
        GENERIC_TOUCH + "CREATE TRIGGER t AFTER INSERT ON entries FOR EACH ROW "
        "EXECUTE FUNCTION touch('accounts', 'account_id');\n"
        "CREATE TRIGGER t AFTER DELETE ON audit_log FOR EACH ROW "
        "EXECUTE FUNCTION touch('accounts');\n"
    )
    entries = _trace_counts(tmp_path, sql, "public.entries", "insert")
    # the folded statement is keyed by NEW.account_id, which the FK guarantees exists
    assert entries[("write", "public.accounts", "update")] == (1, 1)
    assert entries["unknowns"] == []
    # The second trigger passes no key column: %I of NULL raises on the server, and
    # the trace keeps the EXECUTE unknown rather than guess.
    log = _trace_counts(tmp_path, sql, "public.audit_log", "delete")
    assert ("write", "public.accounts", "update") not in log
    assert log["unknowns"] == ["dynamic SQL"]


def test_execute_binds_using_values_into_the_statement(tmp_path: Path) -> None:
    from analyzer.effects import fold_dynamic
    from analyzer.guards import FiringContext

    body = body_effects(
        tmp_path,
        trigger_body(
            "EXECUTE format('DELETE FROM public.%I WHERE id = $1 AND account_id = $2', "
            "TG_TABLE_NAME) USING OLD.id, OLD.account_id + 0;"
        ),
    )
    (dynamic,) = [e for e in body.effects if isinstance(e, DynamicEffect)]
    context = FiringContext(op="DELETE", table="public.entries")
    assert fold_dynamic(dynamic, context) == (
        "DELETE FROM public.entries WHERE id = OLD.id AND account_id = (OLD.account_id + 0)"
    )
    assert fold_dynamic(dynamic, FiringContext(op="DELETE")) is None


@pytest.mark.parametrize(
    ("statements", "declare", "folds"),
    [
        # assigned once before the EXECUTE, on every path: its value is known
        ("v := 'INSERT INTO public.' || quote_ident(TG_TABLE_NAME || '_log');", "", True),
        ("", "v text := 'DELETE FROM public.' || TG_TABLE_NAME;", True),
        # assigned twice: which value reaches the EXECUTE depends on the path
        (
            "v := 'DELETE FROM public.audit_log';\n"
            "IF NEW.id > 0 THEN v := 'DELETE FROM public.entries'; END IF;",
            "",
            False,
        ),
        # assigned only under a condition: NULL on the other path
        ("IF NEW.id > 0 THEN v := 'DELETE FROM public.entries'; END IF;", "", False),
        # assigned from a query
        ("SELECT note INTO v FROM audit_log LIMIT 1;", "", False),
    ],
)
def test_constant_local_variables_fold(
    tmp_path: Path, statements: str, declare: str, folds: bool
) -> None:
    from analyzer.effects import fold_dynamic
    from analyzer.guards import FiringContext

    body = body_effects(
        tmp_path,
        trigger_body(f"{statements}\nEXECUTE v;", declare=f"DECLARE\n  {declare or 'v text;'}\n"),
    )
    (dynamic,) = [e for e in body.effects if isinstance(e, DynamicEffect)]
    text = fold_dynamic(dynamic, FiringContext(op="INSERT", table="public.entries"))
    assert (text is not None) == folds


@pytest.mark.parametrize(
    ("statements", "raised"),
    [
        ("RAISE EXCEPTION 'no % here', NEW.id;", [("raise_exception", "no % here")]),
        ("RAISE 'plain %', NEW.id;", [("raise_exception", "plain %")]),  # EXCEPTION is the default
        ("RAISE EXCEPTION '%', format('id %s', NEW.id);", [("raise_exception", None)]),
        ("RAISE NOTICE 'just saying';", []),
        ("RAISE WARNING 'careful: %', NEW.id;", []),
        ("RAISE unique_violation USING MESSAGE = 'dup';", [("unique_violation", "dup")]),
        ("RAISE EXCEPTION USING ERRCODE = '22012';", [("22012", "22012")]),
        ("RAISE EXCEPTION USING MESSAGE = 'id ' || NEW.id;", [("raise_exception", None)]),
        ("BEGIN RAISE EXCEPTION 'x'; EXCEPTION WHEN others THEN NULL; END;", []),
        ("BEGIN RAISE EXCEPTION 'x'; EXCEPTION WHEN raise_exception THEN NULL; END;", []),
        ("BEGIN RAISE EXCEPTION 'x'; EXCEPTION WHEN SQLSTATE 'P0001' THEN NULL; END;", []),
        (
            "BEGIN RAISE EXCEPTION 'x'; EXCEPTION WHEN unique_violation THEN NULL; END;",
            [("raise_exception", "x")],
        ),
        (
            "BEGIN RAISE unique_violation USING MESSAGE = 'dup'; "
            "EXCEPTION WHEN unique_violation OR check_violation THEN NULL; END;",
            [],
        ),
        # raised inside the handler: the block's own handlers do not catch it
        (
            "BEGIN UPDATE accounts SET balance = 0 WHERE id = NEW.id; "
            "EXCEPTION WHEN others THEN RAISE EXCEPTION 'gave up'; END;",
            [("raise_exception", "gave up")],
        ),
    ],
)
def test_raise_exception_is_an_error_unless_a_handler_of_the_body_catches_it(
    tmp_path: Path, statements: str, raised: list[tuple[str, str | None]]
) -> None:
    from analyzer.effects import RaiseEffect

    body = body_effects(tmp_path, trigger_body(statements))
    found = [(e.condition, e.message) for e in body.effects if isinstance(e, RaiseEffect)]
    assert found == raised


def test_statements_in_a_protected_block_record_what_its_handlers_catch(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "UPDATE accounts SET balance = 1 WHERE id = NEW.id;\n"
            "BEGIN\n"
            "  UPDATE accounts SET balance = 2 WHERE id = NEW.id;\n"
            "  BEGIN\n"
            "    UPDATE accounts SET balance = 3 WHERE id = NEW.id;\n"
            "  EXCEPTION WHEN unique_violation THEN NULL;\n"
            "  END;\n"
            "EXCEPTION WHEN check_violation THEN\n"
            "  UPDATE accounts SET balance = 4 WHERE id = NEW.id;\n"
            "END;"
        ),
    )
    first = writes(body)[0].location.line
    by_line = {w.location.line - first: body.handled.get(w.location) for w in writes(body)}
    assert by_line == {
        0: None,
        2: frozenset({"check_violation"}),
        4: frozenset({"check_violation", "unique_violation"}),
        8: None,  # the handler's own statements are not protected by it
    }


FROZEN_ACCOUNTS = (
    "CREATE FUNCTION frozen() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
    "IF OLD.balance < 0 THEN RAISE EXCEPTION 'account % is frozen', OLD.id; END IF;\n"
    "RAISE NOTICE 'balance of % changes', OLD.id;\n"
    "RETURN NEW;\nEND $$;\n"
    "CREATE TRIGGER frozen BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION frozen();\n"
    "CREATE FUNCTION always_frozen() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
    "RAISE EXCEPTION 'no deletes';\nEND $$;\n"
    "CREATE TRIGGER no_delete BEFORE DELETE ON accounts FOR EACH ROW "
    "EXECUTE FUNCTION always_frozen();\n"
)


def _trace_outcome(tmp_path: Path, sql: str, table: str, operation: str) -> list[object]:
    from analyzer.cascade import TraceEntry, Tracer
    from analyzer.graph import build_model

    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA + FROZEN_ACCOUNTS + sql, encoding="utf-8")
    cascade = Tracer(build_model(load([str(path)]))).trace(TraceEntry(table, operation))
    return [cascade.fails, *[(e.message, e.certain) for e in cascade.errors]]


@pytest.mark.parametrize(
    ("entries_trigger", "outcome"),
    [
        # an error two triggers down ends the entry's statement: possible under a guard
        (
            "UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.account_id;",
            ["possibly", ("account % is frozen", False)],
        ),
        # certain when the path to it is certain
        (
            "DELETE FROM accounts WHERE id = NEW.account_id;",
            ["certainly", ("no deletes", True)],
        ),
        # a handler around the write catches what the write fires
        (
            "BEGIN DELETE FROM accounts WHERE id = NEW.account_id; "
            "EXCEPTION WHEN others THEN NULL; END;",
            ["no"],
        ),
        (
            "BEGIN DELETE FROM accounts WHERE id = NEW.account_id; "
            "EXCEPTION WHEN unique_violation THEN NULL; END;",
            ["certainly", ("no deletes", True)],
        ),
    ],
)
def test_errors_raised_down_the_cascade_end_the_statement(
    tmp_path: Path, entries_trigger: str, outcome: list[object]
) -> None:
    sql = (
        "CREATE FUNCTION book() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"{entries_trigger}\nRETURN NULL;\nEND $$;\n"
        "CREATE TRIGGER book AFTER INSERT ON entries FOR EACH ROW EXECUTE FUNCTION book();\n"
    )
    assert _trace_outcome(tmp_path, sql, "public.entries", "insert") == outcome


NO_RETURN = "control reached end of trigger procedure without RETURN"


@pytest.mark.parametrize(
    ("level", "body", "operation", "outcome"),
    [
        ("STATEMENT", "RAISE NOTICE 'inserted';", "insert", ["certainly", (NO_RETURN, True)]),
        ("STATEMENT", "RAISE NOTICE 'inserted'; RETURN NULL;", "insert", ["no"]),
        (
            "ROW",
            "IF TG_OP = 'INSERT' THEN RETURN NULL; END IF;",
            "insert",
            ["no"],
        ),
        (
            "ROW",
            "IF TG_OP = 'INSERT' THEN RETURN NULL; END IF;",
            "delete",
            ["certainly", (NO_RETURN, True)],
        ),
        (
            "ROW",
            "IF NEW.id > 0 THEN RETURN NULL; END IF;",
            "insert",
            ["possibly", (NO_RETURN, False)],
        ),
    ],
)
def test_a_trigger_function_falling_off_its_end_fails_the_statement(
    tmp_path: Path, level: str, body: str, operation: str, outcome: list[object]
) -> None:
    sql = (
        f"CREATE FUNCTION log() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\nEND $$;\n"
        f"CREATE TRIGGER log AFTER INSERT OR DELETE ON audit_log FOR EACH {level} "
        "EXECUTE FUNCTION log();\n"
    )
    assert _trace_outcome(tmp_path, sql, "public.audit_log", operation) == outcome


def test_what_a_caught_error_interrupts_is_no_longer_certain(tmp_path: Path) -> None:
    from analyzer.cascade import TraceEntry, Tracer
    from analyzer.graph import build_model

    path = tmp_path / "schema.sql"
    path.write_text(
        SCHEMA
        + FROZEN_ACCOUNTS
        + "CREATE FUNCTION book() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "BEGIN DELETE FROM accounts WHERE id = NEW.account_id;\n"
        "EXCEPTION WHEN others THEN NULL; END;\n"
        "INSERT INTO audit_log (note) VALUES ('booked');\n"
        "RETURN NULL;\nEND $$;\n"
        "CREATE TRIGGER book AFTER INSERT ON entries FOR EACH ROW EXECUTE FUNCTION book();\n",
        encoding="utf-8",
    )
    cascade = Tracer(build_model(load([str(path)]))).trace(TraceEntry("public.entries", "insert"))
    counts = cascade.totals(1).counts
    # no_delete raises before the row goes: the handler catches it, the delete may not happen
    assert counts[("write", "public.accounts", "delete")] == (0, 1)
    assert counts[("firing", "public.accounts.no_delete")] == (0, 1)
    # what follows the protected block still runs
    assert counts[("write", "public.audit_log", "insert")] == (1, 1)
    assert cascade.fails == "no"


def test_for_in_execute_is_dynamic_sql_folded_per_trigger(tmp_path: Path) -> None:
    from analyzer.effects import fold_dynamic
    from analyzer.guards import FiringContext

    body = body_effects(
        tmp_path,
        trigger_body(
            "FOR r IN EXECUTE format('DELETE FROM public.%I WHERE id = $1 RETURNING id', "
            "TG_TABLE_NAME || '_log') USING OLD.id LOOP\n  NULL;\nEND LOOP;",
            declare="DECLARE r record;\n",
        ),
    )
    (dynamic,) = [e for e in body.effects if isinstance(e, DynamicEffect)]
    assert fold_dynamic(dynamic, FiringContext(table="public.audit")) == (
        "DELETE FROM public.audit_log WHERE id = OLD.id RETURNING id"
    )


@pytest.mark.parametrize(
    ("statement", "raised"),
    [
        ("ASSERT NEW.id > 0;", [("assert_failure", "assertion failed", False)]),
        (
            "ASSERT NEW.id > 0, 'id must be positive';",
            [("assert_failure", "id must be positive", False)],
        ),
        ("ASSERT TG_OP = 'INSERT';", [("assert_failure", "assertion failed", False)]),
    ],
)
def test_assert_raises_when_its_condition_is_false(
    tmp_path: Path, statement: str, raised: list[tuple[str, str, bool]]
) -> None:
    from analyzer.effects import RaiseEffect

    body = body_effects(tmp_path, trigger_body(statement))
    found = [
        (e.condition, e.message, e.guard.is_always)
        for e in body.effects
        if isinstance(e, RaiseEffect)
    ]
    assert found == raised


@pytest.mark.parametrize(
    ("query", "table", "folded"),
    [
        (
            "'INSERT INTO ' || TG_RELID::regclass || '_log SELECT ($1).*'",
            "public.entries",
            "INSERT INTO entries_log SELECT (NEW).*",
        ),
        (
            "format('INSERT INTO %s_log SELECT ($1).*', TG_RELID::regclass)",
            "audit.Entries",
            'INSERT INTO audit."Entries"_log SELECT (NEW).*',
        ),
        (
            "'INSERT INTO public.' || lower(TG_OP) || '_log SELECT ($1).*'",
            "public.entries",
            "INSERT INTO public.insert_log SELECT (NEW).*",
        ),
    ],
)
def test_generic_audit_spellings_fold(tmp_path: Path, query: str, table: str, folded: str) -> None:
    from analyzer.effects import fold_dynamic
    from analyzer.guards import FiringContext

    body = body_effects(tmp_path, trigger_body(f"EXECUTE {query} USING NEW;"))
    (dynamic,) = [e for e in body.effects if isinstance(e, DynamicEffect)]
    assert fold_dynamic(dynamic, FiringContext(op="INSERT", table=table)) == folded


def test_tg_variables_passed_to_a_helper_are_constants_of_the_firing(tmp_path: Path) -> None:
    sql = (
        "CREATE FUNCTION log_change(p_table text, p_op text) RETURNS void "
        "LANGUAGE plpgsql AS $$\nBEGIN\n"
        "IF p_op = 'DELETE' THEN\n"
        "  EXECUTE format('INSERT INTO public.%I (note) VALUES (%L)', p_table || '_log', p_op);\n"
        "END IF;\nEND $$;\n"
        "CREATE TABLE entries_log (id bigserial PRIMARY KEY, note text);\n"
        "CREATE FUNCTION changed() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "PERFORM log_change(TG_TABLE_NAME, TG_OP);\nRETURN NULL;\nEND $$;\n"
        "CREATE TRIGGER changed AFTER INSERT OR DELETE ON entries FOR EACH ROW "
        "EXECUTE FUNCTION changed();\n"
    )
    deleted = _trace_counts(tmp_path, sql, "public.entries", "delete")
    assert deleted[("write", "public.entries_log", "insert")] == (1, 1)
    assert deleted["unknowns"] == []
    inserted = _trace_counts(tmp_path, sql, "public.entries", "insert")
    assert ("write", "public.entries_log", "insert") not in inserted
    assert inserted["unknowns"] == []


@pytest.mark.parametrize(
    ("query", "folded"),
    [
        (
            "format('UPDATE public.%I SET n = n + 1 WHERE account_id = %L', TG_ARGV[0], "
            "NEW.account_id)",
            "UPDATE public.daily SET n = n + 1 WHERE account_id = NEW.account_id",
        ),
        (
            "'DELETE FROM public.' || TG_ARGV[0] || ' WHERE account_id = ' "
            "|| quote_nullable(OLD.account_id::text)",
            "DELETE FROM public.daily WHERE account_id = OLD.account_id",
        ),
        # %s and || of a row value could be any SQL text: not folded
        ("format('DELETE FROM public.%I WHERE account_id = %s', TG_ARGV[0], NEW.account_id)", None),
        ("format('DELETE FROM public.%I WHERE id = %L', NEW.account_id, NEW.id)", None),
    ],
)
def test_a_row_value_quoted_as_a_literal_keeps_the_statement_known(
    tmp_path: Path, query: str, folded: str | None
) -> None:
    from analyzer.effects import fold_dynamic
    from analyzer.guards import FiringContext

    body = body_effects(tmp_path, trigger_body(f"EXECUTE {query};"))
    (dynamic,) = [e for e in body.effects if isinstance(e, DynamicEffect)]
    context = FiringContext(op="INSERT", table="public.entries", trigger_arguments=("daily",))
    assert fold_dynamic(dynamic, context) == folded


@pytest.mark.parametrize(
    ("statements", "argument", "folded"),
    [
        ("", "daily", "DELETE FROM public.daily"),
        # assigned once from its own value: the argument, changed
        ("p_table := lower(p_table) || '_x';", "DAILY", "DELETE FROM public.daily_x"),
        # assigned under a condition: the argument may not be what the EXECUTE sees
        ("IF random() > 0.5 THEN p_table := 'entries'; END IF;", "daily", None),
    ],
)
def test_a_parameter_the_body_changes_is_not_the_argument(
    tmp_path: Path, statements: str, argument: str, folded: str | None
) -> None:
    from sqlglot import exp

    from analyzer.effects import fold_dynamic
    from analyzer.guards import FiringContext

    path = tmp_path / "schema.sql"
    path.write_text(
        SCHEMA + "CREATE FUNCTION f(p_table text) RETURNS void LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{statements}\nEXECUTE 'DELETE FROM public.' || p_table;\nEND $$;\n",
        encoding="utf-8",
    )
    body = analyze_bodies(load([str(path)])).functions["public.f(text)"]
    (dynamic,) = [e for e in body.effects if isinstance(e, DynamicEffect)]
    context = FiringContext(arguments={"p_table": exp.Literal.string(argument)})
    assert fold_dynamic(dynamic, context) == folded


def test_bodies_survive_pickling_for_jobs_workers(tmp_path: Path) -> None:
    """--jobs workers send BodyEffects back pickled; one that fails to pickle is analysed
    again in the parent, silently losing the parallelism."""
    import pickle

    from analyzer.effects import RaiseEffect

    body = body_effects(
        tmp_path,
        trigger_body(
            "BEGIN\n  EXECUTE format('DELETE FROM public.%I', TG_TABLE_NAME || '_log');\n"
            "EXCEPTION WHEN unique_violation THEN NULL;\nEND;\n"
            "RAISE EXCEPTION 'stop %', NEW.id;"
        ),
    )
    (dynamic,) = [e for e in body.effects if isinstance(e, DynamicEffect)]
    assert dynamic.template is not None
    assert body.handled == {dynamic.location: frozenset({"unique_violation"})}
    assert [e for e in body.effects if isinstance(e, RaiseEffect)]
    copy = pickle.loads(pickle.dumps(body))
    assert copy == body
    assert copy.handled == body.handled
    (copied,) = [e for e in copy.effects if isinstance(e, DynamicEffect)]
    assert copied.template == dynamic.template


def test_insert_select_where_not_exists_may_insert_nothing(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body(
            "INSERT INTO daily (day, account_id) SELECT current_date, NEW.account_id\n"
            "WHERE NOT EXISTS (SELECT 1 FROM daily WHERE account_id = NEW.account_id);"
        ),
    )
    (write,) = writes(body)
    assert (write.kind, write.keyed_by, write.max_rows) == ("insert", "set", 1)


def test_insert_select_without_where_is_one_certain_row(tmp_path: Path) -> None:
    body = body_effects(
        tmp_path,
        trigger_body("INSERT INTO daily (day, account_id) SELECT current_date, NEW.account_id;"),
    )
    (write,) = writes(body)
    assert (write.keyed_by, write.guard) == ("row", Guard.always())


@pytest.mark.parametrize(
    ("statement", "settles"),
    [
        ("UPDATE audit_log SET note = 'done' WHERE id = NEW.id AND note = 'pending'", ("note",)),
        ("UPDATE audit_log SET note = 'done' WHERE id = NEW.id AND note <> 'done'", ("note",)),
        ("UPDATE audit_log SET note = 'x' WHERE id = NEW.id AND note IS NULL", ("note",)),
        ("UPDATE audit_log SET note = NULL WHERE id = NEW.id AND note IS NOT NULL", ("note",)),
        ("UPDATE daily SET n = 1 WHERE account_id = NEW.id AND n = 0", ("n",)),
        ("UPDATE audit_log SET note = 'x' WHERE id = NEW.id AND NOT (note IS NOT NULL)", ("note",)),
        # Look-alikes: the row may still match.
        ("UPDATE daily SET n = 1.0 WHERE account_id = NEW.id AND n = 1", ()),
        ("UPDATE audit_log SET note = 'Done' WHERE id = NEW.id AND note = 'done'", ()),
        ("UPDATE audit_log SET note = 'x' WHERE id = NEW.id AND note IS NOT NULL", ()),
        ("UPDATE audit_log SET note = lower(note) WHERE id = NEW.id AND note IS NULL", ()),
        ("UPDATE audit_log SET note = 'x' WHERE id = NEW.id OR note IS NULL", ()),
    ],
)
def test_update_that_sets_what_its_where_excludes(
    tmp_path: Path, statement: str, settles: tuple[str, ...]
) -> None:
    (write,) = writes(body_effects(tmp_path, trigger_body(statement + ";")))
    assert write.settles == settles
