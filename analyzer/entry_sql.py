"""`trace --sql`: read the entry from one DML statement or one function call."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from analyzer.cascade import TraceEntry
from analyzer.catalog import Catalog, Function, unknown_column
from analyzer.effects import conflict_update_guard, merge_actions
from analyzer.parse import parse_expression, split_statements
from analyzer.source import SourceFile


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


def _existing(catalog: Catalog, table: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """`columns`, when the table has them all (PostgreSQL rejects the statement otherwise)."""
    known = catalog.tables.get(table)
    problem = known and unknown_column(table, columns, [c.name for c in known.columns])
    if problem:
        raise EntryError(problem)
    return columns


def _set_columns(assignments: list[exp.Expr]) -> tuple[str, ...]:
    columns = []
    for assignment in assignments:
        if isinstance(assignment, exp.EQ):
            target = assignment.this
            identifier = target.this if isinstance(target, exp.Column) else target
            quoted = isinstance(identifier, exp.Identifier) and identifier.args.get("quoted")
            columns.append(target.name if quoted else target.name.lower())
    return tuple(columns)


def _function_call(tree: exp.Expr) -> tuple[tuple[str, ...], tuple[exp.Expr, ...]] | None:
    """`SELECT f(…)`, `SELECT schema.f(…)` or `SELECT * FROM f(…)`: name parts, arguments."""
    if not isinstance(tree, exp.Select) or tree.args.get("joins") or tree.args.get("where"):
        return None
    from_ = tree.args.get("from_")
    call: exp.Expr | None = None
    schema = None
    if from_ is None and len(tree.expressions) == 1:
        call = tree.expressions[0]
        if isinstance(call, exp.Dot):
            schema, call = call.this.name.lower(), call.expression
    elif from_ is not None and isinstance(from_.this, exp.Table):
        call = from_.this.this
        schema = from_.this.db.lower() or None
    if not isinstance(call, exp.Anonymous):
        return None
    name = str(call.this).lower()
    return ((schema, name) if schema else (name,)), tuple(call.expressions)


def entry_from_sql(
    catalog: Catalog, text: str, unchanged: bool = False, new_row: bool = False, rows: int = 1
) -> TraceEntry | CallEntry:
    source = SourceFile.from_text("--sql", text)
    statements, problems, _ = split_statements(source)
    if problems:
        raise EntryError(problems[0].message)
    if len(statements) != 1:
        raise EntryError(f"expected one statement, found {len(statements)}")
    stripped = statements[0].text.strip().rstrip(";")
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
                columns=_existing(catalog, table, _set_columns(conflict.expressions)),
                rows=rows,
                conflict_guard=None if guard.is_always else guard,
            )
        return TraceEntry(table, "upsert", new_row=new_row, do_nothing=True, rows=rows)
    if isinstance(tree, exp.Update):
        if not _set_columns(tree.expressions):
            raise EntryError("UPDATE without a SET list")
        table = _table_name(catalog, tree.this)
        return TraceEntry(
            table,
            "update",
            unchanged=unchanged,
            columns=_existing(catalog, table, _set_columns(tree.expressions)),
            rows=rows,
        )
    if isinstance(tree, exp.Delete):
        return TraceEntry(_table_name(catalog, tree.this), "delete", rows=rows)
    if isinstance(tree, exp.Merge):
        updates = [w.args["then"] for w in tree.find_all(exp.When)]
        columns = [
            c for u in updates if isinstance(u, exp.Update) for c in _set_columns(u.expressions)
        ]
        return TraceEntry(
            _table_name(catalog, tree.this),
            "merge",
            columns=tuple(dict.fromkeys(columns)) if columns else None,
            rows=rows,
            merge_actions=merge_actions(tree),
        )
    if isinstance(tree, exp.TruncateTable) and tree.expressions:
        cascade = str(tree.args.get("option") or "").upper() == "CASCADE"
        return TraceEntry(_table_name(catalog, tree.expressions[0]), "truncate", cascade=cascade)
    call = _function_call(tree)
    if call is not None:
        parts, arguments = call
        function = catalog.resolve_function(parts, len(arguments))
        if function is None:
            raise EntryError(f"function {'.'.join(parts)} is not in the schema")
        return CallEntry(function, arguments)
    raise EntryError(
        "expected one INSERT, UPDATE, DELETE, MERGE or TRUNCATE statement, or one function call"
    )
