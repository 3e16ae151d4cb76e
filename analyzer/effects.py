"""Function bodies to effects: what each body writes, reads and calls, and under which guard.

PL/pgSQL bodies are walked statement by statement (see `analyzer.plpgsql`) carrying the
guard under which control reaches each statement: IF/ELSIF/CASE branches add their
conditions (an ELSIF implies the negation of the branches before it), RETURN and RAISE end
a path (so what follows `IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;` is guarded by
NOT DELETE), EXCEPTION handlers add an "on error" atom. Each embedded SQL statement gives
its writes, reads and calls; `LANGUAGE sql` bodies give the effects of each statement,
unconditionally.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType

from sqlglot import exp

from analyzer.builtins import SQL_SYNTAX_CALLS
from analyzer.catalog import Catalog, Function, Table
from analyzer.findings import Diagnostic, Location
from analyzer.folding import UNKNOWN, Resolver, Value, fold, quote_ident
from analyzer.guards import (
    ErrorAtom,
    FiringContext,
    Guard,
    OpaqueAtom,
    OpAtom,
    derived_columns,
    expression_of_sql,
    guard_of,
)
from analyzer.parse import parse_expression, split_statements
from analyzer.plpgsql import (
    Assert,
    Assign,
    Block,
    Call,
    Case,
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
    Raise,
    Return,
    ReturnQuery,
    Statement,
    While,
    created_temporary_table,
    has_no_data_effect,
    parse_plpgsql,
    render,
)
from analyzer.row_bounds import UNKNOWN as UNKNOWN_ROWS
from analyzer.row_bounds import RowBounds, Rows, conjuncts
from analyzer.row_bounds import fold_name as _fold
from analyzer.source import SourceFile

AGGREGATES = frozenset(
    {
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "array_agg",
        "string_agg",
        "json_agg",
        "jsonb_agg",
        "json_object_agg",
        "jsonb_object_agg",
        "bool_and",
        "bool_or",
        "every",
        "bit_and",
        "bit_or",
        "stddev",
        "variance",
        "percentile_cont",
        "percentile_disc",
        "mode",
    }
)
_AGGREGATE_NODES: dict[type[exp.Expr], str] = {
    exp.Count: "count",
    exp.Sum: "sum",
    exp.Avg: "avg",
    exp.Min: "min",
    exp.Max: "max",
    exp.ArrayAgg: "array_agg",
    exp.GroupConcat: "string_agg",
}
_ROW_VARIABLES = {"new", "old"}
_DYNAMIC_IDENT = "sqlripple_dynamic_ident"
_CHANGED_PARAMETER = "sqlripple_changed_parameter"


@dataclass(frozen=True, order=True, slots=True)
class ValueOrigin:
    """A value taken unchanged from a column of the trigger's row or from a parameter."""

    source: str  # new | old | parameter, or new-if-not-null (coalesce(NEW.c, OLD.c))
    name: str  # the column or parameter


# The origins a value may have, each with the guard under which it has it; None stands
# for any other value (a constant, a lookup, a computed expression).
Origins = tuple[tuple[Guard, ValueOrigin | None], ...]
_UNKNOWN_ORIGIN: Origins = ((Guard.always(), None),)
# More alternatives than this and a variable's origin is not followed.
_MAX_ORIGINS = 8
# Marks fields the engine derives for itself: not part of the graph's JSON.
INTERNAL = MappingProxyType({"internal": True})


@dataclass(frozen=True, order=True, slots=True)
class Iterations:
    """How many times a statement runs per run of its body: `lo` to `hi` times, `hi` None
    when nothing bounds it (a loop over an array, a query's rows, a WHILE condition).
    `per` says what one run is per, for messages: "tag in NEW.tags"."""

    lo: int = 1
    hi: int | None = 1
    per: str = ""

    @property
    def once(self) -> bool:
        return self.lo == 1 and self.hi == 1

    def times(self, outer: Iterations) -> Iterations:
        """Nested loops multiply."""
        hi = None if self.hi is None or outer.hi is None else self.hi * outer.hi
        if self.hi == 0 or outer.hi == 0:
            hi = 0
        per = ", ".join(p for p in (self.per, outer.per) if p)
        return Iterations(self.lo * outer.lo, hi, per)

    def __str__(self) -> str:
        count = (
            str(self.lo)
            if self.lo == self.hi
            else f"{self.lo}..{'∞' if self.hi is None else self.hi}"
        )
        return f"{count} times" + (f" (once per {self.per})" if self.per else "")


ONCE = Iterations()


@dataclass(frozen=True, order=True, slots=True)
class Accumulation:
    """`column = <stored value> + something`: a counter, a JSONB counter, an append."""

    column: str
    expression: str


@dataclass(frozen=True, slots=True)
class Write:
    table: str | None  # qualified; None when only known at run time
    kind: str  # insert | update | delete | upsert | insert-or-ignore | merge | truncate
    location: Location
    guard: Guard
    columns: tuple[str, ...] = ()  # columns an insert provides or an update sets
    conflict_columns: tuple[str, ...] = ()  # columns an upsert's DO UPDATE sets
    # DO UPDATE … WHERE: when false on the conflict path, no row is updated.
    conflict_guard: Guard = field(default_factory=Guard.always)
    accumulations: tuple[Accumulation, ...] = ()
    deltas: tuple[str, ...] = ()  # columns maintained from NEW.x - OLD.x
    keyed_by: str = "row"  # row | set | table
    appends: bool = False  # a plain insert whose key does not come from the row
    inferred: bool = False  # read from dynamic SQL text
    # TRUNCATE … CASCADE: every table with a foreign key to this one is truncated too.
    cascade: bool = False
    # MERGE: the row actions its WHEN arms take (insert, update, delete).
    merge_actions: tuple[str, ...] = ()
    text: str = ""
    # Relations the statement reads rows from (FROM, USING, INSERT … SELECT), as written:
    # a write fed only by an empty transition table writes nothing.
    sources: tuple[str, ...] = ()
    # Target columns an UPDATE/DELETE fixes by equality (`WHERE id = OLD.session_id`).
    key_columns: tuple[str, ...] = ()
    # (column, value SQL) that pick the target row: WHERE equalities, or an insert's values
    # for its key columns.
    key_values: tuple[tuple[str, str], ...] = ()
    # What bounds the rows a set-keyed write touches (keyed_by 'set'; otherwise nothing
    # bounds them): at most `max_rows` rows (a VALUES list), or at most one row per row
    # of the relation `rows_from`, as written (INSERT … SELECT from it alone; UPDATE …
    # FROM / DELETE … USING it alone, the target picked by a unique key).
    max_rows: int | None = None
    rows_from: str = ""
    # An insert of one row made only of NEW's fields (`VALUES (NEW.*)`): the trigger's row
    # stored elsewhere, as a partition-routing BEFORE trigger does before RETURN NULL.
    carries_new_row: bool = False
    # UPDATE/DELETE: where each WHERE key value comes from, and whether the WHERE clause
    # tests nothing but those keys (then the row exists whenever its key values do).
    key_origins: tuple[tuple[str, Origins], ...] = field(default=(), metadata=INTERNAL)
    where_is_key: bool = field(default=False, metadata=INTERNAL)
    # UPDATE: where each SET column's new value comes from.
    set_origins: tuple[tuple[str, Origins], ...] = field(default=(), metadata=INTERNAL)
    # UPDATE: SET columns whose new value fails the WHERE clause's test of that column
    # (`SET done = true WHERE … AND NOT done`): the statement never matches a row again
    # once it has updated it.
    settles: tuple[str, ...] = field(default=(), metadata=INTERNAL)
    # INSERT … SELECT from one table whose WHERE clause tests nothing but one unique key
    # (at most one row): that table, and where each key value comes from. It inserts a
    # row whenever the table has one with those values.
    source_key: tuple[str, tuple[tuple[str, Origins], ...]] | None = field(
        default=None, metadata=INTERNAL
    )
    # Runs per run of the body: more or fewer than once inside a loop.
    iterations: Iterations = field(default=ONCE, metadata=INTERNAL)

    @property
    def row_kinds(self) -> tuple[str, ...]:
        """The row events this write can cause."""
        return {
            "upsert": ("insert", "update"),
            "insert-or-ignore": ("insert",),
            "merge": self.merge_actions,
        }.get(self.kind, (self.kind,))


@dataclass(frozen=True, slots=True)
class Read:
    table: str
    location: Location
    guard: Guard
    aggregates: tuple[str, ...] = ()
    keyed_by: str = "set"  # row | set | table
    key_columns: tuple[str, ...] = ()  # columns the WHERE clause fixes by equality
    # The columns a read of nothing but MIN/MAX of plain columns takes the extreme of,
    # from one table, without GROUP BY, where WHERE tests only key_columns = value: the
    # planner answers each from a btree index that leads with those (see index_probe).
    extremes: tuple[str, ...] = field(default=(), metadata=INTERNAL)
    iterations: Iterations = field(default=ONCE, metadata=INTERNAL)


def probe_index(read: Read, extreme: str) -> tuple[str, ...]:
    """The btree index that answers MIN/MAX(extreme) of `read` with one probe."""
    return (*sorted(read.key_columns), extreme)


def index_probe(read: Read, table: Table | None) -> bool:
    """Whether PostgreSQL answers each MIN/MAX of the read with one index probe (planagg:
    LIMIT 1 over a btree index whose leading columns the WHERE fixes by equality, then
    the column), not a scan of the matching rows."""
    if not read.extremes or table is None:
        return False
    pinned = set(read.key_columns)
    return all(
        any(
            len(index) > len(pinned)
            and set(index[: len(pinned)]) == pinned
            and index[len(pinned)] == extreme
            for index in table.btree_indexes
        )
        for extreme in read.extremes
    )


@dataclass(frozen=True, slots=True)
class CallEffect:
    name: tuple[str, ...]  # as written: (schema, name) or (name,)
    location: Location
    guard: Guard
    # Each argument as sqlglot renders it: the tree, if the cascade needs it, is parsed
    # again (guards.expression_of_sql), so that no node keeps its statement alive.
    arguments: tuple[str, ...] = field(default=(), compare=False, repr=False)
    argument_origins: tuple[Origins, ...] = field(
        default=(), compare=False, repr=False, metadata=INTERNAL
    )
    iterations: Iterations = field(default=ONCE, metadata=INTERNAL)

    @property
    def display_name(self) -> str:
        return ".".join(self.name)


@dataclass(frozen=True, slots=True)
class ReturnEffect:
    value: str  # new | old | null | other
    location: Location
    guard: Guard


@dataclass(frozen=True, slots=True)
class DynamicEffect:
    """EXECUTE of SQL known only at run time; `inferred` holds what its text shows.

    `template` is the query expression (constant local variables substituted) when its
    text may be determined by the firing: TG_* variables, TG_ARGV, constant parameters;
    `using` the text of the USING expressions that `$1`, `$2`, … stand for.
    """

    text: str | None
    location: Location
    guard: Guard
    inferred: tuple[Write, ...] = ()
    template: str | None = field(default=None, compare=False, repr=False)
    using: tuple[str, ...] = ()
    iterations: Iterations = field(default=ONCE, metadata=INTERNAL)


@dataclass(frozen=True, slots=True)
class RaiseEffect:
    """An error raised in the body and not caught by a handler of the same body: RAISE
    EXCEPTION (or RAISE with a condition). `message` is the format string (`%` stands for
    a parameter), None when only known at run time; `condition` the condition name or
    SQLSTATE it raises (raise_exception, P0001, when none is given)."""

    message: str | None
    condition: str
    location: Location
    guard: Guard
    iterations: Iterations = field(default=ONCE, metadata=INTERNAL)


@dataclass(frozen=True, slots=True)
class RowAssignment:
    """`NEW.column := …` in a trigger function: the row to be written changes."""

    column: str
    location: Location
    guard: Guard
    # The NEW columns the value is a deterministic function of (None: anything else, as
    # now() or a lookup): equal to the stored value when they keep theirs.
    derived_from: frozenset[str] | None = None


Effect = Write | Read | CallEffect | ReturnEffect | DynamicEffect | RowAssignment | RaiseEffect


@dataclass(frozen=True, slots=True)
class Choice:
    """One IF/ELSIF/ELSE or CASE statement: at most one of its arms runs, so their effects
    are alternatives, not a sum."""

    arms: tuple[Guard, ...]  # the guard under which each arm is taken
    spans: tuple[tuple[int, int], ...]  # each arm's effects: BodyEffects.effects[start:end]
    falls_through: Guard  # no arm is taken (an IF without ELSE); never when exhaustive


@dataclass(frozen=True, slots=True)
class BodyEffects:
    owner: str
    effects: tuple[Effect, ...]
    falls_off_end: Guard  # when control reaches the end of the body without RETURN
    incomplete: bool = False
    diagnostics: tuple[Diagnostic, ...] = ()
    # Statements inside a BEGIN … EXCEPTION block of this body, with the conditions its
    # handlers catch: an error raised by what such a statement fires does not escape.
    # A plain dict, not a mappingproxy: bodies analysed by --jobs workers are pickled.
    handled: Mapping[Location, frozenset[str]] = field(default_factory=dict, hash=False)
    choices: tuple[Choice, ...] = ()

    def of_type(self, kind: type[Effect]) -> list[Effect]:
        return [e for e in self.effects if isinstance(e, kind)]


@dataclass(frozen=True)
class Bodies:
    functions: Mapping[str, BodyEffects]
    blocks: tuple[BodyEffects, ...]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        found = [d for b in self.functions.values() for d in b.diagnostics]
        found.extend(d for b in self.blocks for d in b.diagnostics)
        return sorted(set(found))


# ---- SQL statements -------------------------------------------------------------------


@dataclass
class _Scope:
    """What a body's SQL is resolved against."""

    catalog: Catalog
    search_path: tuple[str, ...]
    parameters: frozenset[str]
    path: str
    # Temporary tables the body created before the statement being read: pg_temp comes
    # first on the search path, so an unqualified name means them.
    temporary: set[str] = field(default_factory=set)

    def table_name(self, node: exp.Table) -> str | None:
        if node.name == _DYNAMIC_IDENT or not node.name:
            return None
        name = _fold(node.this)
        if not node.args.get("db") and name in self.temporary:
            return f"pg_temp.{name}"
        parts = [_fold(node.args["db"])] if node.args.get("db") else []
        parts.append(name)
        return self.catalog.resolve_table(parts, self.search_path)

    def note_created(self, text: str) -> None:
        """Remember the temporary table a statement of the body creates."""
        name = created_temporary_table(text)
        if name is not None:
            self.temporary.add(name)

    def table(self, name: str | None) -> Table | None:
        return self.catalog.tables.get(name) if name else None


def _column_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Column):
        return _fold(node.this)
    if isinstance(node, exp.Identifier):
        return _fold(node)
    return node.name.lower()


def _cte_names(tree: exp.Expr) -> set[str]:
    return {
        _fold(cte.args["alias"].this) for cte in tree.find_all(exp.CTE) if cte.args.get("alias")
    }


def _target(node: exp.Expr) -> tuple[exp.Table | None, list[str]]:
    """The table a DML statement writes and the columns of an INSERT's column list."""
    this = node.this
    if isinstance(this, exp.Schema):
        return (this.this if isinstance(this.this, exp.Table) else None), [
            _column_name(c) for c in this.expressions
        ]
    return (this if isinstance(this, exp.Table) else None), []


def _references(node: exp.Expr, column: str, names: set[str]) -> bool:
    for col in node.find_all(exp.Column):
        if _fold(col.this) == column and (not col.table or col.table.lower() in names):
            return True
    return False


def _is_delta(node: exp.Expr) -> bool:
    """NEW.x - OLD.x (or OLD.x - NEW.x) somewhere in the expression."""
    for sub in node.find_all(exp.Sub):
        sides = set()
        for operand in (sub.this, sub.expression):
            tables = {c.table.lower() for c in operand.find_all(exp.Column) if c.table}
            sides |= tables & _ROW_VARIABLES
        if sides == _ROW_VARIABLES:
            return True
    return False


def _signed_terms(node: exp.Expr, sign: int = 1) -> Iterator[tuple[int, exp.Expr]]:
    """The terms of a sum with their signs: a - (b - c) + d is +a, -b, +c, +d."""
    if isinstance(node, exp.Paren):
        yield from _signed_terms(node.this, sign)
    elif isinstance(node, exp.Neg):
        yield from _signed_terms(node.this, -sign)
    elif isinstance(node, (exp.Add, exp.Sub)):
        yield from _signed_terms(node.this, sign)
        yield from _signed_terms(node.expression, -sign if isinstance(node, exp.Sub) else sign)
    else:
        yield sign, node


def _as_new(node: exp.Expr) -> str:
    """The term with OLD.x read as NEW.x: what it is worth when the row did not change."""
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        if (column.table or "").lower() in _ROW_VARIABLES:
            column.set("table", exp.to_identifier("new"))
    return render(copy)


def _cancels_when_unchanged(node: exp.Expr, column: str, names: set[str]) -> bool:
    """`c - OLD.x + NEW.x`, in any order: the terms besides the stored value cancel when
    OLD = NEW, so an unchanged row leaves c as it was."""
    rows = {(c.table or "").lower() for c in node.find_all(exp.Column)}
    if not rows >= _ROW_VARIABLES:
        return False  # a delta takes OLD away and adds NEW: it names both
    terms = list(_signed_terms(node))
    stored = [(s, t) for s, t in terms if _references(t, column, names)]
    if len(stored) != 1 or stored[0][0] != 1:
        return False
    balance: dict[str, int] = {}
    moved = False
    for sign, term in terms:
        if (sign, term) in stored:
            continue
        moved = moved or any(
            (c.table or "").lower() in _ROW_VARIABLES for c in term.find_all(exp.Column)
        )
        key = _as_new(term)
        balance[key] = balance.get(key, 0) + sign
    return moved and not any(balance.values())


_GROWTH_FUNCTIONS = {"array_append", "array_prepend", "array_cat"}


def _assignment_kind(column: str, value: exp.Expr, names: set[str], column_type: str) -> str:
    """'accumulation', 'delta' or 'set' for `column = value` in an UPDATE / DO UPDATE."""
    for node in value.walk():
        operands: list[exp.Expr] = []
        if isinstance(node, (exp.Add, exp.Sub)):
            operands = [node.this, node.expression]
        elif isinstance(node, (exp.ArrayAppend, exp.ArrayConcat)) or (
            isinstance(node, exp.Anonymous) and node.name.lower() in _GROWTH_FUNCTIONS
        ):
            operands = list(node.iter_expressions())
        elif isinstance(node, exp.DPipe) and ("[]" in column_type or column_type == "text"):
            operands = [node.this, node.expression]
        if len(operands) < 2:
            continue
        stored = [o for o in operands if _references(o, column, names)]
        if not stored:
            continue
        if isinstance(node, (exp.Add, exp.Sub)) and _cancels_when_unchanged(node, column, names):
            return "delta"
        others = [o for o in operands if o not in stored]
        if any(_is_delta(o) for o in others) or _is_delta(node):
            return "delta"
        return "accumulation"
    return "set"


def _key_columns(where: exp.Expr | None, names: set[str], table: Table | None) -> list[str]:
    """Target columns fixed by `col = <value not from the target>` in an AND chain."""
    return [column for column, _ in _key_values(where, names, table)]


def _outer_columns(node: exp.Expr) -> Iterator[exp.Column]:
    """Columns of `node` outside any nested subquery (those resolve in their own scope)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, exp.Column):
            yield current
            continue
        for child in current.iter_expressions():
            if isinstance(child, exp.Select):
                # Only columns qualified with an outer name can refer to the target.
                yield from (c for c in child.find_all(exp.Column) if c.table)
                continue
            stack.append(child)


def _key_values(
    where: exp.Expr | None, names: set[str], table: Table | None
) -> list[tuple[str, str]]:
    """(target column, value SQL) for each `col = <value not from the target>` conjunct."""
    return [
        (column, " ".join(render(value).split()))
        for column, value in _key_expressions(where, names, table)[0]
    ]


def _key_expressions(
    where: exp.Expr | None, names: set[str], table: Table | None
) -> tuple[list[tuple[str, exp.Expr]], bool]:
    """(target column, value) for each `col = <value not from the target>` conjunct, and
    whether those are all the WHERE clause tests."""
    if where is None:
        return [], False
    terms = conjuncts(where)[::-1]  # last first, as this has always listed them
    columns = {c.name for c in table.columns} if table else set()
    keys: list[tuple[str, exp.Expr]] = []
    for node in terms:
        if not isinstance(node, exp.EQ):
            continue
        for side, other in ((node.this, node.expression), (node.expression, node.this)):
            if not isinstance(side, exp.Column):
                continue
            qualifier = side.table.lower() if side.table else ""
            name = _fold(side.this)
            is_target = qualifier in names if qualifier else (name in columns or not table)
            if not is_target:
                continue
            other_refs_target = any(
                (c.table.lower() in names) if c.table else (_fold(c.this) in columns)
                for c in _outer_columns(other)
            )
            if not other_refs_target:
                keys.append((name, other))
                break
    return keys, len(keys) == len(terms)


def _extremes(
    node: exp.Select, names: set[str], table: Table | None, where: exp.Expr | None
) -> tuple[str, ...]:
    """The columns of `SELECT … min(c) / max(c) … FROM t [WHERE k = v AND …]` when those are
    its only aggregates, of plain columns of t, with no GROUP BY and no other test."""
    if table is None or node.args.get("group") or node.args.get("having"):
        return ()
    if where is not None and not _key_expressions(where, names, table)[1]:
        return ()
    extremes: set[str] = set()
    for expression in node.expressions:
        for sub in expression.walk():
            if isinstance(sub, exp.Select):
                return ()
            if isinstance(sub, exp.Window):
                return ()
            if isinstance(sub, (exp.Min, exp.Max)):
                column = sub.this
                if sub.expressions or not isinstance(column, exp.Column):
                    return ()
                qualifier = column.table.lower() if column.table else ""
                if (qualifier and qualifier not in names) or table.column(
                    _fold(column.this)
                ) is None:
                    return ()
                extremes.add(_fold(column.this))
            elif _AGGREGATE_NODES.get(type(sub)) or (
                isinstance(sub, exp.Anonymous) and str(sub.this).lower() in AGGREGATES
            ):
                return ()
    return tuple(sorted(extremes))


def _keyed_by(keys: Iterable[str], where: exp.Expr | None, table: Table | None) -> str:
    if where is None:
        return "table"
    fixed = set(keys)
    if table and table.primary_key and set(table.primary_key) <= fixed:
        return "row"
    if table and any(set(u) <= fixed for u in table.unique_keys):
        return "row"
    if table is None and fixed:
        return "row"
    return "set"


def _alias_names(node: exp.Expr, table_node: exp.Table | None, name: str | None) -> set[str]:
    names = set()
    if table_node is not None:
        names.add(_fold(table_node.this))
        alias = table_node.args.get("alias")
        if alias is not None and alias.this is not None:
            names.add(_fold(alias.this))
    if name:
        names.add(name.split(".", 1)[1])
    names.discard("")
    return names


# Calls that never return NULL: a column set to one no longer passes `IS NULL`.
_NON_NULL_CALLS = frozenset(
    {"now", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "gen_random_uuid"}
)


def _settled_columns(node: exp.Update, names: set[str]) -> tuple[str, ...]:
    """SET columns whose new value makes a conjunct of the WHERE clause on that column not
    true: `c IS NULL` after `c = now()`, `NOT c` after `c = true`, `c <> k` after `c = k`,
    `c = k1` after `c = k2`."""
    where = node.args.get("where")
    if where is None:
        return ()
    values = {
        _column_name(a.this): a.expression
        for a in node.expressions
        if isinstance(a, exp.EQ) and isinstance(a.this, exp.Column)
    }
    conjuncts, stack = [], [where.this]
    while stack:
        part = stack.pop()
        if isinstance(part, (exp.And, exp.Paren)):
            stack.extend([part.this, part.expression] if isinstance(part, exp.And) else [part.this])
        else:
            conjuncts.append(part)
    settled = set()
    for conjunct in conjuncts:
        test = conjunct.this if isinstance(conjunct, exp.Not) else conjunct
        while isinstance(test, exp.Paren):
            test = test.this
        # sqlglot reads `c IS NOT NULL` as Is(c, NULL) marked negate.
        marked = isinstance(test, exp.Is) and bool(test.args.get("negate"))
        negated = isinstance(conjunct, exp.Not) != marked
        column = test if isinstance(test, exp.Column) else test.this
        if not isinstance(column, exp.Column) or column.table.lower() not in names | {""}:
            continue
        value = values.get(_fold(column.this))
        if value is not None and _fails(test, negated, value):
            settled.add(_fold(column.this))
    return tuple(sorted(settled))


def _fails(test: exp.Expr, negated: bool, value: exp.Expr) -> bool:
    """Whether `[NOT] test`, with its column replaced by `value`, is certainly not true."""
    null_test = isinstance(test, exp.Is) and isinstance(test.expression, exp.Null)
    if isinstance(value, exp.Null):
        return negated if null_test else True  # any other test of NULL is NULL
    if null_test:
        non_null = isinstance(value, (exp.Literal, exp.Boolean, exp.CurrentTimestamp)) or (
            isinstance(value, exp.Anonymous) and str(value.this).lower() in _NON_NULL_CALLS
        )
        return non_null and not negated
    if isinstance(test, exp.Column):  # a boolean column, or NOT it
        return isinstance(value, exp.Boolean) and bool(value.this) == negated
    if negated or not isinstance(test, (exp.EQ, exp.NEQ, exp.NullSafeNEQ)):
        return False
    relation = _constants_relation(test.expression, value)
    if isinstance(test, exp.EQ):
        return relation == "different"
    return relation == "equal"


_PLAIN_WORD = re.compile(r"[a-z][a-z_]*")


def _constants_relation(left: exp.Expr, right: exp.Expr) -> str | None:
    """'equal' or 'different' for two constants of one kind that certainly are; else None.
    Text compares as written (a citext or enum column may fold case or spelling: two
    different plain words in any case are different)."""
    if isinstance(left, exp.Boolean) and isinstance(right, exp.Boolean):
        return "equal" if bool(left.this) == bool(right.this) else "different"
    if not isinstance(left, exp.Literal) or not isinstance(right, exp.Literal):
        return None
    if left.is_string and right.is_string:
        a, b = str(left.this), str(right.this)
        if a == b:
            return "equal"
        plain = _PLAIN_WORD.fullmatch
        if plain(a.lower()) and plain(b.lower()) and a.lower() != b.lower():
            return "different"
        return None
    if left.is_string or right.is_string:
        return None
    try:
        return "equal" if Decimal(str(left.this)) == Decimal(str(right.this)) else "different"
    except ArithmeticError:
        return None


def _set_assignments(
    assignments: Sequence[exp.Expr], names: set[str], table: Table | None
) -> tuple[list[str], list[Accumulation], list[str]]:
    columns: list[str] = []
    accumulations: list[Accumulation] = []
    deltas: list[str] = []
    for assignment in assignments:
        if not isinstance(assignment, exp.EQ):
            continue
        target = assignment.this
        targets = (
            [_column_name(t) for t in target.expressions]
            if isinstance(target, exp.Tuple)
            else [_column_name(target)]
        )
        columns.extend(targets)
        for column in targets:
            column_def = table.column(column) if table else None
            kind = _assignment_kind(
                column, assignment.expression, names, column_def.type if column_def else ""
            )
            if kind == "accumulation":
                text = " ".join(render(assignment).split())
                accumulations.append(Accumulation(column, text))
            elif kind == "delta":
                deltas.append(column)
    return columns, accumulations, deltas


class SqlEffects:
    """Effects of one parsed SQL statement (CTEs, subqueries and calls included)."""

    def __init__(self, scope: _Scope) -> None:
        self.scope = scope
        self.origin_of: Callable[[exp.Expr], Origins] = self.plain_origin
        self.is_variable: Callable[[str], bool] = scope.parameters.__contains__
        self.bounds = RowBounds(scope.catalog, scope.search_path, lambda n: self.is_variable(n))
        # A call argument as the callee's EXECUTE folding should see it (the walker puts
        # constant locals back in); as written by default.
        self.argument: Callable[[exp.Expr, Guard], exp.Expr] = lambda node, _: node

    def plain_origin(self, node: exp.Expr) -> Origins:
        """NEW.col, OLD.col or a parameter, as written (casts aside); else unknown."""
        while isinstance(node, (exp.Cast, exp.Paren)):
            node = node.this
        if isinstance(node, exp.Column) and not node.args.get("db"):
            qualifier = node.table.lower() if node.table else ""
            name = _fold(node.this)
            if qualifier in _ROW_VARIABLES:
                return ((Guard.always(), ValueOrigin(qualifier, name)),)
            if not qualifier and name in self.scope.parameters:
                return ((Guard.always(), ValueOrigin("parameter", name)),)
        if isinstance(node, exp.Coalesce) and len(node.expressions) == 1:
            # coalesce(NEW.c, OLD.c), "the row's c" in a trigger for any event: NEW.c where
            # there is a NEW row (if c is NOT NULL), OLD.c on DELETE.
            new, old = (self.plain_origin(n) for n in (node.this, node.expressions[0]))
            if (
                len(new) == len(old) == 1
                and new[0][1] is not None
                and new[0][1].source == "new"
                and old[0][1] == ValueOrigin("old", new[0][1].name)
            ):
                column = new[0][1].name
                return (
                    (Guard.of(OpAtom(frozenset({"INSERT", "UPDATE"}))), _new_if_not_null(column)),
                    (Guard.of(OpAtom(frozenset({"DELETE"}))), ValueOrigin("old", column)),
                )
        return _UNKNOWN_ORIGIN

    def of(
        self, tree: exp.Expr, guard: Guard, location: Location, inferred: bool = False
    ) -> list[Effect]:
        effects: list[Effect] = []
        ctes = _cte_names(tree)
        written: set[int] = set()
        for node in tree.walk():
            if isinstance(node, exp.Insert):
                effects.extend(self._insert(node, guard, location, ctes, inferred))
            elif isinstance(node, exp.Update):
                effects.extend(self._update(node, guard, location, ctes, inferred))
            elif isinstance(node, exp.Delete):
                effects.extend(self._delete(node, guard, location, ctes, inferred))
            elif isinstance(node, exp.Merge):
                effects.extend(self._merge(node, guard, location, ctes, inferred))
            elif isinstance(node, exp.TruncateTable):
                for table_node in node.expressions:
                    if isinstance(table_node, exp.Table):
                        effects.append(
                            Write(
                                self.scope.table_name(table_node),
                                "truncate",
                                location,
                                guard,
                                keyed_by="table",
                                inferred=inferred,
                                cascade=str(node.args.get("option") or "").upper() == "CASCADE",
                            )
                        )
            elif isinstance(node, exp.Select):
                effects.extend(self._select(node, guard, location, ctes))
            if isinstance(node, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
                written.add(id(node))
        effects.extend(self._calls(tree, guard, location))
        return effects

    def _write(
        self,
        node: exp.Expr,
        table_node: exp.Table | None,
        ctes: set[str],
    ) -> tuple[str | None, Table | None, set[str]] | None:
        if table_node is None:
            return None
        if not table_node.args.get("db") and _fold(table_node.this) in ctes:
            return None
        name = self.scope.table_name(table_node)
        return name, self.scope.table(name), _alias_names(node, table_node, name)

    def _insert(
        self, node: exp.Insert, guard: Guard, location: Location, ctes: set[str], inferred: bool
    ) -> list[Effect]:
        table_node, columns = _target(node)
        resolved = self._write(node, table_node, ctes)
        if resolved is None:
            return []
        name, table, names = resolved
        source = node.expression
        single_row = isinstance(source, exp.Values) and len(source.expressions) == 1
        max_rows = len(source.expressions) if isinstance(source, exp.Values) else None
        per_row_of = ""
        if isinstance(source, exp.Query):
            rows = self.bounds.query(source, self._cte_rows(node, ctes))
            single_row, max_rows = rows.exactly_one, rows.hi
            per_row_of = rows.per_row_of
        if source is None:  # INSERT … DEFAULT VALUES
            single_row = True
        if not columns and table:
            columns = [c.name for c in table.columns]
        conflict = node.args.get("conflict")
        kind = "insert"
        conflict_columns: list[str] = []
        accumulations: list[Accumulation] = []
        deltas: list[str] = []
        conflict_guard = Guard.always()
        if conflict is not None:
            kind = "insert-or-ignore"
            if conflict.expressions:
                kind = "upsert"
                conflict_columns, accumulations, deltas = _set_assignments(
                    conflict.expressions, names, table
                )
                conflict_guard = conflict_update_guard(conflict.args.get("where"), names, table)
        # A plain insert whose key the row does not supply adds a new row on every run.
        keys = list(table.unique_keys) if table else []
        appends = kind == "insert" and not any(k and set(k) <= set(columns) for k in keys)
        key_values = _insert_key_values(node, columns, conflict, table) if single_row else []
        rows_from = (_row_source(source) if isinstance(source, exp.Select) else "") or per_row_of
        return [
            Write(
                name,
                kind,
                location,
                guard,
                columns=tuple(columns),
                conflict_columns=tuple(conflict_columns),
                conflict_guard=conflict_guard,
                accumulations=tuple(accumulations),
                deltas=tuple(deltas),
                keyed_by="row" if single_row else "set",
                appends=appends,
                inferred=inferred,
                text=_one_line(node),
                sources=_sources(node, ctes),
                key_values=tuple(key_values),
                max_rows=max_rows,
                rows_from=rows_from,
                carries_new_row=single_row and _only_new_fields(source),
                source_key=self._source_key(source, guard, ctes)
                if max_rows == 1 and not single_row
                else None,
            )
        ]

    def _source_key(
        self, source: exp.Expr | None, guard: Guard, ctes: set[str]
    ) -> tuple[str, tuple[tuple[str, Origins], ...]] | None:
        """The table and key values of a SELECT that picks one row of one table by a
        unique key and tests nothing else (see `Write.source_key`)."""
        if not isinstance(source, exp.Select) or any(
            source.args.get(clause)
            for clause in ("joins", "laterals", "group", "having", "distinct", "limit", "offset")
        ):
            return None
        from_ = source.args.get("from_")
        relation = from_.this if from_ is not None else None
        if not isinstance(relation, exp.Table) or not isinstance(relation.this, exp.Identifier):
            return None
        if relation.args.get("joins") or (
            not relation.args.get("db") and _fold(relation.this) in ctes
        ):
            return None
        name = self.scope.table_name(relation)
        table = self.scope.table(name)
        if table is None or name is None:
            return None
        keys = self.bounds.keys_of(table, only=bool(relation.args.get("only")))
        names = _alias_names(source, relation, name)
        expressions, where_is_key = _key_expressions(source.args.get("where"), names, table)
        columns = {column for column, _ in expressions}
        if not where_is_key or len(columns) != len(expressions):
            return None
        if not any(set(key) == columns for key in keys):
            return None
        origins = tuple(
            (column, _restricted(self.origin_of(value), guard)) for column, value in expressions
        )
        return table.name, origins

    def _update(
        self, node: exp.Update, guard: Guard, location: Location, ctes: set[str], inferred: bool
    ) -> list[Effect]:
        table_node = node.this if isinstance(node.this, exp.Table) else None
        resolved = self._write(node, table_node, ctes)
        if resolved is None:
            return []
        name, table, names = resolved
        columns, accumulations, deltas = _set_assignments(node.expressions, names, table)
        # With FROM, the key values come from a joined relation: one row per match.
        write = self._keyed_write(
            node, "update", name, table, names, "from_", guard, location, ctes, inferred
        )
        set_origins = tuple(
            (
                _column_name(assignment.this),
                _restricted(self.origin_of(assignment.expression), guard),
            )
            for assignment in node.expressions
            if isinstance(assignment, exp.EQ) and not isinstance(assignment.this, exp.Tuple)
        )
        return [
            replace(
                write,
                columns=tuple(columns),
                accumulations=tuple(accumulations),
                deltas=tuple(deltas),
                set_origins=set_origins,
                settles=_settled_columns(node, names),
            )
        ]

    def _keyed_write(
        self,
        node: exp.Expr,
        kind: str,
        name: str | None,
        table: Table | None,
        names: set[str],
        join_clause: str,
        guard: Guard,
        location: Location,
        ctes: set[str],
        inferred: bool,
    ) -> Write:
        """An UPDATE or DELETE and the row(s) its WHERE clause picks."""
        where = node.args.get("where")
        key_expressions, where_is_key = _key_expressions(where, names, table)
        key_values = [
            (column, " ".join(render(value).split())) for column, value in key_expressions
        ]
        keys = [column for column, _ in key_values]
        joined = node.args.get(join_clause)
        keyed_by = "set" if joined else _keyed_by(keys, where, table)
        # Joined to one relation on a unique key of the target: one target row at most per
        # joined row (PostgreSQL updates or deletes a row once, however often it matches).
        rows_from = ""
        if joined and table is not None and _keyed_by(keys, where, table) == "row":
            relations = [joined.this] if isinstance(joined, exp.From) else list(joined)
            if len(relations) == 1:
                rows_from = _row_source(relations[0])
        max_rows = None
        if joined and isinstance(node.this, exp.Table):
            relations = [joined.this] if isinstance(joined, exp.From) else list(joined)
            rows = self.bounds.target_rows(node.this, relations, where, self._cte_rows(node, ctes))
            max_rows, rows_from = rows.hi, rows_from or rows.per_row_of
        key_origins = tuple(
            (column, _restricted(self.origin_of(value), guard)) for column, value in key_expressions
        )
        return Write(
            name,
            kind,
            location,
            guard,
            keyed_by=keyed_by,
            inferred=inferred,
            text=_one_line(node),
            sources=_sources(node, ctes),
            key_columns=tuple(sorted(set(keys))),
            key_values=tuple(key_values),
            max_rows=max_rows,
            rows_from=rows_from,
            key_origins=key_origins,
            where_is_key=where_is_key and not node.args.get(join_clause),
        )

    def _delete(
        self, node: exp.Delete, guard: Guard, location: Location, ctes: set[str], inferred: bool
    ) -> list[Effect]:
        table_node = node.this if isinstance(node.this, exp.Table) else None
        resolved = self._write(node, table_node, ctes)
        if resolved is None:
            return []
        name, table, names = resolved
        return [
            self._keyed_write(
                node, "delete", name, table, names, "using", guard, location, ctes, inferred
            )
        ]

    def _merge(
        self, node: exp.Merge, guard: Guard, location: Location, ctes: set[str], inferred: bool
    ) -> list[Effect]:
        table_node = node.this if isinstance(node.this, exp.Table) else None
        resolved = self._write(node, table_node, ctes)
        if resolved is None:
            return []
        name, table, names = resolved
        columns: list[str] = []
        accumulations: list[Accumulation] = []
        deltas: list[str] = []
        for when in node.find_all(exp.When):
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                found = _set_assignments(then.expressions, names, table)
                columns.extend(found[0])
                accumulations.extend(found[1])
                deltas.extend(found[2])
        rows = self.bounds.merge_rows(node, self._cte_rows(node, ctes))
        return [
            Write(
                name,
                "merge",
                location,
                guard,
                columns=tuple(columns),
                accumulations=tuple(accumulations),
                deltas=tuple(deltas),
                keyed_by="row" if rows.exactly_one else "set",
                inferred=inferred,
                text=_one_line(node),
                sources=_sources(node, ctes),
                merge_actions=merge_actions(node),
                max_rows=rows.hi,
                rows_from=rows.per_row_of,
            )
        ]

    def _cte_rows(self, node: exp.Expr, ctes: set[str]) -> dict[str, Rows]:
        """The rows of each WITH query `node` can read: those it declares, bounded; any
        other of the statement, unknown."""
        return {**dict.fromkeys(ctes, UNKNOWN_ROWS), **self.bounds.ctes_of(node)}

    def _select(
        self, node: exp.Select, guard: Guard, location: Location, ctes: set[str]
    ) -> list[Effect]:
        sources: list[exp.Table] = []
        from_ = node.args.get("from_")
        if from_ is not None and isinstance(from_.this, exp.Table):
            sources.append(from_.this)
        for join in node.args.get("joins") or []:
            if isinstance(join.this, exp.Table):
                sources.append(join.this)
        if not sources:
            return []
        aggregates = sorted(
            {name for expression in node.expressions for name in _aggregates_in(expression)}
        )
        effects: list[Effect] = []
        where = node.args.get("where")
        for table_node in sources:
            if not table_node.args.get("db") and _fold(table_node.this) in ctes:
                continue
            if isinstance(table_node.this, exp.Anonymous):
                continue
            name = self.scope.table_name(table_node)
            if name is None:
                continue
            table = self.scope.table(name)
            names = _alias_names(node, table_node, name)
            keys = _key_columns(where, names, table) if len(sources) == 1 else []
            extremes = _extremes(node, names, table, where) if len(sources) == 1 else ()
            effects.append(
                Read(
                    name,
                    location,
                    guard,
                    aggregates=tuple(aggregates),
                    keyed_by=_keyed_by(keys, where, table),
                    key_columns=tuple(sorted(set(keys))),
                    extremes=extremes,
                )
            )
        return effects

    def _calls(self, tree: exp.Expr, guard: Guard, location: Location) -> list[Effect]:
        calls: list[Effect] = []
        for node in tree.walk():
            if not isinstance(node, exp.Anonymous):
                continue
            name = str(node.this)
            if name.lower() in SQL_SYNTAX_CALLS and not _quoted_name(node):
                continue  # ROW(…), x <> ALL (array): syntax, not a call
            parts: tuple[str, ...] = (name if _quoted_name(node) else name.lower(),)
            parent = node.parent
            if isinstance(parent, exp.Dot) and parent.expression is node:
                parts = (_fold(parent.this), *parts)
            calls.append(
                CallEffect(
                    parts,
                    location,
                    guard,
                    tuple(render(self.argument(a, guard)) for a in node.expressions),
                    tuple(_restricted(self.origin_of(a), guard) for a in node.expressions),
                )
            )
        return calls


def _only_new_fields(source: exp.Expr | None) -> bool:
    """VALUES (NEW.*) / SELECT (NEW).* / VALUES (NEW.a, NEW.b): every value is NEW's."""
    if isinstance(source, exp.Values) and len(source.expressions) == 1:
        row = source.expressions[0]
        values = list(row.expressions) if isinstance(row, exp.Tuple) else [row]
    elif isinstance(source, exp.Select):
        values = list(source.expressions)
    else:
        return False

    def from_new(value: exp.Expr) -> bool:
        value = value.this if isinstance(value, exp.Alias) else value
        if isinstance(value, exp.Column):
            return (value.table or "").lower() == "new"
        return (
            isinstance(value, exp.Dot)
            and isinstance(value.expression, exp.Star)
            and isinstance(value.this, exp.Paren)
            and isinstance(value.this.this, exp.Column)
            and not value.this.this.table
            and value.this.this.name.lower() == "new"
        )

    return bool(values) and all(from_new(v) for v in values)


def _new_if_not_null(column: str) -> ValueOrigin:
    return ValueOrigin("new-if-not-null", column)


def _where(origins: Origins, guard: Guard) -> Iterator[tuple[Guard, ValueOrigin | None]]:
    for alternative, origin in origins:
        restricted = guard if alternative.is_always else alternative.and_(guard)
        if not restricted.is_never:
            yield restricted, origin


def _restricted(origins: Origins, guard: Guard, more: Origins = ()) -> Origins:
    """The origins a value can have where `guard` holds (and `more`, held elsewhere)."""
    return (*_where(origins, guard), *more) or _UNKNOWN_ORIGIN


def _insert_key_values(
    node: exp.Insert, columns: Sequence[str], conflict: exp.Expr | None, table: Table | None
) -> list[tuple[str, str]]:
    """The values a single-row INSERT gives its conflict target (or primary key) columns."""
    source = node.expression
    row = source.expressions[0] if isinstance(source, exp.Values) and source.expressions else None
    values = list(row.expressions) if isinstance(row, exp.Tuple) else []
    if not values or len(values) != len(columns):
        return []
    target: list[str] = []
    if conflict is not None:
        target = [_column_name(k) for k in conflict.args.get("conflict_keys") or []]
    if not target and table:
        target = list(table.primary_key)
    by_column = dict(zip(columns, values, strict=True))
    return [(c, " ".join(render(by_column[c]).split())) for c in target if c in by_column]


def _row_source(relation: exp.Expr) -> str:
    """The one relation `relation` reads, as written, when it yields at most one row per
    row of it: the relation itself, or a SELECT from it alone (WHERE, GROUP BY, DISTINCT
    and LIMIT only drop rows) with no join and no function that could return a set.
    Empty when no such relation bounds it."""
    if isinstance(relation, exp.Subquery):
        relation = relation.this
    if isinstance(relation, exp.Select):
        source = relation.args.get("from_")
        if (
            source is None
            or relation.args.get("joins")
            or relation.args.get("laterals")
            or relation.args.get("with_")
            or any(
                isinstance(node, (exp.UDTF, exp.GenerateSeries, exp.Anonymous))
                for projection in relation.expressions
                for node in projection.walk()
            )
        ):
            return ""
        relation = source.this
    if not isinstance(relation, exp.Table) or relation.args.get("joins") or not relation.name:
        return ""
    if not isinstance(relation.this, exp.Identifier):
        return ""  # a function in FROM
    name = _fold(relation.this)
    return f"{_fold(relation.args['db'])}.{name}" if relation.args.get("db") else name


def _sources(node: exp.Expr, ctes: set[str]) -> tuple[str, ...]:
    """Relations a DML statement reads from, excluding the table it writes."""
    target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    names = set()
    for table in node.find_all(exp.Table):
        if table is target or not table.name:
            continue
        name = _fold(table.this)
        if not table.args.get("db") and name in ctes:
            continue
        names.add(f"{_fold(table.args['db'])}.{name}" if table.args.get("db") else name)
    return tuple(sorted(names))


def merge_actions(node: exp.Merge) -> tuple[str, ...]:
    """The row actions a MERGE's WHEN arms take, in insert, update, delete order."""
    actions: set[str] = set()
    for when in node.find_all(exp.When):
        then = when.args.get("then")
        if isinstance(then, exp.Insert):
            actions.add("insert")
        elif isinstance(then, exp.Update):
            actions.add("update")
        elif isinstance(then, exp.Var) and str(then.this).upper() == "DELETE":
            actions.add("delete")
    return tuple(a for a in ("insert", "update", "delete") if a in actions)


def conflict_update_guard(where: exp.Expr | None, names: set[str], table: Table | None) -> Guard:
    """DO UPDATE … WHERE as a guard on the update: EXCLUDED.x is NEW.x, the stored row OLD."""
    if where is None:
        return Guard.always()
    condition = where.this if isinstance(where, exp.Where) else where
    columns = {c.name for c in table.columns} if table else set()

    def rename(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Column):
            return node
        qualifier = node.table.lower() if node.table else ""
        if qualifier == "excluded":
            return exp.column(node.name, table="NEW")
        if qualifier in names or (not qualifier and _fold(node.this) in columns):
            return exp.column(node.name, table="OLD")
        return node

    rewritten = condition.copy().transform(rename)
    return guard_of(rewritten, " ".join(render(condition).split()))


def _quoted_name(node: exp.Anonymous) -> bool:
    return isinstance(node.this, exp.Identifier) and bool(node.this.quoted)


def _aggregates_in(node: exp.Expr) -> Iterator[str]:
    for sub in node.walk():
        if isinstance(sub, exp.Select) and sub is not node:
            continue
        known = _AGGREGATE_NODES.get(type(sub))
        if known:
            yield known
        elif isinstance(sub, exp.Anonymous) and str(sub.this).lower() in AGGREGATES:
            yield str(sub.this).lower()


def _one_line(node: exp.Expr) -> str:
    return " ".join(render(node).split())


# ---- dynamic SQL --------------------------------------------------------------------------

_FORMAT_SPEC = re.compile(r"%(?:\d+\$)?-?(\d+|\*)?([sIL%])")


def _format_call(node: exp.Expr) -> list[exp.Expr] | None:
    """format(template, args…) as sqlglot parses it (exp.Format) or as a plain call."""
    if isinstance(node, exp.Format):
        return [node.this, *node.expressions]
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "format" and node.expressions:
        return list(node.expressions)
    return None


def _replace_call(node: exp.Expr) -> list[exp.Expr] | None:
    if isinstance(node, exp.Replace):
        return [node.this, node.expression, node.args["replacement"]]
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "replace":
        return list(node.expressions) if len(node.expressions) == 3 else None
    return None


def constant_text(node: exp.Expr | None) -> tuple[str | None, bool]:
    """Fold a string expression: (text, exact). Identifiers from `%I` become placeholders."""
    if node is None:
        return None, False
    if isinstance(node, exp.Paren):
        return constant_text(node.this)
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this), True
    if isinstance(node, exp.DPipe):
        left, left_exact = constant_text(node.this)
        right, right_exact = constant_text(node.expression)
        if left is None or right is None:
            return None, False
        return left + right, left_exact and right_exact
    format_parts = _format_call(node)
    if format_parts is not None:
        template, exact = constant_text(format_parts[0])
        if template is None:
            return None, False
        arguments = [constant_text(a) for a in format_parts[1:]]
        position = 0

        def substitute(match: re.Match[str]) -> str:
            nonlocal position, exact
            spec = match.group(2)
            if spec == "%":
                return "%"
            value = arguments[position] if position < len(arguments) else (None, False)
            position += 1
            if value[0] is not None:
                exact = exact and value[1]
                return value[0] if spec != "L" else "'" + value[0].replace("'", "''") + "'"
            exact = False
            return _DYNAMIC_IDENT if spec == "I" else "NULL"

        return _FORMAT_SPEC.sub(substitute, template), exact
    replace_parts = _replace_call(node)
    if replace_parts is not None:
        parts = [constant_text(a) for a in replace_parts]
        if all(p[0] is not None for p in parts):
            base, old, new = (str(p[0]) for p in parts)
            return base.replace(old, new), all(p[1] for p in parts)
    return None, False


# ---- PL/pgSQL walk --------------------------------------------------------------------


_LOCAL_NAME = re.compile(r"[a-z_][a-z0-9_$]*")


def _assigned_names(statement: Statement) -> list[str]:
    """Variables a statement assigns (INTO, loop targets, GET DIAGNOSTICS, :=)."""
    names: list[str] = []
    if isinstance(statement, Assign):
        names.append(statement.target)
    into = getattr(statement, "into", None)
    if into is not None:
        names.extend(into.targets)
    names.extend(getattr(statement, "targets", ()))
    variable = getattr(statement, "variable", None)
    if isinstance(variable, str):
        names.append(variable)
    if isinstance(statement, GetDiagnostics):
        names.extend(item.target for item in statement.items)
    if isinstance(statement, Block):
        names.extend(d.name for d in statement.declarations if d.default is not None)
    return [n.strip().lower() for n in names]


_FIRING_VARIABLES = frozenset(
    {"TG_ARGV", "TG_OP", "TG_WHEN", "TG_LEVEL", "TG_NAME", "TG_TABLE_NAME", "TG_TABLE_SCHEMA"}
)


def _is_trigger_argument(value: exp.Expr) -> bool:
    while isinstance(value, (exp.Cast, exp.Paren)):
        value = value.this
    return (
        isinstance(value, exp.Bracket)
        and isinstance(value.this, exp.Column)
        and not value.this.table
        and value.this.name.upper() == "TG_ARGV"
    )


def _assignment_counts(statements: Iterable[Statement], counts: dict[str, int]) -> None:
    for statement in statements:
        for name in _assigned_names(statement):
            counts[name] = counts.get(name, 0) + 1
        for nested in statement.bodies():
            _assignment_counts(nested, counts)


class _Walker:
    def __init__(self, scope: _Scope, assignment_counts: Mapping[str, int]) -> None:
        self.scope = scope
        self.sql = SqlEffects(scope)
        self.sql.origin_of = self.origin_of
        self.sql.is_variable = self.is_variable
        self.sql.argument = self.constant_argument
        self.effects: list[Effect] = []
        self.choices: list[Choice] = []
        self.diagnostics: list[Diagnostic] = []
        # Variables assigned exactly once in the whole body, with the value and the guard
        # under which that assignment ran: their value is known wherever that guard holds.
        self.counts = assignment_counts
        self.constants: dict[str, tuple[exp.Expr, Guard]] = {}
        # The latest assignment walked to each variable or record field (`rec.f`), with
        # the guard it ran under; None for a value not read (INTO, loop targets), or one
        # made inside a loop. Read where the same guard holds: in straight-line code of
        # one branch, that assignment is the one in force.
        self.latest: dict[str, tuple[exp.Expr | None, Guard, int]] = {}
        self.assignments = 0  # how many set_latest calls so far: the order of assignments
        self.fields: dict[str, set[str]] = {}  # record -> its field keys in `latest`
        # Conditions caught by the EXCEPTION handlers of the blocks around the statement
        # being walked (innermost last), and what each protected statement is covered by.
        self.catching: list[frozenset[str]] = []
        self.handled: dict[Location, frozenset[str]] = {}
        # Where each local variable's value comes from, so that a write keyed by
        # `v := NEW.session_id` is keyed by NEW.session_id.
        self.variables: dict[str, Origins] = {}
        self.loops: list[_LoopFrame] = []
        # The statement FOUND was last set by on this path (see FoundAtom; None: not
        # known), the one just walked when it set the row count GET DIAGNOSTICS reads,
        # and the variables holding such a ROW_COUNT.
        self.found: int | None = None
        self.just_counted: int | None = None
        self.row_counts: dict[str, int] = {}
        self.unfollowed_setters = 0
        self.found_shadowed = False

    def assigned(self, name: str, value: Fragment | None, live: Guard) -> None:
        key = name.strip().lower()
        if self.counts.get(key) == 1 and value is not None and value.tree is not None:
            self.constants[key] = (value.tree, live)
        tree = value.tree if value is not None and not self.loops else None
        self.set_latest(key, tree, live)

    def set_latest(self, key: str, tree: exp.Expr | None, live: Guard) -> None:
        for field_key in self.fields.pop(key, ()):  # a whole record: its fields go with it
            self.latest.pop(field_key, None)
        record, dot, _ = key.partition(".")
        if dot:
            self.fields.setdefault(record, set()).add(key)
        self.latest[key] = (tree, live, self.assignments)
        self.assignments += 1

    def latest_value(self, key: str, live: Guard, before: int) -> tuple[exp.Expr, int] | None:
        """The value of the assignment in force, if it ran under `live` and before the
        assignment whose value is being read (`x := y; y := 5`: x is not 5)."""
        found = self.latest.get(key)
        if found is None or found[0] is None or self.loops or found[1] != live:
            return None
        return (found[0], found[2]) if found[2] < before else None

    def with_constants(
        self,
        tree: exp.Expr,
        live: Guard,
        inside: frozenset[str] = frozenset(),
        before: int = sys.maxsize,
    ) -> exp.Expr:
        """`tree` with each constant local variable replaced by the value assigned to it;
        a parameter the body assigns otherwise is unknown (not the argument passed)."""

        def substitute(node: exp.Expr) -> exp.Expr:
            if not isinstance(node, exp.Column) or node.args.get("db"):
                return node
            name = node.name.lower()
            if node.table:  # a record field assigned in this branch (`rec.f := …`)
                record = node.table.lower()
                key = f"{record}.{name}"
                if record in _ROW_VARIABLES or key in inside:
                    return node  # NEW/OLD fields: the walker follows them as row values
                field_value = self.latest_value(key, live, before)
                if field_value is None:
                    return node
                return self.with_constants(field_value[0], live, inside | {key}, field_value[1])
            if name in inside or not _LOCAL_NAME.fullmatch(name):
                return node  # in its own value (`p := lower(p)`): the value before
            known = self.constants.get(name)
            if known is not None and (known[1].is_always or known[1] == live):
                return self.with_constants(known[0], live, inside | {name})
            latest = self.latest_value(name, live, before)
            if latest is not None:
                return self.with_constants(latest[0], live, inside | {name}, latest[1])
            if name in self.scope.parameters and self.counts.get(name):
                return exp.column(_CHANGED_PARAMETER)
            return node

        return tree.transform(substitute)

    def is_variable(self, name: str) -> bool:
        """A variable the body declares (or a loop sets), or a parameter."""
        return name in self.variables or name in self.scope.parameters

    def constant_argument(self, node: exp.Expr, live: Guard) -> exp.Expr:
        """A call argument with each local whose value is fixed text (literals, TG_*
        variables, TG_ARGV, other such locals) replaced by that value, so that a callee's
        EXECUTE over its parameter folds (`t text := quote_ident(TG_ARGV[0])`, then
        `PERFORM increment_counter(t, NEW.id)`). Other locals stay as written."""
        names = {n.name.lower() for n in node.walk() if isinstance(n, exp.Column) and not n.table}
        if not names & self.constants.keys():
            return node  # the common case: no constant local in it, nothing to work out
        fixed = self.fixed_text_constants()
        if not names & fixed:
            return node
        return self.with_constants(node, live, frozenset(self.constants) - fixed)

    def fixed_text_constants(self) -> frozenset[str]:
        fixed: set[str] = set()
        changed = True
        while changed:  # a constant built from other such constants is one too
            changed = False
            for name, (value, _) in self.constants.items():
                if name not in fixed and all(
                    not isinstance(n, (exp.Column, exp.Query))
                    or (
                        isinstance(n, exp.Column)
                        and not n.table
                        and (n.name.lower() in fixed or n.name.upper() in _FIRING_VARIABLES)
                    )
                    for n in value.walk()
                ):
                    fixed.add(name)
                    changed = True
        return frozenset(fixed)

    def origin_of(self, node: exp.Expr) -> Origins:
        while isinstance(node, (exp.Cast, exp.Paren)):
            node = node.this
        if isinstance(node, exp.Column) and not node.table:
            known = self.variables.get(_fold(node.this))
            if known is not None:
                return known
        return self.sql.plain_origin(node)

    def assign(self, target: str, value: exp.Expr | None, live: Guard) -> None:
        """`target := value` under `live`: elsewhere the variable keeps its origins."""
        name = target.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name):
            return
        name = name.lower()
        origins = _UNKNOWN_ORIGIN if value is None or self.loops else self.origin_of(value)
        if not live.is_always:
            before = self.variables.get(name) or self.sql.plain_origin(exp.column(name))
            origins = _restricted(before, live.negate(), (*_where(origins, live),))
        if len(origins) > _MAX_ORIGINS:
            origins = _UNKNOWN_ORIGIN
        self.variables[name] = origins

    def condition(self, fragment: Fragment, live: Guard) -> Guard:
        """The guard of an IF/WHILE/ASSERT condition. A local variable that holds one of
        the trigger's arguments (`v text = TG_ARGV[0]`, assigned nowhere else) is read as
        that argument, so the guard is decided per trigger like a test of TG_ARGV itself;
        a record field is read as the value assigned to it in the same branch."""
        tree = fragment.tree
        if tree is None or not (self.constants or self.fields):
            return guard_of(tree, fragment.text, self.scope.parameters, self.found_tests())
        arguments = self.arguments
        if any(
            isinstance(node, exp.Column)
            and (
                node.name.lower() in arguments
                if not node.table
                else f"{node.table.lower()}.{node.name.lower()}" in self.latest
            )
            for node in tree.walk()
        ):
            # Record fields assigned in this branch are read as their values too
            # (`rec.changed := hstore(NEW.*) - rec.before; IF rec.changed = '' …`).
            plain = {key for key in (*self.constants, *self.latest) if "." not in key}
            tree = self.with_constants(tree, live, frozenset(plain) - arguments)
        return guard_of(tree, fragment.text, self.scope.parameters, self.found_tests())

    @property
    def arguments(self) -> frozenset[str]:
        """Constant locals whose value is a trigger argument (`TG_ARGV[n]`, maybe cast)."""
        return frozenset(
            name for name, (value, _) in self.constants.items() if _is_trigger_argument(value)
        )

    def found_tests(self) -> dict[str, int]:
        """What FOUND and the ROW_COUNT variables stand for here (see FoundAtom)."""
        tests = dict(self.row_counts)
        if self.found is not None and not self.found_shadowed:
            tests["found"] = self.found
        return tests

    def unfollowed_setter(self) -> int:
        self.unfollowed_setters += 1
        return -self.unfollowed_setters

    def set_found(self, statement: Statement, start: int) -> None:
        """FOUND after `statement` (its effects are self.effects[start:]), as PL/pgSQL sets
        it: INSERT/UPDATE/DELETE/MERGE and SELECT INTO by the rows they processed, PERFORM,
        FETCH/MOVE and RETURN QUERY by the rows they produced; EXECUTE, assignments and
        utility statements leave it alone."""
        self.just_counted = None
        if isinstance(statement, ExecSql):
            tree = statement.sql.tree
            if tree is None:
                self.found = None
                return
            modifies = isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge))
            if not modifies and statement.into is None:
                return
            writes = [
                index
                for index in range(start, len(self.effects))
                if isinstance(self.effects[index], Write)
            ]
            followed = modifies and len(writes) == 1
            self.found = writes[0] if followed else self.unfollowed_setter()
            self.just_counted = self.found
        elif isinstance(statement, Perform):
            self.found = self.just_counted = self.unfollowed_setter()
        elif isinstance(statement, (Fetch, ReturnQuery)):
            self.found = self.unfollowed_setter()

    def fragment(self, fragment: Fragment | None, guard: Guard, statement: bool = False) -> None:
        if fragment is None or guard.is_never:
            return
        if fragment.tree is not None:
            self.effects.extend(self.sql.of(fragment.tree, guard, fragment.location))
        elif not has_no_data_effect(fragment.text):
            # A condition or value sqlglot cannot read may call functions that write: the
            # body is not fully analysed (the parser's diagnostic says why).
            what = "statement" if statement else "expression"
            self.diagnostics.append(
                Diagnostic(
                    fragment.location.path,
                    fragment.location.line,
                    fragment.location.column,
                    f"SQL {what} not understood: its effects are unknown",
                )
            )

    def arm(
        self,
        body: Sequence[Statement],
        guard: Guard,
        arms: list[tuple[Guard, int]],
        found: list[int | None] | None = None,
    ) -> Guard:
        """Run one arm of an IF/CASE, noting where its effects start; `found` collects
        what FOUND stands for where the arm ends (when control goes on after it)."""
        arms.append((guard, len(self.effects)))
        before = self.found
        after = self.run(body, guard)
        if found is not None:
            if not after.is_never:
                found.append(self.found)
            self.found = before
        return after

    def merge_found(self, found: list[int | None]) -> None:
        """FOUND after a statement whose paths end with `found`: known when they agree."""
        self.found = found[0] if found and all(f == found[0] for f in found) else None

    def choice(self, arms: list[tuple[Guard, int]], ends: list[int], falls: Guard) -> None:
        spans = tuple((start, end) for (_, start), end in zip(arms, ends, strict=True))
        self.choices.append(Choice(tuple(g for g, _ in arms), spans, falls))

    def run(self, statements: Sequence[Statement], live: Guard) -> Guard:
        """Effects of a statement list reached under `live`; returns the fall-through guard."""
        for statement in statements:
            if live.is_never:
                break
            live = self.statement(statement, live)
        return live

    def statement(self, statement: Statement, live: Guard) -> Guard:
        start = len(self.effects)
        after = self.walk(statement, live)
        self.set_found(statement, start)
        if not isinstance(statement, (Assign, Block)):  # those record their values
            for name in _assigned_names(statement):
                self.set_latest(name, None, live)
        if self.catching:
            covered = frozenset[str]().union(*self.catching)
            for effect in self.effects[start:]:
                self.handled[effect.location] = self.handled.get(effect.location, covered) | covered
        return after

    def walk(self, statement: Statement, live: Guard) -> Guard:
        if isinstance(statement, Block):
            for declaration in statement.declarations:
                self.fragment(declaration.default, live)
                if declaration.default is not None:
                    self.assigned(declaration.name, declaration.default, live)
                default = declaration.default.tree if declaration.default else None
                if declaration.alias_for is not None:
                    default = exp.column(declaration.alias_for)
                self.variables.pop(declaration.name.lower(), None)
                self.assign(declaration.name, default, Guard.always())
            if any(d.name.strip().lower() == "found" for d in statement.declarations):
                self.found_shadowed = True  # a variable of its own, not PL/pgSQL's FOUND
            caught = frozenset(c for h in statement.handlers for c in h.conditions)
            if caught:
                self.catching.append(caught)
            try:
                after = self.run(statement.body, live)
            finally:
                if caught:
                    self.catching.pop()
            found_after: list[int | None] = [self.found] if not after.is_never else []
            for handler in statement.handlers:
                on_error = live.and_(Guard.of(ErrorAtom(" OR ".join(handler.conditions))))
                self.found = None  # as the statement that raised left it
                handled = self.run(handler.body, on_error)
                if not handled.is_never:
                    found_after.append(self.found)
                after = after.or_(handled)
            if statement.handlers:
                self.merge_found(found_after)
            return after
        if isinstance(statement, If):
            remaining = live
            after = Guard.never()
            arms: list[tuple[Guard, int]] = []
            ends: list[int] = []
            found: list[int | None] = []  # FOUND where each arm ends
            for branch in statement.branches:
                self.fragment(branch.condition, remaining)
                condition = self.condition(branch.condition, remaining)
                after = after.or_(self.arm(branch.body, remaining.and_(condition), arms, found))
                ends.append(len(self.effects))
                remaining = remaining.and_(condition.negate())
            if statement.else_body is not None:
                after = after.or_(self.arm(statement.else_body, remaining, arms, found))
                ends.append(len(self.effects))
                self.choice(arms, ends, Guard.never())
                self.merge_found(found)
                return after
            self.choice(arms, ends, remaining)
            self.merge_found([*found, self.found] if not remaining.is_never else found)
            return after.or_(remaining)
        if isinstance(statement, Case):
            self.fragment(statement.subject, live)
            remaining = live
            after = Guard.never()
            arms = []
            ends = []
            found_after = []
            for when in statement.whens:
                condition = guard_of(
                    when.condition, when.values.text, self.scope.parameters, self.found_tests()
                )
                after = after.or_(self.arm(when.body, remaining.and_(condition), arms, found_after))
                ends.append(len(self.effects))
                remaining = remaining.and_(condition.negate())
            if statement.else_body is not None:
                after = after.or_(self.arm(statement.else_body, remaining, arms, found_after))
                ends.append(len(self.effects))
            self.choice(arms, ends, Guard.never())
            self.merge_found(found_after)
            return after  # no ELSE: CASE_NOT_FOUND is raised, nothing falls through
        if isinstance(statement, Loop):
            return self.loop(statement, live)
        if isinstance(statement, Return):
            if statement.value is not None:
                self.fragment(statement.value, live)
            self.effects.append(ReturnEffect(_return_value(statement), statement.location, live))
            self.leave(self.loops, ended=self.loops)
            return Guard.never()
        if isinstance(statement, Raise):
            for parameter in statement.params:
                self.fragment(parameter, live)
            if statement.level.upper() == "EXCEPTION":
                self.raised(statement, live)
                self.leave(self.loops, ended=self.loops)
                return Guard.never()
            return live
        if isinstance(statement, Exit):
            if statement.condition is not None:
                self.fragment(statement.condition, live)
            labels = [frame.label for frame in self.loops]
            if statement.label is not None and statement.label.lower() in labels:
                leaves = labels.index(statement.label.lower())
            else:  # the innermost loop (or a block inside it)
                leaves = len(self.loops) - 1
            # EXIT ends its loop and the loops inside it; CONTINUE ends only those inside
            # it, and the round of its own.
            self.leave(self.loops[leaves:], ended=self.loops[leaves + (not statement.is_exit) :])
            return live
        if isinstance(statement, Assign):
            self.fragment(statement.value, live)
            self.assigned(statement.target, statement.value, live)
            self.row_targets(
                (statement.target,),
                statement.location,
                live,
                derived_columns(statement.value.tree),
            )
            self.assign(statement.target, statement.value.tree, live)
            return live
        if isinstance(statement, (ExecSql, Perform)):
            fragment = statement.sql if isinstance(statement, ExecSql) else statement.query
            self.fragment(fragment, live, statement=True)
            self.scope.note_created(fragment.text)
            if isinstance(statement, ExecSql) and statement.into is not None:
                self.row_targets(statement.into.targets, statement.location, live)
                values = _selected_values(fragment.tree, len(statement.into.targets))
                for target, value in zip(statement.into.targets, values, strict=True):
                    self.assign(target, value, live)
            if fragment.tree is None and not has_no_data_effect(fragment.text):
                self.effects.append(DynamicEffect(fragment.text, fragment.location, live))
            return live
        if isinstance(statement, DynExecute):
            self.dynamic(statement.query, live, statement.using)
            for fragment in statement.using:
                self.fragment(fragment, live)
            return live
        if isinstance(statement, (ReturnQuery, Open)):
            self.fragment(statement.query, live)
            if statement.dynquery is not None:
                self.dynamic(statement.dynquery, live, statement.using)
            for bound in statement.using:
                self.fragment(bound, live)
            return live
        if isinstance(statement, Assert):
            # With plpgsql.check_asserts on (the default), a false condition raises.
            self.fragment(statement.condition, live)
            failing = live.and_(self.condition(statement.condition, live).negate())
            message: str | None = "assertion failed"
            if statement.message is not None:
                text, exact = constant_text(statement.message.tree)
                message = text if exact else None
            self.error("assert_failure", message, statement.location, failing)
            return live
        if isinstance(statement, Call):
            self.call_statement(statement.call, live)
            return live
        if isinstance(statement, GetDiagnostics) and not statement.stacked:
            for item in statement.items:
                name = item.target.strip().lower()
                counted = self.just_counted
                if item.item == "ROW_COUNT" and counted is not None and self.counts.get(name) == 1:
                    self.row_counts[name] = counted
                else:
                    self.row_counts.pop(name, None)
            return live
        for nested in statement.bodies():
            self.run(nested, live)
        return live

    def loop(self, loop: Loop, live: Guard) -> Guard:
        """A loop's body runs `_iterations(loop)` times, or from once when an EXIT, RETURN
        or RAISE in it may end the loop; what follows the first statement that may leave a
        round early (those, or CONTINUE) may not run at all. Control reaches what follows
        the loop whenever it reaches the loop."""
        start = len(self.effects)
        if isinstance(loop, ForDynamic):
            # FOR … IN EXECUTE: the query is a string expression, run as dynamic SQL.
            self.dynamic(loop.query, live, loop.using)
            for bound in loop.using:
                self.fragment(bound, live)
        else:
            for fragment in _loop_fragments(loop):
                self.fragment(fragment, live)
        if isinstance(loop, While):  # tested once more than the body runs
            self.repeat(
                start,
                len(self.effects),
                Iterations(1, None, f"test of WHILE {loop.condition.text.strip()}"),
            )
        for target in [*getattr(loop, "targets", ()), getattr(loop, "variable", "")]:
            self.assign(target, None, live)
        frame = _LoopFrame(loop.label.lower() if loop.label else None)
        self.loops.append(frame)
        start = len(self.effects)
        # A round sees FOUND as the round before it (or the statement before the loop) left it.
        self.found = None
        self.run(loop.body, live)
        self.loops.pop()
        # FOR and FOREACH set FOUND to whether they went round; after WHILE or LOOP it is
        # whatever set it last, in whichever round.
        self.found = (
            None if isinstance(loop, While) or type(loop) is Loop else self.unfollowed_setter()
        )
        iterations = _iterations(loop)
        left = len(self.effects) if frame.left_at is None else frame.left_at
        if frame.may_end:  # an EXIT, RETURN or RAISE may end the loop in its first round
            iterations = replace(iterations, lo=min(iterations.lo, 1))
        self.repeat(start, left, iterations)
        self.repeat(left, len(self.effects), replace(iterations, lo=0))
        return live

    def leave(self, frames: Sequence[_LoopFrame], ended: Sequence[_LoopFrame]) -> None:
        """Control may leave these loops' current round here, and end the `ended` ones."""
        for frame in frames:
            if frame.left_at is None:
                frame.left_at = len(self.effects)
        for frame in ended:
            frame.may_end = True

    def repeat(self, start: int, end: int, iterations: Iterations) -> None:
        for index in range(start, end):
            self.effects[index] = repeated(self.effects[index], iterations)

    def raised(self, statement: Raise, live: Guard) -> None:
        condition, message = _raised(statement)
        self.error(condition, message, statement.location, live)

    def error(self, condition: str, message: str | None, location: Location, live: Guard) -> None:
        """An error raised here, unless a handler around it in this body catches it."""
        if live.is_never or any(catches(c, condition) for c in self.catching):
            return
        self.effects.append(RaiseEffect(message, condition, location, live))

    def row_targets(
        self,
        targets: Iterable[str],
        location: Location,
        live: Guard,
        derived_from: frozenset[str] | None = None,
    ) -> None:
        """Assignments to NEW.column change the row a BEFORE trigger hands back."""
        for target in targets:
            compact = target.replace(" ", "")
            if compact.lower().startswith("new."):
                column = compact[4:]
                column = column.strip('"') if column.startswith('"') else column.lower()
                self.effects.append(RowAssignment(column, location, live, derived_from))

    def dynamic(self, fragment: Fragment, live: Guard, using: Sequence[Fragment] = ()) -> None:
        if live.is_never:
            return
        tree = self.with_constants(fragment.tree, live) if fragment.tree is not None else None
        text, exact = constant_text(tree)
        bound = tuple(" ".join(u.text.split()) for u in using)
        inferred: list[Write] = []
        if text is not None:
            self.scope.note_created(text)
            parsed = parse_expression(bind_parameters(text, bound) if exact else text)
            if parsed is not None:
                found = self.sql.of(parsed, live, fragment.location, inferred=True)
                if exact:
                    self.effects.extend(found)
                    return
                inferred = [e for e in found if isinstance(e, Write)]
        elif tree is not None:
            self.effects.extend(self.sql._calls(tree, live, fragment.location))
        template = render(tree) if tree is not None else None
        self.effects.append(
            DynamicEffect(text, fragment.location, live, tuple(inferred), template, bound)
        )

    def call_statement(self, fragment: Fragment, live: Guard) -> None:
        text = fragment.text.strip()
        if text.lower().startswith("call"):
            text = text[4:]
        parsed = parse_expression("SELECT " + text)
        if parsed is None:
            self.effects.append(DynamicEffect(fragment.text, fragment.location, live))
            return
        self.effects.extend(self.sql.of(parsed, live, fragment.location))


RAISE_EXCEPTION = "raise_exception"
_SQLSTATES = {"raise_exception": "p0001", "function_executed_no_return_statement": "2f005"}


def catches(conditions: Iterable[str], condition: str) -> bool:
    """Whether a handler for `conditions` catches an error raised as `condition` (a
    condition name or SQLSTATE). OTHERS catches all but query_canceled and assert_failure."""
    wanted = {condition.lower(), _SQLSTATES.get(condition.lower(), condition.lower())}
    for caught in conditions:
        name = caught.lower()
        if name == "others" and condition.lower() not in {"query_canceled", "assert_failure"}:
            return True
        if name in wanted or _SQLSTATES.get(name) in wanted:
            return True
    return False


def _raised(statement: Raise) -> tuple[str, str | None]:
    """(condition, message format) of a RAISE EXCEPTION statement."""
    options = {o.name.upper(): o.value for o in statement.options}
    condition = statement.condition or RAISE_EXCEPTION
    errcode = options.get("ERRCODE")
    if errcode is not None:
        code, exact = constant_text(errcode.tree)
        condition = code if code is not None and exact else condition
    if statement.message is not None:
        # `RAISE EXCEPTION '%', text`: all of the message is known only at run time.
        only_parameters = re.fullmatch(r"[\s%]*", statement.message.replace("%%", "x"))
        return condition, None if only_parameters else statement.message
    if "MESSAGE" in options:
        text, exact = constant_text(options["MESSAGE"].tree)
        return condition, text if exact else None
    if statement.condition is None and errcode is None:
        return condition, None  # `RAISE;` re-raises the error being handled
    # No message: the server uses the condition name (or SQLSTATE) as the text.
    return condition, condition


def _selected_values(tree: exp.Expr | None, count: int) -> list[exp.Expr | None]:
    """What `SELECT a, b INTO x, y` (no FROM: one row, always) gives each target."""
    if (
        isinstance(tree, exp.Select)
        and not tree.args.get("from_")
        and len(tree.expressions) == count
        and not any(isinstance(e, exp.Star) for e in tree.expressions)
    ):
        return [e.this if isinstance(e, exp.Alias) else e for e in tree.expressions]
    return [None] * count


def repeated(effect: Effect, iterations: Iterations) -> Effect:
    """`effect` run `iterations` times over for each time it ran before."""
    if iterations.once or not isinstance(
        effect, (Write, Read, CallEffect, DynamicEffect, RaiseEffect)
    ):
        return effect
    return replace(effect, iterations=effect.iterations.times(iterations))


@dataclass
class _LoopFrame:
    label: str | None
    left_at: int | None = None  # the first effect after a statement that may leave
    may_end: bool = False  # something in the body may end the loop (EXIT, RETURN, RAISE)


def _iterations(loop: Loop) -> Iterations:
    """How many times PostgreSQL runs the body of `loop`."""
    if isinstance(loop, ForRange):
        lower, upper = _constant_int(loop.lower), _constant_int(loop.upper)
        step = _constant_int(loop.step) if loop.step is not None else 1
        per = f"{loop.variable} in {'REVERSE ' if loop.reverse else ''}"
        per += f"{loop.lower.text.strip()}..{loop.upper.text.strip()}"
        if lower is None or upper is None or step is None or step <= 0:
            return Iterations(0, None, per)
        first, last = (upper, lower) if loop.reverse else (lower, upper)
        count = max(0, (last - first) // step + 1)
        return Iterations(count, count, per)
    if isinstance(loop, ForEach):
        return Iterations(0, None, f"{', '.join(loop.targets)} in {loop.array.text.strip()}")
    if isinstance(loop, (ForQuery, ForDynamic)):
        query = " ".join(loop.query.text.split())
        if len(query) > 60:
            query = query[:59] + "…"
        what = "EXECUTE " if isinstance(loop, ForDynamic) else ""
        return Iterations(0, None, f"row of {what}{query}")
    if isinstance(loop, ForCursor):
        return Iterations(0, None, f"row of cursor {loop.cursor}")
    if isinstance(loop, While):
        return Iterations(0, None, f"iteration of WHILE {loop.condition.text.strip()}")
    # A bare LOOP runs its body until something leaves it: at least once.
    return Iterations(1, None, f"iteration of the LOOP at line {loop.location.line}")


def _constant_int(fragment: Fragment | None) -> int | None:
    try:
        return int(fragment.text.strip()) if fragment is not None else None
    except ValueError:
        return None


def _loop_fragments(loop: Loop) -> list[Fragment | None]:
    names = ("condition", "lower", "upper", "step", "query", "array", "args")
    return [getattr(loop, n, None) for n in names]


def _return_value(statement: Return) -> str:
    if statement.value is None:
        return "other"
    text = " ".join(statement.value.text.split()).lower()
    if text in {"new", "old", "null"}:
        return text
    return "other"


# ---- entry points ---------------------------------------------------------------------


def _body_location(location: Location, body: str, start: int, end: int) -> Location:
    """Location of body[start..end] given where the body's first character sits."""

    def position(offset: int) -> tuple[int, int]:
        line_breaks = body.count("\n", 0, offset)
        if line_breaks == 0:
            return location.line, location.column + offset
        return location.line + line_breaks, offset - body.rfind("\n", 0, offset)

    line, column = position(start)
    end_line, end_column = position(max(start, end))
    return Location(location.path, line, column, end_line, end_column)


def _sql_body_effects(
    scope: _Scope, body: str, location: Location
) -> tuple[list[Effect], list[Diagnostic]]:
    text = body
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    match = re.match(r"begin\s+atomic\b", stripped, re.I)
    if match:
        text = " " * (lead + match.end()) + stripped[match.end() :]
        end = re.search(r"\bend\s*;?\s*$", text, re.I)
        if end:
            text = text[: end.start()] + " " * (len(text) - end.start())
    source = SourceFile.from_text(location.path, text)
    statements, problems, _ = split_statements(source)
    effects: list[Effect] = []
    diagnostics: list[Diagnostic] = []
    sql = SqlEffects(scope)
    for problem in problems:
        where = _body_location(location, body, 0, 0)
        diagnostics.append(Diagnostic(where.path, where.line, where.column, problem.message))
    for statement in statements:
        where = _body_location(location, body, statement.start, statement.end)
        candidate = statement.text
        if candidate.lower().startswith("return "):
            candidate = "SELECT " + candidate[7:]
        tree = parse_expression(candidate)
        if tree is None:
            diagnostics.append(
                Diagnostic(
                    where.path,
                    where.line,
                    where.column,
                    "SQL statement not understood: its effects are unknown",
                )
            )
            effects.append(DynamicEffect(statement.text, where, Guard.always()))
            continue
        effects.extend(sql.of(tree, Guard.always(), where))
    return effects, diagnostics


def _function_scope(catalog: Catalog, function: Function) -> _Scope:
    return _Scope(
        catalog,
        function.search_path
        if function.search_path is not None
        else function.search_path_at_creation,
        frozenset(a.name for a in function.arguments if a.name),
        function.location.path,
    )


def analyze_function(catalog: Catalog, function: Function) -> BodyEffects:
    scope = _function_scope(catalog, function)
    if function.body is None or function.body_location is None:
        return BodyEffects(function.key, (), Guard.never())
    language = function.language.lower()
    if language == "plpgsql":
        return _plpgsql_effects(scope, function.key, function.body, function.body_location)
    if language == "sql":
        effects, diagnostics = _sql_body_effects(scope, function.body, function.body_location)
        return BodyEffects(
            function.key, tuple(effects), Guard.never(), bool(diagnostics), tuple(diagnostics)
        )
    return BodyEffects(function.key, (), Guard.never())


def _plpgsql_effects(scope: _Scope, owner: str, body: str, location: Location) -> BodyEffects:
    parsed = parse_plpgsql(body, path=location.path, line=location.line, column=location.column)
    counts: dict[str, int] = {}
    if parsed.block is not None:
        _assignment_counts((parsed.block,), counts)
    walker = _Walker(scope, counts)
    falls_off = Guard.always()
    if parsed.block is not None:
        falls_off = walker.run((parsed.block,), Guard.always())
    elif parsed.incomplete:
        falls_off = Guard.of(OpaqueAtom("body not understood"))
    # A statement the parser already reported gets one diagnostic, not a second one.
    reported = {(d.path, d.line) for d in parsed.diagnostics}
    diagnostics = [
        *parsed.diagnostics,
        *(d for d in walker.diagnostics if (d.path, d.line) not in reported),
    ]
    return BodyEffects(
        owner,
        tuple(walker.effects),
        falls_off,
        parsed.incomplete or bool(walker.diagnostics),
        tuple(diagnostics),
        walker.handled,
        choices=tuple(walker.choices),
    )


_PARAMETER_REF = re.compile(r"(?<![\w$])\$(\d+)(?!\d)")
_SIMPLE_VALUE = re.compile(r'[\w."]+')


def bind_parameters(text: str, using: Sequence[str]) -> str:
    """`$n` in EXECUTE text replaced by the n-th USING expression, so that the statement
    says what it is keyed by (`WHERE id = $1` with `USING NEW.id` is `WHERE id = NEW.id`)."""

    def bind(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if index >= len(using):
            return match.group(0)
        value = using[index]
        return value if _SIMPLE_VALUE.fullmatch(value) else f"({value})"

    return _PARAMETER_REF.sub(bind, text) if using else text


_TG_ARGV = re.compile(r"(?i)tg_argv\[(\d+)\]")


def fold_dynamic(effect: DynamicEffect, context: FiringContext) -> str | None:
    """The SQL text an EXECUTE runs in this firing, USING values bound; None when the
    text depends on more than the trigger, its table, its arguments and constants."""
    if effect.template is None:
        return None
    template = expression_of_sql(effect.template)
    if template is None:
        return None
    text = fold(template, _firing_resolver(context), _row_value)
    if not isinstance(text, str):
        return None
    return bind_parameters(text, effect.using)


def _row_value(node: exp.Expr) -> str | None:
    """SQL standing for `%L` / quote_literal() of a field of the row (`NEW.id`): the
    statement then writes and keys the same rows as the server's text."""
    while isinstance(node, (exp.Cast, exp.Paren)):
        node = node.this
    if isinstance(node, exp.Column) and node.table.lower() in _ROW_VARIABLES:
        return render(node)
    return None


def call_arguments(call: CallEffect, context: FiringContext) -> tuple[exp.Expr | None, ...]:
    """The call's arguments as trees, those built from TG_* variables, TG_ARGV or constant
    parameters replaced by the text literal (or NULL) they are in this firing; None for an
    argument whose text does not parse again."""
    trees = (expression_of_sql(argument) for argument in call.arguments)
    return tuple(
        firing_constant(tree, context) or tree if tree is not None else None for tree in trees
    )


def firing_constant(node: exp.Expr, context: FiringContext) -> exp.Expr | None:
    """A call argument built from TG_* variables, TG_ARGV or constant parameters, as the
    text literal (or NULL) it is in this firing; None when it is not one."""
    if isinstance(node, (exp.Literal, exp.Null, exp.Boolean)):
        return None
    value = fold(node, _firing_resolver(context))
    if isinstance(value, str):
        return exp.Literal.string(value)
    return exp.Null() if value is None else None


def _firing_resolver(context: FiringContext) -> Resolver:
    def resolve(node: exp.Expr) -> Value:
        if isinstance(node, exp.Cast):
            return _regclass_text(node, context)
        if isinstance(node, exp.Bracket):
            index = _TG_ARGV.fullmatch(render(node))
            arguments = context.trigger_arguments
            if index is None or arguments is None:
                return UNKNOWN
            position = int(index.group(1))
            return arguments[position] if position < len(arguments) else None
        if not isinstance(node, exp.Column) or node.table:
            return UNKNOWN
        name = node.name
        table = context.table.split(".", 1) if context.table and "." in context.table else None
        variable = {
            "TG_TABLE_NAME": table[1] if table else None,
            "TG_RELNAME": table[1] if table else None,
            "TG_TABLE_SCHEMA": table[0] if table else None,
            "TG_OP": context.op,
            "TG_WHEN": context.timing,
            "TG_LEVEL": context.level,
            "TG_NAME": context.trigger_name,
        }
        if name.upper() in variable:
            value = variable[name.upper()]
            return UNKNOWN if value is None else value
        argument = context.arguments.get(name.lower())
        if isinstance(argument, exp.Null):
            return None
        if isinstance(argument, exp.Literal):
            return str(argument.this)
        return UNKNOWN

    return resolve


def _regclass_text(node: exp.Cast, context: FiringContext) -> Value:
    """`TG_RELID::regclass` as text: the table's name, schema-qualified unless the
    schema is on the default search path."""
    relid = node.this
    is_relid = (
        isinstance(relid, exp.Column) and not relid.table and relid.name.upper() == "TG_RELID"
    )
    if not is_relid or render(node.to).lower() != "regclass":
        return UNKNOWN
    if not context.table or "." not in context.table:
        return UNKNOWN
    schema, table = context.table.split(".", 1)
    if schema in {"public", "pg_catalog"}:
        return quote_ident(table)
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def executed_effects(
    catalog: Catalog, function: Function, effect: DynamicEffect, text: str
) -> list[Effect] | None:
    """The effects of EXECUTE running `text` (folded for one firing) inside `function`;
    None when the text does not parse."""
    tree = parse_expression(text)
    if tree is None:
        return None
    scope = _function_scope(catalog, function)
    return SqlEffects(scope).of(tree, effect.guard, effect.location)


def analyze_bodies(catalog: Catalog) -> Bodies:
    functions = {key: analyze_function(catalog, f) for key, f in catalog.functions.items()}
    return Bodies(MappingProxyType(functions), analyze_blocks(catalog))


def analyze_blocks(catalog: Catalog) -> tuple[BodyEffects, ...]:
    """The effects of every PL/pgSQL DO block, in input order."""
    blocks = []
    for index, block in enumerate(catalog.anonymous_blocks):
        scope = _Scope(catalog, catalog.search_path, frozenset(), block.location.path)
        owner = f"DO block {block.location.path}:{block.location.line}#{index}"
        if block.language == "plpgsql":
            blocks.append(_plpgsql_effects(scope, owner, block.body, block.body_location))
    return tuple(blocks)
