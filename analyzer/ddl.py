"""Apply DDL statements, in order, to build the catalog.

Grammar code works over sqlglot tokens (`analyzer.tokens.Cursor`): sqlglot's parser falls
back to a raw Command or silently drops parts of CREATE FUNCTION / CREATE TRIGGER / ALTER
statements, so the catalog never trusts it for structure. A statement that does not follow
the grammar becomes a diagnostic at the offending token and is counted as unanalysed. A
statement that PostgreSQL would reject (CREATE of an existing object, DROP of an object
others depend on without CASCADE, …) becomes a diagnostic and changes nothing, as on the
server.

DO blocks, and plpgsql routines called at top level with constant arguments, are run
symbolically: the DDL they execute, statically or through EXECUTE of a string that folds
to a constant, applies as if every guarded branch ran (existence errors are then silent,
since the guards are there to avoid them); dynamic SQL that does not fold is reported.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, TypeVar

from sqlglot import exp
from sqlglot.errors import TokenError

from analyzer.builtins import (
    SET_RETURNING_FUNCTIONS,
    WELL_KNOWN_TABLES,
    is_builtin,
    relation_search_order,
    system_relation,
)
from analyzer.catalog import (
    DEFAULT_SEARCH_PATH,
    PG_CATALOG_TRIGGER_FUNCTIONS,
    AnonymousBlock,
    Argument,
    Catalog,
    Column,
    EventTrigger,
    ForeignKey,
    Function,
    Rule,
    Table,
    Trigger,
    ViewUpdate,
    freeze,
    with_table_renamed,
)
from analyzer.findings import Diagnostic, Location
from analyzer.parse import Statement, classify, parse_expression, split_statements, tokenize
from analyzer.plpgsql import (
    Assign,
    Block,
    Call,
    Case,
    DynExecute,
    ExecSql,
    Fragment,
    If,
    Loop,
    Perform,
    has_no_data_effect,
    parse_plpgsql,
    render,
)
from analyzer.plpgsql import Statement as PlStatement
from analyzer.source import SourceFile
from analyzer.tokens import (
    NAMEDATALEN,
    Cursor,
    Item,
    SyntaxProblem,
    fold_identifier,
    items_of,
    source_text,
    split_top_level,
)
from analyzer.types import SERIAL_TYPES, normalize_type

_COLUMN_CONSTRAINT_WORDS = (
    "CONSTRAINT",
    "NOT",
    "NULL",
    "CHECK",
    "DEFAULT",
    "GENERATED",
    "UNIQUE",
    "PRIMARY",
    "REFERENCES",
    "COLLATE",
    "DEFERRABLE",
    "INITIALLY",
    "STORAGE",
    "COMPRESSION",
)
_FUNCTION_OPTION_WORDS = (
    "LANGUAGE",
    "AS",
    "IMMUTABLE",
    "STABLE",
    "VOLATILE",
    "STRICT",
    "CALLED",
    "SECURITY",
    "EXTERNAL",
    "SET",
    "COST",
    "ROWS",
    "PARALLEL",
    "LEAKPROOF",
    "NOT",
    "WINDOW",
    "SUPPORT",
    "TRANSFORM",
    "BEGIN",
    "RETURN",
    "RESET",
    "OWNER",
    "RENAME",
    "DEPENDS",
    "NO",
    "RESTRICT",
)
_ARGUMENT_MODES = ("IN", "OUT", "INOUT", "VARIADIC")
_TYPE_STARTS = {"DOUBLE", "CHARACTER", "CHAR", "BIT", "TIMESTAMP", "TIME", "INTERVAL", "NATIONAL"}
_TYPE_CONTINUATIONS = {
    "PRECISION",
    "VARYING",
    "WITH",
    "WITHOUT",
    "ZONE",
    "CHARACTER",
    "CHAR",
    "YEAR",
    "MONTH",
    "DAY",
    "HOUR",
    "MINUTE",
    "SECOND",
}
_DOLLAR_TAG = re.compile(r"\$[^$]*\$")
_INPUT_MODES = frozenset({"in", "inout", "variadic"})
_TRIGGER_EVENTS = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
_ENABLED_STATES = {"ENABLE": "origin", "DISABLE": "disabled"}
_MAX_RUN_DEPTH = 16
_LIKE_OPTIONS = (
    "COMMENTS",
    "COMPRESSION",
    "CONSTRAINTS",
    "DEFAULTS",
    "GENERATED",
    "IDENTITY",
    "INDEXES",
    "STATISTICS",
    "STORAGE",
    "ALL",
)


_V = TypeVar("_V")
_MISSING = object()


class Rejected(Exception):
    """PostgreSQL would raise an error for this statement: it changes nothing."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class Conflict(Rejected):
    """The error is about an object existing or not: inside DO blocks the guards that
    surround DDL are there to avoid it, so it is not reported there."""


@dataclass(frozen=True)
class _Constraint:
    """A named constraint of a table: p(rimary key), u(nique), f(oreign key), c(heck), x."""

    kind: str
    columns: tuple[str, ...] = ()
    text: str | None = None


@dataclass
class _State:
    tables: dict[str, Table] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    event_triggers: dict[str, EventTrigger] = field(default_factory=dict)
    extensions: dict[str, Location] = field(default_factory=dict)
    blocks: list[AnonymousBlock] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    schemas: set[str] = field(default_factory=lambda: {"public"})
    # table -> constraint name -> constraint (names PostgreSQL would give unnamed ones)
    constraints: dict[str, dict[str, _Constraint]] = field(default_factory=dict)
    # how many constraints (and index-backed ones) use each schema.name: names must be
    # unique per schema, and PostgreSQL numbers the names it chooses to keep them so
    constraint_names: dict[str, int] = field(default_factory=dict)
    index_names: dict[str, int] = field(default_factory=dict)
    # schema.index -> (table, columns) for unique indexes on plain columns
    unique_indexes: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # the same for the other btree indexes on plain columns, without WHERE
    indexes: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    statements: int = 0
    unanalyzed: int = 0
    # how many functions (overloads) have each schema.name: kept by put/pop/rollback, so
    # that resolving a name does not scan every function (quadratic on big schemas)
    function_names: dict[str, int] = field(default_factory=dict)
    # the same for how many tables name each table as partition parent or INHERITS
    # parent, and how many triggers are partition clones of each trigger: most have none,
    # and scanning every table or trigger per ALTER TABLE was quadratic (4 s of 15 s of
    # the catalog of 100,000 statements)
    child_tables: dict[str, int] = field(default_factory=dict)
    trigger_clones: dict[str, int] = field(default_factory=dict)


class CatalogBuilder:
    """Applies statements in order; `catalog()` freezes the result."""

    def __init__(self, search_path: Sequence[str] = DEFAULT_SEARCH_PATH) -> None:
        self.default_search_path = tuple(search_path)
        self.search_path = tuple(search_path)
        self.state = _State()
        self.files: list[SourceFile] = []
        self.journal: list[tuple[dict[str, object], str, object]] = []
        self.lenient = 0  # > 0 inside DO blocks and routines run at top level
        self.running: list[str] = []  # routines being run, to stop recursion
        self.incomplete = False  # the current top-level statement was not fully analysed
        # where each routine body sits: (body location, body) -> (text space, offset)
        self.body_spaces: dict[tuple[Location, str], tuple[SourceFile, int]] = {}

    # ---- input -------------------------------------------------------------------

    def add_file(self, source: SourceFile) -> None:
        self.files.append(source)
        self.search_path = self.default_search_path
        statements, diagnostics, lost = split_statements(source)
        self.state.diagnostics.extend(diagnostics)
        self.state.statements += len(statements) + lost
        self.state.unanalyzed += lost
        for statement in statements:
            self.apply(statement)

    def apply(self, statement: Statement) -> None:
        """Apply one top-level statement; it counts once as unanalysed if any part failed."""
        self.incomplete = False
        self.run(statement)
        # a top-level statement is never undone: forget its changes (keeping them made
        # every later statement copy them all, quadratic in the size of the input)
        self.journal = []
        if self.incomplete:
            self.state.unanalyzed += 1
        self.incomplete = False

    def run(self, statement: Statement) -> None:
        """Apply a statement (top level, or run by a DO block or routine).

        A statement applies entirely or not at all, as on the server: the changes it made
        before a problem showed are undone.
        """
        handler = _HANDLERS.get(statement.kind)
        if handler is None or (
            statement.kind == "select" and not _SINGLE_CALL.match(statement.text)
        ):
            return
        outer, self.journal = self.journal, []
        try:
            items = items_of(statement.tokens)
            handler(self, statement, Cursor(items, statement.end))
        except SyntaxProblem as problem:
            self.rollback()
            self.unanalyzed(statement, problem.offset, str(problem))
        except Rejected as rejected:
            self.rollback()
            if not (self.lenient and isinstance(rejected, Conflict)):
                self.diagnose(statement, rejected.offset, f"{rejected}: statement has no effect")
        except TokenError:
            self.unanalyzed(statement, statement.start, "cannot tokenise statement")
        except RecursionError:
            self.unanalyzed(statement, statement.start, "statement nested too deeply")
        except Exception as error:  # the catalog never raises: report and go on
            self.rollback()
            self.unanalyzed(
                statement,
                statement.start,
                f"internal error ({type(error).__name__}: {error}) while reading statement",
            )
        finally:
            outer.extend(self.journal)
            self.journal = outer

    # ---- changes (journaled, so that a failing statement can be undone) ---------------

    def put(self, mapping: dict[str, _V], key: str, value: _V) -> None:
        old = mapping.get(key, _MISSING)
        self.journal.append((mapping, key, old))  # type: ignore[arg-type]
        self._count_function(mapping, old, -1)
        self._count_function(mapping, value, 1)
        mapping[key] = value

    def pop(self, mapping: dict[str, _V], key: str) -> _V | None:
        if key not in mapping:
            return None
        self.journal.append((mapping, key, mapping[key]))  # type: ignore[arg-type]
        self._count_function(mapping, mapping[key], -1)
        return mapping.pop(key)

    def rollback(self) -> None:
        for mapping, key, old in reversed(self.journal):
            self._count_function(mapping, mapping.get(key, _MISSING), -1)
            self._count_function(mapping, old, 1)
            if old is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = old
        self.journal = []

    def _count_function(self, mapping: object, value: object, change: int) -> None:
        state = self.state
        counts: dict[str, int]
        keys: tuple[str, ...]
        if mapping is state.functions and isinstance(value, Function):
            counts, keys = state.function_names, (value.name,)
        elif mapping is state.tables and isinstance(value, Table):
            counts = state.child_tables
            keys = tuple(dict.fromkeys(p for p in (value.partition_of, *value.inherits) if p))
        elif mapping is state.triggers and isinstance(value, Trigger) and value.inherited_from:
            counts, keys = state.trigger_clones, (value.inherited_from,)
        else:
            return
        for key in keys:
            counts[key] = counts.get(key, 0) + change

    def catalog(self, skipped_files: int = 0) -> Catalog:
        state = self.state
        indexed: dict[str, set[tuple[str, ...]]] = {}
        for table, columns in state.unique_indexes.values():
            known = state.tables.get(table)
            if known is not None and all(known.column(c) for c in columns):
                indexed.setdefault(table, set()).add(columns)
        tables = {
            name: replace(table, unique_indexes=tuple(sorted(indexed[name])))
            if name in indexed
            else table
            for name, table in state.tables.items()
        }
        plain: dict[str, set[tuple[str, ...]]] = {}
        for table_name, columns in state.indexes.values():
            known = tables.get(table_name)
            if known is not None and all(known.column(c) for c in columns):
                plain.setdefault(table_name, set()).add(columns)
        for name, columns_set in plain.items():
            tables[name] = replace(tables[name], indexes=tuple(sorted(columns_set)))
        return freeze(
            tables,
            state.functions,
            state.triggers,
            state.rules,
            state.event_triggers,
            anonymous_blocks=tuple(state.blocks),
            extensions=MappingProxyType(dict(sorted(state.extensions.items()))),
            files=tuple(self.files),
            diagnostics=tuple(sorted(set(state.diagnostics))),
            statements=state.statements + skipped_files,
            unanalyzed_statements=state.unanalyzed + skipped_files,
            search_path=self.default_search_path,
        )

    # ---- diagnostics -------------------------------------------------------------

    def unanalyzed(self, statement: Statement, offset: int, message: str) -> None:
        self.incomplete = True
        self.state.diagnostics.append(
            statement.file.diagnostic(
                offset, f"{message}; statement not analysed: {statement.excerpt()}"
            )
        )

    def diagnose(self, statement: Statement, offset: int, message: str) -> None:
        self.state.diagnostics.append(statement.file.diagnostic(offset, message))

    def diagnose_at(self, file: SourceFile, offset: int, message: str) -> None:
        self.state.diagnostics.append(file.diagnostic(offset, message))

    def body_space(self, function: Function) -> tuple[SourceFile, int]:
        """The text a routine's body can be read from, and the body's offset in it."""
        assert function.body is not None and function.body_location is not None
        found = self.body_spaces.get((function.body_location, function.body))
        if found is not None:
            return found
        return SourceFile.from_text(function.body_location.path, function.body), 0

    @contextlib.contextmanager
    def leniently(self) -> Iterator[None]:
        self.lenient += 1
        try:
            yield
        finally:
            self.lenient -= 1

    # ---- names -------------------------------------------------------------------

    def schema_path(self) -> list[str]:
        """The schemas unqualified names resolve in (implicit schemas aside)."""
        return [s for s in self.search_path if s and s not in {"$user", "pg_catalog", "pg_temp"}]

    def creation_schema(self, offset: int) -> str:
        """Unqualified new objects go to the first schema of the path that exists."""
        path = self.schema_path()
        for schema in path:
            if schema in self.state.schemas:
                return schema
        if path:
            return path[0]
        raise Rejected("no schema has been selected to create in (search_path is empty)", offset)

    def relation_name(self, parts: Sequence[str]) -> str:
        if len(parts) > 1:
            return f"{parts[-2]}.{parts[-1]}"
        for schema in relation_search_order(self.search_path):
            if f"{schema}.{parts[-1]}" in self.state.tables or system_relation(schema, parts[-1]):
                return f"{schema}.{parts[-1]}"
        path = self.schema_path()
        return f"{path[0] if path else 'public'}.{parts[-1]}"

    def new_object_name(self, parts: Sequence[str], offset: int) -> str:
        if len(parts) > 1:
            self.state.schemas.add(parts[-2])
            return f"{parts[-2]}.{parts[-1]}"
        return f"{self.creation_schema(offset)}.{parts[-1]}"

    def function_name(self, parts: Sequence[str]) -> str:
        """Resolve a function name; pg_catalog comes first unless the path places it."""
        if len(parts) > 1:
            return f"{parts[-2]}.{parts[-1]}"
        name = parts[-1]
        explicit = [s for s in self.search_path if s and s not in {"$user", "pg_temp"}]
        if "pg_catalog" not in explicit:
            explicit.insert(0, "pg_catalog")
        for schema in explicit:
            if schema == "pg_catalog" and name in PG_CATALOG_TRIGGER_FUNCTIONS:
                return f"pg_catalog.{name}"
            if self.state.function_names.get(f"{schema}.{name}", 0) > 0:
                return f"{schema}.{name}"
        path = self.schema_path()
        return f"{path[0] if path else 'public'}.{name}"

    def location_of(self, statement: Statement, items: Sequence[Item]) -> Location:
        if not items:
            return statement.location
        return statement.file.location(items[0].token.start, items[-1].token.end)

    # ---- constraint names ---------------------------------------------------------

    def constraints_of(self, table: str) -> dict[str, _Constraint]:
        """A table's constraints by name; change them with add/remove_constraint only."""
        return self.state.constraints.setdefault(table, {})

    def add_constraint(self, table: str, name: str, constraint: _Constraint) -> None:
        registry = self.constraints_of(table)
        if name not in registry:
            self._count_name(table, name, constraint, 1)
        self.put(registry, name, constraint)

    def remove_constraint(self, table: str, name: str) -> _Constraint | None:
        constraint = self.pop(self.constraints_of(table), name)
        if constraint is not None:
            self._count_name(table, name, constraint, -1)
        return constraint

    def move_constraints(self, old: str, new: str) -> None:
        """A renamed table keeps its constraints (their names do not change)."""
        registry = self.constraints_of(old)
        for name, constraint in list(registry.items()):
            self.remove_constraint(old, name)
            self.add_constraint(new, name, constraint)
        self.pop(self.state.constraints, old)

    def _count_name(self, table: str, name: str, constraint: _Constraint, delta: int) -> None:
        key = f"{table.split('.', 1)[0]}.{name}"
        counters = [self.state.constraint_names]
        if constraint.kind in "pux":
            counters.append(self.state.index_names)
        for counter in counters:
            count = counter.get(key, 0) + delta
            if count:
                self.put(counter, key, count)
            else:
                self.pop(counter, key)

    def name_taken(self, schema: str, name: str, relation: bool) -> bool:
        """Constraint names are unique per schema; index names share the relation names."""
        key = f"{schema}.{name}"
        if relation:
            return (
                key in self.state.index_names
                or key in self.state.tables
                or key in self.state.unique_indexes
                or key in self.state.indexes
            )
        return key in self.state.constraint_names

    def choose_name(
        self, table: str, columns: Sequence[str], label: str, *, relation: bool = False
    ) -> str:
        """PostgreSQL's ChooseConstraintName / ChooseRelationName for an unnamed object."""
        schema, short = table.split(".", 1)
        addition = "_".join(columns) if columns else None
        attempt, pass_number = label, 0
        while True:
            name = make_object_name(short, addition, attempt)
            if not self.name_taken(schema, name, relation):
                return name
            pass_number += 1
            attempt = f"{label}{pass_number}"


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """PostgreSQL's makeObjectName: `name1_name2_label`, the longer part cut to fit 63 bytes."""
    first = name1.encode("utf-8")
    second = name2.encode("utf-8") if name2 is not None else b""
    overhead = (1 if name2 is not None else 0) + (len(label) + 1 if label else 0)
    available = NAMEDATALEN - 1 - overhead
    keep1, keep2 = len(first), len(second)
    while keep1 + keep2 > available:
        if keep1 > keep2:
            keep1 -= 1
        else:
            keep2 -= 1
    name = first[:keep1].decode("utf-8", errors="ignore")
    if name2 is not None:
        name += "_" + second[:keep2].decode("utf-8", errors="ignore")
    if label:
        name += "_" + label
    return name


# ---- CREATE TABLE ----------------------------------------------------------------------


@dataclass
class _TableParts:
    """Columns and constraints collected while reading a table definition.

    `pending` lists the constraints defined by the statement being read, in order, with
    their explicit name (None: PostgreSQL chooses one) and, for a foreign key, its index
    in `foreign_keys`.
    """

    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    unique: list[tuple[str, ...]] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    pending: list[tuple[str | None, _Constraint, int | None]] = field(default_factory=list)

    @classmethod
    def of(cls, table: Table) -> _TableParts:
        return cls(
            list(table.columns),
            table.primary_key,
            list(table.unique),
            list(table.foreign_keys),
            list(table.checks),
        )

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def set_column(self, column: Column) -> None:
        for index, existing in enumerate(self.columns):
            if existing.name == column.name:
                self.columns[index] = column
                return
        self.columns.append(column)

    def add_primary_key(self, name: str | None, columns: tuple[str, ...], offset: int) -> None:
        if self.primary_key or any(c.kind == "p" for _, c, _ in self.pending):
            raise Rejected("multiple primary keys are not allowed", offset)
        self.primary_key = columns
        for column_name in columns:
            column = self.column(column_name)
            if column is not None:
                self.set_column(replace(column, not_null=True))
        self.pending.append((name, _Constraint("p", columns), None))

    def add_unique(self, name: str | None, columns: tuple[str, ...]) -> None:
        """A key the same statement already defines on the same columns is not made twice."""
        for explicit, constraint, _ in self.pending:
            same = constraint.kind in "pu" and constraint.columns == columns
            if same and (name is None or explicit is None or name == explicit):
                return
        self.unique.append(columns)
        self.pending.append((name, _Constraint("u", columns), None))

    def add_check(self, name: str | None, text: str) -> None:
        self.checks.append(text)
        self.pending.append((name, _Constraint("c", (), text), None))

    def add_foreign_key(self, name: str | None, key: ForeignKey) -> None:
        self.foreign_keys.append(key)
        self.pending.append((name, _Constraint("f", key.columns), len(self.foreign_keys) - 1))

    def applied_to(self, table: Table) -> Table:
        return replace(
            table,
            columns=tuple(self.columns),
            primary_key=self.primary_key,
            unique=tuple(self.unique),
            foreign_keys=tuple(self.foreign_keys),
            checks=tuple(self.checks),
        )

    def name_constraints(self, builder: CatalogBuilder, table: str, offset: int) -> None:
        """Give every new constraint its name (PostgreSQL's choice when unnamed)."""
        registry = builder.constraints_of(table)
        column_names = [c.name for c in self.columns]
        for explicit, constraint, fk_index in self.pending:
            name = explicit
            if name is not None and name in registry:
                raise Conflict(f'constraint "{name}" for relation {table} already exists', offset)
            if name is None:
                if constraint.kind == "p":
                    name = builder.choose_name(table, (), "pkey", relation=True)
                elif constraint.kind == "u":
                    name = builder.choose_name(table, constraint.columns, "key", relation=True)
                elif constraint.kind == "x":
                    name = builder.choose_name(table, constraint.columns, "excl", relation=True)
                elif constraint.kind == "f":
                    name = builder.choose_name(table, constraint.columns, "fkey")
                else:
                    referenced = _check_columns(constraint.text or "", column_names)
                    name = builder.choose_name(table, referenced, "check")
            builder.add_constraint(table, name, constraint)
            if fk_index is not None:
                self.foreign_keys[fk_index] = replace(self.foreign_keys[fk_index], name=name)
        self.pending = []


def _check_columns(text: str, column_names: Sequence[str]) -> tuple[str, ...]:
    """The one column a CHECK expression uses, which names the constraint; else ()."""
    used = _check_columns_all(text, column_names)
    return tuple(used) if len(used) == 1 else ()


def _create_table(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE")
    temporary = False
    while word := cursor.accept_any("GLOBAL", "LOCAL", "TEMP", "TEMPORARY", "UNLOGGED"):
        temporary = temporary or word in {"TEMP", "TEMPORARY"}
    relkind = "foreign" if cursor.accept("FOREIGN") else "table"
    cursor.expect("TABLE")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    parts, first = cursor.qualified_name()
    name = (
        f"pg_temp.{parts[-1]}"
        if temporary and len(parts) == 1
        else builder.new_object_name(parts, first.token.start)
    )
    state = builder.state
    if name in state.tables:
        if if_not_exists:
            return
        raise Conflict(f"relation {name} already exists", statement.start)
    if _is_create_table_as(cursor):
        _create_table_as(builder, statement, cursor, name)
        return
    definition = _TableParts()
    partition_of = None
    inherits: tuple[str, ...] = ()
    typed = False
    if cursor.accept("PARTITION", "OF"):
        parent_parts, _ = cursor.qualified_name()
        partition_of = builder.relation_name(parent_parts)
        parent = state.tables.get(partition_of)
        typed = True
        if parent is not None:
            definition.columns = list(parent.columns)
            definition.checks = list(parent.checks)
        else:
            builder.diagnose(
                statement, statement.start, f"partition of unknown table {partition_of}"
            )
    elif cursor.accept("OF"):
        cursor.qualified_name()
        typed = True
    if cursor.peek_punct("("):
        for element in split_top_level(cursor.skip_balanced()):
            _table_element(builder, statement, name, element, definition, typed=typed)
    if cursor.accept("INHERITS"):
        inherits = tuple(
            builder.relation_name([i.name for i in part if i.kind != "punct"])
            for part in split_top_level(cursor.skip_balanced())
        )
        definition.columns = _inherited_columns(builder, inherits, definition.columns)
        for parent_name in inherits:
            parent = state.tables.get(parent_name)
            if parent is not None:
                definition.checks = [*parent.checks, *definition.checks]
    while not cursor.done:
        if cursor.accept("PARTITION", "BY"):
            relkind = "partitioned"
            break
        cursor.next()
    _resolve_self_references(definition, name)
    definition.name_constraints(builder, name, statement.start)
    table = definition.applied_to(
        Table(name, (), statement.location, relkind, partition_of=partition_of, inherits=inherits)
    )
    builder.put(state.tables, name, table)
    if partition_of is not None and partition_of in state.tables:
        _attach_partition(builder, state.tables[partition_of], name)


def _is_create_table_as(cursor: Cursor) -> bool:
    """CREATE TABLE name [(column names)] [options] AS query: AS at the top level."""
    depth = 0
    for item in cursor.items[cursor.index :]:
        if item.kind == "punct" and item.text in "([":
            depth += 1
        elif item.kind == "punct" and item.text in ")]":
            depth -= 1
        elif depth == 0 and item.upper == "AS":
            return True
    return False


def _create_table_as(
    builder: CatalogBuilder, statement: Statement, cursor: Cursor, name: str
) -> None:
    names: tuple[str, ...] = ()
    if cursor.peek_punct("("):
        names = _names_in_parens(cursor)
    cursor.until("AS", stop_puncts=())
    cursor.expect("AS")
    query = cursor.rest()
    if query and query[-1].upper == "DATA":
        query = query[:-3] if len(query) >= 3 and query[-2].upper == "NO" else query[:-2]
    columns = _query_columns(builder, statement, source_text(statement.file.text, query), names)
    builder.put(builder.state.tables, name, Table(name, columns, statement.location))


def _inherited_columns(
    builder: CatalogBuilder, parents: Sequence[str], local: list[Column]
) -> list[Column]:
    """Parents' columns first, in order, merged by name; local definitions merge into them."""
    merged: list[Column] = []
    for parent_name in parents:
        parent = builder.state.tables.get(parent_name)
        for column in parent.columns if parent else ():
            if not any(c.name == column.name for c in merged):
                merged.append(replace(column, default=column.default))
    for column in local:
        for index, existing in enumerate(merged):
            if existing.name == column.name:
                merged[index] = replace(
                    existing,
                    not_null=existing.not_null or column.not_null,
                    default=column.default if column.default is not None else existing.default,
                    location=column.location,
                )
                break
        else:
            merged.append(column)
    return merged


def _resolve_self_references(definition: _TableParts, name: str) -> None:
    """A foreign key to the table being created, without columns, uses its primary key."""
    for index, key in enumerate(definition.foreign_keys):
        if key.ref_table == name and not key.ref_columns:
            definition.foreign_keys[index] = replace(key, ref_columns=definition.primary_key)


def _names_in_parens(cursor: Cursor) -> tuple[str, ...]:
    return tuple(part[0].name for part in split_top_level(cursor.skip_balanced()) if part)


def _fk_tail(
    builder: CatalogBuilder,
    cursor: Cursor,
    table: str,
    columns: tuple[str, ...],
    location: Location,
) -> ForeignKey:
    """After REFERENCES: target, columns, MATCH, ON DELETE/UPDATE, deferrability."""
    parts, _ = cursor.qualified_name()
    ref_table = builder.relation_name(parts)
    ref_columns: tuple[str, ...] = ()
    if cursor.peek_punct("("):
        ref_columns = _names_in_parens(cursor)
    elif ref_table in builder.state.tables:
        ref_columns = builder.state.tables[ref_table].primary_key
    on_delete = on_update = "no action"
    deferrable, validated = False, True
    while True:
        if cursor.accept("MATCH"):
            cursor.next()
        elif cursor.accept("ON", "DELETE"):
            on_delete = _fk_action(cursor)
        elif cursor.accept("ON", "UPDATE"):
            on_update = _fk_action(cursor)
        elif cursor.accept("NOT", "DEFERRABLE"):
            deferrable = False
        elif cursor.accept("DEFERRABLE"):
            deferrable = True
        elif cursor.accept("INITIALLY"):
            cursor.next()
        elif cursor.accept("NOT", "VALID"):
            validated = False
        else:
            break
    return ForeignKey(
        None,
        table,
        columns,
        ref_table,
        ref_columns,
        on_delete,
        on_update,
        location,
        deferrable=deferrable,
        validated=validated,
    )


def _fk_action(cursor: Cursor) -> str:
    if cursor.accept("CASCADE"):
        return "cascade"
    if cursor.accept("RESTRICT"):
        return "restrict"
    if cursor.accept("NO", "ACTION"):
        return "no action"
    for action in ("NULL", "DEFAULT"):
        if cursor.accept("SET", action):
            if cursor.peek_punct("("):
                cursor.skip_balanced()
            return f"set {action.lower()}"
    raise SyntaxProblem("expected a foreign key action", cursor.offset)


def _skip_index_parameters(cursor: Cursor) -> None:
    """INCLUDE (…), WITH (…), USING INDEX TABLESPACE t after PRIMARY KEY / UNIQUE."""
    while True:
        if cursor.accept("INCLUDE") or cursor.accept("WITH"):
            cursor.skip_balanced()
        elif cursor.accept("USING", "INDEX", "TABLESPACE"):
            cursor.identifier()
        else:
            return


def _skip_constraint_attributes(cursor: Cursor) -> None:
    while True:
        if cursor.accept("NOT", "DEFERRABLE") or cursor.accept("DEFERRABLE"):
            continue
        if cursor.accept("INITIALLY"):
            cursor.next()
        elif (
            cursor.accept("NOT", "VALID")
            or cursor.accept("NO", "INHERIT")
            or cursor.accept("NOT", "ENFORCED")
            or cursor.accept("ENFORCED")
        ):
            continue
        else:
            return


def _table_element(
    builder: CatalogBuilder,
    statement: Statement,
    table: str,
    element: list[Item],
    definition: _TableParts,
    *,
    typed: bool = False,
) -> None:
    cursor = Cursor(element, element[-1].token.end + 1)
    location = builder.location_of(statement, element)
    constraint = None
    if cursor.accept("CONSTRAINT"):
        constraint = cursor.identifier().name
    if cursor.accept("PRIMARY", "KEY"):
        definition.add_primary_key(constraint, _names_in_parens(cursor), element[0].token.start)
    elif cursor.accept("UNIQUE"):
        if cursor.accept("NULLS"):
            cursor.accept("NOT")
            cursor.expect("DISTINCT")
        definition.add_unique(constraint, _names_in_parens(cursor))
    elif cursor.accept("FOREIGN", "KEY"):
        fk_columns = _names_in_parens(cursor)
        cursor.expect("REFERENCES")
        definition.add_foreign_key(
            constraint, _fk_tail(builder, cursor, table, fk_columns, location)
        )
    elif cursor.accept("CHECK"):
        definition.add_check(constraint, source_text(statement.file.text, cursor.skip_balanced()))
    elif cursor.accept("EXCLUDE"):
        if cursor.accept("USING"):
            cursor.identifier()
        elements = split_top_level(cursor.skip_balanced())
        columns = tuple(part[0].name for part in elements if part[0].kind in {"word", "ident"})
        definition.pending.append((constraint, _Constraint("x", columns), None))
    elif constraint is None and cursor.accept("LIKE"):
        parts, _ = cursor.qualified_name()
        source = builder.state.tables.get(builder.relation_name(parts))
        if source is None:
            raise Conflict(
                f"LIKE of unknown table {builder.relation_name(parts)}", element[0].token.start
            )
        _copy_like(cursor, source, definition)
    elif constraint is None:
        _column_definition(builder, statement, table, cursor, location, definition, typed=typed)
    else:
        raise SyntaxProblem("expected a table constraint", cursor.offset)


def _copy_like(cursor: Cursor, source: Table, definition: _TableParts) -> None:
    """LIKE source [INCLUDING | EXCLUDING option …]: names, types and NOT NULL always."""
    included: set[str] = set()
    while word := cursor.accept_any("INCLUDING", "EXCLUDING"):
        option = cursor.next().upper
        if option not in _LIKE_OPTIONS:
            raise SyntaxProblem(f"unknown LIKE option {option}", cursor.offset)
        chosen = set(_LIKE_OPTIONS) if option == "ALL" else {option}
        included = included | chosen if word == "INCLUDING" else included - chosen
    for column in source.columns:
        copied = replace(
            column,
            default=column.default if "DEFAULTS" in included else None,
            generated=column.generated and "GENERATED" in included,
            generation_expression=(
                column.generation_expression if "GENERATED" in included else None
            ),
            identity=column.identity if "IDENTITY" in included else None,
        )
        definition.set_column(copied)
    if "CONSTRAINTS" in included:
        for check in source.checks:
            definition.add_check(None, check)
    if "INDEXES" in included:
        if source.primary_key:
            definition.add_primary_key(None, source.primary_key, cursor.offset)
        for unique in source.unique:
            definition.add_unique(None, unique)


def _column_definition(
    builder: CatalogBuilder,
    statement: Statement,
    table: str,
    cursor: Cursor,
    location: Location,
    definition: _TableParts,
    *,
    typed: bool = False,
) -> Column:
    """Read `name type constraints…` (or `name [WITH OPTIONS] constraints…` for a
    partition or typed table) into `definition`; returns the column."""
    name_item = cursor.identifier()
    name = name_item.name
    existing = definition.column(name)
    if typed:
        cursor.accept("WITH", "OPTIONS")
        if existing is None:
            raise Conflict(f'column "{name}" does not exist', name_item.token.start)
        column = replace(existing, location=location)
    else:
        type_items = cursor.until(*_COLUMN_CONSTRAINT_WORDS, stop_puncts=(",",))
        if not type_items:
            raise SyntaxProblem(f"column {name} has no type", name_item.token.start)
        written = source_text(statement.file.text, type_items)
        column = Column(
            name=sys.intern(name), type=_resolve_type(builder, written), location=location
        )
        if " ".join(written.lower().split()) in SERIAL_TYPES:
            sequence = make_object_name(table.split(".", 1)[1], name, "seq")
            default = f"nextval('{quote_ident(sequence)}'::regclass)"
            column = replace(column, not_null=True, default=default)
    while not cursor.done:
        constraint = None
        if cursor.accept("CONSTRAINT"):
            constraint = cursor.identifier().name
        if cursor.accept("NOT", "NULL"):
            column = replace(column, not_null=True)
        elif cursor.accept("NULL"):
            pass
        elif cursor.accept("PRIMARY", "KEY"):
            definition.set_column(column)
            definition.add_primary_key(constraint, (name,), name_item.token.start)
            column = replace(column, not_null=True)
            _skip_index_parameters(cursor)
        elif cursor.accept("UNIQUE"):
            if cursor.accept("NULLS"):
                cursor.accept("NOT")
                cursor.expect("DISTINCT")
            definition.add_unique(constraint, (name,))
            _skip_index_parameters(cursor)
        elif cursor.accept("CHECK"):
            definition.add_check(
                constraint, source_text(statement.file.text, cursor.skip_balanced())
            )
            cursor.accept("NO", "INHERIT")
        elif cursor.accept("DEFAULT"):
            first = cursor.next()
            rest = cursor.until(*_COLUMN_CONSTRAINT_WORDS, stop_puncts=(",",))
            column = replace(column, default=source_text(statement.file.text, [first, *rest]))
        elif cursor.accept("GENERATED"):
            column = _generated(statement, cursor, column)
        elif cursor.accept("REFERENCES"):
            definition.add_foreign_key(
                constraint, _fk_tail(builder, cursor, table, (name,), location)
            )
        elif cursor.accept("COLLATE"):
            cursor.qualified_name()
        elif cursor.accept("STORAGE") or cursor.accept("COMPRESSION"):
            cursor.next()
        elif (
            cursor.peek_word("DEFERRABLE")
            or cursor.peek_word("NOT")
            or cursor.peek_word("INITIALLY")
        ):
            before = cursor.index
            _skip_constraint_attributes(cursor)
            if cursor.index == before:
                raise SyntaxProblem(
                    f"unexpected {cursor.next().text!r} in column definition", before
                )
        else:
            item = cursor.next()
            raise SyntaxProblem(f"unexpected {item.text!r} in column definition", item.token.start)
    definition.set_column(column)
    return column


def _generated(statement: Statement, cursor: Cursor, column: Column) -> Column:
    """GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY [(…)] or GENERATED ALWAYS AS (expr) STORED."""
    kind = "always" if cursor.accept("ALWAYS") else None
    if kind is None:
        cursor.expect("BY", "DEFAULT")
        kind = "by default"
    cursor.expect("AS")
    if cursor.accept("IDENTITY"):
        if cursor.peek_punct("("):
            cursor.skip_balanced()
        return replace(column, identity=kind, not_null=True)
    expression = source_text(statement.file.text, cursor.skip_balanced())
    cursor.accept("STORED") or cursor.accept("VIRTUAL")
    return replace(column, generated=True, generation_expression=expression)


def _resolve_type(builder: CatalogBuilder, written: str) -> str:
    """A type as PostgreSQL records it; `table.column%TYPE` becomes the column's type."""
    match = re.fullmatch(r"(?is)\s*(.+?)\s*%\s*type\s*", written)
    if match is None:
        return normalize_type(written)
    parts = [
        fold_identifier(p.strip().strip('"'), quoted='"' in p) for p in match.group(1).split(".")
    ]
    if len(parts) >= 2:
        table = builder.state.tables.get(builder.relation_name(parts[:-1]))
        column = table.column(parts[-1]) if table else None
        if column is not None:
            return column.type
    return normalize_type(written)


# ---- CREATE VIEW, CREATE TABLE AS ------------------------------------------------------


def _create_view(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE")
    replace_existing = cursor.accept("OR", "REPLACE")
    temporary = False
    while word := cursor.accept_any("TEMP", "TEMPORARY", "RECURSIVE"):
        temporary = temporary or word != "RECURSIVE"
    relkind = "materialized view" if cursor.accept("MATERIALIZED") else "view"
    cursor.expect("VIEW")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    parts, first = cursor.qualified_name()
    name = (
        f"pg_temp.{parts[-1]}"
        if temporary and len(parts) == 1
        else builder.new_object_name(parts, first.token.start)
    )
    existing = builder.state.tables.get(name)
    if existing is not None:
        if if_not_exists:
            return
        if not replace_existing:
            raise Conflict(f"relation {name} already exists", statement.start)
        if existing.relkind != relkind:
            raise Rejected(f"{name} is not a {relkind}", statement.start)
    names: tuple[str, ...] = ()
    if cursor.peek_punct("("):
        names = _names_in_parens(cursor)
    cursor.until("AS", stop_puncts=())
    cursor.expect("AS")
    query = cursor.until("WITH", stop_puncts=(";",))
    while cursor.peek_word("WITH") and not _is_view_tail(cursor):
        cursor.next()
        query = [*query, cursor.items[cursor.index - 1], *cursor.until("WITH", stop_puncts=(";",))]
    text = source_text(statement.file.text, query)
    columns = _query_columns(builder, statement, text, names)
    update, keys = (
        _view_update(builder, text, [c.name for c in columns]) if relkind == "view" else (None, ())
    )
    if existing is not None and replace_existing:
        changed = replace(
            existing,
            columns=columns,
            location=statement.location,
            view_update=update,
            unique=keys,
        )
        builder.put(builder.state.tables, name, changed)
        return
    view = Table(name, columns, statement.location, relkind, unique=keys, view_update=update)
    builder.put(builder.state.tables, name, view)


def _view_update(
    builder: CatalogBuilder, query: str, names: Sequence[str]
) -> tuple[ViewUpdate | None, tuple[tuple[str, ...], ...]]:
    """Whether a view is automatically updatable, as PostgreSQL decides it (rewriteHandler's
    view_query_is_auto_updatable), with its columns that are plain columns of the one
    relation it selects from; and the unique keys of that relation the view shows whole
    (its rows are that relation's rows). None when the query is not understood."""
    tree = parse_expression(query)
    if isinstance(tree, exp.Subquery):
        tree = tree.unnest()
    if isinstance(tree, exp.SetOperation):
        return _not_updatable("containing UNION, INTERSECT, or EXCEPT"), ()
    if isinstance(tree, exp.Values):
        return _not_updatable("that do not select from a single table or view"), ()
    if not isinstance(tree, exp.Select):
        return None, ()
    for clause, what in (
        ("with_", "containing WITH"),
        ("distinct", "containing DISTINCT"),
        ("group", "containing GROUP BY"),
        ("having", "containing HAVING"),
        ("limit", "containing LIMIT or OFFSET"),
        ("offset", "containing LIMIT or OFFSET"),
        ("fetch", "containing LIMIT or OFFSET"),
    ):
        if tree.args.get(clause):
            return _not_updatable(what), ()
    for projection in tree.selects:
        if projection.find(exp.Window):
            return _not_updatable("that return window functions"), ()
        if projection.find(exp.AggFunc):
            return _not_updatable("that return aggregate functions"), ()
        if projection.find(exp.GenerateSeries, exp.Explode, exp.Unnest) or any(
            fold_identifier(f.name) in SET_RETURNING_FUNCTIONS
            for f in projection.find_all(exp.Anonymous)
        ):
            return _not_updatable("that return set-returning functions"), ()
    source = tree.args.get("from_")
    relation = source.this if isinstance(source, exp.From) else None
    if (
        not isinstance(relation, exp.Table)
        or not isinstance(relation.this, exp.Identifier)
        or tree.args.get("joins")
        or relation.args.get("sample")
    ):
        return _not_updatable("that do not select from a single table or view"), ()
    base = builder.relation_name(
        [fold_identifier(p.name, quoted=bool(p.args.get("quoted"))) for p in relation.parts]
    )
    known = builder.state.tables.get(base)
    if known is not None and known.relkind == "view":
        if known.view_update is None:
            return None, ()
        if known.view_update.base is None:
            return ViewUpdate(None, reason=known.view_update.reason), ()
    elif known is not None and known.relkind not in {"table", "partitioned", "foreign"}:
        return _not_updatable("that do not select from a single table or view"), ()
    written: list[str | None] = []
    for projection in tree.selects:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(projection, exp.Star) or (
            isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
        ):
            if known is None:
                return ViewUpdate(base), ()  # the columns * stands for are not known
            written.extend(c.name for c in known.columns)
        elif isinstance(inner, exp.Column) and inner.name:
            written.append(_identifier_name(inner))
        else:
            written.append(None)
    if len(written) != len(names):
        return ViewUpdate(base), ()
    columns = tuple((v, b) for v, b in zip(names, written, strict=True) if b is not None)
    shown = {b: v for v, b in reversed(columns)}
    keys = tuple(
        tuple(shown[c] for c in key)
        for key in (known.unique_keys if known is not None else ())
        if all(c in shown for c in key)
    )
    return ViewUpdate(base, columns), keys


def _not_updatable(what: str) -> ViewUpdate:
    return ViewUpdate(None, reason=f"Views {what} are not automatically updatable.")


def _is_view_tail(cursor: Cursor) -> bool:
    """WITH [CASCADED | LOCAL] CHECK OPTION, WITH [NO] DATA: the end of a view's query."""
    words = [item.upper for item in cursor.items[cursor.index + 1 : cursor.index + 4]]
    return words[:1] in (["CHECK"], ["DATA"]) or words[:2] in (
        ["CASCADED", "CHECK"],
        ["LOCAL", "CHECK"],
        ["NO", "DATA"],
    )


def _query_columns(
    builder: CatalogBuilder, statement: Statement, query: str, names: Sequence[str]
) -> tuple[Column, ...]:
    """A view's (or CREATE TABLE AS's) columns: the names PostgreSQL gives the select list,
    overridden by an explicit column list; types where they can be read off the query."""
    derived: list[tuple[str, str]] = []
    tree = parse_expression(query)
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    if isinstance(tree, exp.Subquery):
        tree = tree.unnest()
    if isinstance(tree, exp.Select):
        sources = _query_sources(builder, tree)
        for projection in tree.selects:
            derived.extend(_projection_columns(projection, sources))
    location = statement.location
    columns = [Column(name, type_, location=location) for name, type_ in derived]
    for index, name in enumerate(names):
        if index < len(columns):
            columns[index] = replace(columns[index], name=name)
        else:
            columns.append(Column(name, "unknown", location=location))
    return tuple(columns)


def _query_sources(builder: CatalogBuilder, select: exp.Select) -> dict[str, Table]:
    """FROM/JOIN tables of a query by alias (and by name), when they are in the catalog."""
    sources: dict[str, Table] = {}
    for table in select.find_all(exp.Table):
        if table.find_ancestor(exp.Select) is not select:
            continue
        parts = [fold_identifier(p.name, quoted=bool(p.args.get("quoted"))) for p in table.parts]
        found = builder.state.tables.get(builder.relation_name(parts)) if parts else None
        if found is None:
            continue
        alias = table.alias
        sources[fold_identifier(alias) if alias else parts[-1]] = found
    return sources


def _projection_columns(projection: exp.Expr, sources: dict[str, Table]) -> list[tuple[str, str]]:
    if isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    ):
        qualifier = fold_identifier(projection.table) if isinstance(projection, exp.Column) else ""
        tables = [sources[qualifier]] if qualifier in sources else list(sources.values())
        return [(c.name, c.type) for t in tables for c in t.columns]
    inner = projection.this if isinstance(projection, exp.Alias) else projection
    name = _figure_column_name(projection)
    type_ = "unknown"
    if isinstance(inner, exp.Cast):
        type_ = normalize_type(render(inner.to))
    elif isinstance(inner, exp.Column):
        qualifier = fold_identifier(inner.table) if inner.table else ""
        candidates = [sources[qualifier]] if qualifier in sources else list(sources.values())
        found = [c for t in candidates for c in t.columns if c.name == _identifier_name(inner)]
        if len(found) == 1:
            type_ = found[0].type
    return [(name, type_)]


def _identifier_name(node: exp.Expr) -> str:
    identifier = node.this if isinstance(node, exp.Column) else node
    if isinstance(identifier, exp.Identifier):
        return fold_identifier(identifier.name, quoted=bool(identifier.args.get("quoted")))
    return fold_identifier(node.name)


def _figure_column_name(node: exp.Expr) -> str:
    """PostgreSQL's FigureColname: alias, column name, function name, or ?column?."""
    if isinstance(node, exp.Alias):
        alias = node.args.get("alias")
        return _identifier_name(alias) if alias is not None else fold_identifier(node.alias)
    if isinstance(node, exp.Column):
        return _identifier_name(node)
    if isinstance(node, exp.Cast):
        inner = _figure_column_name(node.this)
        return inner if inner != "?column?" else normalize_type(render(node.to))
    if isinstance(node, exp.Case):
        return "case"
    if isinstance(node, exp.Anonymous):
        return fold_identifier(node.name)
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return "?column?"


# ---- CREATE UNIQUE INDEX / DROP INDEX ----------------------------------------------------


def _create_index(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    """Unique indexes on plain columns are remembered for ADD … USING INDEX; other btree
    indexes on plain columns for the index probes they make of MIN/MAX lookups."""
    cursor.expect("CREATE")
    unique = cursor.accept("UNIQUE")
    cursor.expect("INDEX")
    cursor.accept("CONCURRENTLY")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    index_name: str | None = None
    if not cursor.peek_word("ON"):
        index_name = cursor.identifier().name
    cursor.expect("ON")
    cursor.accept("ONLY")
    parts, _ = cursor.qualified_name()
    table = builder.relation_name(parts)
    method = "btree"
    if cursor.accept("USING"):
        method = cursor.identifier().name.lower()
    elements = split_top_level(cursor.skip_balanced())
    if any(len(part) != 1 or part[0].kind not in {"word", "ident"} for part in elements):
        return  # an expression index: not usable as a constraint
    columns = tuple(part[0].name for part in elements)
    while not cursor.done:
        if cursor.peek_word("WHERE"):
            return  # a partial index: unique among some rows only
        cursor.next()
    if not unique and method != "btree":
        return
    if index_name is None:
        label = "key" if unique else "idx"
        index_name = builder.choose_name(table, columns, label, relation=True)
    key = f"{table.split('.', 1)[0]}.{index_name}"
    if if_not_exists and (key in builder.state.unique_indexes or key in builder.state.indexes):
        return
    kept = builder.state.unique_indexes if unique else builder.state.indexes
    builder.put(kept, key, (table, columns))


def _drop_index(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP", "INDEX")
    cursor.accept("CONCURRENTLY")
    cursor.accept("IF", "EXISTS")
    for part in split_top_level(cursor.until("CASCADE", "RESTRICT", stop_puncts=(";",))):
        names = [i.name for i in part if i.kind != "punct"]
        schema = names[-2] if len(names) > 1 else None
        for kept in (builder.state.unique_indexes, builder.state.indexes):
            for key in list(kept):
                if key.split(".", 1)[1] == names[-1] and (schema is None or key.startswith(schema)):
                    del kept[key]


# ---- ALTER TABLE -----------------------------------------------------------------------


def _alter_table(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("ALTER")
    cursor.accept("FOREIGN")
    cursor.expect("TABLE")
    if cursor.peek_word("ALL", "IN"):
        return
    if_exists = cursor.accept("IF", "EXISTS")
    only = cursor.accept("ONLY")
    parts, first = cursor.qualified_name()
    cursor.accept_punct("*")
    name = builder.relation_name(parts)
    if name not in builder.state.tables:
        if if_exists:
            return
        raise Conflict(f"ALTER TABLE of unknown table {name}", first.token.start)
    actions = split_top_level(cursor.rest())
    if not actions:
        raise SyntaxProblem("ALTER TABLE without an action", cursor.offset)
    for action in actions:
        _alter_table_action(
            builder, statement, name, Cursor(action, action[-1].token.end + 1), recurse=not only
        )


def _alter_view(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    """ALTER [MATERIALIZED] VIEW: renames, schema moves, column renames and defaults."""
    cursor.expect("ALTER")
    cursor.accept("MATERIALIZED")
    cursor.expect("VIEW")
    if_exists = cursor.accept("IF", "EXISTS")
    parts, first = cursor.qualified_name()
    name = builder.relation_name(parts)
    if name not in builder.state.tables:
        if if_exists:
            return
        raise Conflict(f"ALTER VIEW of unknown view {name}", first.token.start)
    rest = cursor.rest()
    if rest:
        _alter_table_action(builder, statement, name, Cursor(rest, rest[-1].token.end + 1), True)


def _children(builder: CatalogBuilder, table: str) -> list[str]:
    """Partitions and inheritance children of a table (direct ones)."""
    if builder.state.child_tables.get(table, 0) <= 0:
        return []
    return [
        t.name
        for t in builder.state.tables.values()
        if t.partition_of == table or table in t.inherits
    ]


def _alter_table_action(
    builder: CatalogBuilder, statement: Statement, name: str, cursor: Cursor, recurse: bool
) -> None:
    state = builder.state
    table = state.tables[name]
    start = cursor.offset
    if cursor.accept("RENAME", "TO"):
        _rename_table(builder, name, f"{table.schema}.{cursor.identifier().name}", start)
    elif cursor.accept("SET", "SCHEMA"):
        _rename_table(builder, name, f"{cursor.identifier().name}.{name.split('.', 1)[1]}", start)
    elif cursor.accept("RENAME", "CONSTRAINT"):
        old = cursor.identifier().name
        cursor.expect("TO")
        _rename_constraint(builder, name, old, cursor.identifier().name, start)
    elif cursor.accept("RENAME"):
        cursor.accept("COLUMN")
        old = cursor.identifier().name
        cursor.expect("TO")
        new = cursor.identifier().name
        _rename_column(builder, name, old, new, start, recurse)
    elif cursor.peek_word("ENABLE") or cursor.peek_word("DISABLE"):
        _enable_disable(builder, name, cursor, recurse)
    elif cursor.accept("ADD"):
        _add_to_table(builder, statement, name, cursor, recurse)
    elif cursor.accept("DROP"):
        _drop_from_table(builder, statement, name, cursor, recurse)
    elif cursor.accept("ALTER"):
        _alter_column(builder, statement, name, cursor, recurse)
    elif cursor.accept("ATTACH", "PARTITION"):
        parts, first = cursor.qualified_name()
        child = builder.relation_name(parts)
        if child not in state.tables:
            raise Conflict(f"ATTACH PARTITION of unknown table {child}", first.token.start)
        if state.tables[child].partition_of is not None:
            raise Rejected(f"{child} is already a partition", first.token.start)
        builder.put(state.tables, child, replace(state.tables[child], partition_of=name))
        _attach_partition(builder, state.tables[name], child)
    elif cursor.accept("DETACH", "PARTITION"):
        parts, first = cursor.qualified_name()
        child = builder.relation_name(parts)
        found = state.tables.get(child)
        if found is None or found.partition_of != name:
            raise Rejected(f"{child} is not a partition of {name}", first.token.start)
        builder.put(state.tables, child, replace(found, partition_of=None))
        for key, trigger in list(state.triggers.items()):
            if trigger.table == child and trigger.inherited_from is not None:
                parent_trigger = state.triggers.get(trigger.inherited_from)
                if parent_trigger is not None and parent_trigger.table == name:
                    _drop_trigger_tree(builder, key)
    elif cursor.accept("INHERIT"):
        parts, _ = cursor.qualified_name()
        parent = builder.relation_name(parts)
        builder.put(state.tables, name, replace(table, inherits=(*table.inherits, parent)))
    elif cursor.accept("NO", "INHERIT"):
        parts, _ = cursor.qualified_name()
        parent = builder.relation_name(parts)
        kept = tuple(p for p in table.inherits if p != parent)
        builder.put(state.tables, name, replace(table, inherits=kept))


def _enable_disable(builder: CatalogBuilder, name: str, cursor: Cursor, recurse: bool) -> None:
    state = builder.state
    toggle = cursor.next().upper
    mode = _ENABLED_STATES[toggle]
    if toggle == "ENABLE" and cursor.accept("REPLICA"):
        mode = "replica"
    elif toggle == "ENABLE" and cursor.accept("ALWAYS"):
        mode = "always"
    if cursor.accept("RULE"):
        rule_item = cursor.identifier()
        key = f"{name}.{rule_item.name}"
        rule = state.rules.get(key)
        if rule is None:
            raise Conflict(f"rule {rule_item.name} on {name} does not exist", rule_item.token.start)
        builder.put(state.rules, key, replace(rule, enabled=mode))
        return
    if not cursor.accept("TRIGGER"):
        return  # ROW LEVEL SECURITY and friends: nothing the catalog keeps
    target = cursor.identifier()
    table = state.tables[name]
    if target.kind == "word" and target.upper in {"ALL", "USER"}:
        if target.upper == "ALL":
            builder.put(state.tables, name, replace(table, internal_triggers=mode))
        keys = [k for k, t in state.triggers.items() if t.table == name]
    else:
        keys = [f"{name}.{target.name}"]
        if keys[0] not in state.triggers:
            raise Conflict(
                f'trigger "{target.name}" for table {name} does not exist', target.token.start
            )
    for key in keys:
        for affected in [key, *(_clones_of(builder, key) if recurse else [])]:
            builder.put(state.triggers, affected, replace(state.triggers[affected], enabled=mode))


def _clones_of(builder: CatalogBuilder, key: str) -> list[str]:
    """Keys of the partition clones of a trigger, at every level."""
    found: list[str] = []
    pending = [key]
    while pending:
        parent = pending.pop()
        if builder.state.trigger_clones.get(parent, 0) <= 0:
            continue
        for other_key, trigger in builder.state.triggers.items():
            if trigger.inherited_from == parent:
                found.append(other_key)
                pending.append(other_key)
    return sorted(found)


def _add_to_table(
    builder: CatalogBuilder, statement: Statement, name: str, cursor: Cursor, recurse: bool
) -> None:
    state = builder.state
    table = state.tables[name]
    start = cursor.offset
    if any(
        cursor.peek_word(word)
        for word in ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "EXCLUDE")
    ):
        definition = _TableParts.of(table)
        items = cursor.items[cursor.index :]
        if _using_index(builder, name, items, definition):
            pass
        else:
            _table_element(builder, statement, name, items, definition)
        definition.name_constraints(builder, name, start)
        builder.put(state.tables, name, definition.applied_to(table))
        if recurse and table.relkind == "partitioned":
            for child in _children(builder, name):
                _attach_partition(builder, state.tables[name], child)
        return
    cursor.accept("COLUMN")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    probe = cursor.peek()
    if probe is not None and table.column(probe.name) is not None:
        if if_not_exists:
            return
        raise Conflict(
            f'column "{probe.name}" of relation {name} already exists', probe.token.start
        )
    definition = _TableParts.of(table)
    location = builder.location_of(statement, cursor.items[cursor.index :])
    column = _column_definition(builder, statement, name, cursor, location, definition)
    definition.name_constraints(builder, name, start)
    builder.put(state.tables, name, definition.applied_to(table))
    if recurse:
        for child in _children(builder, name):
            found = state.tables[child]
            if found.column(column.name) is None:
                builder.put(state.tables, child, replace(found, columns=(*found.columns, column)))


def _using_index(
    builder: CatalogBuilder, table: str, items: list[Item], definition: _TableParts
) -> bool:
    """[CONSTRAINT name] {PRIMARY KEY | UNIQUE} USING INDEX index: the index's columns."""
    cursor = Cursor(items, items[-1].token.end + 1)
    constraint = cursor.identifier().name if cursor.accept("CONSTRAINT") else None
    primary = cursor.accept("PRIMARY", "KEY")
    if not primary and not cursor.accept("UNIQUE"):
        return False
    if not cursor.accept("USING", "INDEX"):
        return False
    index_item = cursor.identifier()
    key = f"{table.split('.', 1)[0]}.{index_item.name}"
    found = builder.state.unique_indexes.get(key)
    if found is None or found[0] != table:
        raise Conflict(f'index "{index_item.name}" does not exist', index_item.token.start)
    builder.pop(builder.state.unique_indexes, key)
    name = constraint or index_item.name
    if primary:
        definition.add_primary_key(name, found[1], index_item.token.start)
    else:
        definition.add_unique(name, found[1])
    return True


def _drop_from_table(
    builder: CatalogBuilder, statement: Statement, name: str, cursor: Cursor, recurse: bool
) -> None:
    state = builder.state
    table = state.tables[name]
    if cursor.accept("CONSTRAINT"):
        if_exists = cursor.accept("IF", "EXISTS")
        item = cursor.identifier()
        cascade = cursor.accept("CASCADE")
        registry = builder.constraints_of(name)
        if item.name not in registry:
            if if_exists:
                return
            raise Conflict(
                f'constraint "{item.name}" of relation {name} does not exist', item.token.start
            )
        _drop_constraint(builder, name, item.name, cascade, item.token.start)
        if recurse:
            for child in _children(builder, name):
                if item.name in builder.constraints_of(child):
                    _drop_constraint(builder, child, item.name, cascade, item.token.start)
        return
    if (
        cursor.peek_word("NOT")
        or cursor.peek_word("DEFAULT")
        or cursor.peek_word("EXPRESSION")
        or cursor.peek_word("IDENTITY")
    ):
        return
    cursor.accept("COLUMN")
    if_exists = cursor.accept("IF", "EXISTS")
    item = cursor.identifier()
    cascade = cursor.accept("CASCADE")
    if table.column(item.name) is None:
        if if_exists:
            return
        raise Conflict(f'column "{item.name}" of relation {name} does not exist', item.token.start)
    _drop_column(builder, name, item.name, cascade, item.token.start)
    if recurse:
        for child in _children(builder, name):
            if state.tables[child].column(item.name) is not None:
                _drop_column(builder, child, item.name, cascade, item.token.start)


def _referencing_keys(
    builder: CatalogBuilder, table: str, columns: Iterable[str] | None = None
) -> list[tuple[str, ForeignKey]]:
    """Foreign keys of other tables that point at `table` (at one of `columns`)."""
    wanted = set(columns) if columns is not None else None
    return [
        (other.name, fk)
        for other in builder.state.tables.values()
        for fk in other.foreign_keys
        if fk.ref_table == table
        and other.name != table
        and (wanted is None or wanted & set(fk.ref_columns))
    ]


def _remove_foreign_key(builder: CatalogBuilder, table: str, key: ForeignKey) -> None:
    found = builder.state.tables[table]
    kept = tuple(fk for fk in found.foreign_keys if fk is not key)
    builder.put(builder.state.tables, table, replace(found, foreign_keys=kept))
    if key.name is not None:
        builder.remove_constraint(table, key.name)


def _drop_constraint(
    builder: CatalogBuilder, table_name: str, name: str, cascade: bool, offset: int
) -> None:
    state = builder.state
    constraint = builder.remove_constraint(table_name, name)
    table = state.tables[table_name]
    if constraint is None:
        return
    if constraint.kind in "pu":
        dependents = [
            (other, fk)
            for other, fk in _referencing_keys(builder, table_name)
            if set(fk.ref_columns) == set(constraint.columns)
        ]
        if dependents and not cascade:
            raise Rejected(
                f'cannot drop constraint "{name}" of {table_name}: foreign key '
                f'"{dependents[0][1].name}" of {dependents[0][0]} depends on it (use CASCADE)',
                offset,
            )
        for other, fk in dependents:
            _remove_foreign_key(builder, other, fk)
        table = state.tables[table_name]
    if constraint.kind == "p":
        table = replace(table, primary_key=())
    elif constraint.kind == "u":
        unique = list(table.unique)
        if constraint.columns in unique:
            unique.remove(constraint.columns)
        table = replace(table, unique=tuple(unique))
    elif constraint.kind == "f":
        table = replace(
            table, foreign_keys=tuple(fk for fk in table.foreign_keys if fk.name != name)
        )
    elif constraint.kind == "c" and constraint.text is not None:
        checks = list(table.checks)
        if constraint.text in checks:
            checks.remove(constraint.text)
        table = replace(table, checks=tuple(checks))
    builder.put(state.tables, table_name, table)


def _drop_column(
    builder: CatalogBuilder, table_name: str, column: str, cascade: bool, offset: int
) -> None:
    """Constraints of the table that use the column go with it; a foreign key of another
    table that references it, or a trigger's UPDATE OF list, needs CASCADE."""
    state = builder.state
    outside = _referencing_keys(builder, table_name, [column])
    triggers = [
        key
        for key, t in state.triggers.items()
        if t.table == table_name and column in t.update_columns and t.inherited_from is None
    ]
    if (outside or triggers) and not cascade:
        what = (
            f'foreign key "{outside[0][1].name}" of {outside[0][0]}'
            if outside
            else f"trigger {triggers[0]}"
        )
        raise Rejected(
            f'cannot drop column "{column}" of {table_name}: {what} depends on it (use CASCADE)',
            offset,
        )
    for other, fk in outside:
        _remove_foreign_key(builder, other, fk)
    for key in triggers:
        _drop_trigger_tree(builder, key)
    table = state.tables[table_name]
    registry = builder.constraints_of(table_name)
    for name, constraint in list(registry.items()):
        uses = column in constraint.columns or (
            constraint.kind == "c"
            and column in _check_columns_all(constraint.text or "", [c.name for c in table.columns])
        )
        if uses:
            builder.remove_constraint(table_name, name)
            if constraint.kind == "c" and constraint.text in table.checks:
                checks = list(table.checks)
                checks.remove(constraint.text)
                table = replace(table, checks=tuple(checks))
    builder.put(
        state.tables,
        table_name,
        replace(
            table,
            columns=tuple(c for c in table.columns if c.name != column),
            primary_key=() if column in table.primary_key else table.primary_key,
            unique=tuple(u for u in table.unique if column not in u),
            foreign_keys=tuple(fk for fk in table.foreign_keys if column not in fk.columns),
        ),
    )


def _check_columns_all(text: str, column_names: Sequence[str]) -> set[str]:
    tree = parse_expression(f"SELECT {text}")
    if tree is None:
        return set()
    return {_identifier_name(c) for c in tree.find_all(exp.Column)} & set(column_names)


def _alter_column(
    builder: CatalogBuilder, statement: Statement, name: str, cursor: Cursor, recurse: bool
) -> None:
    state = builder.state
    cursor.accept("COLUMN")
    item = cursor.identifier()
    column = state.tables[name].column(item.name)
    if column is None:
        raise Conflict(f'column "{item.name}" of relation {name} does not exist', item.token.start)
    if cursor.accept("SET", "NOT", "NULL"):
        column = replace(column, not_null=True)
    elif cursor.accept("DROP", "NOT", "NULL"):
        column = replace(column, not_null=False)
    elif cursor.accept("SET", "DEFAULT"):
        column = replace(column, default=source_text(statement.file.text, cursor.rest()))
    elif cursor.accept("DROP", "DEFAULT"):
        column = replace(column, default=None)
    elif cursor.accept("SET", "DATA", "TYPE") or cursor.accept("TYPE"):
        type_items = cursor.until("USING", "COLLATE", stop_puncts=(",",))
        written = source_text(statement.file.text, type_items)
        column = replace(column, type=_resolve_type(builder, written))
    elif cursor.accept("ADD", "GENERATED"):
        column = _generated(statement, cursor, column)
    elif cursor.accept("DROP", "IDENTITY"):
        column = replace(column, identity=None)
    elif cursor.accept("DROP", "EXPRESSION"):
        column = replace(column, generated=False, generation_expression=None)
    else:
        return
    tables = [name, *(_children(builder, name) if recurse else [])]
    for table_name in tables:
        table = state.tables[table_name]
        if table.column(column.name) is None:
            continue
        merged = tuple(
            replace(column, location=c.location) if c.name == column.name else c
            for c in table.columns
        )
        builder.put(state.tables, table_name, replace(table, columns=merged))


def _attach_partition(builder: CatalogBuilder, parent: Table, child_name: str) -> None:
    """A new partition gets the parent's primary key, foreign keys and row triggers."""
    state = builder.state
    child = state.tables[child_name]
    definition = _TableParts.of(child)
    if parent.primary_key and not child.primary_key:
        definition.add_primary_key(None, parent.primary_key, 0)
    existing = {fk.name for fk in child.foreign_keys}
    for foreign_key in parent.foreign_keys:
        if foreign_key.name not in existing:
            definition.add_foreign_key(foreign_key.name, replace(foreign_key, table=child_name))
    definition.name_constraints(builder, child_name, 0)
    builder.put(state.tables, child_name, definition.applied_to(child))
    for key, trigger in sorted(state.triggers.items()):
        if trigger.table == parent.name and trigger.level == "row":
            _clone_trigger(builder, key, child_name)


def _rename_table(builder: CatalogBuilder, old: str, new: str, offset: int) -> None:
    state = builder.state
    if new in state.tables:
        raise Conflict(f"relation {new} already exists", offset)
    table = builder.pop(state.tables, old)
    assert table is not None
    builder.state.schemas.add(new.split(".", 1)[0])
    builder.put(state.tables, new, with_table_renamed(table, new))
    for name, other in list(state.tables.items()):
        changed = replace(
            other,
            foreign_keys=tuple(
                replace(fk, ref_table=new) if fk.ref_table == old else fk
                for fk in other.foreign_keys
            ),
            partition_of=new if other.partition_of == old else other.partition_of,
            inherits=tuple(new if p == old else p for p in other.inherits),
        )
        if other.view_update is not None and other.view_update.base == old:
            # A view follows its base relation, as its stored query does.
            changed = replace(changed, view_update=replace(other.view_update, base=new))
        if changed != other:
            builder.put(state.tables, name, changed)
    for key, trigger in list(state.triggers.items()):
        parent = trigger.inherited_from
        if parent is not None and parent.rsplit(".", 1)[0] == old:
            parent = f"{new}.{parent.rsplit('.', 1)[1]}"
        if trigger.table == old or parent != trigger.inherited_from:
            moved = replace(
                trigger, table=new if trigger.table == old else trigger.table, inherited_from=parent
            )
            builder.pop(state.triggers, key)
            builder.put(state.triggers, moved.key, moved)
    for key, rule in list(state.rules.items()):
        if rule.table == old:
            builder.pop(state.rules, key)
            builder.put(state.rules, f"{new}.{rule.name}", replace(rule, table=new))
    builder.move_constraints(old, new)
    for kept in (state.unique_indexes, state.indexes):
        for key, (table_name, columns) in list(kept.items()):
            if table_name == old:
                builder.put(kept, key, (new, columns))


def _rename_constraint(
    builder: CatalogBuilder, table_name: str, old: str, new: str, offset: int
) -> None:
    registry = builder.constraints_of(table_name)
    if old not in registry:
        raise Conflict(f'constraint "{old}" of relation {table_name} does not exist', offset)
    if new in registry:
        raise Conflict(f'constraint "{new}" for relation {table_name} already exists', offset)
    constraint = builder.remove_constraint(table_name, old)
    assert constraint is not None
    builder.add_constraint(table_name, new, constraint)
    table = builder.state.tables[table_name]
    renamed = tuple(replace(fk, name=new) if fk.name == old else fk for fk in table.foreign_keys)
    builder.put(builder.state.tables, table_name, replace(table, foreign_keys=renamed))


def _rename_column(
    builder: CatalogBuilder, table_name: str, old: str, new: str, offset: int, recurse: bool
) -> None:
    state = builder.state
    table = state.tables[table_name]
    if table.column(old) is None:
        raise Conflict(f'column "{old}" of relation {table_name} does not exist', offset)
    if table.column(new) is not None:
        raise Conflict(f'column "{new}" of relation {table_name} already exists', offset)

    def rename(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(new if n == old else n for n in names)

    builder.put(
        state.tables,
        table_name,
        replace(
            table,
            columns=tuple(replace(c, name=new) if c.name == old else c for c in table.columns),
            primary_key=rename(table.primary_key),
            unique=tuple(rename(u) for u in table.unique),
            foreign_keys=tuple(
                replace(fk, columns=rename(fk.columns)) for fk in table.foreign_keys
            ),
        ),
    )
    for name, other in list(state.tables.items()):
        if any(fk.ref_table == table_name for fk in other.foreign_keys):
            builder.put(
                state.tables,
                name,
                replace(
                    state.tables[name],
                    foreign_keys=tuple(
                        replace(fk, ref_columns=rename(fk.ref_columns))
                        if fk.ref_table == table_name
                        else fk
                        for fk in state.tables[name].foreign_keys
                    ),
                ),
            )
    for name in list(state.tables):
        # Views keep writing the renamed column (a view's own column, or its base's).
        update = state.tables[name].view_update
        if update is None or table_name not in {name, update.base}:
            continue
        pairs = tuple(
            (
                new if name == table_name and v == old else v,
                new if update.base == table_name and b == old else b,
            )
            for v, b in update.columns
        )
        if pairs != update.columns:
            builder.put(
                state.tables,
                name,
                replace(state.tables[name], view_update=replace(update, columns=pairs)),
            )
    for key, trigger in list(state.triggers.items()):
        if trigger.table == table_name and old in trigger.update_columns:
            builder.put(
                state.triggers, key, replace(trigger, update_columns=rename(trigger.update_columns))
            )
    registry = builder.constraints_of(table_name)
    for name, constraint in list(registry.items()):
        if old in constraint.columns:
            builder.put(registry, name, replace(constraint, columns=rename(constraint.columns)))
    for kept in (state.unique_indexes, state.indexes):
        for key, (indexed, columns) in list(kept.items()):
            if indexed == table_name and old in columns:
                builder.put(kept, key, (indexed, rename(columns)))
    if recurse:
        for child in _children(builder, table_name):
            if state.tables[child].column(old) is not None:
                _rename_column(builder, child, old, new, offset, recurse)


# ---- DROP TABLE / VIEW / SCHEMA ----------------------------------------------------------

_DROP_KINDS = {
    "TABLE": ("table", "partitioned"),
    "VIEW": ("view",),
    "MATERIALIZED VIEW": ("materialized view",),
    "FOREIGN TABLE": ("foreign",),
}


def _drop_relation(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP")
    noun = "TABLE"
    if cursor.accept("MATERIALIZED"):
        noun = "MATERIALIZED VIEW"
        cursor.expect("VIEW")
    elif cursor.accept("FOREIGN"):
        noun = "FOREIGN TABLE"
        cursor.expect("TABLE")
    elif cursor.accept("VIEW"):
        noun = "VIEW"
    else:
        cursor.expect("TABLE")
    if_exists = cursor.accept("IF", "EXISTS")
    targets = split_top_level(cursor.until("CASCADE", "RESTRICT", stop_puncts=(";",)))
    cascade = cursor.accept("CASCADE")
    state = builder.state
    names: list[str] = []
    for target in targets:
        name = builder.relation_name([i.name for i in target if i.kind != "punct"])
        found = state.tables.get(name)
        if found is None:
            if not if_exists and not builder.lenient:
                builder.diagnose(
                    statement, target[0].token.start, f"DROP of unknown relation {name}"
                )
            continue
        if found.relkind not in _DROP_KINDS[noun]:
            raise Rejected(f"{name} is not a {noun.lower()}", target[0].token.start)
        names.append(name)
    dropped = set(names)
    for name in names:
        dropped |= _descendants(builder, name, partitions_only=not cascade)
    if not cascade:
        for name in sorted(dropped):
            for other, fk in _referencing_keys(builder, name):
                if other not in dropped:
                    raise Rejected(
                        f'cannot drop {name}: foreign key "{fk.name}" of {other} depends on it '
                        "(use CASCADE)",
                        statement.start,
                    )
            for child in _children(builder, name):
                if child not in dropped:
                    raise Rejected(
                        f"cannot drop {name}: table {child} inherits from it (use CASCADE)",
                        statement.start,
                    )
    for name in sorted(dropped):
        _drop_table(builder, name)


def _descendants(builder: CatalogBuilder, table: str, partitions_only: bool) -> set[str]:
    found: set[str] = set()
    pending = [table]
    while pending:
        current = pending.pop()
        for other in builder.state.tables.values():
            inherits = other.partition_of == current or (
                not partitions_only and current in other.inherits
            )
            if inherits and other.name not in found:
                found.add(other.name)
                pending.append(other.name)
    return found


def _drop_table(builder: CatalogBuilder, name: str) -> None:
    state = builder.state
    if builder.pop(state.tables, name) is None:
        return
    for key in [k for k, t in state.triggers.items() if t.table == name]:
        builder.pop(state.triggers, key)
    for key in [k for k, r in state.rules.items() if r.table == name]:
        builder.pop(state.rules, key)
    for constraint_name in list(builder.constraints_of(name)):
        builder.remove_constraint(name, constraint_name)
    builder.pop(state.constraints, name)
    for index_map in (state.unique_indexes, state.indexes):
        for key in [k for k, (t, _) in index_map.items() if t == name]:
            builder.pop(index_map, key)
    for other_name, fk in _referencing_keys(builder, name):
        if other_name in state.tables:
            _remove_foreign_key(builder, other_name, fk)
    for other in list(state.tables.values()):
        if name in other.inherits:
            kept = tuple(p for p in other.inherits if p != name)
            builder.put(state.tables, other.name, replace(other, inherits=kept))


def _drop_schema(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP", "SCHEMA")
    cursor.accept("IF", "EXISTS")
    schemas = [
        part[0].name
        for part in split_top_level(cursor.until("CASCADE", "RESTRICT", stop_puncts=(";",)))
    ]
    cascade = cursor.accept("CASCADE")
    state = builder.state
    for schema in schemas:
        tables = [n for n in state.tables if n.split(".", 1)[0] == schema]
        functions = [k for k, f in state.functions.items() if f.name.split(".", 1)[0] == schema]
        if (tables or functions) and not cascade:
            raise Rejected(
                f"cannot drop schema {schema} because other objects depend on it (use CASCADE)",
                statement.start,
            )
        for name in tables:
            _drop_table(builder, name)
        for key in functions:
            _drop_function_key(builder, key, cascade=True, offset=statement.start)
        state.schemas.discard(schema)


def _create_schema(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE", "SCHEMA")
    cursor.accept("IF", "NOT", "EXISTS")
    if cursor.accept("AUTHORIZATION"):
        builder.state.schemas.add(cursor.identifier().name)
        return
    builder.state.schemas.add(cursor.identifier().name)


def _create_extension(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    """Remembered so that calls to the extension's functions are not unresolved."""
    cursor.expect("CREATE", "EXTENSION")
    cursor.accept("IF", "NOT", "EXISTS")
    name = cursor.identifier().name
    builder.put(builder.state.extensions, name, statement.location)


# ---- CREATE FUNCTION / PROCEDURE -------------------------------------------------------


def _parse_argument(builder: CatalogBuilder, statement: Statement, items: list[Item]) -> Argument:
    """[mode] [name] type [{DEFAULT | =} expr], mode also allowed after the name."""
    cursor = Cursor(items, items[-1].token.end + 1)
    mode = "in"
    if len(items) > 1:
        found = cursor.accept_any(*_ARGUMENT_MODES)
        if found is not None:
            mode = found.lower()
            if mode == "in" and cursor.accept("OUT"):
                mode = "inout"
    rest = cursor.items[cursor.index :]
    default = None
    for index, item in enumerate(rest):
        if item.upper == "DEFAULT" or (item.kind == "punct" and item.text == "="):
            if index + 1 == len(rest):
                raise SyntaxProblem("expected a default value", item.token.start)
            default = source_text(statement.file.text, rest[index + 1 :])
            rest = rest[:index]
            break
    name = None
    if len(rest) >= 2 and rest[0].kind in {"word", "ident"}:
        second = rest[1]
        type_continues = rest[0].upper in _TYPE_STARTS and (
            second.upper in _TYPE_CONTINUATIONS or second.kind == "punct"
        )
        if not (second.kind == "punct" and second.text in {".", "(", "[", "%"}) and not (
            type_continues
        ):
            name = rest[0].name
            rest = rest[1:]
            if rest and rest[0].kind == "word" and rest[0].upper in _ARGUMENT_MODES:
                mode = rest[0].upper.lower()
                rest = rest[1:]
                if mode == "in" and rest and rest[0].upper == "OUT":
                    mode, rest = "inout", rest[1:]
    if not rest:
        raise SyntaxProblem("argument without a type", items[0].token.start)
    written = source_text(statement.file.text, rest)
    return Argument(name, _resolve_type(builder, written), mode, default)


def _search_path_values(values: Sequence[Item]) -> tuple[str, ...]:
    """`a, "B", 'c d'`: every element is one schema; a string is a name, kept as written."""
    path: list[str] = []
    for index, item in enumerate(values):
        separator = index % 2 == 1
        if separator != (item.kind == "punct" and item.text == ","):
            raise SyntaxProblem(f"unexpected {item.text!r} in search_path", item.token.start)
        if not separator:
            path.append(item.text if item.kind == "string" else item.name)
    if values and len(values) % 2 == 0:
        raise SyntaxProblem("search_path ends with a comma", values[-1].token.start)
    return tuple(p for p in path if p)


def split_search_path(text: str) -> tuple[str, ...]:
    """A search_path setting as a string (`set_config`, `SET … FROM CURRENT`): a comma
    list whose unquoted names fold to lower case."""
    path: list[str] = []
    for part in re.findall(r'\s*("(?:[^"]|"")*"|[^,]*)\s*(?:,|$)', text):
        part = part.strip()
        if part.startswith('"') and part.endswith('"') and len(part) >= 2:
            path.append(part[1:-1].replace('""', '"'))
        elif part:
            path.append(fold_identifier(part))
    return tuple(path)


@dataclass
class _Options:
    """What CREATE / ALTER FUNCTION options say, starting from the current definition."""

    language: str | None = None
    body: str | None = None
    body_start: int | None = None
    security_definer: bool = False
    search_path: tuple[str, ...] | None = None
    volatility: str = "volatile"
    strict: bool = False
    body_space: tuple[SourceFile, int] | None = None


def _function_options(
    builder: CatalogBuilder, statement: Statement, cursor: Cursor, values: _Options
) -> None:
    while not cursor.done:
        if cursor.accept("LANGUAGE"):
            values.language = cursor.next().text.lower()
        elif cursor.accept("AS"):
            body_item = cursor.next()
            if body_item.kind != "string":
                raise SyntaxProblem("expected the function body", body_item.token.start)
            values.body, offsets = string_value(statement.file.text, body_item)
            values.body_space = _text_space(statement.file, values.body, offsets)
            values.body_start = offsets[0] if offsets else body_item.token.start
            if cursor.accept_punct(","):
                cursor.next()
        elif cursor.peek_word("BEGIN", "ATOMIC"):
            first = cursor.peek()
            assert first is not None
            rest = cursor.rest()
            values.body = statement.file.text[first.token.start : rest[-1].token.end + 1]
            values.body_start = first.token.start
            values.body_space = (statement.file, first.token.start)
            values.language = values.language or "sql"
            cursor.index = len(cursor.items)
        elif cursor.peek_word("RETURN"):
            first = cursor.next()
            rest = cursor.until(stop_puncts=(";",))
            values.body = source_text(statement.file.text, [first, *rest])
            values.body_start = first.token.start
            values.body_space = (statement.file, first.token.start)
            values.language = values.language or "sql"
        elif cursor.accept("EXTERNAL", "SECURITY") or cursor.accept("SECURITY"):
            kind = cursor.next()
            if kind.upper not in {"DEFINER", "INVOKER"}:
                raise SyntaxProblem("expected DEFINER or INVOKER", kind.token.start)
            values.security_definer = kind.upper == "DEFINER"
        elif cursor.accept("SET"):
            parameter = cursor.identifier().name
            if cursor.accept("FROM", "CURRENT"):
                if parameter == "search_path":
                    values.search_path = tuple(s for s in builder.search_path if s)
                continue
            if not cursor.accept("TO"):
                cursor.expect_punct("=")
            if cursor.accept("DEFAULT"):
                if parameter == "search_path":
                    values.search_path = None
                continue
            value_items = cursor.until(*_FUNCTION_OPTION_WORDS, stop_puncts=(";",))
            if parameter == "search_path":
                values.search_path = _search_path_values(value_items)
        elif cursor.accept("RESET"):
            parameter = cursor.identifier().name
            if parameter in {"search_path", "all"}:
                values.search_path = None
        elif word := cursor.accept_any("IMMUTABLE", "STABLE", "VOLATILE"):
            values.volatility = word.lower()
        elif cursor.accept("STRICT") or cursor.accept("RETURNS", "NULL", "ON", "NULL", "INPUT"):
            values.strict = True
        elif cursor.accept("CALLED", "ON", "NULL", "INPUT"):
            values.strict = False
        elif cursor.accept("PARALLEL") or cursor.accept("COST") or cursor.accept("ROWS"):
            cursor.next()
        elif cursor.accept("SUPPORT"):
            cursor.qualified_name()
        elif cursor.accept("OWNER", "TO"):
            cursor.next()
        elif (
            cursor.accept("NOT", "LEAKPROOF")
            or cursor.accept("LEAKPROOF")
            or cursor.accept("WINDOW")
            or cursor.accept("RESTRICT")
        ):
            pass
        elif cursor.accept("TRANSFORM"):
            cursor.until(*_FUNCTION_OPTION_WORDS, stop_puncts=(";",))
        else:
            item = cursor.next()
            raise SyntaxProblem(
                f"unexpected {item.text!r} in function definition", item.token.start
            )


def _create_function(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE")
    replace_existing = cursor.accept("OR", "REPLACE")
    is_procedure = cursor.accept("PROCEDURE")
    if not is_procedure:
        cursor.expect("FUNCTION")
    parts, first = cursor.qualified_name()
    name = builder.new_object_name(parts, first.token.start)
    arguments = tuple(
        _parse_argument(builder, statement, part)
        for part in split_top_level(cursor.skip_balanced())
    )
    _check_parameters(arguments, statement.start)
    returns_table: tuple[Argument, ...] = ()
    outputs = [a.type for a in arguments if a.mode in {"out", "inout"}]
    returns = ("record" if len(outputs) > 1 or is_procedure else outputs[0]) if outputs else "void"
    if cursor.accept("RETURNS"):
        if cursor.accept("TABLE"):
            returns_table = tuple(
                replace(_parse_argument(builder, statement, part), mode="table")
                for part in split_top_level(cursor.skip_balanced())
            )
            returns = "table"
        else:
            setof = cursor.accept("SETOF")
            type_items = cursor.until(*_FUNCTION_OPTION_WORDS, stop_puncts=(";",))
            if not type_items:
                raise SyntaxProblem("expected the return type", cursor.offset)
            written = source_text(statement.file.text, type_items)
            declared = _resolve_type(builder, written)
            if outputs and declared != returns and not (setof and declared == "record"):
                raise Rejected(
                    f"function result type must be {returns} because of OUT parameters",
                    statement.start,
                )
            returns = ("setof " if setof else "") + declared
    values = _Options()
    _function_options(builder, statement, cursor, values)
    body_location = None
    if values.body is not None and values.body_start is not None:
        end = values.body_start + max(len(values.body) - 1, 0)
        body_location = statement.file.location(values.body_start, end)
    function = Function(
        name=name,
        arguments=arguments,
        returns=returns,
        language=values.language or "sql",
        body=values.body,
        location=statement.location,
        body_location=body_location,
        security_definer=values.security_definer,
        search_path=values.search_path,
        volatility=values.volatility,
        strict=values.strict,
        is_procedure=is_procedure,
        search_path_at_creation=tuple(s for s in builder.search_path if s),
        returns_table=returns_table,
    )
    existing = builder.state.functions.get(function.key)
    if existing is not None:
        if not replace_existing:
            raise Conflict(f"function {function.key} already exists", statement.start)
        if existing.is_procedure != is_procedure:
            kind = "procedure" if existing.is_procedure else "function"
            raise Rejected(f"{function.key} is a {kind}: cannot change its kind", statement.start)
        if (existing.returns, existing.returns_table) != (returns, returns_table):
            raise Rejected(
                f"cannot change return type of existing function {function.key}", statement.start
            )
    builder.put(builder.state.functions, function.key, function)
    if body_location is not None and function.body is not None and values.body_space:
        builder.body_spaces[(body_location, function.body)] = values.body_space


def _check_parameters(arguments: Sequence[Argument], offset: int) -> None:
    """What CREATE FUNCTION refuses in a parameter list."""
    inputs = [a for a in arguments if a.mode in _INPUT_MODES]
    for before, after in itertools.pairwise(inputs):
        if before.default is not None and after.default is None:
            raise Rejected(
                "input parameters after one with a default value must also have defaults", offset
            )
        if before.mode == "variadic":
            raise Rejected("VARIADIC parameter must be the last input parameter", offset)
    for index, argument in enumerate(arguments):
        for earlier in arguments[:index]:
            # a pure input and a pure output parameter may share a name
            pair = {earlier.mode, argument.mode}
            in_and_out = len(pair) == 2 and pair <= {"in", "variadic", "out"} and "out" in pair
            if argument.name and argument.name == earlier.name and not in_and_out:
                raise Rejected(f'parameter name "{argument.name}" used more than once', offset)


def _signature(
    builder: CatalogBuilder, statement: Statement, cursor: Cursor
) -> tuple[str, tuple[str, ...] | None, int]:
    """`name [(argument types)]` of ALTER / DROP FUNCTION: name, input types, offset."""
    parts, first = cursor.qualified_name()
    name = builder.function_name(parts)
    if not cursor.peek_punct("("):
        return name, None, first.token.start
    arguments = [
        _parse_argument(builder, statement, part)
        for part in split_top_level(cursor.skip_balanced())
    ]
    types = tuple(a.type for a in arguments if a.mode in _INPUT_MODES)
    return name, types, first.token.start


def _routine_keys(
    builder: CatalogBuilder, name: str, types: tuple[str, ...] | None, offset: int
) -> list[str]:
    """The routine a signature names: [] when unknown; an error when a bare name is not
    unique (PostgreSQL asks for the argument list then)."""
    if types is not None:
        key = f"{name}({','.join(types)})"
        return [key] if key in builder.state.functions else []
    keys = sorted(k for k, f in builder.state.functions.items() if f.name == name)
    if len(keys) > 1:
        raise Rejected(f"function name {name} is not unique: give the argument list", offset)
    return keys


def _dependent_triggers(builder: CatalogBuilder, function: Function) -> list[str]:
    """Triggers and event triggers that execute `function` (a trigger function has no
    input arguments; the trigger names it without them)."""
    if function.input_types:
        return []
    found = [k for k, t in builder.state.triggers.items() if t.function == function.name]
    found += [
        f"event trigger {k}"
        for k, t in builder.state.event_triggers.items()
        if t.function == function.name
    ]
    return sorted(found)


def _drop_function(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP")
    cursor.next()
    if_exists = cursor.accept("IF", "EXISTS")
    targets = split_top_level(cursor.until("CASCADE", "RESTRICT", stop_puncts=(";",)))
    cascade = cursor.accept("CASCADE")
    for target in targets:
        sub = Cursor(target, target[-1].token.end + 1)
        name, types, offset = _signature(builder, statement, sub)
        keys = _routine_keys(builder, name, types, offset)
        if not keys:
            if not if_exists and not builder.lenient:
                signature = f"({','.join(types)})" if types is not None else ""
                builder.diagnose(statement, offset, f"DROP of unknown function {name}{signature}")
            continue
        for key in keys:
            _drop_function_key(builder, key, cascade, offset)


def _drop_function_key(builder: CatalogBuilder, key: str, cascade: bool, offset: int) -> None:
    state = builder.state
    function = state.functions[key]
    dependents = _dependent_triggers(builder, function)
    if dependents and not cascade:
        raise Rejected(
            f"cannot drop function {key}: {dependents[0]} depends on it (use CASCADE)", offset
        )
    builder.pop(state.functions, key)
    for dependent in dependents:
        if dependent.startswith("event trigger "):
            builder.pop(state.event_triggers, dependent.removeprefix("event trigger "))
        else:
            _drop_trigger_tree(builder, dependent)


def _alter_function(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("ALTER")
    cursor.next()
    name, types, offset = _signature(builder, statement, cursor)
    keys = _routine_keys(builder, name, types, offset)
    if not keys:
        signature = f"({','.join(types)})" if types is not None else ""
        raise Conflict(f"ALTER of unknown function {name}{signature}", offset)
    state = builder.state
    function = state.functions[keys[0]]
    start = cursor.offset
    if cursor.accept("RENAME", "TO"):
        renamed = replace(
            function, name=f"{function.name.split('.')[0]}.{cursor.identifier().name}"
        )
    elif cursor.accept("SET", "SCHEMA"):
        schema = cursor.identifier().name
        renamed = replace(function, name=f"{schema}.{function.name.split('.', 1)[1]}")
    elif cursor.accept("NO", "DEPENDS") or cursor.accept("DEPENDS"):
        return
    else:
        values = _Options(
            security_definer=function.security_definer,
            search_path=function.search_path,
            volatility=function.volatility,
            strict=function.strict,
        )
        _function_options(builder, statement, cursor, values)
        builder.put(
            state.functions,
            keys[0],
            replace(
                function,
                security_definer=values.security_definer,
                search_path=values.search_path,
                volatility=values.volatility,
                strict=values.strict,
            ),
        )
        return
    if renamed.key in state.functions:
        raise Conflict(f"function {renamed.key} already exists", start)
    builder.pop(state.functions, keys[0])
    builder.put(state.functions, renamed.key, renamed)
    if not function.input_types:  # triggers follow their function (they hold its oid)
        for key, trigger in list(state.triggers.items()):
            if trigger.function == function.name:
                builder.put(state.triggers, key, replace(trigger, function=renamed.name))
        for key, event_trigger in list(state.event_triggers.items()):
            if event_trigger.function == function.name:
                builder.put(
                    state.event_triggers, key, replace(event_trigger, function=renamed.name)
                )


# ---- CREATE TRIGGER --------------------------------------------------------------------


def _trigger_argument(item: Item) -> str:
    """TG_ARGV text as PostgreSQL stores it: integers re-printed, names folded."""
    if item.kind == "number" and re.fullmatch(r"\d+", item.text):
        return str(int(item.text))
    if item.kind in {"word", "ident"}:
        return item.name
    if item.kind in {"string", "number"}:
        return item.text
    raise SyntaxProblem(f"unexpected {item.text!r} in trigger arguments", item.token.start)


def _create_trigger(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE")
    replace_existing = cursor.accept("OR", "REPLACE")
    constraint = cursor.accept("CONSTRAINT")
    cursor.expect("TRIGGER")
    name = cursor.identifier().name
    timing_word = cursor.accept_any("BEFORE", "AFTER")
    if timing_word is None:
        cursor.expect("INSTEAD", "OF")
    timing = timing_word.lower() if timing_word else "instead of"
    events: list[str] = []
    update_columns: list[str] = []
    while True:
        event = cursor.next()
        if event.upper not in _TRIGGER_EVENTS:
            raise SyntaxProblem(f"unknown trigger event {event.text!r}", event.token.start)
        if event.upper.lower() in events:
            raise Rejected("duplicate trigger events specified", event.token.start)
        events.append(event.upper.lower())
        if event.upper == "UPDATE" and cursor.accept("OF"):
            update_columns.append(cursor.identifier().name)
            while cursor.accept_punct(","):
                update_columns.append(cursor.identifier().name)
        if not cursor.accept("OR"):
            break
    cursor.expect("ON")
    table_parts, table_item = cursor.qualified_name()
    table = builder.relation_name(table_parts)
    level = "row" if constraint else "statement"
    deferrable = initially_deferred = False
    referencing: list[tuple[str, str]] = []
    when_text = None
    when_expression = None
    while True:
        if cursor.accept("FROM"):
            cursor.qualified_name()
        elif cursor.accept("NOT", "DEFERRABLE"):
            deferrable = False
        elif cursor.accept("DEFERRABLE"):
            deferrable = True
        elif cursor.accept("INITIALLY"):
            initially_deferred = cursor.next().upper == "DEFERRED"
        elif cursor.accept("REFERENCING"):
            while cursor.peek_word("OLD") or cursor.peek_word("NEW"):
                which = cursor.next().upper.lower()
                if not (cursor.accept("TABLE") or cursor.accept("ROW")):
                    raise SyntaxProblem("expected TABLE", cursor.offset)
                cursor.accept("AS")
                referencing.append((which, cursor.identifier().name))
            if not referencing:
                raise SyntaxProblem("expected OLD TABLE or NEW TABLE", cursor.offset)
        elif cursor.accept("FOR"):
            cursor.accept("EACH")
            word = cursor.accept_any("ROW", "STATEMENT")
            if word is None:
                raise SyntaxProblem("expected ROW or STATEMENT", cursor.offset)
            level = word.lower()
        elif cursor.accept("WHEN"):
            condition = cursor.skip_balanced()
            when_text = source_text(statement.file.text, condition)
            when_expression = parse_expression(when_text)
            if when_expression is None and when_text.strip():
                # kept as an opaque condition (it may or may not hold); say so
                where = condition[0].token.start if condition else cursor.offset
                builder.diagnose(
                    statement, where, "WHEN condition not understood: taken as one that may fail"
                )
        else:
            break
    cursor.expect("EXECUTE")
    if not cursor.accept("FUNCTION"):
        cursor.expect("PROCEDURE")
    function_parts, _ = cursor.qualified_name()
    arguments = tuple(
        _trigger_argument(part[0]) if len(part) == 1 else _bad_argument(part)
        for part in split_top_level(cursor.skip_balanced())
    )
    if not cursor.done:
        item = cursor.next()
        raise SyntaxProblem(
            f"unexpected {item.text!r} after the trigger function", item.token.start
        )
    trigger = Trigger(
        name=name,
        table=table,
        timing=timing,
        events=tuple(events),
        level=level,
        function=builder.function_name(function_parts),
        location=statement.location,
        update_columns=tuple(update_columns),
        when=when_text,
        when_expression=when_expression,
        arguments=arguments,
        constraint=constraint,
        deferrable=deferrable,
        initially_deferred=initially_deferred,
        referencing=tuple(referencing),
    )
    state = builder.state
    target = state.tables.get(table)
    if target is None:
        # Tables a platform provides (Supabase's auth.users) are expected to be absent.
        if not builder.lenient and table not in WELL_KNOWN_TABLES:
            builder.diagnose(
                statement, table_item.token.start, f"trigger {name} on unknown table {table}"
            )
    else:
        _check_trigger(trigger, target, table_item.token.start)
        if target.relkind in {"table", "partitioned", "foreign"}:
            for column in trigger.update_columns:
                if target.column(column) is None:
                    raise Conflict(
                        f'column "{column}" of relation {table} does not exist',
                        table_item.token.start,
                    )
    existing = state.triggers.get(trigger.key)
    if existing is not None:
        if not replace_existing:
            raise Conflict(f"trigger {name} on {table} already exists", statement.start)
        if constraint or existing.constraint:
            raise Rejected("a constraint trigger cannot be replaced", statement.start)
        if existing.inherited_from is not None:
            raise Rejected(
                f"trigger {name} on {table} is inherited from a partitioned table", statement.start
            )
    builder.put(state.triggers, trigger.key, trigger)
    if target is not None and target.relkind == "partitioned" and level == "row":
        for child in sorted(_children(builder, table)):
            if state.tables[child].partition_of == table:
                _clone_trigger(builder, trigger.key, child)


def _bad_argument(part: list[Item]) -> str:
    raise SyntaxProblem("a trigger argument must be a literal or a name", part[0].token.start)


def _check_trigger(trigger: Trigger, table: Table, offset: int) -> None:
    """What CREATE TRIGGER itself refuses (relation kind, timing and level combinations)."""
    where = f"{table.name}"
    if table.relkind == "materialized view":
        raise Rejected(f"{where} is a materialized view: it cannot have triggers", offset)
    is_view = table.relkind == "view"
    if trigger.timing == "instead of":
        if not is_view:
            raise Rejected(f"{where} is a table: INSTEAD OF triggers are for views", offset)
        if trigger.level != "row":
            raise Rejected("INSTEAD OF triggers must be FOR EACH ROW", offset)
        if trigger.when is not None:
            raise Rejected("INSTEAD OF triggers cannot have WHEN conditions", offset)
        if trigger.update_columns:
            raise Rejected("INSTEAD OF triggers cannot have column lists", offset)
    elif is_view and trigger.level == "row":
        raise Rejected(
            f"{where} is a view: it cannot have row-level BEFORE or AFTER triggers", offset
        )
    _check_when(trigger, offset)
    if "truncate" in trigger.events and (trigger.level == "row" or is_view):
        raise Rejected("TRUNCATE FOR EACH ROW triggers are not supported", offset)
    if trigger.referencing:
        if trigger.timing != "after":
            raise Rejected("transition tables need an AFTER trigger", offset)
        if trigger.update_columns:
            raise Rejected("transition tables cannot be used with a column list", offset)
        if trigger.level == "row" and (table.partition_of is not None or table.inherits):
            raise Rejected(
                "ROW triggers with transition tables are not supported on partitions "
                "or inheritance children",
                offset,
            )
    if trigger.constraint and trigger.timing != "after":
        raise Rejected("constraint triggers must be AFTER triggers", offset)


def _check_when(trigger: Trigger, offset: int) -> None:
    """A WHEN condition may only use the row versions its events have."""
    if trigger.when_expression is None:
        return
    used = set()
    for column in trigger.when_expression.find_all(exp.Column):
        qualifier = column.table.lower() if column.table else column.name.lower()
        if qualifier in {"old", "new"}:
            used.add(qualifier)
    if used and trigger.level == "statement":
        raise Rejected("statement trigger's WHEN condition cannot reference column values", offset)
    if "old" in used and "insert" in trigger.events:
        raise Rejected("INSERT trigger's WHEN condition cannot reference OLD values", offset)
    if "new" in used and "delete" in trigger.events:
        raise Rejected("DELETE trigger's WHEN condition cannot reference NEW values", offset)


def _clone_trigger(builder: CatalogBuilder, key: str, partition: str) -> None:
    """A row trigger of a partitioned table exists on each partition too (same name)."""
    state = builder.state
    parent = state.triggers[key]
    clone = replace(parent, table=partition, inherited_from=key)
    if clone.key in state.triggers:
        return
    builder.put(state.triggers, clone.key, clone)
    child = state.tables.get(partition)
    if child is not None and child.relkind == "partitioned":
        for grandchild in sorted(_children(builder, partition)):
            if state.tables[grandchild].partition_of == partition:
                _clone_trigger(builder, clone.key, grandchild)


def _drop_trigger_tree(builder: CatalogBuilder, key: str) -> None:
    for clone in _clones_of(builder, key):
        builder.pop(builder.state.triggers, clone)
    builder.pop(builder.state.triggers, key)


def _drop_trigger(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP", "TRIGGER")
    if_exists = cursor.accept("IF", "EXISTS")
    name_item = cursor.identifier()
    cursor.expect("ON")
    parts, _ = cursor.qualified_name()
    table = builder.relation_name(parts)
    key = f"{table}.{name_item.name}"
    trigger = builder.state.triggers.get(key)
    if trigger is None:
        if not if_exists and not builder.lenient:
            builder.diagnose(statement, name_item.token.start, f"DROP of unknown trigger {key}")
        return
    if trigger.inherited_from is not None:
        raise Rejected(
            f"cannot drop trigger {key}: trigger {trigger.inherited_from} requires it",
            name_item.token.start,
        )
    _drop_trigger_tree(builder, key)


def _alter_trigger(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("ALTER", "TRIGGER")
    name_item = cursor.identifier()
    cursor.expect("ON")
    parts, _ = cursor.qualified_name()
    key = f"{builder.relation_name(parts)}.{name_item.name}"
    if not cursor.accept("RENAME", "TO"):
        return
    new_item = cursor.identifier()
    state = builder.state
    trigger = state.triggers.get(key)
    if trigger is None:
        raise Conflict(f"ALTER of unknown trigger {key}", name_item.token.start)
    if trigger.inherited_from is not None:
        raise Rejected(f"cannot rename trigger {key}: it is inherited", name_item.token.start)
    renamed = replace(trigger, name=new_item.name)
    if renamed.key in state.triggers:
        raise Conflict(f"trigger {renamed.key} already exists", new_item.token.start)
    builder.pop(state.triggers, key)
    builder.put(state.triggers, renamed.key, renamed)
    _rename_clones(builder, key, renamed.key, new_item.name)


def _rename_clones(builder: CatalogBuilder, old_parent: str, new_parent: str, name: str) -> None:
    state = builder.state
    for key, trigger in list(state.triggers.items()):
        if trigger.inherited_from == old_parent:
            moved = replace(trigger, name=name, inherited_from=new_parent)
            builder.pop(state.triggers, key)
            builder.put(state.triggers, moved.key, moved)
            _rename_clones(builder, key, moved.key, name)


# ---- RULE, EVENT TRIGGER ----------------------------------------------------------------


def _create_rule(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE")
    replace_existing = cursor.accept("OR", "REPLACE")
    cursor.expect("RULE")
    name = cursor.identifier().name
    cursor.expect("AS", "ON")
    event_item = cursor.next()
    if event_item.upper not in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
        raise SyntaxProblem(f"unknown rule event {event_item.text!r}", event_item.token.start)
    cursor.expect("TO")
    parts, _ = cursor.qualified_name()
    table = builder.relation_name(parts)
    condition = None
    if cursor.accept("WHERE"):
        condition = source_text(statement.file.text, cursor.until("DO", stop_puncts=(";",)))
    cursor.expect("DO")
    instead = cursor.accept("INSTEAD")
    if not instead:
        cursor.accept("ALSO")
    action_items = cursor.rest()
    actions = source_text(statement.file.text, action_items)
    statements: tuple[str, ...] = ()
    if cursor.accept("NOTHING"):
        statements = ()
    elif cursor.peek_punct("("):
        statements = tuple(
            source_text(statement.file.text, part)
            for part in split_top_level(cursor.skip_balanced(), ";")
        )
    else:
        statements = (actions,)
    harmless = not instead and all(has_no_data_effect(s) for s in statements)
    rule = Rule(
        name,
        table,
        event_item.upper.lower(),
        instead,
        actions,
        statement.location,
        action_statements=statements,
        condition=condition,
        rewrites_writes=not harmless,
    )
    key = f"{table}.{name}"
    existing = builder.state.rules.get(key)
    if existing is not None and not replace_existing:
        raise Conflict(f'rule "{name}" for relation {table} already exists', statement.start)
    builder.put(builder.state.rules, key, rule)
    if event_item.upper != "SELECT" and rule.rewrites_writes:
        # A rewrite rule turns every such statement on the table into other statements
        # (DO ALSO adds them, DO INSTEAD replaces it, and the table's own triggers then
        # do not fire). The cascade does not follow rewrites: say so, and count it.
        builder.incomplete = True
        action = "NOTHING" if not statements else " ".join(actions.split())
        action = action if len(action) <= 60 else action[:59] + "…"
        builder.diagnose(
            statement,
            statement.start,
            f"rule {name} rewrites every {event_item.upper} on {table} "
            f"(DO {'INSTEAD' if instead else 'ALSO'} {action}): rewrite rules are not "
            "followed, so cascades through this table are not fully analysed",
        )
    target = builder.state.tables.get(table)
    if name == "_RETURN" and event_item.upper == "SELECT" and target is not None:
        # pg_dump's way to create views that depend on each other: the table becomes a view
        builder.put(builder.state.tables, table, replace(target, relkind="view"))


def _drop_rule(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP", "RULE")
    if_exists = cursor.accept("IF", "EXISTS")
    name_item = cursor.identifier()
    cursor.expect("ON")
    parts, _ = cursor.qualified_name()
    key = f"{builder.relation_name(parts)}.{name_item.name}"
    if builder.pop(builder.state.rules, key) is None and not if_exists and not builder.lenient:
        builder.diagnose(statement, name_item.token.start, f"DROP of unknown rule {key}")


def _alter_rule(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("ALTER", "RULE")
    name_item = cursor.identifier()
    cursor.expect("ON")
    parts, _ = cursor.qualified_name()
    table = builder.relation_name(parts)
    cursor.expect("RENAME", "TO")
    new_name = cursor.identifier().name
    key = f"{table}.{name_item.name}"
    rule = builder.pop(builder.state.rules, key)
    if rule is None:
        raise Conflict(f"ALTER of unknown rule {key}", name_item.token.start)
    if f"{table}.{new_name}" in builder.state.rules:
        raise Conflict(f'rule "{new_name}" for relation {table} already exists', statement.start)
    builder.put(builder.state.rules, f"{table}.{new_name}", replace(rule, name=new_name))


def _create_event_trigger(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE", "EVENT", "TRIGGER")
    name = cursor.identifier().name
    cursor.expect("ON")
    event = cursor.identifier().name
    tags: list[str] = []
    if cursor.accept("WHEN"):
        while True:
            cursor.identifier()
            cursor.expect("IN")
            tags.extend(
                item.text for part in split_top_level(cursor.skip_balanced()) for item in part
            )
            if not cursor.accept("AND"):
                break
    cursor.expect("EXECUTE")
    if not cursor.accept("FUNCTION"):
        cursor.expect("PROCEDURE")
    parts, _ = cursor.qualified_name()
    cursor.skip_balanced()
    if name in builder.state.event_triggers:
        raise Conflict(f'event trigger "{name}" already exists', statement.start)
    builder.put(
        builder.state.event_triggers,
        name,
        EventTrigger(
            name, event, builder.function_name(parts), statement.location, tags=tuple(tags)
        ),
    )


def _drop_event_trigger(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP", "EVENT", "TRIGGER")
    if_exists = cursor.accept("IF", "EXISTS")
    name_item = cursor.identifier()
    found = builder.pop(builder.state.event_triggers, name_item.name)
    if found is None and not if_exists and not builder.lenient:
        builder.diagnose(
            statement, name_item.token.start, f"DROP of unknown event trigger {name_item.name}"
        )


def _alter_event_trigger(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("ALTER", "EVENT", "TRIGGER")
    name_item = cursor.identifier()
    state = builder.state
    found = state.event_triggers.get(name_item.name)
    if found is None:
        raise Conflict(f"ALTER of unknown event trigger {name_item.name}", name_item.token.start)
    if cursor.accept("RENAME", "TO"):
        new_name = cursor.identifier().name
        if new_name in state.event_triggers:
            raise Conflict(f'event trigger "{new_name}" already exists', statement.start)
        builder.pop(state.event_triggers, name_item.name)
        builder.put(state.event_triggers, new_name, replace(found, name=new_name))
    elif toggle := cursor.accept_any("ENABLE", "DISABLE"):
        mode = _ENABLED_STATES[toggle]
        if toggle == "ENABLE" and (word := cursor.accept_any("REPLICA", "ALWAYS")):
            mode = word.lower()
        builder.put(state.event_triggers, name_item.name, replace(found, enabled=mode))


# ---- string literals ---------------------------------------------------------------------

_E_ESCAPE = re.compile(
    r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S
)
_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def string_value(text: str, item: Item) -> tuple[str, tuple[int, ...]]:
    """The value of a string literal and, per character, the file offset it comes from.

    Dollar quotes keep their content as written; '…' halves doubled quotes; E'…' also
    reads backslash escapes. Other forms (U&, B, X) map every character to the literal.
    """
    start, end = item.token.start, item.token.end
    raw = text[start : end + 1]
    tag = _DOLLAR_TAG.match(raw)
    if tag and raw.endswith(tag.group()) and len(raw) >= 2 * len(tag.group()):
        skip = len(tag.group())
        value = raw[skip : len(raw) - skip]
        return value, tuple(range(start + skip, start + skip + len(value)))
    if raw.startswith("'") and raw.endswith("'"):
        chars: list[str] = []
        offsets: list[int] = []
        index = 1
        while index < len(raw) - 1:
            chars.append(raw[index])
            offsets.append(start + index)
            index += 2 if raw[index : index + 2] == "''" else 1
        return "".join(chars), tuple(offsets)
    if raw[:2].upper() == "E'" and raw.endswith("'"):
        return _escape_string(raw, start)
    return item.text, (start,) * len(item.text)


def _escape_string(raw: str, start: int) -> tuple[str, tuple[int, ...]]:
    chars: list[str] = []
    offsets: list[int] = []
    index = 2
    while index < len(raw) - 1:
        if raw[index : index + 2] == "''":
            chars.append("'")
            offsets.append(start + index)
            index += 2
            continue
        escape = _E_ESCAPE.match(raw, index) if raw[index] == "\\" else None
        if escape is None:
            chars.append(raw[index])
            offsets.append(start + index)
            index += 1
            continue
        octal, hexa, short, long, other = escape.groups()
        if octal or hexa or short or long:
            code = int(octal, 8) if octal else int(hexa or short or long, 16)
            chars.append(chr(code) if code < 0x110000 else "\ufffd")
        else:
            chars.append(_SIMPLE_ESCAPES.get(other, other))
        offsets.append(start + index)
        index = escape.end()
    return "".join(chars), tuple(offsets)


def _text_space(file: SourceFile, value: str, offsets: Sequence[int]) -> tuple[SourceFile, int]:
    """Where `value` can be read as source text: the file itself when it is a verbatim
    slice of it (dollar quotes), else a derived file that maps back into it."""
    if not value:
        return file, offsets[0] if offsets else 0
    first = offsets[0]
    if file.text[first : first + len(value)] == value and offsets[-1] == first + len(value) - 1:
        return file, first
    return SourceFile.derived(file, value, offsets), 0


# ---- constant folding of dynamic SQL ---------------------------------------------------


@dataclass(frozen=True)
class _Text:
    """A string value known in pieces (text and origin offsets), None for unknown runs."""

    pieces: tuple[tuple[str, tuple[int, ...]] | None, ...] = ()
    null: bool = False

    @classmethod
    def of(cls, text: str, offsets: Sequence[int]) -> _Text:
        return cls(((text, tuple(offsets)),))

    @property
    def known(self) -> bool:
        return not self.null and all(p is not None for p in self.pieces)

    @property
    def text(self) -> str:
        return "".join(p[0] for p in self.pieces if p is not None)

    @property
    def offsets(self) -> tuple[int, ...]:
        return tuple(o for p in self.pieces if p is not None for o in p[1])

    def prefix(self) -> str:
        """The known text before the first unknown run."""
        text = []
        for piece in self.pieces:
            if piece is None:
                break
            text.append(piece[0])
        return "".join(text)

    def __add__(self, other: _Text) -> _Text:
        if self.null or other.null:
            return _NULL
        return _Text(self.pieces + other.pieces)


_UNKNOWN = _Text((None,))
_NULL = _Text((), null=True)
# fmt: off
_RESERVED_WORDS = frozenset({
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric",
    "authorization", "between", "bigint", "binary", "bit", "boolean", "both", "case", "cast",
    "char", "character", "check", "coalesce", "collate", "collation", "column", "concurrently",
    "constraint", "create", "cross", "current_catalog", "current_date", "current_role",
    "current_schema", "current_time", "current_timestamp", "current_user", "dec", "decimal",
    "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "exists",
    "extract", "false", "fetch", "float", "for", "foreign", "freeze", "from", "full", "grant",
    "greatest", "group", "grouping", "having", "ilike", "in", "initially", "inner", "inout",
    "int", "integer", "intersect", "interval", "into", "is", "isnull", "join", "lateral",
    "leading", "least", "left", "like", "limit", "localtime", "localtimestamp", "national",
    "nchar", "natural", "none", "normalize", "not", "notnull", "null", "nullif", "numeric",
    "offset", "on", "only", "or", "order", "out", "outer", "overlaps", "overlay", "placing",
    "position", "precision", "primary", "real", "references", "returning", "right", "row",
    "select", "session_user", "setof", "similar", "smallint", "some", "substring", "symmetric",
    "table", "tablesample", "then", "time", "timestamp", "to", "trailing", "treat", "trim",
    "true", "union", "unique", "user", "using", "values", "varchar", "variadic", "verbose",
    "when", "where", "window", "with",
})
# fmt: on


def quote_ident(text: str) -> str:
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", text) and text not in _RESERVED_WORDS:
        return text
    return '"' + text.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    quoted = "'" + text.replace("'", "''").replace("\\", "\\\\") + "'"
    return "E" + quoted if "\\" in text else quoted


def _mapped(value: _Text, function: str) -> _Text:
    """Apply a text function to a known value; its characters keep their first origin."""
    if value.null:
        return _NULL if function != "quote_nullable" else _Text.of("NULL", (0,) * 4)
    if not value.known:
        return _UNKNOWN
    text, offsets = value.text, value.offsets
    origin = offsets[0] if offsets else 0
    if function in {"lower", "upper"}:
        result = text.lower() if function == "lower" else text.upper()
        if len(result) == len(text):
            return _Text.of(result, offsets)
        return _Text.of(result, (origin,) * len(result))
    result = quote_ident(text) if function == "quote_ident" else quote_literal(text)
    if result == text:
        return value
    inner = result.find(text) if text else -1
    if inner >= 0 and result[inner : inner + len(text)] == text:
        mapped = (
            (origin,) * inner
            + offsets
            + (offsets[-1] if offsets else origin,) * (len(result) - inner - len(text))
        )
        return _Text.of(result, mapped)
    return _Text.of(result, (origin,) * len(result))


_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?(-)?(\d+)?([sIL%])")


def _format(arguments: list[_Text]) -> _Text:
    """format(fmt, args…) with %s, %I, %L, %% and positions (`%2$s`)."""
    if not arguments or not arguments[0].known:
        return _UNKNOWN
    fmt, offsets = arguments[0].text, arguments[0].offsets
    values = arguments[1:]
    result = _Text()
    literal_start = index = 0
    next_value = 0
    while True:
        index = fmt.find("%", index)
        if index < 0:
            break
        spec = _FORMAT_SPEC.match(fmt, index)
        if spec is None:
            return _UNKNOWN  # PostgreSQL: unrecognized format() type specifier
        result = result + _Text.of(fmt[literal_start:index], offsets[literal_start:index])
        position, minus, width, conversion = spec.groups()
        if conversion == "%":
            result = result + _Text.of("%", offsets[index : index + 1])
        else:
            chosen = int(position) - 1 if position else next_value
            if chosen >= len(values) or chosen < 0:
                return _UNKNOWN  # PostgreSQL: too few arguments for format()
            next_value = chosen + 1
            value = values[chosen]
            if conversion == "s":
                piece = _Text() if value.null else value
            elif conversion == "I":
                if value.null:
                    return _UNKNOWN  # PostgreSQL: null values cannot be formatted as identifiers
                piece = _mapped(value, "quote_ident")
            else:
                piece = (
                    _Text.of("NULL", (offsets[index],) * 4)
                    if value.null
                    else _mapped(value, "quote_literal")
                )
            if width and piece.known and len(piece.text) < int(width):
                pad = _Text.of(
                    " " * (int(width) - len(piece.text)),
                    (offsets[index],) * (int(width) - len(piece.text)),
                )
                piece = piece + pad if minus else pad + piece
            result = result + piece
        index = literal_start = spec.end()
    return result + _Text.of(fmt[literal_start:], offsets[literal_start:])


def _replace(arguments: list[_Text]) -> _Text:
    if len(arguments) != 3:
        return _UNKNOWN
    if any(a.null for a in arguments):
        return _NULL
    subject, old, new = arguments
    if not (subject.known and old.known and new.known):
        return _UNKNOWN
    text, offsets = subject.text, subject.offsets
    if not old.text:
        return subject
    result = _Text()
    start = 0
    while (found := text.find(old.text, start)) >= 0:
        result = result + _Text.of(text[start:found], offsets[start:found]) + new
        start = found + len(old.text)
    return result + _Text.of(text[start:], offsets[start:])


def _concat(arguments: list[_Text], separator: _Text | None = None) -> _Text:
    result = _Text()
    first = True
    for argument in arguments:
        if argument.null:
            continue
        if separator is not None and not first:
            result = result + separator
        result = result + argument
        first = False
    return result


_TEXT_FUNCTIONS = {"lower", "upper", "quote_ident", "quote_literal", "quote_nullable"}


class _Folder:
    """Folds a string expression made of literals, `||`, casts, constant variables and
    format() / replace() / concat() / quote_*() / lower() / upper() of those."""

    def __init__(self, text: str, items: list[Item], env: dict[str, _Text]) -> None:
        self.text = text
        self.cursor = Cursor(items, items[-1].token.end if items else 0)
        self.env = env

    def fold(self) -> _Text:
        try:
            value = self.concatenation()
        except SyntaxProblem:
            return _UNKNOWN
        return value if self.cursor.done else _UNKNOWN

    def concatenation(self) -> _Text:
        value = self.cast()
        while self.cursor.accept_punct("||"):
            value = value + self.cast()
        return value

    def cast(self) -> _Text:
        value = self.primary()
        while self.cursor.accept_punct("::"):
            self.cursor.qualified_name()
            if self.cursor.peek_punct("("):
                self.cursor.skip_balanced()
            while self.cursor.peek_punct("["):
                self.cursor.next()
                self.cursor.accept_punct("]")
        return value

    def primary(self) -> _Text:
        cursor = self.cursor
        item = cursor.next()
        if item.kind == "string":
            value = _Text.of(*string_value(self.text, item))
            # 'a'<newline>'b' is one literal, 'ab' (the SQL standard's continuation)
            while (following := cursor.peek()) is not None and following.kind == "string":
                between = self.text[item.token.end + 1 : following.token.start]
                if between.strip() or "\n" not in between:
                    break
                item = cursor.next()
                value = value + _Text.of(*string_value(self.text, item))
            return value
        if item.kind == "number":
            return _Text.of(item.text, (item.token.start,) * len(item.text))
        if item.kind == "punct" and item.text == "(":
            value = self.concatenation()
            cursor.expect_punct(")")
            return value
        if item.kind == "punct" and item.text == "$":
            number = cursor.next()
            return self.env.get(f"${number.text}", _UNKNOWN)
        if item.upper == "NULL":
            return _NULL
        if item.kind == "word" and item.upper in {"TRUE", "FALSE"}:  # boolean's text form
            word = item.upper.lower()
            return _Text.of(word, (item.token.start,) * len(word))
        if item.kind == "word" and item.upper == "ARRAY" and cursor.peek_punct("["):
            return self.array(item)
        if item.kind not in {"word", "ident"}:
            raise SyntaxProblem("not a constant", item.token.start)
        following = cursor.peek()
        if item.kind == "word" and following is not None and following.kind == "string":
            cursor.next()  # a typed literal, DATE '2026-01-01': its text
            return _Text.of(*string_value(self.text, following))
        name = item.name
        if cursor.accept_punct("."):
            field_item = cursor.identifier()
            if cursor.peek_punct("("):
                name = field_item.name if name == "pg_catalog" else f"{name}.{field_item.name}"
            else:
                return _UNKNOWN
        if cursor.peek_punct("("):
            arguments = [
                _Folder(self.text, part, self.env).fold()
                for part in split_top_level(cursor.skip_balanced())
            ]
            return self.call(name, arguments)
        return self.env.get(name, _UNKNOWN)

    def array(self, keyword: Item) -> _Text:
        """ARRAY[a, b]: its text form, {a,b} (elements double-quoted where PostgreSQL's
        array output quotes them)."""
        cursor = self.cursor
        cursor.next()  # [
        depth, start = 1, cursor.index
        while depth:
            item = cursor.next()
            if item.kind == "punct" and item.text == "[":
                depth += 1
            elif item.kind == "punct" and item.text == "]":
                depth -= 1
        inner = cursor.items[start : cursor.index - 1]
        elements = [_Folder(self.text, part, self.env).fold() for part in split_top_level(inner)]
        if not all(e.known or e.null for e in elements):
            return _UNKNOWN
        shown = ",".join("NULL" if e.null else _array_element(e.text) for e in elements)
        text = "{" + shown + "}"
        return _Text.of(text, (keyword.token.start,) * len(text))

    @staticmethod
    def call(name: str, arguments: list[_Text]) -> _Text:
        if name == "format":
            return _format(arguments)
        if name == "replace":
            return _replace(arguments)
        if name == "concat":
            return _concat(arguments)
        if name == "concat_ws" and arguments:
            return _NULL if arguments[0].null else _concat(arguments[1:], arguments[0])
        if name in _TEXT_FUNCTIONS and len(arguments) == 1:
            return _mapped(arguments[0], name)
        return _UNKNOWN


def _array_element(text: str) -> str:
    if text and not re.search(r'[{},"\\\s]', text) and text.upper() != "NULL":
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fold_constant(file: SourceFile, start: int, text: str, env: dict[str, _Text]) -> _Text:
    """Fold the expression `text`, which sits at `start` in `file`."""
    try:
        items = items_of(tokenize(text, start))
    except (TokenError, ValueError):
        return _UNKNOWN
    if not items:
        return _UNKNOWN
    return _Folder(file.text, items, env).fold()


# ---- DO blocks and routines run at top level --------------------------------------------

# fmt: off
_NOT_CATALOG_NOUNS = frozenset({
    "index", "policy", "sequence", "type", "extension", "role", "user", "group", "publication",
    "subscription", "statistics", "domain", "aggregate", "operator", "cast", "collation",
    "conversion", "text", "server", "tablespace", "database", "language", "access", "default",
    "owned", "large", "transform",
})
# fmt: on
_DDL_VERBS = frozenset({"create", "alter", "drop"})
# fmt: off
_MODIFIER_WORDS = frozenset({
    "or", "replace", "temp", "temporary", "unique", "global", "local", "unlogged", "materialized",
    "foreign", "if", "not", "exists", "concurrently",
})
# fmt: on


def _may_change_catalog(prefix: str) -> bool:
    """Could dynamic SQL starting with `prefix` (its known start) change the catalog?"""
    words = [w.lower() for w in re.findall(r"[A-Za-z_]\w*(?=[^\w]|$)", prefix)]
    if prefix and re.search(r"\w$", prefix):
        words = words[:-1]  # the last word may continue in the unknown part
    if not words:
        return True
    if words[0] in {"do", "call"}:
        return True
    if words[0] not in _DDL_VERBS:
        return False
    kind = classify(tuple(words))
    if kind not in {"other", "create_unique_index", "create_index", "drop_index"}:
        return True
    rest = [w for w in words[1:] if w not in _MODIFIER_WORDS]
    return not rest or (rest[0] not in _NOT_CATALOG_NOUNS and kind == "other")


def _assigned_names(statements: Iterable[PlStatement]) -> set[str]:
    """Variables a body assigns anywhere (their value is not a constant)."""
    names: set[str] = set()
    for statement in statements:
        for attribute in ("target", "variable"):
            value = getattr(statement, attribute, None)
            if isinstance(value, str):
                names.add(value.split(".")[0].split("[")[0].lower())
        for attribute in ("targets",):
            value = getattr(statement, attribute, None)
            if isinstance(value, tuple):
                names.update(str(v).lower() for v in value)
        into = getattr(statement, "into", None)
        if into is not None:
            names.update(t.lower() for t in into.targets)
        if isinstance(statement, Block):
            names.update(_assigned_names(statement.body))
            for handler in statement.handlers:
                names.update(_assigned_names(handler.body))
        elif isinstance(statement, (If, Case, Loop)):
            for body in statement.bodies():
                names.update(_assigned_names(body))
    return names


def _run_body(
    builder: CatalogBuilder,
    statement: Statement,
    space: SourceFile,
    start: int,
    body: str,
    env: dict[str, _Text],
) -> None:
    """Run a plpgsql body (a DO block, or a routine called with constant arguments)."""
    line, column = space.position(start)
    parsed = parse_plpgsql(body, path=space.path, line=line, column=column, offset=start)
    if parsed.block is None or parsed.incomplete:
        # the parse stops at the first structural error: the furthest diagnostic
        where = max(parsed.diagnostics, default=space.diagnostic(start, "cannot read body"))
        builder.incomplete = True
        builder.state.diagnostics.append(
            replace(
                where,
                message=f"{where.message}: the DDL this body runs after here is not analysed",
            )
        )
        if parsed.block is None:
            return
    with builder.leniently():
        _run_statements(builder, statement, space, (parsed.block,), dict(env))


_PLAIN_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_TRUE_WORDS = frozenset({"t", "true", "y", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"f", "false", "n", "no", "off", "0"})


class _Undecided(Exception):
    pass


def _condition_truth(condition: Fragment, env: dict[str, _Text]) -> bool | None:
    """Whether an IF condition holds, when it tests only variables whose text is known
    (a routine's arguments, constants): `flag`, `NOT flag`, `x IS [NOT] NULL`,
    comparisons, `array_length(a, 1) > 0`, AND/OR. None when it cannot be decided.
    NULL is not true: PostgreSQL takes the next branch."""
    if condition.tree is None:
        return None
    try:
        value = _evaluate(condition.tree, env)
    except _Undecided:
        return None
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else None


def _evaluate(node: exp.Expr, env: dict[str, _Text]) -> bool | str | int | None:
    """A small evaluator of constant conditions: three-valued (None is NULL); raises
    _Undecided for anything it does not model."""
    if isinstance(node, (exp.Paren, exp.Cast)):
        return _evaluate(node.this, env)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal):
        if node.is_string:
            return str(node.this)
        try:
            return int(str(node.this))
        except ValueError:
            raise _Undecided from None
    if isinstance(node, exp.Column) and not node.table:
        known = env.get(node.name.lower())
        if known is None or not (known.known or known.null):
            raise _Undecided
        return None if known.null else known.text
    if isinstance(node, exp.Not):
        inner = _as_bool(_evaluate(node.this, env))
        return None if inner is None else not inner
    if isinstance(node, (exp.And, exp.Or)):
        left = _as_bool(_evaluate(node.this, env))
        right = _as_bool(_evaluate(node.expression, env))
        if isinstance(node, exp.And):
            if left is False or right is False:
                return False
            return None if left is None or right is None else True
        if left or right:
            return True
        return None if left is None or right is None else False
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        return (_evaluate(node.this, env) is None) != bool(node.args.get("negate"))
    if isinstance(node, exp.ArraySize):
        array = _evaluate(node.this, env)
        if array is None:
            return None
        count = _array_length(str(array))
        return None if count == 0 else count  # array_length of an empty array is NULL
    if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        a, b = _evaluate(node.this, env), _evaluate(node.expression, env)
        if a is None or b is None:
            return None
        if isinstance(a, int) and not isinstance(a, bool) and isinstance(b, str):
            b = _as_int(b)
        if isinstance(b, int) and not isinstance(b, bool) and isinstance(a, str):
            a = _as_int(a)
        if isinstance(a, bool) != isinstance(b, bool):  # flag = true: booleans compared
            a, b = _as_bool(a), _as_bool(b)
        if type(a) is not type(b):
            raise _Undecided
        compare: Callable[[Any, Any], bool] = {
            exp.EQ: operator.eq, exp.NEQ: operator.ne, exp.GT: operator.gt,
            exp.GTE: operator.ge, exp.LT: operator.lt, exp.LTE: operator.le,
        }[type(node)]  # fmt: skip
        return bool(compare(a, b))
    raise _Undecided


def _as_bool(value: bool | str | int | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise _Undecided


def _as_int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _Undecided from None


def _array_length(text: str) -> int:
    """Elements of a one-dimensional array in its text form ({a,"b c",NULL})."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")) or "{" in text[1:-1]:
        raise _Undecided
    inner = text[1:-1]
    if not inner.strip():
        return 0
    count, quoted, escaped = 1, False, False
    for char in inner:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            count += 1
    return count


def _run_statements(
    builder: CatalogBuilder,
    statement: Statement,
    space: SourceFile,
    statements: Iterable[PlStatement],
    env: dict[str, _Text],
) -> None:
    """Run statements in order as if nothing fails: every branch, loop bodies once, no
    exception handlers. `env` holds the variables whose text is known at this point and
    follows assignments in order (`q := q || '…'` appends), so DDL assembled over several
    statements is read as PostgreSQL runs it. A variable assigned inside a branch or a
    loop is unknown after it (which branch ran, how often, is not known here), and
    inside a loop from its start (a second iteration sees the first one's value)."""
    for inner in statements:
        if isinstance(inner, Block):
            outer = {d.name.lower(): env.get(d.name.lower()) for d in inner.declarations}
            for declaration in inner.declarations:
                name = declaration.name.lower()
                env.pop(name, None)
                if declaration.default is not None:
                    fragment = declaration.default
                    env[name] = fold_constant(space, fragment.offset, fragment.text, env)
            _run_statements(builder, statement, space, inner.body, env)
            for name, before in outer.items():  # the block's own variables go out of scope
                if before is None:
                    env.pop(name, None)
                else:
                    env[name] = before
            continue
        if isinstance(inner, Assign):
            target = inner.target.strip()
            if _PLAIN_VARIABLE.fullmatch(target):
                value = inner.value
                env[target.lower()] = fold_constant(space, value.offset, value.text, env)
                continue
        elif isinstance(inner, ExecSql):
            _run_fragment_sql(builder, space, inner.sql)
        elif isinstance(inner, DynExecute):
            _run_dynamic(builder, statement, space, inner.query, env)
        elif isinstance(inner, Perform) or (isinstance(inner, Call) and inner.is_call):
            fragment = inner.query if isinstance(inner, Perform) else inner.call
            _call_routine(builder, statement, space, fragment.offset, fragment.text, env)
        if isinstance(inner, If):
            taken = _taken_branch(inner, env)
            if taken is not None:  # every condition up to it decided: that branch alone
                _run_statements(builder, statement, space, taken, env)
                continue
        if isinstance(inner, (If, Case, Loop)):
            changed = _assigned_names((inner,))  # a FOR loop's own variables too
            for body in inner.bodies():
                branch = dict(env)
                if isinstance(inner, Loop):
                    for name in changed:
                        branch.pop(name, None)
                _run_statements(builder, statement, space, body, branch)
            for name in changed:
                env.pop(name, None)
        else:
            for name in _assigned_names((inner,)):
                env.pop(name, None)


def _taken_branch(statement: If, env: dict[str, _Text]) -> tuple[PlStatement, ...] | None:
    """The body an IF runs when its conditions can be decided from known variables."""
    for branch in statement.branches:
        truth = _condition_truth(branch.condition, env)
        if truth is None:
            return None
        if truth:
            return branch.body
    return statement.else_body or ()


def _run_fragment_sql(builder: CatalogBuilder, space: SourceFile, fragment: Fragment) -> None:
    stop = fragment.offset + len(fragment.text)
    if space.text[fragment.offset : stop] == fragment.text:
        statements, _, _ = split_statements(space, fragment.offset, stop)
    else:
        offsets = range(fragment.offset, fragment.offset + len(fragment.text))
        derived = SourceFile.derived(
            space, fragment.text, [min(o, len(space.text) - 1) for o in offsets]
        )
        statements, _, _ = split_statements(derived)
    for inner in statements:
        builder.run(inner)


def _run_dynamic(
    builder: CatalogBuilder,
    statement: Statement,
    space: SourceFile,
    fragment: Fragment,
    env: dict[str, _Text],
) -> None:
    value = fold_constant(space, fragment.offset, fragment.text, env)
    if value.known:
        derived = SourceFile.derived(space, value.text, value.offsets)
        statements, diagnostics, lost = split_statements(derived)
        builder.state.diagnostics.extend(diagnostics)
        if lost:
            builder.incomplete = True
        for inner in statements:
            builder.run(inner)
        return
    if value.null or _may_change_catalog(value.prefix()):
        builder.incomplete = True
        excerpt = " ".join(fragment.text.split())
        excerpt = excerpt if len(excerpt) <= 60 else excerpt[:59] + "…"
        builder.diagnose_at(
            space, fragment.offset, f"DDL in dynamic SQL not known statically: EXECUTE {excerpt}"
        )


def _call_routine(
    builder: CatalogBuilder,
    statement: Statement,
    space: SourceFile,
    offset: int,
    text: str,
    env: dict[str, _Text],
) -> None:
    """`name(arguments)`: run a plpgsql routine of the catalog when its arguments fold."""
    try:
        items = items_of(tokenize(text, offset))
    except (TokenError, ValueError):
        return
    if items and items[-1].kind == "punct" and items[-1].text == ";":
        items = items[:-1]
    cursor = Cursor(items, offset + len(text))
    try:
        parts, _ = cursor.qualified_name()
        argument_items = split_top_level(cursor.skip_balanced())
    except SyntaxProblem:
        return
    if not cursor.done:
        return
    positional: list[_Text] = []
    named: dict[str, _Text] = {}
    for part in argument_items:
        if len(part) > 2 and part[1].kind == "punct" and part[1].text in {"=>", ":="}:
            named[part[0].name] = _Folder(space.text, part[2:], env).fold()
        elif len(part) > 3 and part[1].text == ":" and part[2].text == "=":
            named[part[0].name] = _Folder(space.text, part[3:], env).fold()
        else:
            positional.append(_Folder(space.text, part, env).fold())
    name = builder.function_name(parts)
    count = len(positional) + len(named)
    candidates = [
        f
        for f in builder.state.functions.values()
        if f.name == name and f.required_arity <= count <= len(f.input_types)
    ]
    if not candidates and not is_builtin(tuple(parts), builder.state.extensions):
        _cannot_follow(builder, space, offset, f"{name}() is not defined in the analysed files")
    if len(candidates) != 1:
        return
    function = candidates[0]
    if function.language not in {"plpgsql", "sql"}:
        why = f"{function.name}() runs LANGUAGE {function.language} code"
        _cannot_follow(builder, space, offset, why)
        return
    if function.body is None or function.body_location is None:
        return
    if function.key in builder.running or len(builder.running) >= _MAX_RUN_DEPTH:
        return
    bindings: dict[str, _Text] = {}
    inputs = [a for a in function.arguments if a.mode in _INPUT_MODES]
    for position, argument in enumerate(inputs):
        value = _UNKNOWN
        if position < len(positional):
            value = positional[position]
        elif argument.name is not None and argument.name in named:
            value = named[argument.name]
        elif argument.default is not None:
            value = fold_constant(
                SourceFile.from_text(space.path, argument.default), 0, argument.default, {}
            )
            value = _Text.of(value.text, (offset,) * len(value.text)) if value.known else value
        bindings[f"${position + 1}"] = value
        if argument.name is not None:
            bindings[argument.name] = value
    body_space, body_start = builder.body_space(function)
    builder.running.append(function.key)
    try:
        if function.language == "sql":
            _run_sql_body(builder, statement, body_space, body_start, function.body, bindings)
        else:
            _run_body(builder, statement, body_space, body_start, function.body, bindings)
    finally:
        builder.running.pop()


def _cannot_follow(builder: CatalogBuilder, space: SourceFile, offset: int, why: str) -> None:
    """A routine run at load time that cannot be followed: any DDL it runs is unknown."""
    builder.incomplete = True
    builder.diagnose_at(
        space, offset, f"{why}: the schema changes this call may make are not analysed"
    )


_CALL_KEYWORD = re.compile(r"(?is)\s*(?:select|call)\s+")


def _run_sql_body(
    builder: CatalogBuilder,
    statement: Statement,
    space: SourceFile,
    start: int,
    body: str,
    env: dict[str, _Text],
) -> None:
    """Run a LANGUAGE sql routine: the routines it calls (a wrapper such as
    `SELECT enable_audit_impl($1, true)`) and the DDL it runs."""
    if space.text[start : start + len(body)] != body:
        space, start = SourceFile.from_text(space.path, body), 0
    statements, _, _ = split_statements(space, start, start + len(body))
    with builder.leniently():
        for inner in statements:
            keyword = _CALL_KEYWORD.match(inner.text)
            if inner.kind == "call" or (inner.kind == "select" and _SINGLE_CALL.match(inner.text)):
                assert keyword is not None
                call_start = inner.start + keyword.end()
                text = space.text[call_start : inner.end + 1]
                _call_routine(builder, statement, space, call_start, text, env)
            elif inner.kind in _HANDLERS and inner.kind not in {"select", "call", "do"}:
                builder.run(inner)


def _do_block(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    """DO [LANGUAGE l] body [LANGUAGE l]: kept as an anonymous body, and run."""
    cursor.expect("DO")
    language = "plpgsql"
    body_item: Item | None = None
    while not cursor.done:
        if cursor.accept("LANGUAGE"):
            language = cursor.next().text.lower()
            continue
        item = cursor.next()
        if item.kind != "string" or body_item is not None:
            raise SyntaxProblem(f"unexpected {item.text!r} in DO", item.token.start)
        body_item = item
    if body_item is None:
        raise SyntaxProblem("DO without a body", statement.start)
    body, offsets = string_value(statement.file.text, body_item)
    space, start = _text_space(statement.file, body, offsets)
    builder.state.blocks.append(
        AnonymousBlock(
            language, body, statement.location, space.location(start, start + max(len(body) - 1, 0))
        )
    )
    if language == "plpgsql":
        _run_body(builder, statement, space, start, body, {})


def _call(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CALL")
    rest = cursor.rest()
    if rest:
        start = rest[0].token.start
        text = statement.file.text[start : rest[-1].token.end + 1]
        _call_routine(builder, statement, statement.file, start, text, {})


_SINGLE_CALL = re.compile(r"(?is)\s*select\s+(?:[\w$\"]+\s*\.\s*)?[\w$\"]+\s*\(")


def _select(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    """SELECT f(constants): set_config('search_path', …) or a plpgsql routine that runs."""
    cursor.expect("SELECT")
    rest = cursor.rest()
    if not rest:
        return
    start = rest[0].token.start
    text = statement.file.text[start : rest[-1].token.end + 1]
    probe = Cursor(rest, rest[-1].token.end + 1)
    parts, _ = probe.qualified_name()
    if parts[-1] == "set_config" and (len(parts) == 1 or parts[0] == "pg_catalog"):
        arguments = [
            _Folder(statement.file.text, part, {}).fold()
            for part in split_top_level(probe.skip_balanced())
        ]
        setting, value = [*arguments, _UNKNOWN, _UNKNOWN][:2]
        if len(arguments) == 3 and setting.known and setting.text == "search_path" and value.known:
            builder.search_path = split_search_path(value.text)
        return
    _call_routine(builder, statement, statement.file, start, text, {})


def _set_search_path(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    if cursor.accept("RESET"):
        builder.search_path = builder.default_search_path
        return
    cursor.expect("SET")
    cursor.accept("LOCAL") or cursor.accept("SESSION")
    if cursor.accept("SCHEMA"):
        builder.search_path = _search_path_values([cursor.next()])
        return
    cursor.expect("SEARCH_PATH")
    if not cursor.accept("TO"):
        cursor.expect_punct("=")
    if cursor.accept("DEFAULT"):
        builder.search_path = builder.default_search_path
        return
    builder.search_path = _search_path_values(cursor.rest())


_HANDLERS = {
    "create_schema": _create_schema,
    "create_extension": _create_extension,
    "create_table": _create_table,
    "create_view": _create_view,
    "create_unique_index": _create_index,
    "create_index": _create_index,
    "drop_index": _drop_index,
    "alter_table": _alter_table,
    "alter_view": _alter_view,
    "drop_relation": _drop_relation,
    "drop_schema": _drop_schema,
    "create_function": _create_function,
    "drop_function": _drop_function,
    "alter_function": _alter_function,
    "create_trigger": _create_trigger,
    "drop_trigger": _drop_trigger,
    "alter_trigger": _alter_trigger,
    "create_rule": _create_rule,
    "drop_rule": _drop_rule,
    "alter_rule": _alter_rule,
    "create_event_trigger": _create_event_trigger,
    "drop_event_trigger": _drop_event_trigger,
    "alter_event_trigger": _alter_event_trigger,
    "do": _do_block,
    "call": _call,
    "select": _select,
    "set_search_path": _set_search_path,
}


def build_catalog(
    files: Iterable[SourceFile],
    search_path: Sequence[str] = DEFAULT_SEARCH_PATH,
    diagnostics: Iterable[Diagnostic] = (),
    skipped_files: int = 0,
) -> Catalog:
    """Apply every file in order. A file that could not be read counts as one statement
    that was not analysed (its diagnostic says why)."""
    builder = CatalogBuilder(search_path)
    builder.state.diagnostics.extend(diagnostics)
    for source in files:
        builder.add_file(source)
    return builder.catalog(skipped_files)
