"""Apply DDL statements, in order, to build the catalog.

Grammar code works over sqlglot tokens (`analyzer.tokens.Cursor`): sqlglot's parser falls
back to a raw Command or silently drops parts of CREATE FUNCTION / CREATE TRIGGER / ALTER
statements, so the catalog never trusts it for structure. A statement that does not follow
the grammar becomes a diagnostic at the offending token and is counted as unanalysed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from sqlglot.errors import TokenError

from analyzer.catalog import (
    DEFAULT_SEARCH_PATH,
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
    freeze,
    with_table_renamed,
)
from analyzer.findings import Diagnostic, Location
from analyzer.parse import Statement, parse_expression, split_statements
from analyzer.source import SourceFile
from analyzer.tokens import Cursor, Item, SyntaxProblem, items_of, source_text, split_top_level
from analyzer.types import normalize_type

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
)
_TYPE_STARTS = {"DOUBLE", "CHARACTER", "CHAR", "BIT", "TIMESTAMP", "TIME", "INTERVAL", "NATIONAL"}
_TYPE_CONTINUATIONS = {"PRECISION", "VARYING", "WITH", "WITHOUT", "ZONE", "CHARACTER"}
_DOLLAR_TAG = re.compile(r"\$[^$]*\$")


@dataclass
class _State:
    tables: dict[str, Table] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    event_triggers: dict[str, EventTrigger] = field(default_factory=dict)
    blocks: list[AnonymousBlock] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    schemas: set[str] = field(default_factory=lambda: {"public"})
    statements: int = 0
    unanalyzed: int = 0


class CatalogBuilder:
    """Applies statements in order; `catalog()` freezes the result."""

    def __init__(self, search_path: Sequence[str] = DEFAULT_SEARCH_PATH) -> None:
        self.default_search_path = tuple(search_path)
        self.search_path = tuple(search_path)
        self.state = _State()
        self.files: list[SourceFile] = []

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
        handler = _HANDLERS.get(statement.kind)
        if handler is None:
            return
        try:
            items = items_of(statement.tokens)
            cursor = Cursor(items, statement.end)
            handler(self, statement, cursor)
        except SyntaxProblem as problem:
            self._unanalyzed(statement, problem.offset, str(problem))
        except TokenError:
            self._unanalyzed(statement, statement.start, "cannot tokenise statement")
        except RecursionError:
            self._unanalyzed(statement, statement.start, "statement nested too deeply")

    def catalog(self) -> Catalog:
        state = self.state
        return freeze(
            state.tables,
            state.functions,
            state.triggers,
            state.rules,
            state.event_triggers,
            anonymous_blocks=tuple(state.blocks),
            files=tuple(self.files),
            diagnostics=tuple(sorted(set(state.diagnostics))),
            statements=state.statements,
            unanalyzed_statements=state.unanalyzed,
            search_path=self.default_search_path,
        )

    # ---- helpers -----------------------------------------------------------------

    def _unanalyzed(self, statement: Statement, offset: int, message: str) -> None:
        self.state.unanalyzed += 1
        self.state.diagnostics.append(
            statement.file.diagnostic(
                offset, f"{message}; statement not analysed: {statement.excerpt()}"
            )
        )

    def _diagnose(self, statement: Statement, offset: int, message: str) -> None:
        self.state.diagnostics.append(statement.file.diagnostic(offset, message))

    def _schema_path(self) -> list[str]:
        return [s for s in self.search_path if s not in {"$user", "pg_catalog"}] or ["public"]

    def _creation_schema(self) -> str:
        """Unqualified new objects go to the first schema of the path that exists."""
        path = self._schema_path()
        return next((s for s in path if s in self.state.schemas), path[0])

    def relation_name(self, parts: list[str]) -> str:
        if len(parts) > 1:
            return f"{parts[-2]}.{parts[-1]}"
        for schema in self._schema_path():
            if f"{schema}.{parts[-1]}" in self.state.tables:
                return f"{schema}.{parts[-1]}"
        return f"{self._schema_path()[0]}.{parts[-1]}"

    def new_object_name(self, parts: list[str]) -> str:
        if len(parts) > 1:
            self.state.schemas.add(parts[-2])
            return f"{parts[-2]}.{parts[-1]}"
        return f"{self._creation_schema()}.{parts[-1]}"

    def function_name(self, parts: list[str]) -> str:
        if len(parts) > 1:
            return f"{parts[-2]}.{parts[-1]}"
        for schema in self._schema_path():
            if any(f.name == f"{schema}.{parts[-1]}" for f in self.state.functions.values()):
                return f"{schema}.{parts[-1]}"
        return f"{self._schema_path()[0]}.{parts[-1]}"

    def location_of(self, statement: Statement, items: Sequence[Item]) -> Location:
        if not items:
            return statement.location
        return statement.file.location(items[0].token.start, items[-1].token.end)


# ---- CREATE TABLE ----------------------------------------------------------------------


@dataclass
class _TableParts:
    """Columns and constraints collected while reading a table definition."""

    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    unique: list[tuple[str, ...]] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, table: Table) -> _TableParts:
        return cls(
            list(table.columns),
            table.primary_key,
            list(table.unique),
            list(table.foreign_keys),
            list(table.checks),
        )

    def applied_to(self, table: Table) -> Table:
        return replace(
            table,
            columns=tuple(self.columns),
            primary_key=self.primary_key,
            unique=tuple(self.unique),
            foreign_keys=tuple(self.foreign_keys),
            checks=tuple(self.checks),
        )


def _create_table(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE")
    cursor.accept("OR", "REPLACE")
    while (
        cursor.accept("GLOBAL")
        or cursor.accept("LOCAL")
        or cursor.accept("TEMP")
        or (cursor.accept("TEMPORARY") or cursor.accept("UNLOGGED"))
    ):
        pass
    relkind = "foreign" if cursor.accept("FOREIGN") else "table"
    cursor.expect("TABLE")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    parts, _ = cursor.qualified_name()
    name = builder.new_object_name(parts)
    state = builder.state
    if name in state.tables:
        if not if_not_exists:
            builder._diagnose(
                statement, statement.start, f"relation {name} already exists: statement ignored"
            )
        return
    definition = _TableParts()
    partition_of = None
    inherits: tuple[str, ...] = ()
    if cursor.accept("PARTITION", "OF"):
        parent_parts, _ = cursor.qualified_name()
        partition_of = builder.relation_name(parent_parts)
        parent = state.tables.get(partition_of)
        if parent:
            definition = _TableParts.of(parent)
            definition.foreign_keys = [replace(fk, table=name) for fk in parent.foreign_keys]
    if cursor.accept("OF"):
        cursor.qualified_name()
    if cursor.peek_punct("("):
        for element in split_top_level(cursor.skip_balanced()):
            _table_element(builder, statement, name, element, definition)
    if cursor.accept("INHERITS"):
        inherits = tuple(
            builder.relation_name([i.name for i in part if i.kind != "punct"])
            for part in split_top_level(cursor.skip_balanced())
        )
        for parent_name in inherits:
            parent = state.tables.get(parent_name)
            if parent:
                definition.columns = list(parent.columns) + definition.columns
    while not cursor.done:
        if cursor.accept("PARTITION", "BY"):
            relkind = "partitioned"
            break
        cursor.next()
    table = Table(
        name, (), statement.location, relkind, partition_of=partition_of, inherits=inherits
    )
    state.tables[name] = definition.applied_to(table)


def _names_in_parens(cursor: Cursor) -> tuple[str, ...]:
    return tuple(part[0].name for part in split_top_level(cursor.skip_balanced()) if part)


def _fk_tail(
    builder: CatalogBuilder,
    cursor: Cursor,
    table: str,
    columns: tuple[str, ...],
    constraint: str | None,
    location: Location,
) -> ForeignKey:
    """After REFERENCES: target, columns, MATCH, ON DELETE/UPDATE, deferrability."""
    parts, _ = cursor.qualified_name()
    ref_table = builder.relation_name(parts)
    ref_columns: tuple[str, ...] = ()
    if cursor.peek_punct("("):
        ref_columns = _names_in_parens(cursor)
    on_delete = on_update = "no action"
    while True:
        if cursor.accept("MATCH"):
            cursor.next()
        elif cursor.accept("ON", "DELETE"):
            on_delete = _fk_action(cursor)
        elif cursor.accept("ON", "UPDATE"):
            on_update = _fk_action(cursor)
        else:
            break
    return ForeignKey(
        constraint, table, columns, ref_table, ref_columns, on_delete, on_update, location
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


def _table_element(
    builder: CatalogBuilder,
    statement: Statement,
    table: str,
    element: list[Item],
    definition: _TableParts,
) -> None:
    cursor = Cursor(element, element[-1].token.end)
    location = builder.location_of(statement, element)
    constraint = None
    if cursor.accept("CONSTRAINT"):
        constraint = cursor.identifier().name
    if cursor.accept("PRIMARY", "KEY"):
        definition.primary_key = _names_in_parens(cursor)
    elif cursor.accept("UNIQUE"):
        if cursor.accept("NULLS"):
            cursor.accept("NOT")
            cursor.expect("DISTINCT")
        if cursor.peek_punct("("):
            definition.unique.append(_names_in_parens(cursor))
    elif cursor.accept("FOREIGN", "KEY"):
        fk_columns = _names_in_parens(cursor)
        cursor.expect("REFERENCES")
        definition.foreign_keys.append(
            _fk_tail(builder, cursor, table, fk_columns, constraint, location)
        )
    elif cursor.accept("CHECK"):
        definition.checks.append(source_text(statement.file.text, cursor.skip_balanced()))
    elif cursor.peek_word("EXCLUDE") or cursor.peek_word("LIKE"):
        if cursor.accept("LIKE"):
            parts, _ = cursor.qualified_name()
            source = builder.state.tables.get(builder.relation_name(parts))
            if source:
                definition.columns.extend(source.columns)
    else:
        column, primary, column_fks, column_unique = _column_definition(
            builder, statement, table, cursor, location
        )
        definition.columns.append(column)
        if primary:
            definition.primary_key = (column.name,)
        if column_unique:
            definition.unique.append((column.name,))
        definition.foreign_keys.extend(column_fks)


def _column_definition(
    builder: CatalogBuilder,
    statement: Statement,
    table: str,
    cursor: Cursor,
    location: Location,
) -> tuple[Column, bool, list[ForeignKey], bool]:
    name_item = cursor.identifier()
    type_items = cursor.until(*_COLUMN_CONSTRAINT_WORDS, stop_puncts=(",",))
    type_text = normalize_type(source_text(statement.file.text, type_items))
    not_null = primary = is_unique = generated = False
    default: str | None = None
    fks: list[ForeignKey] = []
    while not cursor.done:
        constraint = None
        if cursor.accept("CONSTRAINT"):
            constraint = cursor.identifier().name
        if cursor.accept("NOT", "NULL"):
            not_null = True
        elif cursor.accept("NULL"):
            pass
        elif cursor.accept("PRIMARY", "KEY"):
            primary = not_null = True
        elif cursor.accept("UNIQUE"):
            is_unique = True
            if cursor.accept("NULLS"):
                cursor.accept("NOT")
                cursor.accept("DISTINCT")
        elif cursor.accept("CHECK"):
            cursor.skip_balanced()
            cursor.accept("NO", "INHERIT")
        elif cursor.accept("DEFAULT"):
            first = cursor.next()
            rest = cursor.until(*_COLUMN_CONSTRAINT_WORDS, stop_puncts=(",",))
            default = source_text(statement.file.text, [first, *rest])
        elif cursor.accept("GENERATED"):
            generated = True
            cursor.until(
                "CONSTRAINT", "NOT", "NULL", "CHECK", "DEFAULT", "UNIQUE", "PRIMARY", "REFERENCES"
            )
            if cursor.peek_punct("("):
                cursor.skip_balanced()
                cursor.accept("STORED")
        elif cursor.accept("REFERENCES"):
            fks.append(_fk_tail(builder, cursor, table, (name_item.name,), constraint, location))
        elif cursor.accept("COLLATE"):
            cursor.qualified_name()
        elif cursor.accept("DEFERRABLE") or cursor.accept("NOT", "DEFERRABLE"):
            pass
        elif cursor.accept("INITIALLY"):
            cursor.next()
        else:
            raise SyntaxProblem(
                f"unexpected {cursor.next().text!r} in column definition",
                cursor.items[cursor.index - 1].token.start,
            )
    identity = "IDENTITY" in {i.upper for i in cursor.items}
    column = Column(
        name=name_item.name,
        type=type_text,
        not_null=not_null or identity,
        default=default,
        generated=generated and not identity,
        location=location,
    )
    return column, primary, fks, is_unique


# ---- CREATE VIEW -----------------------------------------------------------------------


def _create_view(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE")
    replace_existing = cursor.accept("OR", "REPLACE")
    while cursor.accept("TEMP") or cursor.accept("TEMPORARY") or cursor.accept("RECURSIVE"):
        pass
    relkind = "materialized view" if cursor.accept("MATERIALIZED") else "view"
    cursor.expect("VIEW")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    parts, _ = cursor.qualified_name()
    name = builder.new_object_name(parts)
    existing = builder.state.tables.get(name)
    if existing and not (replace_existing or if_not_exists):
        builder._diagnose(statement, statement.start, f"relation {name} already exists")
        return
    if existing and if_not_exists:
        return
    builder.state.tables[name] = Table(name, (), statement.location, relkind=relkind)


# ---- ALTER TABLE -----------------------------------------------------------------------


def _alter_table(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("ALTER")
    cursor.accept("FOREIGN")
    cursor.expect("TABLE")
    if cursor.peek_word("ALL", "IN"):
        return
    cursor.accept("IF", "EXISTS")
    cursor.accept("ONLY")
    parts, _ = cursor.qualified_name()
    cursor.accept_punct("*")
    name = builder.relation_name(parts)
    state = builder.state
    table = state.tables.get(name)
    if table is None:
        builder._diagnose(
            statement, statement.start, f"ALTER TABLE on unknown table {name}: ignored"
        )
        return
    for action in split_top_level(cursor.until(stop_puncts=(";",))):
        table = _alter_table_action(builder, statement, table, Cursor(action, action[-1].token.end))
        if table is None:
            return
    state.tables[table.name] = table


def _alter_table_action(
    builder: CatalogBuilder, statement: Statement, table: Table, cursor: Cursor
) -> Table | None:
    state = builder.state
    location = builder.location_of(statement, cursor.items)
    if cursor.accept("RENAME", "TO"):
        new_name = f"{table.schema}.{cursor.identifier().name}"
        _rename_table(builder, table.name, new_name)
        return None
    if cursor.accept("SET", "SCHEMA"):
        new_name = f"{cursor.identifier().name}.{table.name.split('.', 1)[1]}"
        _rename_table(builder, table.name, new_name)
        return None
    if cursor.accept("RENAME"):
        if cursor.accept("CONSTRAINT"):
            old = cursor.identifier().name
            cursor.expect("TO")
            new = cursor.identifier().name
            return replace(
                table,
                foreign_keys=tuple(
                    replace(fk, name=new) if fk.name == old else fk for fk in table.foreign_keys
                ),
            )
        cursor.accept("COLUMN")
        old = cursor.identifier().name
        cursor.expect("TO")
        new = cursor.identifier().name
        _rename_column(builder, table.name, old, new)
        return state.tables[table.name]
    for toggle in ("ENABLE", "DISABLE"):
        if cursor.accept(toggle):
            if cursor.accept("ROW", "LEVEL", "SECURITY") or cursor.accept("RULE"):
                return table
            mode = "origin" if toggle == "ENABLE" else "disabled"
            if toggle == "ENABLE" and cursor.accept("REPLICA"):
                mode = "replica"
            elif toggle == "ENABLE" and cursor.accept("ALWAYS"):
                mode = "always"
            cursor.expect("TRIGGER")
            target = cursor.identifier()
            for key, trigger in list(state.triggers.items()):
                if trigger.table != table.name:
                    continue
                if target.kind == "word" and target.upper == "ALL":
                    state.triggers[key] = replace(trigger, enabled=mode)
                elif target.kind == "word" and target.upper == "USER":
                    if not trigger.constraint:
                        state.triggers[key] = replace(trigger, enabled=mode)
                elif trigger.name == target.name:
                    state.triggers[key] = replace(trigger, enabled=mode)
            return table
    if cursor.accept("ADD"):
        if (
            cursor.peek_word("CONSTRAINT")
            or cursor.peek_word("PRIMARY")
            or cursor.peek_word("UNIQUE")
            or cursor.peek_word("FOREIGN")
            or cursor.peek_word("CHECK")
            or cursor.peek_word("EXCLUDE")
        ):
            definition = _TableParts.of(table)
            _table_element(builder, statement, table.name, cursor.items[cursor.index :], definition)
            return definition.applied_to(table)
        cursor.accept("COLUMN")
        if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
        column, primary, fks_new, is_unique = _column_definition(
            builder, statement, table.name, cursor, location
        )
        if table.column(column.name):
            if not if_not_exists:
                builder._diagnose(
                    statement,
                    statement.start,
                    f"column {column.name} of {table.name} already exists",
                )
            return table
        return replace(
            table,
            columns=(*table.columns, column),
            primary_key=(column.name,) if primary else table.primary_key,
            unique=(*table.unique, (column.name,)) if is_unique else table.unique,
            foreign_keys=(*table.foreign_keys, *fks_new),
        )
    if cursor.accept("DROP"):
        if cursor.accept("CONSTRAINT"):
            cursor.accept("IF", "EXISTS")
            dropped = cursor.identifier().name
            return replace(
                table, foreign_keys=tuple(fk for fk in table.foreign_keys if fk.name != dropped)
            )
        if cursor.peek_word("NOT") or cursor.peek_word("DEFAULT") or cursor.peek_word("EXPRESSION"):
            return table
        cursor.accept("COLUMN")
        cursor.accept("IF", "EXISTS")
        dropped = cursor.identifier().name
        return replace(
            table,
            columns=tuple(c for c in table.columns if c.name != dropped),
            foreign_keys=tuple(fk for fk in table.foreign_keys if dropped not in fk.columns),
        )
    if cursor.accept("ATTACH", "PARTITION"):
        parts, _ = cursor.qualified_name()
        child = state.tables.get(builder.relation_name(parts))
        if child:
            state.tables[child.name] = replace(child, partition_of=table.name)
        return table
    if cursor.accept("DETACH", "PARTITION"):
        parts, _ = cursor.qualified_name()
        child = state.tables.get(builder.relation_name(parts))
        if child:
            state.tables[child.name] = replace(child, partition_of=None)
        return table
    if cursor.accept("ALTER"):
        cursor.accept("COLUMN")
        column_name = cursor.identifier().name
        found = table.column(column_name)
        if found is None:
            return table
        column = found
        if cursor.accept("SET", "NOT", "NULL"):
            column = replace(column, not_null=True)
        elif cursor.accept("DROP", "NOT", "NULL"):
            column = replace(column, not_null=False)
        elif cursor.accept("SET", "DEFAULT"):
            default_items = cursor.until(stop_puncts=(",",))
            column = replace(column, default=source_text(statement.file.text, default_items))
        elif cursor.accept("DROP", "DEFAULT"):
            column = replace(column, default=None)
        elif cursor.accept("SET", "DATA", "TYPE") or cursor.accept("TYPE"):
            type_items = cursor.until("USING", "COLLATE", stop_puncts=(",",))
            column = replace(
                column, type=normalize_type(source_text(statement.file.text, type_items))
            )
        return replace(
            table, columns=tuple(column if c.name == column_name else c for c in table.columns)
        )
    return table


def _rename_table(builder: CatalogBuilder, old: str, new: str) -> None:
    state = builder.state
    table = state.tables.pop(old)
    state.tables[new] = with_table_renamed(table, new)
    for name, other in list(state.tables.items()):
        if any(fk.ref_table == old for fk in other.foreign_keys):
            state.tables[name] = replace(
                other,
                foreign_keys=tuple(
                    replace(fk, ref_table=new) if fk.ref_table == old else fk
                    for fk in other.foreign_keys
                ),
            )
        if other.partition_of == old:
            state.tables[name] = replace(state.tables[name], partition_of=new)
    for key, trigger in list(state.triggers.items()):
        if trigger.table == old:
            del state.triggers[key]
            moved = replace(trigger, table=new)
            state.triggers[moved.key] = moved
    for key, rule in list(state.rules.items()):
        if rule.table == old:
            del state.rules[key]
            state.rules[f"{new}.{rule.name}"] = replace(rule, table=new)


def _rename_column(builder: CatalogBuilder, table_name: str, old: str, new: str) -> None:
    state = builder.state
    table = state.tables[table_name]

    def rename(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(new if n == old else n for n in names)

    state.tables[table_name] = replace(
        table,
        columns=tuple(replace(c, name=new) if c.name == old else c for c in table.columns),
        primary_key=rename(table.primary_key),
        unique=tuple(rename(u) for u in table.unique),
        foreign_keys=tuple(replace(fk, columns=rename(fk.columns)) for fk in table.foreign_keys),
    )
    for name, other in list(state.tables.items()):
        if any(fk.ref_table == table_name for fk in other.foreign_keys):
            state.tables[name] = replace(
                state.tables[name],
                foreign_keys=tuple(
                    replace(fk, ref_columns=rename(fk.ref_columns))
                    if fk.ref_table == table_name
                    else fk
                    for fk in state.tables[name].foreign_keys
                ),
            )
    for key, trigger in list(state.triggers.items()):
        if trigger.table == table_name and old in trigger.update_columns:
            state.triggers[key] = replace(trigger, update_columns=rename(trigger.update_columns))


def _alter_view(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("ALTER")
    cursor.accept("MATERIALIZED")
    cursor.expect("VIEW")
    cursor.accept("IF", "EXISTS")
    parts, _ = cursor.qualified_name()
    name = builder.relation_name(parts)
    if name not in builder.state.tables:
        return
    if cursor.accept("RENAME", "TO"):
        schema = name.split(".", 1)[0]
        _rename_table(builder, name, f"{schema}.{cursor.identifier().name}")
    elif cursor.accept("SET", "SCHEMA"):
        _rename_table(builder, name, f"{cursor.identifier().name}.{name.split('.', 1)[1]}")


# ---- DROP TABLE / VIEW / SCHEMA ----------------------------------------------------------


def _drop_relation(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP")
    cursor.accept("MATERIALIZED") or cursor.accept("FOREIGN")
    if not cursor.accept("TABLE"):
        cursor.expect("VIEW")
    if_exists = cursor.accept("IF", "EXISTS")
    names = [
        builder.relation_name([i.name for i in part if i.kind != "punct"])
        for part in split_top_level(cursor.until("CASCADE", "RESTRICT", stop_puncts=(";",)))
    ]
    for name in names:
        if name not in builder.state.tables:
            if not if_exists:
                builder._diagnose(statement, statement.start, f"DROP of unknown relation {name}")
            continue
        _drop_table(builder, name)


def _drop_table(builder: CatalogBuilder, name: str) -> None:
    state = builder.state
    del state.tables[name]
    for key in [k for k, t in state.triggers.items() if t.table == name]:
        del state.triggers[key]
    for key in [k for k, r in state.rules.items() if r.table == name]:
        del state.rules[key]
    for other_name, other in list(state.tables.items()):
        if any(fk.ref_table == name for fk in other.foreign_keys):
            state.tables[other_name] = replace(
                other, foreign_keys=tuple(fk for fk in other.foreign_keys if fk.ref_table != name)
            )


def _drop_schema(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP", "SCHEMA")
    cursor.accept("IF", "EXISTS")
    schemas = [
        part[0].name
        for part in split_top_level(cursor.until("CASCADE", "RESTRICT", stop_puncts=(";",)))
    ]
    if not cursor.accept("CASCADE"):
        return
    state = builder.state
    for schema in schemas:
        for name in [n for n in state.tables if n.split(".", 1)[0] == schema]:
            _drop_table(builder, name)
        for key in [k for k, f in state.functions.items() if f.name.split(".", 1)[0] == schema]:
            del state.functions[key]


# ---- CREATE FUNCTION / PROCEDURE -------------------------------------------------------


def _parse_argument(statement: Statement, items: list[Item]) -> Argument:
    cursor = Cursor(items, items[-1].token.end)
    mode = "in"
    for candidate in ("IN", "OUT", "INOUT", "VARIADIC"):
        if cursor.peek_word(candidate) and len(items) > 1:
            cursor.next()
            mode = candidate.lower()
            if mode == "in" and cursor.accept("OUT"):
                mode = "inout"
            break
    rest = cursor.items[cursor.index :]
    default = None
    for index, item in enumerate(rest):
        if (item.kind == "word" and item.upper == "DEFAULT") or (
            item.kind == "punct" and item.text == "="
        ):
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
            if (
                rest
                and rest[0].kind == "word"
                and rest[0].upper in {"IN", "OUT", "INOUT", "VARIADIC"}
            ):
                mode = rest[0].upper.lower()
                rest = rest[1:]
    if not rest:
        raise SyntaxProblem("argument without a type", items[0].token.start)
    return Argument(name, normalize_type(source_text(statement.file.text, rest)), mode, default)


def _body_of(statement: Statement, item: Item) -> tuple[str, int]:
    """Body text and the file offset of its first character."""
    raw = statement.file.text[item.token.start : item.token.end + 1]
    tag = _DOLLAR_TAG.match(raw)
    if tag and raw.endswith(tag.group()) and len(raw) >= 2 * len(tag.group()):
        skip = len(tag.group())
        return raw[skip : len(raw) - skip], item.token.start + skip
    return item.text, item.token.start + (2 if raw[:1] in "Ee" else 1)


def _search_path_values(values: list[Item]) -> tuple[str, ...]:
    path: list[str] = []
    for item in values:
        if item.kind == "punct":
            continue
        if item.kind == "string":
            path.extend(p.strip().strip('"') for p in item.text.split(",") if p.strip())
        else:
            path.append(item.name)
    return tuple(path)


def _function_options(statement: Statement, cursor: Cursor, values: dict[str, object]) -> None:
    while not cursor.done:
        if cursor.accept("LANGUAGE"):
            values["language"] = cursor.next().text.lower()
        elif cursor.accept("AS"):
            body_item = cursor.next()
            if body_item.kind != "string":
                raise SyntaxProblem("expected the function body", body_item.token.start)
            values["body"], values["body_start"] = _body_of(statement, body_item)
            if cursor.accept_punct(","):
                cursor.next()
        elif cursor.peek_word("BEGIN", "ATOMIC"):
            first = cursor.peek()
            assert first is not None
            last = cursor.items[-1]
            if last.kind == "punct" and last.text == ";":
                last = cursor.items[-2]
            values["body"] = statement.file.text[first.token.start : last.token.end + 1]
            values["body_start"] = first.token.start
            values["language"] = values.get("language") or "sql"
            cursor.index = len(cursor.items)
        elif cursor.peek_word("RETURN"):
            first = cursor.next()
            rest = cursor.until(stop_puncts=(";",))
            values["body"] = source_text(statement.file.text, [first, *rest])
            values["body_start"] = first.token.start
        elif cursor.accept("EXTERNAL", "SECURITY") or cursor.accept("SECURITY"):
            values["security_definer"] = cursor.next().upper == "DEFINER"
        elif cursor.accept("SET"):
            parameter = cursor.identifier().name
            if cursor.accept("FROM", "CURRENT"):
                continue
            if not cursor.accept("TO"):
                cursor.expect_punct("=")
            value_items = cursor.until(*_FUNCTION_OPTION_WORDS, stop_puncts=(";",))
            if parameter == "search_path":
                values["search_path"] = _search_path_values(value_items)
        elif cursor.accept("RESET"):
            parameter = cursor.identifier().name
            if parameter == "search_path" or parameter == "all":
                values["search_path"] = None
        elif cursor.accept("IMMUTABLE") or cursor.accept("STABLE") or cursor.accept("VOLATILE"):
            values["volatility"] = cursor.items[cursor.index - 1].upper.lower()
        elif cursor.accept("STRICT") or cursor.accept("RETURNS", "NULL", "ON", "NULL", "INPUT"):
            values["strict"] = True
        elif cursor.accept("CALLED", "ON", "NULL", "INPUT"):
            values["strict"] = False
        elif (
            cursor.accept("PARALLEL")
            or cursor.accept("COST")
            or cursor.accept("ROWS")
            or (cursor.accept("SUPPORT") or cursor.accept("OWNER", "TO"))
        ):
            cursor.next()
        elif (
            cursor.accept("NOT", "LEAKPROOF")
            or cursor.accept("LEAKPROOF")
            or cursor.accept("WINDOW")
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
    parts, _ = cursor.qualified_name()
    name = builder.new_object_name(parts)
    arguments = tuple(
        _parse_argument(statement, part) for part in split_top_level(cursor.skip_balanced())
    )
    returns = "void"
    if cursor.accept("RETURNS"):
        if cursor.accept("TABLE"):
            cursor.skip_balanced()
            returns = "table"
        else:
            setof = cursor.accept("SETOF")
            type_items = cursor.until(*_FUNCTION_OPTION_WORDS, stop_puncts=(";",))
            returns = ("setof " if setof else "") + normalize_type(
                source_text(statement.file.text, type_items)
            )
    values: dict[str, object] = {}
    _function_options(statement, cursor, values)
    body = values.get("body")
    body_start = values.get("body_start")
    body_location = None
    if isinstance(body, str) and isinstance(body_start, int):
        body_location = statement.file.location(body_start, body_start + max(len(body) - 1, 0))
    search_path = values.get("search_path")
    function = Function(
        name=name,
        arguments=arguments,
        returns=returns,
        language=str(values.get("language") or "sql"),
        body=body if isinstance(body, str) else None,
        location=statement.location,
        body_location=body_location,
        security_definer=bool(values.get("security_definer", False)),
        search_path=search_path if isinstance(search_path, tuple) else None,
        volatility=str(values.get("volatility", "volatile")),
        strict=bool(values.get("strict", False)),
        is_procedure=is_procedure,
        search_path_at_creation=builder.search_path,
    )
    existing = builder.state.functions.get(function.key)
    if existing and not replace_existing:
        builder._diagnose(
            statement, statement.start, f"function {function.key} already exists: ignored"
        )
        return
    builder.state.functions[function.key] = function


def _signature_key(
    builder: CatalogBuilder, statement: Statement, cursor: Cursor
) -> tuple[str, tuple[str, ...] | None]:
    parts, _ = cursor.qualified_name()
    name = builder.function_name(parts)
    if not cursor.peek_punct("("):
        return name, None
    arguments = [
        _parse_argument(statement, part) for part in split_top_level(cursor.skip_balanced())
    ]
    return name, tuple(a.type for a in arguments if a.mode in {"in", "inout", "variadic"})


def _matching_functions(
    builder: CatalogBuilder, name: str, types: tuple[str, ...] | None
) -> list[str]:
    if types is None:
        return [k for k, f in builder.state.functions.items() if f.name == name]
    key = f"{name}({','.join(types)})"
    return [key] if key in builder.state.functions else []


def _drop_function(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP")
    cursor.next()
    if_exists = cursor.accept("IF", "EXISTS")
    targets = split_top_level(cursor.until("CASCADE", "RESTRICT", stop_puncts=(";",)))
    cascade = cursor.accept("CASCADE")
    state = builder.state
    for target in targets:
        sub = Cursor(target, target[-1].token.end)
        name, types = _signature_key(builder, statement, sub)
        keys = _matching_functions(builder, name, types)
        if not keys:
            if not if_exists:
                builder._diagnose(
                    statement, target[0].token.start, f"DROP of unknown function {name}"
                )
            continue
        if len(keys) > 1:
            builder._diagnose(
                statement,
                target[0].token.start,
                f"function name {name} is not unique: every overload dropped",
            )
        for key in keys:
            dropped = state.functions.pop(key)
            if (
                cascade
                and not state.functions.get(key)
                and not any(f.name == dropped.name for f in state.functions.values())
            ):
                for trigger_key in [
                    k for k, t in state.triggers.items() if t.function == dropped.name
                ]:
                    del state.triggers[trigger_key]


def _alter_function(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("ALTER")
    cursor.next()
    name, types = _signature_key(builder, statement, cursor)
    keys = _matching_functions(builder, name, types)
    if not keys:
        builder._diagnose(statement, statement.start, f"ALTER of unknown function {name}")
        return
    state = builder.state
    for key in keys:
        function = state.functions.pop(key)
        probe = Cursor(cursor.items, cursor.end_offset)
        probe.index = cursor.index
        if probe.accept("RENAME", "TO"):
            function = replace(
                function, name=f"{function.name.split('.')[0]}.{probe.identifier().name}"
            )
        elif probe.accept("SET", "SCHEMA"):
            function = replace(
                function, name=f"{probe.identifier().name}.{function.name.split('.', 1)[1]}"
            )
        elif probe.peek_word("DEPENDS") or probe.peek_word("NO", "DEPENDS"):
            pass
        else:
            values: dict[str, object] = {
                "security_definer": function.security_definer,
                "search_path": function.search_path,
                "volatility": function.volatility,
                "strict": function.strict,
            }
            _function_options(statement, probe, values)
            search_path = values.get("search_path")
            function = replace(
                function,
                security_definer=bool(values["security_definer"]),
                search_path=search_path if isinstance(search_path, tuple) else None,
                volatility=str(values["volatility"]),
                strict=bool(values["strict"]),
            )
        old_name = key.split("(", 1)[0]
        if function.name != old_name and not function.input_types:
            # Triggers reference their function by identity: a rename carries them along.
            for trigger_key, trigger in list(state.triggers.items()):
                if trigger.function == old_name:
                    state.triggers[trigger_key] = replace(trigger, function=function.name)
        state.functions[function.key] = function


# ---- CREATE TRIGGER --------------------------------------------------------------------


def _create_trigger(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE")
    replace_existing = cursor.accept("OR", "REPLACE")
    constraint = cursor.accept("CONSTRAINT")
    cursor.expect("TRIGGER")
    name = cursor.identifier().name
    if cursor.accept("BEFORE"):
        timing = "before"
    elif cursor.accept("AFTER"):
        timing = "after"
    else:
        cursor.expect("INSTEAD", "OF")
        timing = "instead of"
    events: list[str] = []
    update_columns: list[str] = []
    while True:
        event = cursor.next()
        if event.upper not in {"INSERT", "UPDATE", "DELETE", "TRUNCATE"}:
            raise SyntaxProblem(f"unknown trigger event {event.text!r}", event.token.start)
        events.append(event.upper.lower())
        if event.upper == "UPDATE" and cursor.accept("OF"):
            update_columns.append(cursor.identifier().name)
            while cursor.accept_punct(","):
                update_columns.append(cursor.identifier().name)
        if not cursor.accept("OR"):
            break
    cursor.expect("ON")
    table_parts, _ = cursor.qualified_name()
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
                cursor.accept("TABLE") or cursor.accept("ROW")
                cursor.accept("AS")
                referencing.append((which, cursor.identifier().name))
        elif cursor.accept("FOR"):
            cursor.accept("EACH")
            level = "row" if cursor.next().upper == "ROW" else "statement"
        elif cursor.accept("WHEN"):
            condition = cursor.skip_balanced()
            when_text = source_text(statement.file.text, condition)
            when_expression = parse_expression(when_text)
        else:
            break
    cursor.expect("EXECUTE")
    if not cursor.accept("FUNCTION"):
        cursor.expect("PROCEDURE")
    function_parts, _ = cursor.qualified_name()
    arguments = tuple(
        item.text for part in split_top_level(cursor.skip_balanced()) for item in part[:1]
    )
    function = builder.function_name(function_parts)
    trigger = Trigger(
        name=name,
        table=table,
        timing=timing,
        events=tuple(events),
        level=level,
        function=function,
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
    if table not in state.tables:
        builder._diagnose(statement, statement.start, f"trigger {name} on unknown table {table}")
    existing = state.triggers.get(trigger.key)
    if existing and not replace_existing:
        builder._diagnose(
            statement, statement.start, f"trigger {name} on {table} already exists: ignored"
        )
        return
    if existing:
        trigger = replace(trigger, enabled=existing.enabled)
    state.triggers[trigger.key] = trigger


def _drop_trigger(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("DROP", "TRIGGER")
    if_exists = cursor.accept("IF", "EXISTS")
    name = cursor.identifier().name
    cursor.expect("ON")
    parts, _ = cursor.qualified_name()
    key = f"{builder.relation_name(parts)}.{name}"
    if builder.state.triggers.pop(key, None) is None and not if_exists:
        builder._diagnose(statement, statement.start, f"DROP of unknown trigger {key}")


def _alter_trigger(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("ALTER", "TRIGGER")
    name = cursor.identifier().name
    cursor.expect("ON")
    parts, _ = cursor.qualified_name()
    key = f"{builder.relation_name(parts)}.{name}"
    if not cursor.accept("RENAME", "TO"):
        return
    trigger = builder.state.triggers.pop(key, None)
    new_name = cursor.identifier().name
    if trigger is None:
        builder._diagnose(statement, statement.start, f"ALTER of unknown trigger {key}")
        return
    renamed = replace(trigger, name=new_name)
    builder.state.triggers[renamed.key] = renamed


# ---- RULE, EVENT TRIGGER, DO, SET ------------------------------------------------------


def _create_rule(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE")
    cursor.accept("OR", "REPLACE")
    cursor.expect("RULE")
    name = cursor.identifier().name
    cursor.expect("AS", "ON")
    event = cursor.next().upper.lower()
    cursor.expect("TO")
    parts, _ = cursor.qualified_name()
    table = builder.relation_name(parts)
    cursor.until("DO", stop_puncts=(";",))
    cursor.expect("DO")
    instead = cursor.accept("INSTEAD")
    cursor.accept("ALSO")
    actions = source_text(statement.file.text, cursor.until(stop_puncts=(";",)))
    rule = Rule(name, table, event, instead, actions, statement.location)
    builder.state.rules[f"{table}.{name}"] = rule


def _create_event_trigger(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE", "EVENT", "TRIGGER")
    name = cursor.identifier().name
    cursor.expect("ON")
    event = cursor.identifier().name
    cursor.until("EXECUTE", stop_puncts=(";",))
    cursor.expect("EXECUTE")
    cursor.next()
    parts, _ = cursor.qualified_name()
    builder.state.event_triggers[name] = EventTrigger(
        name, event, builder.function_name(parts), statement.location
    )


_DO_BODY = re.compile(
    r"(?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$)(?P<inner>.*?)(?P=dollar)|'(?P<quoted>(?:[^']|'')*)'",
    re.S,
)
_DO_LANGUAGE = re.compile(r"\blanguage\s+'?(\w+)", re.I)


def _do_block(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    """DO [LANGUAGE l] body [LANGUAGE l]: sqlglot swallows DO as a raw command, so read text."""
    text = statement.text
    found = _DO_BODY.search(text)
    if found is None:
        raise SyntaxProblem("DO without a body", statement.start)
    if found.group("dollar"):
        body, start = found.group("inner"), found.start("inner")
    else:
        body, start = found.group("quoted").replace("''", "'"), found.start("quoted")
    outside = text[: found.start()] + " " + text[found.end() :]
    language = _DO_LANGUAGE.search(outside)
    absolute = statement.start + start
    builder.state.blocks.append(
        AnonymousBlock(
            language.group(1).lower() if language else "plpgsql",
            body,
            statement.location,
            statement.file.location(absolute, absolute + max(len(body) - 1, 0)),
        )
    )


def _set_search_path(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("SET")
    cursor.accept("LOCAL") or cursor.accept("SESSION")
    if cursor.accept("SCHEMA"):
        builder.search_path = (cursor.next().text,)
        return
    cursor.expect("SEARCH_PATH")
    if not cursor.accept("TO"):
        cursor.expect_punct("=")
    if cursor.accept("DEFAULT"):
        builder.search_path = builder.default_search_path
        return
    path = _search_path_values(cursor.until(stop_puncts=(";",)))
    builder.search_path = path or builder.default_search_path


def _create_schema(builder: CatalogBuilder, statement: Statement, cursor: Cursor) -> None:
    cursor.expect("CREATE", "SCHEMA")
    cursor.accept("IF", "NOT", "EXISTS")
    if cursor.accept("AUTHORIZATION"):
        builder.state.schemas.add(cursor.identifier().name)
        return
    builder.state.schemas.add(cursor.identifier().name)


_HANDLERS = {
    "create_schema": _create_schema,
    "create_table": _create_table,
    "create_view": _create_view,
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
    "create_event_trigger": _create_event_trigger,
    "do": _do_block,
    "set_search_path": _set_search_path,
}


def build_catalog(
    files: Iterable[SourceFile],
    search_path: Sequence[str] = DEFAULT_SEARCH_PATH,
    diagnostics: Iterable[Diagnostic] = (),
) -> Catalog:
    builder = CatalogBuilder(search_path)
    builder.state.diagnostics.extend(diagnostics)
    for source in files:
        builder.add_file(source)
    return builder.catalog()
