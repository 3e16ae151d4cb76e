"""Guards: which in-body conditions the cascade can decide on an unchanged update."""

from __future__ import annotations

import pytest

from analyzer.guards import ChangeAtom, FiringContext, Guard, guard_of
from analyzer.parse import parse_expression

UNCHANGED = FiringContext(op="UPDATE", changed_columns=frozenset())


def guard(text: str) -> Guard:
    return guard_of(parse_expression(text), text)


@pytest.mark.parametrize(
    ("condition", "column"),
    [
        ("OLD.active = false AND NEW.active = true", "active"),
        ("NOT OLD.active AND NEW.active", "active"),
        ("OLD.active IS NOT TRUE AND NEW.active IS TRUE", "active"),
        ("NEW.active <> true AND OLD.active", "active"),
        ("OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL", "deleted_at"),
        ("NEW.deleted_at IS NULL AND OLD.deleted_at IS DISTINCT FROM NULL", "deleted_at"),
        ("OLD.n > 0 AND NEW.n = 0", "n"),
        ("OLD.n <= 0 AND NEW.n > 0", "n"),
        ("OLD.n < 10 AND NEW.n >= 10", "n"),
        ("OLD.n > -1.5 AND NEW.n < -2", "n"),
        ("0 < OLD.n AND 0 = NEW.n", "n"),
        ("OLD.status <> 'x' AND NEW.status = 'x'", "status"),
        ("OLD.status IS DISTINCT FROM 'x' AND NEW.status = 'x'", "status"),
        ("NOT (OLD.status = 'x') AND NEW.status = 'x'", "status"),
        ("OLD.status = 'pending' AND NEW.status = 'paid'", "status"),
        ("OLD.status = 'draft' AND NEW.status IN ('sent', 'paid')", "status"),
        ("OLD.status IN ('a', 'b') AND NEW.status NOT IN ('a', 'b')", "status"),
        ("OLD.status = 'a' AND NEW.status <> ALL (ARRAY['a', 'b'])", "status"),
        ("OLD.status = 'a' AND NEW.status = ANY (ARRAY['b', 'c'])", "status"),
        ("NEW.version > OLD.version", "version"),
        ("OLD.n = 1 AND NEW.n = 2.0", "n"),
        ("lower(NEW.email) IS DISTINCT FROM lower(OLD.email)", "email"),
        ("coalesce(NEW.note, '') <> coalesce(OLD.note, '')", "note"),
        ("NEW.data ->> 'plan' <> OLD.data ->> 'plan'", "data"),
        ("date_trunc('day', OLD.at) < date_trunc('day', NEW.at)", "at"),
    ],
)
def test_transition_guards_imply_a_change(condition: str, column: str) -> None:
    parsed = guard(condition)
    assert all(ChangeAtom((column,), True) in alt for alt in parsed.alternatives)
    assert parsed.evaluate(UNCHANGED.decide) is False


@pytest.mark.parametrize(
    "condition",
    [
        "OLD.n > 0 AND NEW.n > 5",  # 6 passes both
        "OLD.n < 10 AND NEW.n > 0",
        "OLD.n = 1 AND NEW.n = 1.0",  # one number, two spellings
        "OLD.status <> 'x' AND NEW.status <> 'y'",
        "OLD.status IS DISTINCT FROM 'x' AND NEW.status IS DISTINCT FROM 'y'",
        "OLD.flag = 't' AND NEW.flag = 'true'",  # one boolean, two spellings
        "OLD.email = 'A' AND NEW.email = 'a'",  # equal under citext
        "OLD.code = '1' AND NEW.code = '01'",  # equal as numbers
        "OLD.s < 'b' AND NEW.s > 'c'",  # text order depends on the collation
        "OLD.c = 1 OR NEW.c = 2",
        "OLD.a = 1 AND NEW.b = 2",
        "NEW.n >= OLD.n",
        "OLD.deleted_at IS NULL AND NEW.deleted_at IS NULL",
        "lower(NEW.email) = lower(OLD.email)",
        "lower(NEW.email) <> upper(OLD.email)",
        "lower(NEW.email) <> lower(OLD.login)",
        "random() + NEW.n <> random() + OLD.n",  # volatile: differs for equal inputs
        "my_hash(NEW.email) <> my_hash(OLD.email)",  # user code may be volatile
        "NEW.a || OLD.b <> OLD.a || NEW.b",
    ],
)
def test_tests_one_value_can_pass_are_not_a_change(condition: str) -> None:
    parsed = guard(condition)
    assert not any(isinstance(a, ChangeAtom) for a in parsed.atoms())
    assert parsed.evaluate(UNCHANGED.decide) is None


def test_else_branch_lets_null_through() -> None:
    # ELSE of `IF OLD.c = 1` runs for OLD.c NULL too, and NEW.c IS NULL then holds: an
    # unchanged NULL reaches the branch, so no change is implied.
    else_branch = guard("OLD.c = 1").negate().and_(guard("NEW.c IS NULL"))
    assert str(else_branch) == "NEW.c IS NULL AND OLD.c IS DISTINCT FROM 1"
    assert else_branch.evaluate(UNCHANGED.decide) is None
    # The test itself (not the ELSE) rejects NULL: = 1 and IS NULL never meet.
    assert guard("OLD.c = 1").and_(guard("NEW.c IS NULL")).evaluate(UNCHANGED.decide) is False


def test_else_of_a_range_keeps_the_range_and_null() -> None:
    else_branch = guard("NEW.n > 0").negate()
    assert str(else_branch) == "NOT (NEW.n > 0)"
    assert str(guard("NEW.n > 0").negate().negate()) == "NEW.n > 0"


def test_one_value_cannot_pass_two_disjoint_tests() -> None:
    assert guard("NEW.s = 'a' AND NEW.s = 'b'").is_never
    assert guard("NEW.n > 3 AND NEW.n < 2").is_never
    assert guard("NEW.d IS NULL AND NEW.d = 1").is_never
    assert not guard("NEW.n > 3 AND NEW.n < 4").is_never


def test_renders_as_sql() -> None:
    assert str(guard("NEW.role IN ('user', 'assistant')")) == "NEW.role IN ('user', 'assistant')"
    assert (
        str(guard("NOT (NEW.role IN ('user', 'assistant'))"))
        == "NOT (NEW.role IN ('user', 'assistant'))"
    )
    assert str(guard("NEW.active")) == "NEW.active = TRUE"
    assert str(guard("NEW.s = 'x'").negate()) == "NEW.s IS DISTINCT FROM 'x'"
    assert str(guard("NEW.d IS NOT NULL")) == "NEW.d IS NOT NULL"


def test_a_function_of_several_columns_implies_one_of_them_changed() -> None:
    parsed = guard("NEW.first || ' ' || NEW.last <> OLD.first || ' ' || OLD.last")
    assert ChangeAtom(("first", "last"), True) in parsed.atoms()
    only_last = FiringContext(op="UPDATE", changed_columns=frozenset({"last"}))
    assert parsed.evaluate(UNCHANGED.decide) is False
    assert parsed.evaluate(only_last.decide) is None
