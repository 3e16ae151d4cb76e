"""Fold a PL/pgSQL string expression to its text, as the server computes it at run time.

Dynamic SQL (`EXECUTE format('UPDATE %I …', TG_ARGV[0])`) is often fully determined by
the trigger that fires it: its name, table, arguments and operation. `fold` computes the
text of string literals, `||`, `format()` (%s %I %L %%, positions `%1$I`, widths),
`quote_ident`, `quote_literal`, `quote_nullable`, `concat`, `lower` and `upper`, asking
`resolve` for the value of every other leaf (a TG_* variable, a parameter, a cast such
as `TG_RELID::regclass`). NULL is `None`, as in SQL:
`||` with NULL is NULL, `format('%s', NULL)` is '' and `%L` of NULL is `NULL`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from sqlglot import exp


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
Value = str | None | _Unknown
Resolver = Callable[[exp.Expr], Value]
StandIn = Callable[[exp.Expr], str | None]

# Keywords quote_ident() quotes: every keyword category except the unreserved ones.
_QUOTED_KEYWORD_LIST = """
    all analyse analyze and any array as asc asymmetric authorization between bigint binary
    bit boolean both case cast char character check coalesce collate collation column
    concurrently constraint create cross current_catalog current_date current_role
    current_schema current_time current_timestamp current_user dec decimal default
    deferrable desc distinct do else end except exists extract false fetch float for
    foreign freeze from full grant greatest group grouping having ilike in initially inner
    inout int integer intersect interval into is isnull join json lateral leading least left
    like limit localtime localtimestamp national natural nchar none normalize not notnull
    null nullif numeric offset on only or order out outer overlaps overlay placing position
    precision primary real references returning right row select session_user setof
    similar smallint some substring symmetric system_user table tablesample then time
    timestamp to trailing treat trim true union unique user using values varchar variadic
    verbose when where window with xmlattributes xmlconcat xmlelement xmlexists xmlforest
    xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable
"""
_QUOTED_KEYWORDS = frozenset(_QUOTED_KEYWORD_LIST.split())
_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_$]*")
_SPEC = re.compile(r"%(?:(\d+)\$)?(-)?(\d+)?([sIL%])")


def quote_ident(text: str) -> str:
    if _PLAIN_IDENTIFIER.fullmatch(text) and text not in _QUOTED_KEYWORDS:
        return text
    return '"' + text.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    if "\\" in text:
        return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + text.replace("'", "''") + "'"


def fold(node: exp.Expr | None, resolve: Resolver, stand_in: StandIn | None = None) -> Value:
    """The text `node` evaluates to, None for NULL, UNKNOWN when it cannot be told.

    `stand_in` gives SQL for a value known only at run time that the text quotes as a
    literal (`%L`, `quote_literal`, `quote_nullable`): `NEW.id` for `%L` of NEW.id. The
    text then differs from the server's only in that literal, so it writes, reads and
    keys the same rows."""
    return _Folder(resolve, stand_in).fold(node)


class _Folder:
    def __init__(self, resolve: Resolver, stand_in: StandIn | None) -> None:
        self.resolve = resolve
        self.stand_in = stand_in

    def literal(self, node: exp.Expr, value: Value, nullable: bool) -> Value:
        """`node`'s value quoted as a literal (quote_literal, or %L / quote_nullable)."""
        if isinstance(value, _Unknown):
            return self.stand_in(node) if self.stand_in else UNKNOWN
        if value is None:
            return "NULL" if nullable else None
        return quote_literal(value)

    def fold(self, node: exp.Expr | None) -> Value:
        return _fold(self, node)


def _fold(folder: _Folder, node: exp.Expr | None) -> Value:
    fold = folder.fold
    if node is None:
        return UNKNOWN
    if isinstance(node, exp.Paren):
        return fold(node.this)
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEXT_TYPES):
        return fold(node.this)
    if isinstance(node, (exp.Lower, exp.Upper)):
        value = fold(node.this)
        if not isinstance(value, str):
            return value
        return value.lower() if isinstance(node, exp.Lower) else value.upper()
    if isinstance(node, exp.DPipe):
        left, right = fold(node.this), fold(node.expression)
        if left is None or right is None:
            return None
        if isinstance(left, _Unknown) or isinstance(right, _Unknown):
            return UNKNOWN
        return left + right
    if isinstance(node, exp.Format):
        return _format(folder, [node.this, *node.expressions])
    if isinstance(node, exp.Concat):
        return _concat(folder, node.expressions)
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        arguments = list(node.expressions)
        if name == "format" and arguments:
            return _format(folder, arguments)
        if name == "concat":
            return _concat(folder, arguments)
        if name in {"quote_literal", "quote_nullable"} and len(arguments) == 1:
            value = fold(arguments[0])
            return folder.literal(arguments[0], value, name == "quote_nullable")
        if name == "quote_ident" and len(arguments) == 1:
            value = fold(arguments[0])
            return quote_ident(value) if isinstance(value, str) else value
        return UNKNOWN
    if isinstance(node, (exp.Column, exp.Bracket, exp.Cast)):
        return folder.resolve(node)  # a variable, TG_ARGV[n], or a cast such as TG_RELID::regclass
    return UNKNOWN


def _concat(folder: _Folder, arguments: list[exp.Expr]) -> Value:
    parts = [folder.fold(a) for a in arguments]
    if any(isinstance(p, _Unknown) for p in parts):
        return UNKNOWN
    return "".join(p for p in parts if isinstance(p, str))


def _format(folder: _Folder, arguments: list[exp.Expr]) -> Value:
    """format(template, args…) with PostgreSQL's rules for positions and NULLs."""
    template = folder.fold(arguments[0])
    if not isinstance(template, str):
        return template
    values = [folder.fold(a) for a in arguments[1:]]
    out: list[str] = []
    position = 0
    last = 0
    for match in _SPEC.finditer(template):
        if "%" in template[last : match.start()]:
            return UNKNOWN  # a specifier this folder does not know (`%*s`): do not guess
        out.append(template[last : match.start()])
        last = match.end()
        explicit, left_align, width, spec = match.groups()
        if spec == "%":
            out.append("%")
            continue
        index = int(explicit) - 1 if explicit else position
        position = index + 1
        if index >= len(values):
            return UNKNOWN  # the server raises "too few arguments for format()"
        value = values[index]
        if spec == "L":
            literal = folder.literal(arguments[1 + index], value, nullable=True)
            if not isinstance(literal, str):
                return UNKNOWN
            text = literal
        elif isinstance(value, _Unknown):
            return UNKNOWN
        elif spec == "I":
            if value is None:
                return UNKNOWN  # "null values cannot be formatted as an SQL identifier"
            text = quote_ident(value)
        else:
            text = value or ""
        if width:
            text = text.ljust(int(width)) if left_align else text.rjust(int(width))
        out.append(text)
    if "%" in template[last:]:
        return UNKNOWN  # a specifier this folder does not know (`%*s`): do not guess
    out.append(template[last:])
    return "".join(out)
