"""How many rows a query, or the join of a write's target with its sources, can yield.

PostgreSQL bounds rows through unique keys: a relation whose every column of a
PRIMARY KEY, UNIQUE constraint or non-partial unique index is fixed by `=` to a value
that does not vary along the relation (a constant, NEW/OLD fields, a variable or
parameter, or a column of a relation already fixed) contributes at most one row per
combination of the relations before it. So the join of relations, taken in that order,
yields at most the product of what each contributes: 1 for such a keyed relation, `n`
for a subquery or VALUES list that yields at most `n` rows, unbounded otherwise.

On top of its join a SELECT yields: exactly one row for aggregates without GROUP BY
(fewer with HAVING), at most the join's rows after GROUP BY or DISTINCT, at most `n`
with LIMIT n, and no bound with a set-returning function in its select list. An UPDATE
or DELETE touches each target row once however many join rows pick it, so its rows
are bounded by the join up to and including the target. Whatever this module cannot
read (RIGHT/FULL and LATERAL joins, functions in FROM, a column it cannot place)
counts as unbounded: the bound is only ever an over-estimate. A relation the catalog
does not hold (a transition table) has no bound of its own, but a join that yields at
most one row per row of it says so (`Rows.per_row_of`): the cascade knows how many rows
a transition table holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from math import prod

from sqlglot import exp

from analyzer.builtins import BUILTIN_FUNCTIONS, SET_RETURNING_FUNCTIONS
from analyzer.catalog import Catalog, Table

# Expressions whose value is fixed when their operands are: no volatile function among
# them (random(), nextval(), clock_timestamp() give a new value for every row).
_FIXED_WHEN_OPERANDS_ARE = (
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Parameter,
    exp.Placeholder,
    exp.Cast,
    exp.Paren,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.DPipe,
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Coalesce,
    exp.Bracket,
    exp.JSONExtract,
    exp.JSONExtractScalar,
    exp.JSONBExtract,
    exp.JSONBExtractScalar,
    exp.JSONPath,
    exp.JSONPathPart,
    exp.DataType,
    exp.DataTypeParam,
    exp.CurrentDate,
    exp.CurrentTimestamp,
    exp.Identifier,
    exp.Var,
)


@dataclass(frozen=True)
class Rows:
    """At least `lo` and at most `hi` rows (`hi` None: no upper bound). With no upper
    bound, `per_row_of` may name a relation the catalog does not hold (a transition
    table, as written) such that there is at most one row per row of it."""

    lo: int = 0
    hi: int | None = None
    per_row_of: str = ""

    @property
    def exactly_one(self) -> bool:
        return self.lo == self.hi == 1


UNKNOWN = Rows()


@dataclass
class _Relation:
    names: frozenset[str]  # the alias, or the table's name (and schema.name) without one
    columns: frozenset[str] | None  # None: not known
    keys: tuple[tuple[str, ...], ...] = ()  # unique keys that pin it to one row
    rows: int | None = None  # the most rows it yields on its own
    # With no bound: a relation the catalog does not hold, of whose rows it yields at
    # most one per row (itself, for a reference to it).
    per_row_of: str = ""


@dataclass
class _Join:
    """Relations read together, and the equalities that may pin them."""

    relations: list[_Relation] = field(default_factory=list)
    # (conjunct, the relation it may pin, or None for any): a LEFT JOIN's ON clause
    # restricts only the relation it joins.
    conditions: list[tuple[exp.Expr, _Relation | None]] = field(default_factory=list)
    readable: bool = True


class RowBounds:
    """Row bounds of the queries of one function body, resolved against the catalog."""

    def __init__(
        self, catalog: Catalog, search_path: Sequence[str], is_variable: Callable[[str], bool]
    ) -> None:
        self.catalog = catalog
        self.search_path = tuple(search_path)
        # Whether an unqualified name is one of the body's variables or parameters.
        self.is_variable = is_variable

    # ---- queries -------------------------------------------------------------------

    def query(self, node: exp.Expr | None, ctes: dict[str, Rows] | None = None) -> Rows:
        """The rows a query (SELECT, VALUES, UNION …) yields."""
        ctes = {**(ctes or {}), **self._ctes(node, ctes or {})}
        if isinstance(node, exp.Subquery):
            return self.query(node.this, ctes)
        if isinstance(node, exp.Values):
            count = len(node.expressions)
            return Rows(count, count)
        if isinstance(node, exp.Union):
            left, right = self.query(node.this, ctes), self.query(node.expression, ctes)
            hi = None if left.hi is None or right.hi is None else left.hi + right.hi
            distinct = node.args.get("distinct") is not False
            lo = min(1, max(left.lo, right.lo)) if distinct else left.lo + right.lo
            return Rows(lo, hi)
        if isinstance(node, exp.Intersect):
            left, right = self.query(node.this, ctes), self.query(node.expression, ctes)
            his = [h for h in (left.hi, right.hi) if h is not None]
            return Rows(0, min(his) if his else None)
        if isinstance(node, exp.Except):
            return Rows(0, self.query(node.this, ctes).hi)
        if isinstance(node, exp.Select):
            return self._select(node, ctes)
        return UNKNOWN

    def _select(self, node: exp.Select, ctes: dict[str, Rows]) -> Rows:
        if any(self._returns_set(p) for p in node.expressions):
            return UNKNOWN
        limit = _literal_limit(node)
        plain = limit is None and not node.args.get("offset") and not node.args.get("limit")
        if node.args.get("from_") is None:
            exact = plain and not node.args.get("where") and not node.args.get("having")
            return Rows(1 if exact else 0, 1 if limit is None else min(1, limit))
        if not node.args.get("group") and any(_aggregates(p) for p in node.expressions):
            # One group, even over no rows.
            exact = plain and not node.args.get("having")
            return Rows(1 if exact else 0, 1 if limit is None else min(1, limit))
        join = self._join_of([node.args["from_"].this, *(node.args.get("joins") or [])], ctes)
        if node.args.get("where") is not None:
            join.conditions.extend((c, None) for c in conjuncts(node.args["where"].this))
        bound = self._bound(join)
        hi = bound.hi
        if self._one_group(node, join):
            hi = 1
        if limit is not None:
            hi = limit if hi is None else min(hi, limit)
        return Rows(0, hi, bound.per_row_of if hi is None else "")

    def _one_group(self, node: exp.Select, join: _Join) -> bool:
        """GROUP BY, DISTINCT ON or (plain DISTINCT) select-list expressions that each
        have one value in the whole result (a fixed value, or a column the WHERE clause
        sets `=` to one): one group, one row at most."""
        group = node.args.get("group")
        distinct = node.args.get("distinct")
        on = distinct.args.get("on") if isinstance(distinct, exp.Distinct) else None
        if group is not None and not group.args.get("grouping_sets"):
            expressions = list(group.expressions)
            if group.args.get("cube") or group.args.get("rollup") or group.args.get("totals"):
                return False
        elif isinstance(on, exp.Tuple):
            expressions = list(on.expressions)
        elif isinstance(distinct, exp.Distinct) and on is None:
            # The select list itself: its items, not output names or ordinals.
            items = [p.this if isinstance(p, exp.Alias) else p for p in node.expressions]
            return bool(items) and all(self._fixed(i, [], join.relations) for i in items)
        else:
            return False
        projections = [p.this if isinstance(p, exp.Alias) else p for p in node.expressions]
        aliases = {
            _fold(p.args["alias"]): p.this for p in node.expressions if isinstance(p, exp.Alias)
        }
        fixed_columns = {
            (id(_owner(column, join.relations)), _fold(column.this))
            for condition, only in join.conditions
            if only is None and isinstance(condition, exp.EQ)
            for column, value in (
                (_unparen(condition.this), condition.expression),
                (_unparen(condition.expression), condition.this),
            )
            if isinstance(column, exp.Column)
            and _owner(column, join.relations) is not None
            and self._fixed(value, [], join.relations)
        }
        for expression in expressions:
            expression = _unparen(expression)
            if isinstance(expression, exp.Literal) and str(expression.this).isdigit():
                index = int(expression.this) - 1
                if expression.is_string or not 0 <= index < len(projections):
                    return False
                expression = _unparen(projections[index])
            elif (
                isinstance(expression, exp.Column)
                and not expression.table
                and _owner(expression, join.relations) is None
                and _fold(expression.this) in aliases
            ):
                # An output column's name, where no input column has it.
                expression = _unparen(aliases[_fold(expression.this)])
            if self._fixed(expression, [], join.relations):
                continue
            owner = (
                _owner(expression, join.relations) if isinstance(expression, exp.Column) else None
            )
            column = expression if isinstance(expression, exp.Column) else None
            if owner is None or column is None:
                return False
            if (id(owner), _fold(column.this)) not in fixed_columns:
                return False
        return bool(expressions)

    # ---- writes --------------------------------------------------------------------

    def target_rows(
        self,
        target: exp.Table,
        sources: Sequence[exp.Expr],
        where: exp.Expr | None,
        ctes: dict[str, Rows] | None = None,
    ) -> Rows:
        """The rows an UPDATE … FROM or DELETE … USING touches: each target row once, so
        at most the rows of the join taken up to and including the target."""
        ctes = ctes or {}
        relation = self._relation(target, ctes)
        join = self._join_of(sources, ctes)
        join.relations.insert(0, relation)
        if where is not None:
            join.conditions.extend((c, None) for c in conjuncts(where))
        return self._bound(join, relation)

    def merge_rows(self, node: exp.Merge, ctes: dict[str, Rows] | None = None) -> Rows:
        """The row actions a MERGE takes: at most one per source row when the ON clause
        pins a unique key of the target (a target row matched twice is an error), and
        exactly one when, besides, an arm without condition acts on a matched row and
        another on an unmatched one, and no arm does nothing. Unbounded when an arm acts
        on target rows no source row matches (WHEN NOT MATCHED BY SOURCE)."""
        ctes = ctes or {}
        whens = node.args.get("whens")
        if whens is None or any(w.args.get("source") for w in whens.expressions):
            return UNKNOWN
        target = node.this
        using = node.args.get("using")
        on = node.args.get("on")
        if not isinstance(target, exp.Table) or using is None or on is None:
            return UNKNOWN
        source = self._join_of([using], ctes)
        source_rows = self._bound(source)
        relation = self._relation(target, ctes)
        scope = [*source.relations, relation]
        conditions = [(c, relation) for c in conjuncts(on)]
        if not self._pinned(relation, source.relations, scope, conditions):
            return UNKNOWN
        if source_rows.hi is None:
            return Rows(0, None, source_rows.per_row_of)
        lo = 0
        if isinstance(using, (exp.Subquery, exp.Values)) and _every_row_acts(whens.expressions):
            query = using.this if isinstance(using, exp.Subquery) else using
            lo = self.query(query, ctes).lo
        return Rows(lo, source_rows.hi)

    # ---- joins ---------------------------------------------------------------------

    def _join_of(self, items: Sequence[exp.Expr], ctes: dict[str, Rows]) -> _Join:
        join = _Join()
        for item in _flatten(items):
            if isinstance(item, exp.Join):
                side = str(item.args.get("side") or "").upper()
                if side in {"RIGHT", "FULL"} or isinstance(item.this, exp.Lateral):
                    join.readable = False
                    continue
                relation = self._relation(item.this, ctes)
                join.relations.append(relation)
                on = item.args.get("on")
                if on is not None:
                    only = relation if side == "LEFT" else None
                    join.conditions.extend((c, only) for c in conjuncts(on))
            else:
                join.relations.append(self._relation(item, ctes))
        return join

    def _relation(self, node: exp.Expr, ctes: dict[str, Rows]) -> _Relation:
        alias = node.args.get("alias")
        alias_name = _fold(alias.this) if isinstance(alias, exp.TableAlias) and alias.this else ""
        alias_columns = None
        if isinstance(alias, exp.TableAlias) and alias.columns:
            alias_columns = frozenset(_fold(c) for c in alias.columns)
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            name = _fold(node.this)
            names = frozenset({alias_name} if alias_name else {name})
            if not node.args.get("db") and name in ctes:
                rows = ctes[name]
                return _Relation(names, alias_columns, rows=rows.hi, per_row_of=rows.per_row_of)
            parts = [_fold(node.args["db"]), name] if node.args.get("db") else [name]
            qualified = self.catalog.resolve_table(parts, self.search_path)
            table = self.catalog.tables.get(qualified)
            if table is None:  # a transition table, or a table the input does not create
                written = f"{_fold(node.args['db'])}.{name}" if node.args.get("db") else name
                return _Relation(names, None, per_row_of=written)
            return _Relation(
                names if alias_name else names | {qualified},
                frozenset(c.name for c in table.columns),
                self.keys_of(table, only=bool(node.args.get("only"))),
            )
        if isinstance(node, (exp.Subquery, exp.Values)):
            query = node.this if isinstance(node, exp.Subquery) else node
            columns = alias_columns or _output_names(query)
            rows = self.query(query, ctes)
            names = frozenset({alias_name}) - {""}
            return _Relation(names, columns, rows=rows.hi, per_row_of=rows.per_row_of)
        function = node.this if isinstance(node, exp.Table) else node
        names = frozenset({alias_name}) - {""}
        series = _literal_series_rows(function)
        if series is None or not names:
            return _Relation(names, alias_columns, rows=series)
        # A series' one column is named after its alias, unless the alias lists it.
        return _Relation(names, alias_columns or names, rows=series)

    def keys_of(self, table: Table, only: bool) -> tuple[tuple[str, ...], ...]:
        """Keys that identify one row of what a query reads from `table`: none when
        inheritance children add their rows (their keys are their own), unless ONLY."""
        if table.relkind not in {"table", "partitioned"}:
            return ()
        if not only and table.name in self.catalog.inherited_tables:
            return ()
        return table.unique_keys

    def _bound(self, join: _Join, stop: _Relation | None = None) -> Rows:
        """The product of what each relation contributes, keyed relations first; with no
        bound, one row at most per row of a relation the catalog does not hold, if the
        others contribute one row per row of it."""
        if not join.readable:
            return UNKNOWN
        bound = self._product(join, stop)
        if bound is not None:
            return Rows(0, bound)
        for relation in join.relations:
            symbolic = relation.rows is None and relation.per_row_of
            if symbolic and self._product(join, stop, first=relation) == 1:
                return Rows(0, None, relation.per_row_of)
        return UNKNOWN

    def _product(
        self, join: _Join, stop: _Relation | None, first: _Relation | None = None
    ) -> int | None:
        """What the relations up to `stop` contribute together (`first` taken first, as
        one row)."""
        done: list[_Relation] = []
        counts: list[int | None] = []
        remaining = list(join.relations)
        while remaining:
            count: int | None = 1
            if first is not None and not done:
                chosen = first
            else:
                keyed = [
                    r for r in remaining if self._pinned(r, done, join.relations, join.conditions)
                ]
                if keyed:
                    chosen = keyed[0]
                else:
                    chosen = min(remaining, key=lambda r: (r.rows is None, r.rows or 0))
                    count = chosen.rows
            remaining.remove(chosen)
            done.append(chosen)
            counts.append(count)
            if chosen is stop:
                break
        if any(c is None for c in counts):
            return None
        return prod(c for c in counts if c is not None)

    def _pinned(
        self,
        relation: _Relation,
        done: Sequence[_Relation],
        scope: Sequence[_Relation],
        conditions: Sequence[tuple[exp.Expr, _Relation | None]],
    ) -> bool:
        """Every column of one of the relation's unique keys is `=` to a value fixed by
        the relations in `done` (or by nothing in the query)."""
        fixed: set[str] = set()
        for condition, only in conditions:
            if only is not None and only is not relation:
                continue
            if not isinstance(condition, exp.EQ):
                continue
            for side, other in (
                (condition.this, condition.expression),
                (condition.expression, condition.this),
            ):
                column = _unparen(side)
                if not isinstance(column, exp.Column) or _owner(column, scope) is not relation:
                    continue
                if self._fixed(other, done, scope):
                    fixed.add(_fold(column.this))
        return any(key and set(key) <= fixed for key in relation.keys)

    def _fixed(self, node: exp.Expr, done: Sequence[_Relation], scope: Sequence[_Relation]) -> bool:
        """`node` has one value per combination of the rows of `done`."""
        if isinstance(node, exp.Column):
            if not isinstance(node.this, exp.Identifier):
                return False
            if node.table:
                owner = _owner(node, scope)
                # Not a relation of the query: NEW/OLD or a record variable's field.
                return owner is None or any(owner is d for d in done)
            name = _fold(node.this)
            owners = [r for r in scope if r.columns is not None and name in r.columns]
            if owners:
                return len(owners) == 1 and any(owners[0] is d for d in done)
            # A variable or parameter the body declares, unless it may be a column of a
            # relation whose columns are not known (a column the input does not show
            # would vary along the rows).
            return self.is_variable(name) and all(r.columns is not None for r in scope)
        if isinstance(node, exp.Subquery):
            return isinstance(node.this, exp.Select) and self._uncorrelated(node.this, scope)
        if isinstance(node, exp.Anonymous):
            function = self.catalog.resolve_function(
                [str(node.this).lower()], len(node.expressions), self.search_path
            )
            if function is None or function.volatility == "volatile":
                return False
            return all(self._fixed(a, done, scope) for a in node.expressions)
        if not isinstance(node, _FIXED_WHEN_OPERANDS_ARE):
            return False
        return all(self._fixed(child, done, scope) for child in node.iter_expressions())

    def _uncorrelated(self, query: exp.Select, scope: Sequence[_Relation]) -> bool:
        """A scalar subquery that reads nothing of the query around it: PostgreSQL runs
        it once, so its one value is fixed. A name it shares with the outer query counts
        as the subquery's own only where its own FROM list surely holds it."""
        if any(r.columns is None for r in scope):
            return False
        outer_names = {name for r in scope for name in r.names}
        outer_columns = {column for r in scope for column in r.columns or ()}
        items = [query.args["from_"].this] if query.args.get("from_") else []
        own = [
            self._relation(item.this if isinstance(item, exp.Join) else item, {})
            for item in _flatten([*items, *(query.args.get("joins") or [])])
        ]
        own_names = {name for r in own for name in r.names}
        own_columns = {column for r in own for column in r.columns or ()}
        for column in query.find_all(exp.Column):
            if column.table:
                qualifier = _fold(column.args["table"])
                if qualifier in outer_names and qualifier not in own_names:
                    return False
            elif _fold(column.this) in outer_columns and _fold(column.this) not in own_columns:
                return False
        return True

    def _returns_set(self, node: exp.Expr) -> bool:
        """A set-returning function in a select-list item, outside any subquery."""
        for found in _outside_subqueries(node):
            if isinstance(found, (exp.UDTF, exp.GenerateSeries)):
                return True
            if isinstance(found, exp.Anonymous):
                name = str(found.this).lower()
                function = self.catalog.resolve_function(
                    [name], len(found.expressions), self.search_path
                )
                if function is not None:
                    if function.returns.lower().startswith("setof") or function.returns_table:
                        return True
                elif name in SET_RETURNING_FUNCTIONS or name not in BUILTIN_FUNCTIONS:
                    return True
        return False

    def _ctes(self, node: exp.Expr | None, outer: dict[str, Rows]) -> dict[str, Rows]:
        with_ = node.args.get("with_") if node is not None else None
        if with_ is None:
            return {}
        found: dict[str, Rows] = {}
        for cte in with_.expressions:
            alias = cte.args.get("alias")
            if alias is not None and alias.this is not None:
                name = _fold(alias.this)
                if with_.args.get("recursive"):
                    found[name] = UNKNOWN  # its rows grow with every round
                else:
                    found[name] = self.query(cte.this, {**outer, **found})
        return found

    def ctes_of(self, node: exp.Expr) -> dict[str, Rows]:
        """Row bounds of the WITH queries a statement declares."""
        return self._ctes(node, {})


def conjuncts(node: exp.Expr) -> list[exp.Expr]:
    """The terms of a top-level AND chain (parentheses aside)."""
    found: list[exp.Expr] = []
    stack = [node.this if isinstance(node, exp.Where) else node]
    while stack:
        current = stack.pop()
        if isinstance(current, exp.And):
            stack.extend([current.expression, current.this])
        elif isinstance(current, exp.Paren):
            stack.append(current.this)
        else:
            found.append(current)
    return found


def _literal_series_rows(node: exp.Expr) -> int | None:
    """The rows of generate_series(a, b[, step]) over integer literals, or of unnest()
    of an ARRAY[…] list; None for any other function."""
    if isinstance(node, exp.GenerateSeries):
        bounds = [node.args.get("start"), node.args.get("end"), node.args.get("step")]
        if bounds[2] is None:
            bounds[2] = exp.Literal.number(1)
        values = [_integer(b) for b in bounds]
        start, end, step = values
        if start is None or end is None or not step:
            return None
        return max(0, (end - start) // step + 1)
    if isinstance(node, exp.Unnest) and len(node.expressions) == 1:
        array = node.expressions[0]
        # unnest() flattens nested arrays; ARRAY(SELECT …) holds any number of elements.
        nested = (exp.Array, exp.Query, exp.Subquery)
        if isinstance(array, exp.Array) and not any(
            isinstance(e, nested) for e in array.expressions
        ):
            return len(array.expressions)
    return None


def _integer(node: exp.Expr | None) -> int | None:
    sign = 1
    if isinstance(node, exp.Neg):
        sign, node = -1, node.this
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return sign * int(node.this)
    return None


def _every_row_acts(whens: Sequence[exp.Expr]) -> bool:
    """An unconditional arm for matched rows and one for unmatched rows, none DO NOTHING."""
    if any(not isinstance(w.args.get("then"), (exp.Insert, exp.Update, exp.Var)) for w in whens):
        return False
    if any(
        str(w.args["then"].this).upper() != "DELETE"
        for w in whens
        if isinstance(w.args["then"], exp.Var)
    ):
        return False
    unconditional = {bool(w.args.get("matched")) for w in whens if not w.args.get("condition")}
    return unconditional == {True, False}


def _flatten(items: Sequence[exp.Expr]) -> Iterator[exp.Expr]:
    """Relations and joins in order: sqlglot hangs an UPDATE … FROM's or DELETE …
    USING's joins on its first relation."""
    for item in items:
        joins = item.args.get("joins") if isinstance(item, exp.Table) else None
        yield item
        yield from joins or ()


def _owner(column: exp.Column, scope: Sequence[_Relation]) -> _Relation | None:
    """The relation of the query that `column` names, if any."""
    name = _fold(column.this)
    if column.table:
        qualifier = column.table.lower() if not column.args["table"].quoted else column.table
        if column.args.get("db"):
            qualifier = f"{_fold(column.args['db'])}.{qualifier}"
        return next((r for r in scope if qualifier in r.names), None)
    owners = [r for r in scope if r.columns is not None and name in r.columns]
    return owners[0] if len(owners) == 1 else None


def _outside_subqueries(node: exp.Expr) -> Iterator[exp.Expr]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(
            child
            for child in current.iter_expressions()
            if not isinstance(child, (exp.Query, exp.Subquery))
        )


def _aggregates(node: exp.Expr) -> bool:
    """An aggregate call (not a window function) outside any subquery."""
    return any(
        isinstance(found, exp.AggFunc)
        and not isinstance(found.find_ancestor(exp.Window, exp.Query), exp.Window)
        for found in _outside_subqueries(node)
    )


def _literal_limit(node: exp.Select) -> int | None:
    limit = node.args.get("limit")
    value = limit.args.get("expression") if isinstance(limit, exp.Limit) else None
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


def _output_names(query: exp.Expr) -> frozenset[str] | None:
    if not isinstance(query, exp.Select):
        return None
    names: set[str] = set()
    for projection in query.expressions:
        if isinstance(projection, exp.Alias):
            names.add(_fold(projection.args["alias"]))
        elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Identifier):
            names.add(_fold(projection.this))
        else:
            return None  # `*`, or a name PostgreSQL makes up (`?column?`, `count`)
    return frozenset(names)


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def fold_name(identifier: exp.Expr | str | None) -> str:
    """An identifier as PostgreSQL folds it: quoted as written, otherwise lower case."""
    if isinstance(identifier, exp.Identifier):
        return str(identifier.this) if identifier.quoted else str(identifier.this).lower()
    if isinstance(identifier, exp.Expr):
        return identifier.name.lower()
    return (identifier or "").lower()


_fold = fold_name
