"""Guards: the condition under which an effect happens, in disjunctive normal form.

A guard is a set of alternatives (OR), each a set of atoms (AND). Atoms are the condition
kinds the cascade can decide — TG_OP, change tests, pg_trigger_depth(), TG_WHEN/TG_LEVEL/
TG_TABLE_NAME, tests on parameters — and opaque text for everything else, which is kept,
never dropped. Evaluation is three-valued: True, False or None (cannot be decided).
"""

from __future__ import annotations

import operator
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import product

from sqlglot import exp

from analyzer.parse import parse_expression
from analyzer.plpgsql import render

OPS = frozenset({"INSERT", "UPDATE", "DELETE", "TRUNCATE"})
MAX_ALTERNATIVES = 64

Truth = bool | None
# A constant as a value: ("bool", True), ("num", Decimal("0")), ("str", "paid").
ValueKey = tuple[str, bool | Decimal | str]


@dataclass(frozen=True, order=True, slots=True)
class OpAtom:
    """TG_OP is one of `ops`."""

    ops: frozenset[str]

    def negate(self) -> Atom:
        return OpAtom(OPS - self.ops)

    def __str__(self) -> str:
        names = sorted(self.ops)
        if len(names) == 1:
            return f"TG_OP = '{names[0]}'"
        return "TG_OP IN (" + ", ".join(f"'{n}'" for n in names) + ")"


@dataclass(frozen=True, order=True, slots=True)
class ChangeAtom:
    """The row's `columns` (or the whole row: '*') changed (or not) in this update."""

    columns: tuple[str, ...]
    changed: bool

    def negate(self) -> Atom:
        return ChangeAtom(self.columns, not self.changed)

    def __str__(self) -> str:
        test = "IS DISTINCT FROM" if self.changed else "IS NOT DISTINCT FROM"
        if self.columns == ("*",):
            return f"NEW.* {test} OLD.*"
        if len(self.columns) == 1:
            return f"NEW.{self.columns[0]} {test} OLD.{self.columns[0]}"
        new = ", ".join(f"NEW.{c}" for c in self.columns)
        old = ", ".join(f"OLD.{c}" for c in self.columns)
        return f"ROW({new}) {test} ROW({old})"


@dataclass(frozen=True, order=True, slots=True)
class RowValueAtom:
    """NEW.column or OLD.column tested against constants: `NEW.status = 'paid'`.

    Alone it depends on the data. A test on OLD.c and one on NEW.c that no single value
    passes both (`OLD.active = false AND NEW.active = true`, `OLD.deleted_at IS NULL AND
    NEW.deleted_at IS NOT NULL`, `OLD.n > 0 AND NEW.n = 0`) imply that c changed, which
    the cascade can decide. `null_passes`: whether a NULL value may pass. A test reached
    through ELSE or NOT is the complement of the original, NULL included (the original
    test was not true), so negation flips it; `IS NULL` passes NULL, `= k` does not.
    """

    side: str  # new | old
    column: str
    op: str  # = <> < <= > >= in, not in, is null, is not null
    values: tuple[str, ...] = ()  # the constants, as SQL
    null_passes: bool = False
    keys: tuple[ValueKey, ...] = field(default=(), compare=False, hash=False, repr=False)

    def negate(self) -> Atom:
        return RowValueAtom(
            self.side,
            self.column,
            _COMPLEMENT[self.op],
            self.values,
            not self.null_passes,
            self.keys,
        )

    def __str__(self) -> str:
        subject = f"{self.side.upper()}.{self.column}"
        if self.op in {"is null", "is not null"}:
            return f"{subject} {self.op.upper()}"
        if self.null_passes:
            if self.op == "<>":
                return f"{subject} IS DISTINCT FROM {self.values[0]}"
            return f"NOT ({self.negate()})"
        if self.op in {"in", "not in"}:
            return f"{subject} {self.op.upper()} ({', '.join(self.values)})"
        return f"{subject} {self.op} {self.values[0]}"

    def non_null_values(self) -> _ValueSet | None:
        """The non-NULL values that pass; None when the constants are not understood."""
        if self.op == "is null":
            return _ValueSet("in", ())
        if self.op == "is not null":
            return _ValueSet("not in", ())
        keys = self.keys
        if not keys or len(keys) != len(self.values):
            return None
        if all(k[0] == "bool" for k in keys) and self.op in {"=", "<>", "in", "not in"}:
            chosen: set[ValueKey] = set(keys)
            if self.op in {"<>", "not in"}:
                both: set[ValueKey] = {("bool", True), ("bool", False)}
                chosen = both - chosen
            return _ValueSet("in", tuple(chosen))
        if self.op in {"=", "in"}:
            return _ValueSet("in", keys)
        if self.op in {"<>", "not in"}:
            return _ValueSet("not in", keys)
        if len(keys) == 1 and keys[0][0] == "num":
            return _ValueSet(self.op, keys)  # a range; text orders by collation, so not
        return None


@dataclass(frozen=True, order=True, slots=True)
class DepthAtom:
    """pg_trigger_depth() <op> value."""

    op: str
    value: int

    def negate(self) -> Atom:
        return DepthAtom(_NEGATED_COMPARISON[self.op], self.value)

    def __str__(self) -> str:
        return f"pg_trigger_depth() {self.op} {self.value}"


@dataclass(frozen=True, order=True, slots=True)
class ContextAtom:
    """TG_WHEN / TG_LEVEL / TG_TABLE_NAME / TG_TABLE_SCHEMA is one of `values`."""

    variable: str
    values: frozenset[str]
    negated: bool = False

    def negate(self) -> Atom:
        return ContextAtom(self.variable, self.values, not self.negated)

    def __str__(self) -> str:
        values = ", ".join(f"'{v}'" for v in sorted(self.values))
        return f"{self.variable} {'NOT IN' if self.negated else 'IN'} ({values})"


@dataclass(frozen=True, order=True, slots=True)
class ArgumentNullAtom:
    """TG_ARGV[n] IS NULL: the trigger was created with at most n arguments."""

    index: int
    negated: bool = False

    def negate(self) -> Atom:
        return ArgumentNullAtom(self.index, not self.negated)

    def __str__(self) -> str:
        return f"TG_ARGV[{self.index}] IS {'NOT ' if self.negated else ''}NULL"


@dataclass(frozen=True, order=True, slots=True)
class ParamAtom:
    """A condition that only involves the function's parameters and constants.

    `sql` is the condition as sqlglot renders it (`text` with its spacing kept, which
    string constants need), parsed again when a call's constant arguments decide it."""

    text: str
    negated: bool = False
    sql: str | None = field(default=None, compare=False, hash=False, repr=False)

    def negate(self) -> Atom:
        return ParamAtom(self.text, not self.negated, self.sql)

    def __str__(self) -> str:
        return f"NOT ({self.text})" if self.negated else self.text


@dataclass(frozen=True, order=True, slots=True)
class FoundAtom:
    """PL/pgSQL's FOUND (or a ROW_COUNT read just after the statement) as one statement of
    the body left it: whether that statement processed at least one row. `setter` names
    the statement: the position of its write among the body's effects, or a negative
    number for one whose rows are not followed (SELECT INTO, PERFORM, FETCH, a FOR loop).
    """

    setter: int
    found: bool = True

    def negate(self) -> Atom:
        return FoundAtom(self.setter, not self.found)

    def __str__(self) -> str:
        return "FOUND" if self.found else "NOT FOUND"


@dataclass(frozen=True, order=True, slots=True)
class ErrorAtom:
    """Inside an EXCEPTION handler: happens only when the protected block raised."""

    conditions: str

    def negate(self) -> Atom:
        return OpaqueAtom(f"no error ({self.conditions})")

    def __str__(self) -> str:
        return f"on error ({self.conditions})"


@dataclass(frozen=True, order=True, slots=True)
class OpaqueAtom:
    """Any other condition, kept as text; the cascade cannot decide it."""

    text: str
    negated: bool = False

    def negate(self) -> Atom:
        return OpaqueAtom(self.text, not self.negated)

    def __str__(self) -> str:
        return f"NOT ({self.text})" if self.negated else self.text


Atom = (
    OpAtom
    | ChangeAtom
    | RowValueAtom
    | DepthAtom
    | ContextAtom
    | ArgumentNullAtom
    | ParamAtom
    | FoundAtom
    | ErrorAtom
    | OpaqueAtom
)

_NEGATED_COMPARISON = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "=": "<>", "<>": "="}
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "<>": operator.ne,
}


_RANGE_TEST: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_COMPLEMENT = {
    "=": "<>",
    "<>": "=",
    "<": ">=",
    ">=": "<",
    ">": "<=",
    "<=": ">",
    "in": "not in",
    "not in": "in",
    "is null": "is not null",
    "is not null": "is null",
}
# Text that different types read as the same value under different spellings: booleans
# ('t', 'yes', 'on'), floats ('inf'), date/time words. Two other distinct words (after
# case folding, for citext) are distinct values of text, varchar or enum columns.
_AMBIGUOUS_WORDS = frozenset(
    {"t", "f", "true", "false", "y", "n", "yes", "no", "on", "off", "inf", "infinity"}
    | {"nan", "epoch", "now", "today", "tomorrow", "yesterday", "allballs"}
)
_PLAIN_WORD = re.compile(r"[A-Za-z_][A-Za-z_ -]*")


@dataclass(frozen=True)
class _ValueSet:
    """Non-NULL values: `in` a finite set, `not in` one, or a range (`<`, `>=`…) of a number."""

    kind: str
    keys: tuple[ValueKey, ...]


def _known_different(a: ValueKey, b: ValueKey) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "str":
        left, right = str(a[1]).strip().lower(), str(b[1]).strip().lower()
        return (
            left != right
            and all(_PLAIN_WORD.fullmatch(w) for w in (left, right))
            and not {left, right} & _AMBIGUOUS_WORDS
        )
    return a[1] != b[1]


def _known_outside(key: ValueKey, values: _ValueSet) -> bool:
    """The value `key` provably does not pass `values`."""
    if values.kind == "in":
        return all(_known_different(key, member) for member in values.keys)
    if values.kind == "not in":
        return key in values.keys
    if key[0] != "num":
        return False
    number, bound = key[1], values.keys[0][1]
    assert isinstance(number, Decimal) and isinstance(bound, Decimal)
    return not _RANGE_TEST[values.kind](number, bound)


def _ranges_disjoint(a: _ValueSet, b: _ValueSet) -> bool:
    lower, upper = (a, b) if a.kind in {">", ">="} else (b, a)
    if lower.kind not in {">", ">="} or upper.kind not in {"<", "<="}:
        return False  # two ranges in the same direction always meet
    low, high = lower.keys[0][1], upper.keys[0][1]
    assert isinstance(low, Decimal) and isinstance(high, Decimal)
    if high != low:
        return high < low
    return not (lower.kind == ">=" and upper.kind == "<=")


def disjoint(a: RowValueAtom, b: RowValueAtom) -> bool:
    """No single value (NULL included) passes both tests; False when unsure."""
    if a.null_passes and b.null_passes:
        return False
    left, right = a.non_null_values(), b.non_null_values()
    if left is None or right is None:
        return False
    if left.kind == "in":
        return all(_known_outside(k, right) for k in left.keys)
    if right.kind == "in":
        return all(_known_outside(k, left) for k in right.keys)
    if left.kind == "not in" or right.kind == "not in":
        return False
    return _ranges_disjoint(left, right)


def _simplify(conjunction: Iterable[Atom]) -> frozenset[Atom] | None:
    """Merge TG_OP atoms; None when the conjunction can never hold."""
    atoms = set(conjunction)
    op_atoms = [a for a in atoms if isinstance(a, OpAtom)]
    if op_atoms:
        allowed = OPS
        for op_atom in op_atoms:
            allowed = allowed & op_atom.ops
            atoms.discard(op_atom)
        if not allowed:
            return None
        if allowed != OPS:
            atoms.add(OpAtom(allowed))
    values = sorted(a for a in atoms if isinstance(a, RowValueAtom))
    for index, first in enumerate(values):
        for second in values[index + 1 :]:
            if first.column != second.column or not disjoint(first, second):
                continue
            if first.side == second.side:
                return None  # one value cannot pass both tests
            # No value passes the test on OLD.c and the one on NEW.c: c changed.
            atoms.add(ChangeAtom((first.column,), True))
    for atom in list(atoms):
        if atom.negate() in atoms and not isinstance(atom, ErrorAtom):
            return None
    return frozenset(atoms)


@dataclass(frozen=True)
class Guard:
    """OR of ANDs of atoms. `Guard.always()` has one empty alternative; `never()` none."""

    alternatives: frozenset[frozenset[Atom]]

    @staticmethod
    def always() -> Guard:
        return _ALWAYS

    @staticmethod
    def never() -> Guard:
        return _NEVER

    def __reduce__(self) -> tuple[Callable[[Alternatives], Guard], tuple[Alternatives]]:
        # Bodies analysed by --jobs workers arrive pickled, each effect with its own copy
        # of a guard that thousands of effects share (scale-10k: 6,271 guards, 20 values).
        return _canonical_guard, (self.alternatives,)

    @staticmethod
    def of(atom: Atom) -> Guard:
        simplified = _simplify([atom])
        return Guard(frozenset({simplified})) if simplified is not None else Guard.never()

    @property
    def is_always(self) -> bool:
        return frozenset() in self.alternatives

    @property
    def is_never(self) -> bool:
        return not self.alternatives

    def and_(self, other: Guard) -> Guard:
        combined = set()
        for left, right in product(self.alternatives, other.alternatives):
            merged = _simplify(left | right)
            if merged is not None:
                combined.add(merged)
        return _bounded(combined)

    def or_(self, other: Guard) -> Guard:
        return _bounded(set(self.alternatives | other.alternatives))

    def negate(self) -> Guard:
        result = Guard.always()
        for alternative in self.alternatives:
            negated_alternative = Guard.never()
            for atom in alternative:
                negated_alternative = negated_alternative.or_(Guard.of(atom.negate()))
            result = result.and_(negated_alternative)
        return result

    def atoms(self) -> set[Atom]:
        return {atom for alternative in self.alternatives for atom in alternative}

    def evaluate(self, decide: Callable[[Atom], Truth]) -> Truth:
        unknown = False
        for alternative in self.alternatives:
            values = [decide(atom) for atom in alternative]
            if all(v is True for v in values):
                return True
            if not any(v is False for v in values):
                unknown = True
        return None if unknown else False

    def restrict(self, decide: Callable[[Atom], Truth]) -> Guard:
        """The guard with every decidable atom replaced by its value."""
        alternatives = set()
        for alternative in self.alternatives:
            values = {atom: decide(atom) for atom in alternative}
            if any(v is False for v in values.values()):
                continue
            alternatives.add(frozenset(a for a, v in values.items() if v is None))
        return _bounded(alternatives)

    def __str__(self) -> str:
        if self.is_always:
            return "always"
        if self.is_never:
            return "never"
        rendered = sorted(
            " AND ".join(sorted(str(a) for a in alternative)) for alternative in self.alternatives
        )
        if len(rendered) == 1:
            return rendered[0]
        return " OR ".join(f"({r})" for r in rendered)


def _merge_pair(left: frozenset[Atom], right: frozenset[Atom]) -> frozenset[Atom] | None:
    """(C AND x) OR (C AND NOT x) == C; TG_OP sets that differ merge by union."""
    only_left, only_right = left - right, right - left
    if len(only_left) != 1 or len(only_right) != 1:
        return None
    (x,), (y,) = only_left, only_right
    common = left & right
    if isinstance(x, OpAtom) and isinstance(y, OpAtom):
        union = x.ops | y.ops
        return common if union == OPS else common | {OpAtom(union)}
    if x.negate() == y:
        return common
    return None


def _reduce(left: frozenset[Atom], right: frozenset[Atom]) -> frozenset[Atom] | None:
    """A OR (B AND NOT y) with A == B AND y... : (C AND x) OR (NOT x) == C OR NOT x."""
    extra = right - left
    if len(extra) != 1:
        return None
    (y,) = extra
    negated = y.negate()
    if negated in left and not isinstance(y, OpAtom):
        return left - {negated}
    return None


Alternatives = frozenset[frozenset[Atom]]
_ALWAYS = Guard(frozenset({frozenset()}))
_NEVER = Guard(frozenset())
_CANONICAL: weakref.WeakValueDictionary[Alternatives, Guard] = weakref.WeakValueDictionary(
    {_ALWAYS.alternatives: _ALWAYS, _NEVER.alternatives: _NEVER}
)


def _canonical_guard(alternatives: Alternatives) -> Guard:
    """The one Guard object with these alternatives that is alive in this process."""
    guard = _CANONICAL.get(alternatives)
    if guard is None:
        guard = _CANONICAL[alternatives] = Guard(alternatives)
    return guard


def _bounded(alternatives: set[frozenset[Atom]]) -> Guard:
    changed = True
    while changed and len(alternatives) > 1:
        changed = False
        ordered = sorted(alternatives, key=lambda a: sorted(map(str, a)))
        for left in ordered:
            for right in ordered:
                if left is right:
                    continue
                combined = _merge_pair(left, right)
                if combined is not None:
                    alternatives = (alternatives - {left, right}) | {combined}
                    changed = True
                    break
                reduced = _reduce(left, right)
                if reduced is not None:
                    alternatives = (alternatives - {left}) | {reduced}
                    changed = True
                    break
            if changed:
                break
    if frozenset() in alternatives:
        return Guard.always()
    # Drop alternatives that a weaker one already covers (A OR (A AND B) == A).
    minimal = {a for a in alternatives if not any(b < a for b in alternatives)}
    if len(minimal) > MAX_ALTERNATIVES:
        return Guard.of(OpaqueAtom("condition too complex to track"))
    return Guard(frozenset(minimal))


# ---- from SQL conditions -----------------------------------------------------------


def _row_ref(node: exp.Expr) -> tuple[str, tuple[str, ...]] | None:
    """('new'|'old', columns) for NEW.x, NEW.*, NEW, ROW(NEW.a, NEW.b); else None."""
    if isinstance(node, exp.Paren):
        return _row_ref(node.this)
    if isinstance(node, exp.Column):
        table = node.table.lower() if node.table else ""
        if not table and node.name.lower() in {"new", "old"}:
            return node.name.lower(), ("*",)
        if table in {"new", "old"}:
            column = "*" if isinstance(node.this, exp.Star) else node.name
            return table, (column,)
        return None
    if isinstance(node, (exp.Tuple, exp.Anonymous)) and (
        not isinstance(node, exp.Anonymous) or node.name.lower() == "row"
    ):
        refs = [_row_ref(e) for e in node.expressions]
        if refs and all(r is not None for r in refs):
            sides = {r[0] for r in refs if r}
            if len(sides) == 1:
                return sides.pop(), tuple(c for r in refs if r for c in r[1])
    return None


def _change_atom(left: exp.Expr, right: exp.Expr, changed: bool) -> Atom | None:
    a, b = _row_ref(left), _row_ref(right)
    if a and b and {a[0], b[0]} == {"new", "old"} and a[1] == b[1]:
        return ChangeAtom(a[1], changed)
    return None


def _literal_text(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    if isinstance(node, exp.Cast):
        return _literal_text(node.this)
    return None


def _context_variable(node: exp.Expr) -> str | None:
    """TG_OP, TG_WHEN, … or TG_ARGV[n] (kept as "TG_ARGV[n]")."""
    if (
        isinstance(node, exp.Bracket)
        and isinstance(node.this, exp.Column)
        and node.this.name.upper() == "TG_ARGV"
    ):
        # sqlglot shifts subscripts to 0-based internally; PostgreSQL's text form is exact.
        index = re.fullmatch(r"(?i)tg_argv\[(\d+)\]", render(node))
        return f"TG_ARGV[{index.group(1)}]" if index else None
    if isinstance(node, exp.Column) and not node.table:
        name = node.name.upper()
        if name in {"TG_OP", "TG_WHEN", "TG_LEVEL", "TG_TABLE_NAME", "TG_TABLE_SCHEMA", "TG_NAME"}:
            return name
    return None


def _is_depth_call(node: exp.Expr) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "pg_trigger_depth"


_COMPARISONS: dict[type[exp.Expr], str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}
_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}


def _names_used(node: exp.Expr) -> set[str]:
    return {c.name.lower() for c in node.find_all(exp.Column) if not c.table}


def _only_parameters(node: exp.Expr, parameters: frozenset[str]) -> bool:
    columns = list(node.find_all(exp.Column))
    if not columns or any(c.table for c in columns):
        return False
    if any(isinstance(n, (exp.Select, exp.Anonymous)) for n in node.walk()):
        return False
    return _names_used(node) <= parameters


def guard_of(
    condition: exp.Expr | None,
    text: str,
    parameters: frozenset[str] = frozenset(),
    row_counts: Mapping[str, int] | None = None,
) -> Guard:
    """The guard for an IF/WHEN/WHILE condition; `text` is kept when it cannot be modelled.

    `row_counts` maps `found` and the variables that hold a ROW_COUNT to the statement
    that set them (see FoundAtom)."""
    if condition is None:
        return Guard.of(OpaqueAtom(" ".join(text.split())))
    return _convert(condition, parameters, row_counts or {})


def _convert(node: exp.Expr, parameters: frozenset[str], row_counts: Mapping[str, int]) -> Guard:
    if isinstance(node, exp.Paren):
        return _convert(node.this, parameters, row_counts)
    if isinstance(node, exp.And):
        return _convert(node.this, parameters, row_counts).and_(
            _convert(node.expression, parameters, row_counts)
        )
    if isinstance(node, exp.Or):
        return _convert(node.this, parameters, row_counts).or_(
            _convert(node.expression, parameters, row_counts)
        )
    if isinstance(node, exp.Not):
        return _convert(node.this, parameters, row_counts).negate()
    found = _found_atom(node, row_counts) if row_counts else None
    if found is not None:
        return Guard.of(found)
    atom = _atom(node, parameters)
    if atom is not None:
        return Guard.of(atom)
    opaque = Guard.of(OpaqueAtom(" ".join(render(node).split())))
    if isinstance(node, (exp.EQ, exp.NEQ)) and _empty_row_difference(node):
        # hstore(NEW.*) - hstore(OLD.*) [- ignored] = '': certainly true when no column
        # changed (the audit-trigger idiom); otherwise it depends on which did.
        empty = Guard.of(ChangeAtom(("*",), False)).or_(opaque)
        return empty if isinstance(node, exp.EQ) else empty.negate()
    if isinstance(node, (exp.LT, exp.GT)):
        # NEW.c > OLD.c holds only for two different non-NULL values: c changed.
        left, right = _single_column(node.this), _single_column(node.expression)
        if left and right and left[1] == right[1] and {left[0], right[0]} == {"new", "old"}:
            return opaque.and_(Guard.of(ChangeAtom((left[1],), True)))
    if isinstance(node, (exp.NEQ, exp.NullSafeNEQ, exp.LT, exp.GT)):
        # f(NEW.c) <> f(OLD.c) for one deterministic f: equal inputs give equal results,
        # so a difference means some c changed.
        columns = _same_function_of_both_rows(node.this, node.expression)
        if columns:
            return opaque.and_(Guard.of(ChangeAtom(columns, True)))
    return opaque


# `rows <op> k` for a ROW_COUNT: the k and ops that test "at least one row" (or its negation).
_ROWS_FOUND = {("=", 0): False, ("<>", 0): True, (">", 0): True, (">=", 1): True}
_ROWS_FOUND |= {("<", 1): False, ("<=", 0): False}


def _found_atom(node: exp.Expr, row_counts: Mapping[str, int]) -> FoundAtom | None:
    """FOUND, or a ROW_COUNT variable compared with 0 or 1, as a FoundAtom."""
    if isinstance(node, exp.Column) and not node.table and node.name.lower() == "found":
        setter = row_counts.get("found")
        return None if setter is None else FoundAtom(setter, True)
    comparison = _COMPARISONS.get(type(node))
    if comparison is None:
        return None
    for variable, value, op in (
        (node.this, node.expression, comparison),
        (node.expression, node.this, _MIRRORED[comparison]),
    ):
        if not isinstance(variable, exp.Column) or variable.table:
            continue
        name = variable.name.lower()
        if name == "found" or name not in row_counts:
            continue
        if not isinstance(value, exp.Literal) or value.is_string:
            return None
        found = _ROWS_FOUND.get((op, int(value.this) if value.this in {"0", "1"} else -1))
        return None if found is None else FoundAtom(row_counts[name], found)
    return None


# Expressions whose value depends only on their inputs (no volatile call, no subquery).
_DETERMINISTIC = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Cast,
    exp.DataType,
    exp.Paren,
    exp.Coalesce,
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Nullif,
    exp.Length,
    exp.Abs,
    exp.Round,
    exp.DPipe,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Neg,
    exp.TimestampTrunc,
    exp.DateTrunc,
    exp.Var,
    exp.JSONExtract,
    exp.JSONExtractScalar,
    exp.JSONBExtract,
    exp.JSONBExtractScalar,
    exp.JSONPath,
    exp.JSONPathRoot,
    exp.JSONPathKey,
    exp.JSONPathSubscript,
)
_DETERMINISTIC_CALLS = frozenset(
    {"btrim", "ltrim", "rtrim", "md5", "to_jsonb", "to_json", "unaccent", "array_to_string"}
)


# More functions whose result depends only on their arguments (immutable, or stable with
# nothing but the session's text search configuration): what a BEFORE trigger computes a
# column from (a tsvector, a slug, tags parsed from a text).
_DERIVING_CALLS = _DETERMINISTIC_CALLS | frozenset(
    {
        "regexp_match",
        "regexp_split_to_array",
        "string_to_array",
        "split_part",
        "replace",
        "translate",
        "initcap",
        "lpad",
        "rpad",
        "reverse",
        "to_tsvector",
        "setweight",
        "array_remove",
        "jsonb_build_object",
        "json_build_object",
        "jsonb_strip_nulls",
    }
)
_DERIVING = (
    *_DETERMINISTIC,
    exp.Substring,
    exp.Concat,
    exp.ConcatWs,
    exp.RegexpReplace,
    exp.Greatest,
    exp.Least,
    exp.Case,
    exp.If,
    exp.Is,
    exp.EQ,
    exp.NEQ,
    exp.Not,
    exp.And,
    exp.Or,
)


def derived_columns(node: exp.Expr | None) -> frozenset[str] | None:
    """The NEW columns `node` is a deterministic function of (constants and NEW.x only):
    assigned to NEW.c by a BEFORE trigger, it gives the stored value again when those
    columns keep theirs. None for anything else (now(), a lookup, a variable, OLD)."""
    if node is None:
        return None
    columns: set[str] = set()
    for part in node.walk():
        if isinstance(part, exp.Anonymous):
            if part.name.lower() not in _DERIVING_CALLS:
                return None
        elif isinstance(part, exp.Column):
            if (part.table or "").lower() != "new" or isinstance(part.this, exp.Star):
                return None
            columns.add(part.name)
        elif not isinstance(part, _DERIVING):
            return None
    return frozenset(columns)


def _same_function_of_both_rows(left: exp.Expr, right: exp.Expr) -> tuple[str, ...] | None:
    """The NEW/OLD columns when `left` is `right` with OLD and NEW swapped, made only of
    deterministic parts; None otherwise (or when both are plain columns)."""
    if isinstance(left, exp.Column) and isinstance(right, exp.Column):
        return None
    sides: list[str] = []
    columns: set[str] = set()
    for side in (left, right):
        refs = list(side.find_all(exp.Column))
        rows = {(c.table or "").lower() for c in refs}
        if len(rows) != 1 or not rows <= {"new", "old"}:
            return None
        for node in side.walk():
            if isinstance(node, exp.Anonymous):
                if node.name.lower() not in _DETERMINISTIC_CALLS:
                    return None
            elif not isinstance(node, _DETERMINISTIC):
                return None
        if any(isinstance(c.this, exp.Star) for c in refs):
            return None
        columns |= {c.name for c in refs}
        sides.append(rows.pop())
    if set(sides) != {"new", "old"}:
        return None
    swapped = right.copy()
    for column in swapped.find_all(exp.Column):
        column.set("table", exp.to_identifier(sides[0]))
    if render(swapped).lower() != render(left).lower():
        return None
    return tuple(sorted(columns))


def _atom(node: exp.Expr, parameters: frozenset[str]) -> Atom | None:
    if isinstance(node, (exp.NullSafeNEQ, exp.NullSafeEQ, exp.NEQ, exp.EQ)):
        changed = isinstance(node, (exp.NullSafeNEQ, exp.NEQ))
        change = _change_atom(node.this, node.expression, changed)
        if change is not None:
            return change
    row_value = _row_value_atom(node)
    if row_value is not None:
        return row_value
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        variable = _context_variable(node.this)
        if variable and variable.startswith("TG_ARGV["):  # `IS NOT NULL`: negate=True
            return ArgumentNullAtom(int(variable[8:-1]), bool(node.args.get("negate")))
    if isinstance(node, (exp.EQ, exp.NEQ)):
        for variable_side, value_side in (
            (node.this, node.expression),
            (node.expression, node.this),
        ):
            variable = _context_variable(variable_side)
            value = _literal_text(value_side)
            if variable and value is not None:
                return _context_atom(
                    variable, frozenset({value.upper()}), isinstance(node, exp.NEQ)
                )
    if isinstance(node, exp.In) and not node.args.get("query"):
        variable = _context_variable(node.this)
        values = [_literal_text(e) for e in node.expressions]
        if variable and values and all(v is not None for v in values):
            return _context_atom(variable, frozenset(str(v).upper() for v in values), False)
    comparison = _COMPARISONS.get(type(node))
    if comparison is not None:
        for call_side, value_side, op in (
            (node.this, node.expression, comparison),
            (node.expression, node.this, _MIRRORED[comparison]),
        ):
            if _is_depth_call(call_side) and isinstance(value_side, exp.Literal):
                try:
                    return DepthAtom(op, int(str(value_side.this)))
                except ValueError:
                    return None
    if parameters and _only_parameters(node, parameters):
        sql = render(node)
        text = " ".join(sql.split())
        return ParamAtom(text, False, text if text == sql else sql)
    return None


def _empty_row_difference(node: exp.EQ | exp.NEQ) -> bool:
    """`hstore(NEW[.*]) - hstore(OLD[.*]) = ''` (the empty value spelt '', ''::hstore or
    hstore('')), also with keys taken out: `hstore(NEW.*) - (hstore(OLD.*) - ignored) -
    ignored`. Only when every key taken out of OLD's side is taken out of the result too
    is the difference empty for an unchanged row."""
    for difference, empty in ((node.this, node.expression), (node.expression, node.this)):
        while isinstance(empty, (exp.Paren, exp.Cast)):
            empty = empty.this
        if isinstance(empty, exp.Anonymous) and str(empty.this).lower() == "hstore":
            empty = empty.expressions[0] if len(empty.expressions) == 1 else empty
        if not (isinstance(empty, exp.Literal) and empty.is_string and empty.this == ""):
            continue
        head, taken = _subtraction(difference)
        if not taken or not _is_row_hstore(head, "new"):
            continue
        old, from_old = _subtraction(taken[0])
        outer = {render(t) for t in taken[1:]}
        if _is_row_hstore(old, "old") and all(render(t) in outer for t in from_old):
            return True
    return False


def _subtraction(node: exp.Expr) -> tuple[exp.Expr, list[exp.Expr]]:
    """`a - b - (c)` as (a, [b, c]), parentheses aside."""
    while isinstance(node, exp.Paren):
        node = node.this
    if not isinstance(node, exp.Sub):
        return node, []
    head, taken = _subtraction(node.this)
    return head, [*taken, node.expression]


def _is_row_hstore(node: exp.Expr, row: str) -> bool:
    """hstore(NEW) / hstore(NEW.*) (or OLD)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if not (
        isinstance(node, exp.Anonymous)
        and str(node.this).lower() == "hstore"
        and len(node.expressions) == 1
    ):
        return False
    argument = node.expressions[0]
    if isinstance(argument, exp.Column) and isinstance(argument.this, exp.Star):
        return (argument.table or "").lower() == row
    return isinstance(argument, exp.Column) and not argument.table and argument.name.lower() == row


def _single_column(node: exp.Expr) -> tuple[str, str] | None:
    ref = _row_ref(node)
    if ref is None or len(ref[1]) != 1 or ref[1] == ("*",):
        return None
    return ref[0], ref[1][0]


def _constant_key(node: exp.Expr) -> ValueKey | None:
    """A literal as a comparable value; None for anything else (NULL included)."""
    if isinstance(node, exp.Paren):
        return _constant_key(node.this)
    if isinstance(node, exp.Boolean):
        return ("bool", bool(node.this))
    negative = isinstance(node, exp.Neg)
    literal = node.this if negative else node
    if isinstance(literal, exp.Literal) and not literal.is_string:
        try:
            number = Decimal(str(literal.this))
        except InvalidOperation:
            return None
        return ("num", -number if negative else number)
    if isinstance(node, exp.Cast):
        node = node.this
    if isinstance(node, exp.Literal) and node.is_string:
        return ("str", str(node.this))
    return None


def _row_value(
    side_column: tuple[str, str], op: str, constants: list[exp.Expr], null_passes: bool = False
) -> Atom | None:
    keys = [_constant_key(c) for c in constants]
    if not keys or any(k is None for k in keys):
        return None
    texts = tuple(" ".join(render(c).split()) for c in constants)
    known = tuple(k for k in keys if k is not None)
    return RowValueAtom(side_column[0], side_column[1], op, texts, null_passes, known)


def _array_constants(node: exp.Expr) -> list[exp.Expr] | None:
    """The elements of `ANY (ARRAY[…])` / `SOME (…)` / `ALL (…)`; None for a subquery."""
    inner = node.this if isinstance(node, exp.Any) else None
    if isinstance(node, exp.Anonymous) and node.name.upper() in {"ANY", "SOME", "ALL"}:
        inner = node.expressions[0] if len(node.expressions) == 1 else None
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if isinstance(inner, exp.Array):
        return list(inner.expressions)
    return None


def _quantifier(node: exp.Expr) -> str:
    if isinstance(node, exp.Any):
        return "ANY"
    return node.name.upper() if isinstance(node, exp.Anonymous) else ""


def _row_value_atom(node: exp.Expr) -> Atom | None:
    """A test of one NEW/OLD column against constants; None when it is not one."""
    if isinstance(node, exp.Column):
        column = _single_column(node)  # a boolean column used as the condition
        return _row_value(column, "=", [exp.true()]) if column else None
    if isinstance(node, exp.Is):
        column = _single_column(node.this)
        if column is None:
            return None
        if isinstance(node.expression, exp.Null):
            atom: Atom = RowValueAtom(column[0], column[1], "is null", (), True)
        elif isinstance(node.expression, exp.Boolean):
            found = _row_value(column, "=", [node.expression])
            if found is None:
                return None
            atom = found
        else:
            return None
        return atom.negate() if node.args.get("negate") else atom
    if isinstance(node, exp.In) and not node.args.get("query"):
        column = _single_column(node.this)
        return _row_value(column, "in", list(node.expressions)) if column else None
    if isinstance(node, (exp.NullSafeEQ, exp.NullSafeNEQ)):
        distinct = isinstance(node, exp.NullSafeNEQ)
        for row_side, value_side in ((node.this, node.expression), (node.expression, node.this)):
            column = _single_column(row_side)
            if column is None:
                continue
            if isinstance(value_side, exp.Null):
                is_null = RowValueAtom(column[0], column[1], "is null", (), True)
                return is_null.negate() if distinct else is_null
            # IS DISTINCT FROM k is the complement of = k, NULL included.
            return _row_value(column, "<>" if distinct else "=", [value_side], distinct)
        return None
    comparison = _COMPARISONS.get(type(node))
    if comparison is None:
        return None
    for row_side, value_side, op in (
        (node.this, node.expression, comparison),
        (node.expression, node.this, _MIRRORED[comparison]),
    ):
        column = _single_column(row_side)
        if column is None:
            continue
        elements = _array_constants(value_side)
        if elements is not None:
            quantifier = _quantifier(value_side)
            if op == "=" and quantifier in {"ANY", "SOME"}:
                return _row_value(column, "in", elements)
            if op == "<>" and quantifier == "ALL":
                return _row_value(column, "not in", elements)
            return None
        return _row_value(column, op, [value_side])
    return None


def _context_atom(variable: str, values: frozenset[str], negated: bool) -> Atom:
    if variable == "TG_OP":
        return OpAtom(OPS - values if negated else values & OPS)
    if variable in {"TG_TABLE_NAME", "TG_TABLE_SCHEMA", "TG_NAME"}:
        values = frozenset(v.lower() for v in values)
    return ContextAtom(variable, values, negated)


# ---- deciding atoms in a firing context ----------------------------------------------


@dataclass(frozen=True)
class FiringContext:
    """What the cascade knows while a trigger function runs."""

    op: str | None = None  # TG_OP
    timing: str | None = None  # BEFORE / AFTER / INSTEAD OF
    level: str | None = None  # ROW / STATEMENT
    table: str | None = None  # qualified
    depth: int | None = None  # pg_trigger_depth()
    # Columns whose value differs between OLD and NEW (None: unknown), and columns that
    # may differ (a BEFORE trigger assigned them under a condition we cannot decide).
    changed_columns: frozenset[str] | None = None
    maybe_changed: frozenset[str] = frozenset()
    arguments: Mapping[str, exp.Expr] = field(default_factory=dict)
    trigger_arguments: tuple[str, ...] | None = None  # TG_ARGV, when a trigger fired
    trigger_name: str | None = None  # TG_NAME

    def decide(self, atom: Atom) -> Truth:
        if isinstance(atom, OpAtom):
            return None if self.op is None else self.op in atom.ops
        if isinstance(atom, ChangeAtom):
            return self._decide_change(atom)
        if isinstance(atom, DepthAtom):
            if self.depth is None:
                return None
            return _COMPARE[atom.op](self.depth, atom.value)
        if isinstance(atom, ContextAtom):
            return self._decide_context(atom)
        if isinstance(atom, ArgumentNullAtom):
            if self.trigger_arguments is None:
                return None
            return (atom.index >= len(self.trigger_arguments)) != atom.negated
        if isinstance(atom, ParamAtom):
            return self._decide_parameter(atom)
        return None

    def _decide_change(self, atom: ChangeAtom) -> Truth:
        # On INSERT, OLD is NULL and the test depends on the data; on DELETE, NEW is.
        if self.op != "UPDATE" or self.changed_columns is None:
            return None
        whole_row = atom.columns == ("*",)
        if whole_row:
            changed, maybe = bool(self.changed_columns), bool(self.maybe_changed)
        else:
            changed = any(c in self.changed_columns for c in atom.columns)
            maybe = any(c in self.maybe_changed for c in atom.columns)
        if not changed and maybe:
            return None
        return changed == atom.changed

    def _decide_context(self, atom: ContextAtom) -> Truth:
        known = {
            "TG_WHEN": self.timing,
            "TG_LEVEL": self.level,
            "TG_TABLE_NAME": self.table.split(".", 1)[1] if self.table else None,
            "TG_TABLE_SCHEMA": self.table.split(".", 1)[0] if self.table else None,
            "TG_NAME": self.trigger_name.lower() if self.trigger_name else None,
        }.get(atom.variable)
        if atom.variable.startswith("TG_ARGV[") and self.trigger_arguments is not None:
            index = int(atom.variable[8:-1])
            known = self.trigger_arguments[index] if index < len(self.trigger_arguments) else None
        if known is None:
            return None
        inside = known in atom.values or known.upper() in atom.values
        return inside != atom.negated

    def _decide_parameter(self, atom: ParamAtom) -> Truth:
        if atom.sql is None or not self.arguments:
            return None
        expression = expression_of_sql(atom.sql)
        if expression is None:
            return None
        substituted = expression.transform(
            lambda n: (
                self.arguments.get(n.name.lower(), n).copy()
                if isinstance(n, exp.Column) and not n.table
                else n
            )
        )
        value = _constant_truth(substituted)
        if value is None:
            return None
        return value != atom.negated


@lru_cache(maxsize=4096)
def expression_of_sql(sql: str) -> exp.Expr | None:
    """A value or condition from its PostgreSQL rendering (`plpgsql.render`),
    parsed again; the tree is shared, never to be changed.

    Effects and guards keep that text rather than the node: a sqlglot node keeps its
    whole statement alive through its parent links, and a few of them per function held
    most of the memory of a large run. The cascade asks for the tree only where a
    firing's constants decide something."""
    tree = parse_expression("SELECT " + sql)
    if not isinstance(tree, exp.Select) or tree.args.get("from"):
        return None
    values: list[exp.Expr] = tree.expressions
    return values[0] if len(values) == 1 else None


def _constant_truth(node: exp.Expr) -> Truth:
    """Evaluate a condition made only of constants; None when it is not that simple."""
    if isinstance(node, exp.Paren):
        return _constant_truth(node.this)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Not):
        inner = _constant_truth(node.this)
        return None if inner is None else not inner
    if isinstance(node, exp.And):
        left, right = _constant_truth(node.this), _constant_truth(node.expression)
        if left is False or right is False:
            return False
        return True if left and right else None
    if isinstance(node, exp.Or):
        left, right = _constant_truth(node.this), _constant_truth(node.expression)
        if left or right:
            return True
        return False if left is False and right is False else None
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        negated = bool(node.args.get("negate"))  # sqlglot reads IS NOT NULL as negate=True
        if isinstance(node.this, exp.Null):
            return not negated
        if isinstance(node.this, (exp.Literal, exp.Boolean)):
            return negated
    if isinstance(node, (exp.EQ, exp.NEQ)):
        left, right = node.this, node.expression
        if isinstance(left, (exp.Literal, exp.Boolean)) and isinstance(
            right, (exp.Literal, exp.Boolean)
        ):
            same = str(left.this).lower() == str(right.this).lower()
            return same if isinstance(node, exp.EQ) else not same
    return None
