"""Tests of trigger arguments and of `IS [NOT] NULL`, decided per trigger and per call.

A generic trigger function reads its configuration from TG_ARGV, often through a local
variable (`v text = TG_ARGV[0]`); PostgreSQL gives NULL for an index past the trigger's
argument list, so `IF v IS NULL THEN RAISE …` never raises for a trigger that passes the
argument, and a branch for an optional argument never runs for a trigger without it.
sqlglot reads `x IS NOT NULL` as `Is(x, Null, negate=True)`: both polarities are tested.
"""

from __future__ import annotations

import pytest

from analyzer.cascade import TraceEntry, Tracer, outcome_document, totals_document
from analyzer.config import Config
from analyzer.ddl import build_catalog
from analyzer.graph import build_model
from analyzer.rules import Context, load_rules, run_rules
from analyzer.source import SourceFile

SCHEMA = """
CREATE TABLE public.accounts (id int PRIMARY KEY, events integer NOT NULL DEFAULT 0);
CREATE TABLE public.logins (id serial PRIMARY KEY, account_id int NOT NULL, place text);
CREATE TABLE public.payments (id serial PRIMARY KEY, account_id int NOT NULL);
CREATE TABLE public.places (name text PRIMARY KEY, visits integer NOT NULL DEFAULT 0);

CREATE FUNCTION public.count_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner_column text = TG_ARGV[0];
    place_column text := TG_ARGV[1];
    owner int;
    place text;
BEGIN
    IF owner_column IS NULL THEN
        RAISE EXCEPTION 'count_event needs the owner column';
    END IF;
    EXECUTE format('SELECT ($1).%I', owner_column) USING NEW INTO owner;
    IF place_column IS NOT NULL THEN
        EXECUTE format('SELECT ($1).%I', place_column) USING NEW INTO place;
        EXECUTE 'UPDATE public.places SET visits = visits + 1 WHERE name = $1' USING place;
    END IF;
    UPDATE public.accounts SET events = events + 1 WHERE id = owner;
    RETURN NULL;
END;
$$;

CREATE TRIGGER count_login AFTER INSERT ON public.logins
    FOR EACH ROW EXECUTE FUNCTION public.count_event('account_id', 'place');
CREATE TRIGGER count_payment AFTER INSERT ON public.payments
    FOR EACH ROW EXECUTE FUNCTION public.count_event('account_id');
"""


def tracer(text: str) -> Tracer:
    return Tracer(build_model(build_catalog([SourceFile.from_text("s.sql", text)])))


def writes(tracer: Tracer, table: str) -> dict[str, tuple[int | None, int | None]]:
    totals = tracer.trace(TraceEntry(table, "insert")).totals()
    low, high = (totals_document(totals, bound)["row_writes"] for bound in (0, 1))
    assert isinstance(low, dict) and isinstance(high, dict)
    return {
        f"{name} {kind}": (low.get(name, {}).get(kind, 0), high[name][kind])
        for name in sorted(high)
        for kind in ("insert", "update", "delete")
        if high[name][kind] != 0
    }


def test_a_local_holding_a_trigger_argument_is_decided_per_trigger() -> None:
    t = tracer(SCHEMA)
    assert writes(t, "public.logins") == {
        "public.accounts update": (0, 1),
        "public.logins insert": (1, 1),
        "public.places update": (0, 1),
    }
    # count_payment passes no second argument: TG_ARGV[1] is NULL, the branch never runs
    assert writes(t, "public.payments") == {
        "public.accounts update": (0, 1),
        "public.payments insert": (1, 1),
    }
    # both pass the first argument: the RAISE never runs
    for table in ("public.logins", "public.payments"):
        cascade = t.trace(TraceEntry(table, "insert"))
        assert outcome_document(cascade) == {"fails": "no", "errors": []}
        assert cascade.unknowns == []


def test_a_trigger_without_the_argument_certainly_fails() -> None:
    t = tracer(
        SCHEMA
        + """
CREATE TRIGGER count_bare AFTER DELETE ON public.payments
    FOR EACH ROW EXECUTE FUNCTION public.count_event();
"""
    )
    document = outcome_document(t.trace(TraceEntry("public.payments", "delete")))
    assert document["fails"] == "certainly"
    assert [e["message"] for e in document["errors"]] == ["count_event needs the owner column"]


def test_no_dynamic_sql_note_for_an_execute_no_trigger_reaches() -> None:
    catalog = build_catalog([SourceFile.from_text("s.sql", SCHEMA)])
    classes = [c for c in load_rules(Config())[0] if c.code == "RP302"]
    findings, diagnostics = run_rules(classes, Context(catalog, build_model(catalog), Config()))
    assert (findings, diagnostics) == ([], [])


HELPER = """
CREATE TABLE public.t (id int PRIMARY KEY);
CREATE TABLE public.log (id serial PRIMARY KEY, what text);
CREATE FUNCTION public.note(p text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p IS {test} THEN
        INSERT INTO public.log (what) VALUES (coalesce(p, 'none'));
    END IF;
END;
$$;
CREATE FUNCTION public.on_t() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.note({argument});
    RETURN NULL;
END;
$$;
CREATE TRIGGER on_t AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.on_t();
"""


@pytest.mark.parametrize(
    ("test", "argument", "inserts"),
    [
        ("NOT NULL", "'signed up'", (1, 1)),
        ("NOT NULL", "NULL", None),
        ("NULL", "'signed up'", None),
        ("NULL", "NULL", (1, 1)),
    ],
)
def test_is_null_and_is_not_null_of_a_constant_argument(
    test: str, argument: str, inserts: tuple[int, int] | None
) -> None:
    found = writes(tracer(HELPER.format(test=test, argument=argument)), "public.t")
    assert found.get("public.log insert") == inserts


COUNTER_CACHE = """
CREATE TABLE public.users (id int PRIMARY KEY, followers integer NOT NULL DEFAULT 0);
CREATE TABLE public.follows (
    user_id int NOT NULL REFERENCES public.users, follower_id int NOT NULL,
    PRIMARY KEY (user_id, follower_id)
);
CREATE FUNCTION public.increment_counter(table_name text, pk int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'UPDATE ' || table_name || ' SET followers = followers + 1 WHERE id = $1'
        USING pk;
END;
$$;
CREATE FUNCTION public.on_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t text := {value};
BEGIN
    {reassign}
    PERFORM public.increment_counter(t, NEW.user_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER follows_count AFTER INSERT ON public.follows
    FOR EACH ROW EXECUTE FUNCTION public.on_follow('users');
"""


@pytest.mark.parametrize(
    ("value", "reassign", "updates", "unknown"),
    [
        ("'users'", "", (1, 1), False),
        ("quote_ident(TG_ARGV[0])", "", (1, 1), False),
        ("'public.' || quote_ident(TG_ARGV[0])", "", (1, 1), False),
        # assigned twice: which text reaches the call is not a constant here
        ("'users'", "t := t || '_archive';", None, True),
    ],
)
def test_a_local_holding_fixed_text_reaches_the_callees_execute(
    value: str, reassign: str, updates: tuple[int, int] | None, unknown: bool
) -> None:
    t = tracer(COUNTER_CACHE.format(value=value, reassign=reassign))
    assert writes(t, "public.follows").get("public.users update") == updates
    cascade = t.trace(TraceEntry("public.follows", "insert"))
    assert [u.reason for u in cascade.unknowns] == (["dynamic SQL"] if unknown else [])
