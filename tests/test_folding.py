"""Dynamic SQL text folded as PostgreSQL computes it: format(), quote_*(), ||, NULLs."""

from __future__ import annotations

import pytest
from sqlglot import exp

from analyzer.folding import UNKNOWN, Value, fold, quote_ident, quote_literal
from analyzer.parse import parse_expression

VALUES: dict[str, Value] = {"tbl": "Orders", "name": "order_items", "nothing": None}


def folded(expression: str) -> Value:
    tree = parse_expression(f"SELECT {expression}")
    assert isinstance(tree, exp.Select)

    def resolve(node: exp.Expr) -> Value:
        return VALUES.get(node.sql(), UNKNOWN)

    return fold(tree.expressions[0], resolve)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("'a' || 'b'", "ab"),
        ("'a' || nothing", None),  # || with NULL is NULL
        ("format('%I.%I', 'public', name)", "public.order_items"),
        ("format('%I', tbl)", '"Orders"'),  # quote_ident keeps case by quoting
        ("format('%I', 'select')", '"select"'),  # reserved words are quoted
        ("format('%I', 'name')", "name"),  # unreserved keywords are not
        ("format('%L', 'it''s')", "'it''s'"),
        ("format('%L', nothing)", "NULL"),
        ("format('x%sy', nothing)", "xy"),  # %s of NULL is empty
        # An unnumbered specifier after %n$ takes argument n + 1: here the second.
        ("format('%2$s-%1$s-%s', 'a', 'b')", "b-a-b"),
        ("format('100%% %s', 'sure')", "100% sure"),
        ("format('[%5s|%-5s]', 'ab', 'cd')", "[   ab|cd   ]"),
        ("quote_ident(name || '_history')", "order_items_history"),
        ("quote_literal(nothing)", None),
        ("quote_nullable(nothing)", "NULL"),
        ("concat('a', nothing, 'b')", "ab"),
        ("'x' || CAST(tbl AS TEXT)", "xOrders"),
        ("lower(tbl) || upper('_x')", "orders_X"),
    ],
)
def test_fold(expression: str, expected: Value) -> None:
    assert folded(expression) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "format('%I', nothing)",  # the server raises: NULL as an identifier
        "format('%s %s', 'only one')",  # too few arguments: the server raises
        "format('%*s', 3, 'x')",  # a width taken from the arguments: not folded
        "format('%s', other)",  # a value known only at run time
        "md5(name)",  # a function the folder does not evaluate
        "'a' || other",
    ],
)
def test_what_cannot_be_folded_stays_unknown(expression: str) -> None:
    assert folded(expression) is UNKNOWN


def test_quoting_helpers() -> None:
    assert quote_ident('we"ird') == '"we""ird"'
    assert quote_ident("_x1$") == "_x1$"
    assert quote_literal("a\\b") == "E'a\\\\b'"


def test_a_stand_in_replaces_an_unknown_value_only_where_it_is_quoted_as_a_literal() -> None:
    tree = parse_expression(
        "SELECT format('%L|%s', other, 'x'), quote_literal(other), quote_ident(other), "
        "quote_nullable(nothing), format('%L', 'it''s')"
    )
    assert isinstance(tree, exp.Select)

    def resolve(node: exp.Expr) -> Value:
        return VALUES.get(node.sql(), UNKNOWN)

    def stand_in(node: exp.Expr) -> str | None:
        return f"<{node.sql()}>"

    assert [fold(e, resolve, stand_in) for e in tree.expressions] == [
        "<other>|x",
        "<other>",
        UNKNOWN,  # an identifier decides which table: no stand-in
        "NULL",
        "'it''s'",  # known values are quoted as the server quotes them
    ]
    assert fold(tree.expressions[0], resolve) is UNKNOWN
