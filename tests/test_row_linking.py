"""A row-keyed UPDATE/DELETE made by a trigger counts for sure only where its row exists.

PostgreSQL updates 0 rows when no row has the key. The schema guarantees the row when the
key is the trigger row's NOT NULL foreign key to exactly the target's referenced columns
(NEW after the row is written, or OLD), or the trigger row itself, or an earlier
statement of the same body certainly made or found it (INSERT … ON CONFLICT); values reach
the key unchanged through variables and helper-function parameters. Anything else is 0..1.
"""

from __future__ import annotations

from textwrap import dedent

import pytest

from analyzer.cascade import TraceEntry, Tracer, totals_document, trace_call
from analyzer.ddl import build_catalog
from analyzer.graph import build_model
from analyzer.source import SourceFile

TABLES = """
CREATE TABLE public.parents (
    id bigint PRIMARY KEY,
    code text NOT NULL UNIQUE,
    children integer NOT NULL DEFAULT 0
);
CREATE TABLE public.children (
    id bigint PRIMARY KEY,
    parent_id bigint NOT NULL REFERENCES public.parents (id),
    other_parent_id bigint REFERENCES public.parents (id),
    parent_code text NOT NULL,
    note text
);
"""


def tracer(
    functions: str, trigger: str = "AFTER INSERT OR UPDATE OR DELETE", after: str = ""
) -> Tracer:
    text = TABLES + dedent(functions)
    text += f"""
CREATE TRIGGER children_count {trigger} ON public.children
    FOR EACH ROW EXECUTE FUNCTION public.count_child();
{after}
"""
    return Tracer(build_model(build_catalog([SourceFile.from_text("s.sql", text)])))


def trigger_function(body: str, declare: str = "") -> str:
    return f"""
CREATE FUNCTION public.count_child() RETURNS trigger LANGUAGE plpgsql AS $$
{declare}
BEGIN
{body}
    RETURN NULL;
END;
$$;
"""


def parent_updates(t: Tracer, operation: str = "insert") -> tuple[int, int]:
    totals = t.trace(TraceEntry("public.children", operation)).totals()
    low, high = (totals_document(totals, bound)["row_writes"] for bound in (0, 1))
    assert isinstance(low, dict) and isinstance(high, dict)
    zero = {"update": 0}
    return low.get("public.parents", zero)["update"], high.get("public.parents", zero)["update"]


BUMP = "UPDATE public.parents SET children = children + 1 WHERE {}"


@pytest.mark.parametrize(
    ("where", "declare", "before", "expected"),
    [
        # The NOT NULL foreign key children.parent_id -> parents.id: the row exists.
        ("id = NEW.parent_id", "", "", (1, 1)),
        ("id = NEW.parent_id::bigint", "", "", (1, 1)),
        ("id = v_parent", "DECLARE v_parent bigint;", "v_parent := NEW.parent_id;", (1, 1)),
        ("id = v_parent", "DECLARE v_parent bigint := NEW.parent_id;", "", (1, 1)),
        (
            "id = v_parent",
            "DECLARE v_parent bigint;",
            "SELECT NEW.parent_id INTO v_parent;",
            (1, 1),
        ),
        # A nullable foreign key checks nothing when it is NULL (MATCH SIMPLE).
        ("id = NEW.other_parent_id", "", "", (0, 1)),
        # No foreign key from parent_code, although parents.code is unique.
        ("code = NEW.parent_code", "", "", (0, 1)),
        # The right key, but the WHERE clause tests more than the key.
        ("id = NEW.parent_id AND children > 0", "", "", (0, 1)),
        # A value from elsewhere: a constant, a lookup, a variable changed in a loop.
        ("id = 7", "", "", (0, 1)),
        (
            "id = v_parent",
            "DECLARE v_parent bigint;",
            "SELECT p.id INTO v_parent FROM public.parents AS p WHERE p.id = NEW.parent_id;",
            (0, 1),
        ),
        (
            "id = v_parent",
            "DECLARE v_parent bigint := NEW.parent_id;",
            "FOR i IN 1..2 LOOP v_parent := i; END LOOP;",
            (0, 1),
        ),
    ],
)
def test_after_insert_write_keyed_by_the_row(
    where: str, declare: str, before: str, expected: tuple[int, int]
) -> None:
    body = before + "\n" + BUMP.format(where) + ";"
    assert parent_updates(tracer(trigger_function(body, declare)), "insert") == expected


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        # Checked once the row is written: the insert goes on only if the parent exists.
        ("", (1, 1)),
        ("NEW.note := 'counted';", (1, 1)),
        # A BEFORE trigger changes the key: the parent checked is another one.
        ("NEW.parent_id := NEW.other_parent_id;", (0, 1)),
        # A BEFORE trigger may skip the row: then no key is checked at all.
        ("IF NEW.note IS NULL THEN RETURN NULL; END IF;", (0, 1)),
    ],
)
def test_a_before_trigger_sees_the_key_the_foreign_key_will_check(
    assignment: str, expected: tuple[int, int]
) -> None:
    body = BUMP.format("id = NEW.parent_id") + ";"
    function = trigger_function(body).replace("RETURN NULL", "RETURN NEW")
    function += f"""
CREATE FUNCTION public.fix_child() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {assignment}
    RETURN NEW;
END;
$$;
"""
    after = """
CREATE TRIGGER children_fix BEFORE INSERT ON public.children
    FOR EACH ROW EXECUTE FUNCTION public.fix_child();
"""
    t = tracer(function, trigger="BEFORE INSERT", after=after)
    assert parent_updates(t, "insert") == expected


def test_old_or_new_by_tg_op_follows_the_event() -> None:
    body = (
        """
    IF TG_OP = 'DELETE' THEN
        v_parent := OLD.parent_id;
    ELSE
        v_parent := NEW.parent_id;
    END IF;
    """
        + BUMP.format("id = v_parent")
        + ";"
    )
    t = tracer(trigger_function(body, "DECLARE v_parent bigint;"))
    assert [parent_updates(t, op) for op in ("insert", "update", "delete")] == [(1, 1)] * 3


def test_new_in_a_delete_trigger_is_null() -> None:
    body = BUMP.format("id = NEW.parent_id") + ";"
    assert parent_updates(tracer(trigger_function(body)), "delete") == (0, 1)


HELPER = """
CREATE FUNCTION public.bump_parent(p_parent bigint) RETURNS void LANGUAGE sql AS $$
    UPDATE public.parents SET children = children + 1 WHERE id = p_parent;
$$;
"""


def test_a_helper_parameter_fed_from_the_trigger_row_is_linked() -> None:
    t = tracer(HELPER + trigger_function("PERFORM public.bump_parent(NEW.parent_id);"))
    assert parent_updates(t, "insert") == (1, 1)
    t = tracer(HELPER + trigger_function("PERFORM public.bump_parent(NEW.other_parent_id);"))
    assert parent_updates(t, "insert") == (0, 1)


def test_a_helper_called_directly_gets_any_value() -> None:
    t = tracer(HELPER + trigger_function("PERFORM public.bump_parent(NEW.parent_id);"))
    helper = t.catalog.functions["public.bump_parent(bigint)"]
    cascade = trace_call(t, helper, ())
    low = totals_document(cascade.totals(), 0)["row_writes"]
    high = totals_document(cascade.totals(), 1)["row_writes"]
    assert (low, high) == (
        {},
        {"public.parents": {"insert": 0, "update": 1, "delete": 0, "upsert": 0}},
    )


def test_the_trigger_row_itself() -> None:
    text = trigger_function("UPDATE public.children SET note = 'seen' WHERE id = NEW.id;")
    t = tracer(text, trigger="AFTER INSERT")
    totals = t.trace(TraceEntry("public.children", "insert")).totals()
    assert totals.counts[("write", "public.children", "update")] == (1, 1)


def test_foreign_keys_are_not_enforced_after_disable_trigger_all() -> None:
    function = trigger_function(BUMP.format("id = NEW.parent_id") + ";")
    # DISABLE TRIGGER ALL turns off the foreign key checks and children_count itself;
    # the user trigger is enabled again, the checks stay off.
    after = (
        "ALTER TABLE public.children DISABLE TRIGGER ALL;\n"
        "ALTER TABLE public.children ENABLE TRIGGER children_count;"
    )
    assert parent_updates(tracer(function, after=after), "insert") == (0, 1)


COUNTERS = """
CREATE TABLE public.daily_counts (day date PRIMARY KEY, n integer NOT NULL DEFAULT 0);
"""


def counter_updates(body: str) -> tuple[int, int]:
    t = tracer(COUNTERS + trigger_function(body), trigger="AFTER INSERT")
    totals = t.trace(TraceEntry("public.children", "insert")).totals()
    return totals.counts.get(("write", "public.daily_counts", "update"), (0, 0))


ENSURE = "INSERT INTO public.daily_counts (day) VALUES (current_date) ON CONFLICT {};"
COUNT = "UPDATE public.daily_counts SET n = n + 1 WHERE day = current_date;"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # The row is made (or found) by the statement before: the update finds it.
        (ENSURE.format("DO NOTHING") + COUNT, (1, 1)),
        (ENSURE.format("(day) DO NOTHING") + COUNT, (1, 1)),
        (ENSURE.format("(day) DO UPDATE SET n = daily_counts.n") + COUNT, (1, 1)),
        # Made only under a condition, or for another key: not for sure.
        (f"IF NEW.note IS NULL THEN {ENSURE.format('DO NOTHING')} END IF; {COUNT}", (0, 1)),
        (
            ENSURE.format("DO NOTHING")
            + "UPDATE public.daily_counts SET n = n + 1 WHERE day = current_date - 1;",
            (0, 1),
        ),
        (COUNT, (0, 1)),
    ],
)
def test_a_row_made_by_an_earlier_statement_exists(body: str, expected: tuple[int, int]) -> None:
    assert counter_updates(body) == expected


@pytest.mark.parametrize(
    ("key", "after", "expected"),
    [
        ("REFERENCES public.parents (id)", "", (1, 1)),
        ("REFERENCES public.parents (id) NOT DEFERRABLE", "", (1, 1)),
        # Checked at commit: until then a child may reference a parent that is not there.
        ("REFERENCES public.parents (id) DEFERRABLE INITIALLY DEFERRED", "", (0, 1)),
        # SET CONSTRAINTS … DEFERRED can defer it in any transaction.
        ("REFERENCES public.parents (id) DEFERRABLE", "", (0, 1)),
        # Rows from before the key was added were never checked.
        (
            "",
            "ALTER TABLE public.kids ADD CONSTRAINT kids_parent FOREIGN KEY (parent_id) "
            "REFERENCES public.parents (id) NOT VALID;",
            (0, 1),
        ),
        (
            "",
            "ALTER TABLE public.kids ADD CONSTRAINT kids_parent FOREIGN KEY (parent_id) "
            "REFERENCES public.parents (id);",
            (1, 1),
        ),
    ],
)
def test_deferrable_and_not_valid_keys_guarantee_nothing(
    key: str, after: str, expected: tuple[int, int]
) -> None:
    text = f"""
CREATE TABLE public.parents (id bigint PRIMARY KEY, children integer NOT NULL DEFAULT 0);
CREATE TABLE public.kids (id bigint PRIMARY KEY, parent_id bigint NOT NULL {key});
{after}
CREATE FUNCTION public.count_kid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.parents SET children = children + 1 WHERE id = NEW.parent_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER kids_count AFTER UPDATE ON public.kids
    FOR EACH ROW EXECUTE FUNCTION public.count_kid();
"""
    t = Tracer(build_model(build_catalog([SourceFile.from_text("k.sql", text)])))
    # An update of an old row: NOT VALID never checked it.
    totals = t.trace(TraceEntry("public.kids", "update", columns=("id",))).totals()
    assert totals.counts[("write", "public.parents", "update")] == expected


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        # NOT NULL: on INSERT and UPDATE coalesce(NEW.c, OLD.c) is NEW.c, on DELETE OLD.c.
        ("parent_id", [(1, 1)] * 3),
        # Nullable: NEW.c may be NULL (then it is OLD.c, or NULL on INSERT).
        ("other_parent_id", [(0, 1)] * 3),
    ],
)
def test_coalesce_of_new_and_old_is_the_rows_key(
    column: str, expected: list[tuple[int, int]]
) -> None:
    body = BUMP.format("id = v_parent") + ";"
    declare = f"DECLARE v_parent bigint := coalesce(NEW.{column}, OLD.{column});"
    t = tracer(trigger_function(body, declare))
    assert [parent_updates(t, op) for op in ("insert", "update", "delete")] == expected
