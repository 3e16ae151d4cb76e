"""The catalog: tables, functions and triggers as PostgreSQL has them after the input ran.

Statements are applied in order (OR REPLACE replaces, DROP removes, ALTER renames and
disables) over tokens with targeted grammar code; see `analyzer.ddl` for the grammar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any

from sqlglot import exp

from analyzer.builtins import relation_search_order, system_relation
from analyzer.findings import Diagnostic, Location
from analyzer.source import SourceFile

DEFAULT_SEARCH_PATH: tuple[str, ...] = ("public",)
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})

# Trigger functions PostgreSQL ships in pg_catalog, which every search_path sees first.
PG_CATALOG_TRIGGER_FUNCTIONS = frozenset(
    {
        "suppress_redundant_updates_trigger",
        "tsvector_update_trigger",
        "tsvector_update_trigger_column",
        *(
            f"RI_FKey_{action}_{event}"
            for action in ("cascade", "restrict", "setnull", "setdefault", "noaction")
            for event in ("del", "upd")
        ),
        "RI_FKey_check_ins",
        "RI_FKey_check_upd",
    }
)

FK_ACTIONS = ("no action", "restrict", "cascade", "set null", "set default")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool = False
    default: str | None = None
    generated: bool = False  # GENERATED ALWAYS AS (expr) STORED: never written directly
    location: Location | None = None
    identity: str | None = None  # always | by default
    generation_expression: str | None = None


@dataclass(frozen=True)
class ForeignKey:
    name: str | None
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "no action"
    on_update: str = "no action"
    location: Location | None = None
    # DEFERRABLE: checked at commit when deferred (initially or by SET CONSTRAINTS), so a
    # row may reference nothing until then; NOT VALID: rows older than the key unchecked.
    deferrable: bool = False
    validated: bool = True


@dataclass(frozen=True)
class ViewUpdate:
    """How PostgreSQL runs an INSERT, UPDATE or DELETE on a view that has no INSTEAD OF
    trigger (CREATE VIEW, "Updatable Views"): a view of one table or view, without
    DISTINCT, GROUP BY, aggregates and the like, is rewritten into the same write on that
    relation, whose triggers fire (the view's statement triggers do not)."""

    base: str | None  # the relation written; None when not automatically updatable
    columns: tuple[tuple[str, str], ...] = ()  # view column -> base column, writable ones
    reason: str = ""  # why not, as the server's DETAIL says


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    location: Location
    relkind: str = "table"  # table | partitioned | view | materialized view | foreign
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    partition_of: str | None = None
    inherits: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    # The state of the system triggers that enforce this table's foreign keys (and run
    # the ON DELETE / ON UPDATE actions of keys that reference it): DISABLE TRIGGER ALL
    # turns them off.
    internal_triggers: str = "origin"
    # Unique indexes on plain columns, without WHERE (CREATE UNIQUE INDEX, as Prisma and
    # pg_dump write unique keys): they bound a row's identity like a UNIQUE constraint.
    unique_indexes: tuple[tuple[str, ...], ...] = ()
    # Other btree indexes on plain columns, without WHERE, their columns in order.
    indexes: tuple[tuple[str, ...], ...] = ()
    view_update: ViewUpdate | None = None  # a view whose query was understood

    @property
    def btree_indexes(self) -> tuple[tuple[str, ...], ...]:
        """The column lists of every btree index on plain columns without WHERE: those of
        the primary key and UNIQUE constraints, unique and other indexes, in index order."""
        return (*self.unique_keys, *self.indexes)

    @property
    def unique_keys(self) -> tuple[tuple[str, ...], ...]:
        """Every column set that identifies at most one row: the primary key, UNIQUE
        constraints and unique indexes."""
        return tuple(key for key in (self.primary_key, *self.unique, *self.unique_indexes) if key)

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Argument:
    name: str | None
    type: str
    mode: str = "in"  # in | out | inout | variadic
    default: str | None = None


@dataclass(frozen=True)
class Function:
    name: str  # schema.name
    arguments: tuple[Argument, ...]
    returns: str
    language: str
    body: str | None
    location: Location
    body_location: Location | None = None
    security_definer: bool = False
    search_path: tuple[str, ...] | None = None
    volatility: str = "volatile"
    strict: bool = False
    is_procedure: bool = False
    search_path_at_creation: tuple[str, ...] = DEFAULT_SEARCH_PATH
    returns_table: tuple[Argument, ...] = ()  # the columns of RETURNS TABLE (…)

    @cached_property
    def input_types(self) -> tuple[str, ...]:
        return tuple(a.type for a in self.arguments if a.mode in {"in", "inout", "variadic"})

    @property
    def key(self) -> str:
        return f"{self.name}({','.join(self.input_types)})"

    @property
    def required_arity(self) -> int:
        return sum(1 for a in self.arguments if a.mode in {"in", "inout"} and a.default is None)

    @property
    def returns_trigger(self) -> bool:
        return self.returns == "trigger"


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    timing: str  # before | after | instead of
    events: tuple[str, ...]  # insert, update, delete, truncate
    level: str  # row | statement
    function: str  # schema.name, resolved when possible
    location: Location
    update_columns: tuple[str, ...] = ()
    when: str | None = None
    when_expression: exp.Expr | None = field(default=None, compare=False, hash=False)
    arguments: tuple[str, ...] = ()
    enabled: str = "origin"  # origin | disabled | replica | always
    constraint: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    referencing: tuple[tuple[str, str], ...] = ()  # (old|new, relation name)
    # A row trigger of a partitioned table is cloned to every partition; the clone
    # names the parent's trigger (its key) here.
    inherited_from: str | None = None

    @property
    def key(self) -> str:
        return f"{self.table}.{self.name}"


@dataclass(frozen=True)
class Rule:
    name: str
    table: str
    event: str
    instead: bool
    actions: str
    location: Location
    action_statements: tuple[str, ...] = ()  # empty for DO [INSTEAD] NOTHING
    condition: str | None = None  # WHERE …
    enabled: str = "origin"
    # Whether it changes which rows are written: DO INSTEAD, or an action that writes
    # (not DO ALSO NOTIFY …).
    rewrites_writes: bool = True


@dataclass(frozen=True)
class EventTrigger:
    name: str
    event: str
    function: str
    location: Location
    tags: tuple[str, ...] = ()  # WHEN TAG IN (…)
    enabled: str = "origin"


@dataclass(frozen=True)
class AnonymousBlock:
    """A DO block: analysed like a function body that runs once, at migration time."""

    language: str
    body: str
    location: Location
    body_location: Location


@dataclass(frozen=True)
class Summary:
    files: int
    statements: int
    unanalyzed_statements: int
    tables: int
    functions: int
    triggers: int

    def to_dict(self) -> dict[str, int]:
        return {
            "files": self.files,
            "statements": self.statements,
            "unanalyzed_statements": self.unanalyzed_statements,
            "tables": self.tables,
            "functions": self.functions,
            "triggers": self.triggers,
        }


@dataclass(frozen=True)
class Catalog:
    tables: Mapping[str, Table]
    functions: Mapping[str, Function]  # by key: schema.name(types)
    triggers: Mapping[str, Trigger]  # by key: schema.table.trigger
    rules: Mapping[str, Rule]
    event_triggers: Mapping[str, EventTrigger]
    anonymous_blocks: tuple[AnonymousBlock, ...]
    files: tuple[SourceFile, ...]
    diagnostics: tuple[Diagnostic, ...]
    statements: int
    unanalyzed_statements: int
    search_path: tuple[str, ...] = DEFAULT_SEARCH_PATH
    # CREATE EXTENSION name -> where; their functions exist without DDL in the input
    extensions: Mapping[str, Location] = field(default_factory=dict)

    @property
    def summary(self) -> Summary:
        return Summary(
            files=len(self.files),
            statements=self.statements,
            unanalyzed_statements=self.unanalyzed_statements,
            tables=sum(1 for t in self.tables.values()),
            functions=len(self.functions),
            triggers=len(self.triggers),
        )

    @cached_property
    def _functions_by_name(self) -> dict[str, list[Function]]:
        index: dict[str, list[Function]] = {}
        for function in self.functions.values():
            index.setdefault(function.name, []).append(function)
        return index

    @cached_property
    def inherited_tables(self) -> frozenset[str]:
        """Tables other tables inherit from (INHERITS): reading one reads theirs too."""
        return frozenset(parent for table in self.tables.values() for parent in table.inherits)

    def functions_named(self, name: str) -> list[Function]:
        return list(self._functions_by_name.get(name, ()))

    def resolve_function(
        self,
        parts: Iterable[str],
        arity: int | None = None,
        search_path: Iterable[str] | None = None,
    ) -> Function | None:
        """Resolve a (possibly unqualified) function name by name and arity."""
        names = list(parts)
        schemas = (
            [names[-2]] if len(names) > 1 else ["pg_catalog", *(search_path or self.search_path)]
        )
        for schema in schemas:
            candidates = self.functions_named(f"{schema}.{names[-1]}")
            if arity is not None:
                candidates = [
                    f
                    for f in candidates
                    if f.required_arity <= arity <= len(f.input_types)
                    or any(a.mode == "variadic" for a in f.arguments)
                ]
            if candidates:
                return sorted(candidates, key=lambda f: f.key)[0]
        return None

    def resolve_table(self, parts: Iterable[str], search_path: Iterable[str] | None = None) -> str:
        """Qualified name of a relation; unknown unqualified names take the first schema."""
        names = list(parts)
        if len(names) > 1:
            return f"{names[-2]}.{names[-1]}"
        path = list(search_path or self.search_path)
        for schema in relation_search_order(path, session=False):
            if f"{schema}.{names[-1]}" in self.tables or system_relation(schema, names[-1]):
                return f"{schema}.{names[-1]}"
        return f"{path[0] if path else 'public'}.{names[-1]}"

    def lookup_relation(self, text: str) -> str | None:
        """The relation a user names on the command line, in SQL spelling: `orders`,
        `shop.orders`, `"Post"`, `public."Post"`. Unquoted parts fold to lower case, as in
        PostgreSQL; a name that matches nothing that way may be the catalog's own key
        (`public.Post`, as the JSON output prints it), or, unquoted, the one relation whose
        name matches ignoring case. Tables defined elsewhere (auth.users of a
        platform) count when the schema puts triggers or foreign keys on them."""
        known = {*self.tables, *self._triggers_by_table, *self._keys_by_referenced_table}
        parts = split_identifier_path(text)
        if not parts or len(parts) > 2:
            # Not SQL spelling: the catalog's own key (as JSON output prints it) still names it.
            return text if text in known else None
        names = [name for name, _ in parts]
        if len(names) == 2:
            candidates = [f"{names[0]}.{names[1]}"]
        else:
            candidates = [f"{schema}.{names[0]}" for schema in self.search_path]
        for candidate in candidates:
            if candidate in known:
                return candidate
        if text in known:
            return text
        if all(quoted for _, quoted in parts):
            return None
        wanted = [c.lower() for c in candidates]
        loose = sorted({k for k in known if k.lower() in wanted})
        return loose[0] if len(loose) == 1 else None

    def triggers_on(self, table: str) -> list[Trigger]:
        return list(self._triggers_by_table.get(table, ()))

    def referencing_keys(self, table: str) -> list[ForeignKey]:
        """Foreign keys in other tables (or this one) that point at `table`."""
        return list(self._keys_by_referenced_table.get(table, ()))

    # Indexes built once per catalog: a scan per call made the rules quadratic in the
    # number of tables.
    @cached_property
    def _triggers_by_table(self) -> dict[str, tuple[Trigger, ...]]:
        grouped: dict[str, list[Trigger]] = {}
        for trigger in self.triggers.values():
            grouped.setdefault(trigger.table, []).append(trigger)
        return {k: tuple(sorted(v, key=lambda t: t.name)) for k, v in grouped.items()}

    @cached_property
    def _keys_by_referenced_table(self) -> dict[str, tuple[ForeignKey, ...]]:
        grouped: dict[str, list[ForeignKey]] = {}
        for table in self.tables.values():
            for fk in table.foreign_keys:
                grouped.setdefault(fk.ref_table, []).append(fk)
        return {
            k: tuple(sorted(v, key=lambda fk: (fk.table, fk.name or "", fk.columns)))
            for k, v in grouped.items()
        }


def unknown_column(table: str, names: Iterable[str], columns: Sequence[str]) -> str | None:
    """The usage error for the first of `names` that is not one of the table's `columns`,
    as PostgreSQL would reject the UPDATE: trace checks --columns against the analysed
    schema, verify against the server's."""
    for name in names:
        if name not in columns:
            return f"{table} has no column {name} (its columns: {', '.join(columns)})"
    return None


def split_identifier_path(text: str) -> list[tuple[str, bool]]:
    """`schema."Name"` → [("schema", False), ("Name", True)]: each part as PostgreSQL reads
    it (unquoted parts folded to lower case, `""` inside quotes is one quote) and whether
    it was quoted. An empty list for text that is not a dotted identifier path."""
    parts: list[tuple[str, bool]] = []
    index, end = 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index < end and text[index] == '"':
            name, index = [], index + 1
            while index < end:
                if text[index] == '"':
                    if text[index + 1 : index + 2] == '"':
                        name.append('"')
                        index += 2
                        continue
                    break
                name.append(text[index])
                index += 1
            if index >= end or not name:
                return []
            parts.append(("".join(name), True))
            index += 1
        else:
            start = index
            while index < end and text[index] not in '." \t':
                index += 1
            if index == start:
                return []
            parts.append((text[start:index].lower(), False))
        while index < end and text[index].isspace():
            index += 1
        if index == end:
            return parts
        if text[index] != ".":
            return []
        index += 1


def freeze(
    tables: dict[str, Table],
    functions: dict[str, Function],
    triggers: dict[str, Trigger],
    rules: dict[str, Rule],
    event_triggers: dict[str, EventTrigger],
    **rest: Any,
) -> Catalog:
    return Catalog(
        tables=MappingProxyType(dict(sorted(tables.items()))),
        functions=MappingProxyType(dict(sorted(functions.items()))),
        triggers=MappingProxyType(dict(sorted(triggers.items()))),
        rules=MappingProxyType(dict(sorted(rules.items()))),
        event_triggers=MappingProxyType(dict(sorted(event_triggers.items()))),
        **rest,
    )


def with_table_renamed(table: Table, new_name: str) -> Table:
    return replace(
        table,
        name=new_name,
        foreign_keys=tuple(replace(fk, table=new_name) for fk in table.foreign_keys),
    )
