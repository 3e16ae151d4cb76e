"""`trace --sql`: read the entry from one DML statement or one function call."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from analyzer.cascade import TraceEntry
from analyzer.catalog import Catalog, Function
from analyzer.effects import conflict_update_guard
from analyzer.parse import parse_expression


class EntryError(ValueError):
    """The text is not one DML statement or one call of a known function."""


@dataclass(frozen=True)
class CallEntry:
    function: Function
    arguments: tuple[exp.Expr, ...]


def _table_name(catalog: Catalog, node: exp.Expr | None) -> str:
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table):
        raise EntryError("cannot tell which table the statement writes")
    parts = [node.db.lower()] if node.db else []
    parts.append(node.name if node.this.quoted else node.name.lower())
    name = catalog.resolve_table(parts)
    if name not in catalog.tables:
        raise EntryError(f"table {name} is not in the schema")
    return name


def _set_columns(assignments: list[exp.Expr]) -> tuple[str, ...]:
    columns = []
    for assignment in assignments:
        if isinstance(assignment, exp.EQ):
            columns.append(assignment.this.name.lower())
    return tuple(columns)


def entry_from_sql(
    catalog: Catalog, text: str, unchanged: bool = False, new_row: bool = False, rows: int = 1
) -> TraceEntry | CallEntry:
    stripped = text.strip().rstrip(";")
    if stripped.lower().startswith("call "):
        stripped = "SELECT " + stripped[5:]
    tree = parse_expression(stripped)
    if tree is None:
        raise EntryError("not one SQL statement sqlglot can read")
    if isinstance(tree, exp.Insert):
        table = _table_name(catalog, tree.this)
        conflict = tree.args.get("conflict")
        if conflict is None:
            return TraceEntry(table, "insert", rows=rows)
        if conflict.expressions:
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            names = {table.split(".", 1)[1]}
            if isinstance(target, exp.Table) and target.alias:
                names.add(target.alias.lower())
            guard = conflict_update_guard(
                conflict.args.get("where"), names, catalog.tables.get(table)
            )
            return TraceEntry(
                table,
                "upsert",
                new_row=new_row,
                unchanged=unchanged,
                columns=_set_columns(conflict.expressions),
                rows=rows,
                conflict_guard=None if guard.is_always else guard,
            )
        return TraceEntry(table, "upsert", new_row=new_row, do_nothing=True, rows=rows)
    if isinstance(tree, exp.Update):
        return TraceEntry(
            _table_name(catalog, tree.this),
            "update",
            unchanged=unchanged,
            columns=_set_columns(tree.expressions),
            rows=rows,
        )
    if isinstance(tree, exp.Delete):
        return TraceEntry(_table_name(catalog, tree.this), "delete", rows=rows)
    if isinstance(tree, exp.Merge):
        return TraceEntry(_table_name(catalog, tree.this), "merge", rows=rows)
    if isinstance(tree, exp.TruncateTable) and tree.expressions:
        return TraceEntry(_table_name(catalog, tree.expressions[0]), "truncate")
    if isinstance(tree, exp.Select) and len(tree.expressions) == 1 and not tree.args.get("from_"):
        call = tree.expressions[0]
        schema = None
        if isinstance(call, exp.Dot):
            schema, call = call.this.name.lower(), call.expression
        if isinstance(call, exp.Anonymous):
            parts = (schema, str(call.this).lower()) if schema else (str(call.this).lower(),)
            function = catalog.resolve_function(parts, len(call.expressions))
            if function is None:
                raise EntryError(f"function {'.'.join(parts)} is not in the schema")
            return CallEntry(function, tuple(call.expressions))
    raise EntryError(
        "expected one INSERT, UPDATE, DELETE, MERGE or TRUNCATE statement, or one function call"
    )
