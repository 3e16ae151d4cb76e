"""Differential test: our catalog against what pglast's parse of the same files says.

pglast wraps PostgreSQL's own parser (libpg_query). A small applier below replays its parse
trees in order with PostgreSQL's semantics (search_path per file, OR REPLACE, DROP …
CASCADE, renames, ENABLE/DISABLE, partition clones) and the test compares tables
(columns, foreign keys with actions), functions (name, language, security definer,
search_path, arguments, result) and triggers (every attribute), plus where each top-level
statement starts. The applier shares no code with the analyzer: type names are normalised
from pglast's TypeName here, independently of analyzer.types.

DO blocks and routines called with constants (CALL, SELECT f(…)) are run on this side too,
through pglast's PL/pgSQL parser: static DDL, and EXECUTE of strings built from literals,
`||`, format() and replace(). Objects they make are compared like the others, except for
their location, which this side does not track.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

pglast = pytest.importorskip("pglast", reason="pglast (a test extra) is not installed")
from pglast import ast, parse_plpgsql, parse_sql  # noqa: E402
from pglast.enums import (  # noqa: E402
    AlterTableType,
    ConstrType,
    DropBehavior,
    FunctionParameterMode,
    ObjectType,
    VariableSetKind,
)

from analyzer.catalog import Catalog  # noqa: E402
from analyzer.findings import Location  # noqa: E402
from analyzer.loader import load  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CASE_FOLDERS = sorted(
    {p.parent for p in (ROOT / "fixtures").glob("*/*.sql")}
    | {p.parent for p in (ROOT / "tests" / "catalog_cases").glob("*.sql")}
)

# ---- type names ---------------------------------------------------------------------------

_BUILTIN_TYPES = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "bpchar": "character",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp",
    "timetz": "time with time zone",
    "time": "time",
    "numeric": "numeric",
    "interval": "interval",
    "bit": "bit",
    "varbit": "bit varying",
    "char": '"char"',
}
_SERIALS = {
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
    "smallserial": "smallint",
    "serial2": "smallint",
}


def type_name(node: ast.TypeName, tables: dict[str, PgTable] | None = None) -> str:
    names = [n.sval for n in node.names]
    if node.pct_type and tables is not None:
        *relation, column = names
        table = tables.get(".".join(relation[-2:]))
        if table is not None and column in table.columns:
            return table.columns[column]
    if names[0] == "pg_catalog" and len(names) == 2:
        base = _BUILTIN_TYPES.get(names[1], names[1])
    elif len(names) == 1:
        base = _SERIALS.get(names[0], names[0])
        base = _BUILTIN_TYPES.get(base, base)
    else:
        base = ".".join(names)
    if node.pct_type:
        base = ".".join(names) + "%type"
    return base + ("[]" if node.arrayBounds else "")


# ---- the applier ----------------------------------------------------------------------------


@dataclass
class PgTable:
    name: str
    relkind: str
    columns: dict[str, str] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    foreign_keys: list[tuple[str, ...]] = field(default_factory=list)
    partition_of: str | None = None
    inherits: tuple[str, ...] = ()
    line: int = 0
    column: int = 0
    from_query: bool = False  # views and CREATE TABLE AS: columns come from a query


@dataclass
class PgFunction:
    name: str
    arguments: tuple[tuple[str | None, str, str], ...]
    returns: str
    language: str
    security_definer: bool
    search_path: tuple[str, ...] | None
    is_procedure: bool
    line: int
    column: int
    body: str | None = None
    parameters: tuple[ast.FunctionParameter, ...] = ()

    @property
    def key(self) -> str:
        inputs = [t for _, t, mode in self.arguments if mode in {"in", "inout", "variadic"}]
        return f"{self.name}({','.join(inputs)})"


@dataclass
class PgTrigger:
    name: str
    table: str
    timing: str
    events: tuple[str, ...]
    level: str
    function: str
    update_columns: tuple[str, ...]
    has_when: bool
    arguments: tuple[str, ...]
    constraint: bool
    deferrable: bool
    initially_deferred: bool
    referencing: tuple[tuple[str, str], ...]
    enabled: str
    parent: str | None
    line: int
    column: int


_FK_ACTIONS = {
    "a": "no action",
    "r": "restrict",
    "c": "cascade",
    "n": "set null",
    "d": "set default",
}
_MODES = {
    FunctionParameterMode.FUNC_PARAM_IN: "in",
    FunctionParameterMode.FUNC_PARAM_DEFAULT: "in",
    FunctionParameterMode.FUNC_PARAM_OUT: "out",
    FunctionParameterMode.FUNC_PARAM_INOUT: "inout",
    FunctionParameterMode.FUNC_PARAM_VARIADIC: "variadic",
    FunctionParameterMode.FUNC_PARAM_TABLE: "table",
}
_ENABLE = {
    AlterTableType.AT_EnableTrig: "origin",
    AlterTableType.AT_EnableAlwaysTrig: "always",
    AlterTableType.AT_EnableReplicaTrig: "replica",
    AlterTableType.AT_DisableTrig: "disabled",
    AlterTableType.AT_EnableTrigAll: "origin",
    AlterTableType.AT_DisableTrigAll: "disabled",
    AlterTableType.AT_EnableTrigUser: "origin",
    AlterTableType.AT_DisableTrigUser: "disabled",
}
_PG_CATALOG_TRIGGER_FUNCTIONS = {"suppress_redundant_updates_trigger", "tsvector_update_trigger"}


class Applier:
    def __init__(self) -> None:
        self.tables: dict[str, PgTable] = {}
        self.functions: dict[str, PgFunction] = {}
        self.triggers: dict[str, PgTrigger] = {}
        self.schemas = {"public"}
        self.path: list[str] = ["public"]
        self.text = ""

    # -- names
    def schemas_in_path(self) -> list[str]:
        return [s for s in self.path if s and s not in {"$user", "pg_catalog", "pg_temp"}]

    def relation(self, node: ast.RangeVar) -> str:
        if node.schemaname:
            return f"{node.schemaname}.{node.relname}"
        for schema in self.schemas_in_path():
            if f"{schema}.{node.relname}" in self.tables:
                return f"{schema}.{node.relname}"
        path = self.schemas_in_path()
        return f"{path[0] if path else 'public'}.{node.relname}"

    def new_relation(self, node: ast.RangeVar) -> str:
        if node.schemaname:
            return f"{node.schemaname}.{node.relname}"
        path = self.schemas_in_path()
        schema = next((s for s in path if s in self.schemas), path[0] if path else None)
        if schema is None:
            raise LookupError("no schema to create in")
        return f"{schema}.{node.relname}"

    def function_name(self, names: list[str], creating: bool = False) -> str:
        if len(names) > 1:
            return f"{names[-2]}.{names[-1]}"
        if creating:
            path = self.schemas_in_path()
            return f"{next((s for s in path if s in self.schemas), path[0])}.{names[0]}"
        if names[0] in _PG_CATALOG_TRIGGER_FUNCTIONS:
            return f"pg_catalog.{names[0]}"
        for schema in self.schemas_in_path():
            if any(f.name == f"{schema}.{names[0]}" for f in self.functions.values()):
                return f"{schema}.{names[0]}"
        return f"{self.schemas_in_path()[0]}.{names[0]}"

    def position(self, offset: int) -> tuple[int, int]:
        before = self.text[:offset]
        return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1

    # -- statements
    def apply(self, statement: Any, where: tuple[int, int]) -> None:
        """Apply a statement; `where` is (0, 0) for one that a DO block or routine runs."""
        handler = getattr(self, f"on_{type(statement).__name__}", None)
        if handler is not None:
            with contextlib.suppress(LookupError, KeyError):  # PostgreSQL would refuse it
                handler(statement, where)

    # -- PL/pgSQL, just enough to run the DDL of DO blocks and routines called with constants
    def run_plpgsql(
        self, body: str, env: dict[str, str | None], depth: int = 0, returns: str = "void"
    ) -> None:
        if depth > 8:
            return
        tag = "$pglast_body$"
        returns = "SETOF record" if returns == "table" else returns
        (function,) = parse_plpgsql(
            f"CREATE FUNCTION pg_temp.run() RETURNS {returns} LANGUAGE plpgsql AS {tag}{body}{tag}"
        )
        tree = function["PLpgSQL_function"]
        datums = [d.get("PLpgSQL_var", {}) for d in tree["datums"]]
        assigned = {datums[n]["refname"] for n in _find_all(tree["action"], "varno")}
        env = {k: v for k, v in env.items() if k not in assigned}
        for datum in datums:
            default = datum.get("default_val")
            if default is not None and datum["refname"] not in assigned:
                env[datum["refname"]] = self.fold_text(default["PLpgSQL_expr"]["query"], env)
        self.walk(tree["action"], env, depth)

    def walk(self, node: Any, env: dict[str, str | None], depth: int) -> None:
        if isinstance(node, list):
            for item in node:
                self.walk(item, env, depth)
            return
        if not isinstance(node, dict):
            return
        for kind, value in node.items():
            if kind == "PLpgSQL_stmt_execsql":
                self.run_text(value["sqlstmt"]["PLpgSQL_expr"]["query"], env, depth)
            elif kind == "PLpgSQL_stmt_dynexecute":
                text = self.fold_text(value["query"]["PLpgSQL_expr"]["query"], env)
                if text is not None:
                    self.run_text(text, env, depth)
            elif kind == "PLpgSQL_stmt_perform":
                self.run_text("SELECT " + value["expr"]["PLpgSQL_expr"]["query"], env, depth)
            elif kind == "PLpgSQL_stmt_call":
                self.run_text(value["expr"]["PLpgSQL_expr"]["query"], env, depth)
            elif kind != "exceptions":
                self.walk(value, env, depth)

    def run_text(self, text: str, env: dict[str, str | None], depth: int) -> None:
        for raw in parse_sql(text):
            statement = raw.stmt
            if isinstance(statement, ast.CallStmt):
                self.call(statement.funccall, env, depth)
            elif isinstance(statement, ast.SelectStmt) and self.single_call(statement):
                self.call(statement.targetList[0].val, env, depth)
            else:
                self.apply(statement, (0, 0))

    @staticmethod
    def single_call(node: ast.SelectStmt) -> bool:
        targets = node.targetList or ()
        return (
            len(targets) == 1 and isinstance(targets[0].val, ast.FuncCall) and not node.fromClause
        )

    def call(self, call: ast.FuncCall, env: dict[str, str | None], depth: int) -> None:
        name = self.function_name([n.sval for n in call.funcname])
        arguments = list(call.args or ())
        found = [
            f
            for f in self.functions.values()
            if f.name == name and f.language == "plpgsql" and f.body is not None
        ]
        if len(found) != 1:
            return
        function = found[0]
        inputs = [p for p in function.parameters if _MODES[p.mode] in {"in", "inout", "variadic"}]
        bindings: dict[str, str | None] = {}
        named = {a.name: a.arg for a in arguments if isinstance(a, ast.NamedArgExpr)}
        positional = [a for a in arguments if not isinstance(a, ast.NamedArgExpr)]
        for index, parameter in enumerate(inputs):
            node = positional[index] if index < len(positional) else named.get(parameter.name)
            node = node if node is not None else parameter.defexpr
            value = self.fold(node, env) if node is not None else None
            bindings[f"${index + 1}"] = value
            if parameter.name:
                bindings[parameter.name] = value
        assert function.body is not None
        self.run_plpgsql(function.body, bindings, depth + 1, function.returns)

    def fold_text(self, expression: str, env: dict[str, str | None]) -> str | None:
        (raw,) = parse_sql(f"SELECT {expression}")
        return self.fold(raw.stmt.targetList[0].val, env)

    def fold(self, node: Any, env: dict[str, str | None]) -> str | None:
        """The value of a constant text expression, None when it is not constant."""
        if isinstance(node, ast.A_Const):
            value = node.val
            return None if node.isnull else str(getattr(value, "sval", None) or value.ival)
        if isinstance(node, ast.TypeCast):
            return self.fold(node.arg, env)
        if isinstance(node, ast.ColumnRef) and len(node.fields) == 1:
            return env.get(node.fields[0].sval)
        if isinstance(node, ast.ParamRef):
            return env.get(f"${node.number}")
        if isinstance(node, ast.A_Expr) and [n.sval for n in node.name] == ["||"]:
            left, right = self.fold(node.lexpr, env), self.fold(node.rexpr, env)
            return None if left is None or right is None else left + right
        if isinstance(node, ast.FuncCall):
            name = [n.sval for n in node.funcname][-1]
            values = [self.fold(a, env) for a in node.args or ()]
            if None in values:
                return None
            texts = [v for v in values if v is not None]
            if name == "format":
                return _format(texts[0], texts[1:])
            if name == "replace" and len(texts) == 3:
                return texts[0].replace(texts[1], texts[2])
            if name == "quote_ident" and len(texts) == 1:
                return _quote_ident(texts[0])
            if name == "quote_literal" and len(texts) == 1:
                return "'" + texts[0].replace("'", "''") + "'"
        return None

    def on_CreateSchemaStmt(self, node: ast.CreateSchemaStmt, where: tuple[int, int]) -> None:
        self.schemas.add(node.schemaname or node.authrole.rolename)

    def on_VariableSetStmt(self, node: ast.VariableSetStmt, where: tuple[int, int]) -> None:
        if node.name != "search_path":
            return
        if node.kind == VariableSetKind.VAR_SET_VALUE:
            self.path = [a.val.sval for a in node.args]
        else:
            self.path = ["public"]

    def on_SelectStmt(self, node: ast.SelectStmt, where: tuple[int, int]) -> None:
        if not self.single_call(node):
            return
        call = node.targetList[0].val
        if [n.sval for n in call.funcname][-1] != "set_config":
            self.call(call, {}, 0)
            return
        setting, value = call.args[0], call.args[1]
        if isinstance(setting, ast.A_Const) and setting.val.sval == "search_path":
            self.path = [p.strip().strip('"') for p in value.val.sval.split(",") if p.strip()]

    def on_CallStmt(self, node: ast.CallStmt, where: tuple[int, int]) -> None:
        self.call(node.funccall, {}, 0)

    def on_DoStmt(self, node: ast.DoStmt, where: tuple[int, int]) -> None:
        options = {a.defname: a.arg.sval for a in node.args}
        if options.get("language", "plpgsql") == "plpgsql":
            self.run_plpgsql(options["as"], {})

    def on_CreateStmt(self, node: ast.CreateStmt, where: tuple[int, int]) -> None:
        if node.relation.relpersistence == "t" and not node.relation.schemaname:
            name = f"pg_temp.{node.relation.relname}"
        else:
            name = self.new_relation(node.relation)
        if name in self.tables:
            return
        table = PgTable(
            name, "partitioned" if node.partspec else "table", line=where[0], column=where[1]
        )
        if node.partbound is not None:
            parent = self.tables[self.relation(node.inhRelations[0])]
            table.partition_of = parent.name
            table.columns = dict(parent.columns)
            table.primary_key = parent.primary_key
            table.foreign_keys = [(*fk[:1], name, *fk[2:]) for fk in parent.foreign_keys]
        elif node.inhRelations:
            table.inherits = tuple(self.relation(r) for r in node.inhRelations)
            for parent in table.inherits:
                for column, type_ in self.tables[parent].columns.items():
                    table.columns.setdefault(column, type_)
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                if element.typeName is not None:
                    table.columns[element.colname] = type_name(element.typeName, self.tables)
                for constraint in element.constraints or ():
                    self.constraint(table, constraint, (element.colname,))
            elif isinstance(element, ast.Constraint):
                self.constraint(table, element, ())
            elif isinstance(element, ast.TableLikeClause):
                source = self.tables[self.relation(element.relation)]
                table.columns.update(source.columns)
        for index, fk in enumerate(table.foreign_keys):
            if fk[3] == name and not fk[4]:
                table.foreign_keys[index] = (*fk[:4], table.primary_key, *fk[5:])
        self.tables[name] = table
        if table.partition_of is not None:
            self.clone_row_triggers(table.partition_of, name)

    def constraint(self, table: PgTable, node: ast.Constraint, column: tuple[str, ...]) -> None:
        if node.contype == ConstrType.CONSTR_PRIMARY:
            table.primary_key = tuple(k.sval for k in node.keys) if node.keys else column
        elif node.contype == ConstrType.CONSTR_FOREIGN:
            columns = tuple(k.sval for k in node.fk_attrs) if node.fk_attrs else column
            target = self.relation(node.pktable)
            ref_columns = tuple(k.sval for k in node.pk_attrs or ())
            if not ref_columns and target in self.tables:
                ref_columns = self.tables[target].primary_key
            table.foreign_keys.append(
                (
                    "fk",
                    table.name,
                    columns,
                    target,
                    ref_columns,
                    _FK_ACTIONS[node.fk_del_action],
                    _FK_ACTIONS[node.fk_upd_action],
                )
            )

    def on_ViewStmt(self, node: ast.ViewStmt, where: tuple[int, int]) -> None:
        name = self.new_relation(node.view)
        if name not in self.tables or node.replace:
            existing = self.tables.get(name)
            self.tables[name] = PgTable(
                name, "view", line=where[0], column=where[1], from_query=True
            )
            if existing is not None:
                self.tables[name].line, self.tables[name].column = where

    def on_CreateTableAsStmt(self, node: ast.CreateTableAsStmt, where: tuple[int, int]) -> None:
        name = self.new_relation(node.into.rel)
        kind = "materialized view" if node.objtype == ObjectType.OBJECT_MATVIEW else "table"
        if name not in self.tables:
            self.tables[name] = PgTable(name, kind, line=where[0], column=where[1], from_query=True)

    def on_AlterTableStmt(self, node: ast.AlterTableStmt, where: tuple[int, int]) -> None:
        name = self.relation(node.relation)
        if name not in self.tables:
            return
        table = self.tables[name]
        # column changes reach inheritance children and partitions unless ONLY is written
        family = [table]
        if node.relation.inh:
            family += [
                t for t in self.tables.values() if t.partition_of == name or name in t.inherits
            ]
        for command in node.cmds:
            subtype = command.subtype
            if subtype == AlterTableType.AT_AddColumn:
                definition = command.def_
                if definition.colname not in table.columns:
                    for member in family:
                        member.columns.setdefault(
                            definition.colname, type_name(definition.typeName, self.tables)
                        )
                    for constraint in definition.constraints or ():
                        self.constraint(table, constraint, (definition.colname,))
            elif subtype == AlterTableType.AT_DropColumn:
                for member in family:
                    member.columns.pop(command.name, None)
                    member.foreign_keys = [
                        fk for fk in member.foreign_keys if command.name not in fk[2]
                    ]
            elif subtype == AlterTableType.AT_AlterColumnType:
                table.columns[command.name] = type_name(command.def_.typeName, self.tables)
            elif subtype == AlterTableType.AT_AddConstraint:
                self.constraint(table, command.def_, ())
            elif subtype in _ENABLE:
                self.enable(table.name, command.name, subtype, node.relation.inh)
            elif subtype == AlterTableType.AT_AttachPartition:
                child = self.tables[self.relation(command.def_.name)]
                child.partition_of = name
                child.primary_key = child.primary_key or table.primary_key
                child.foreign_keys += [(fk[0], child.name, *fk[2:]) for fk in table.foreign_keys]
                self.clone_row_triggers(name, child.name)

    def enable(self, table: str, name: str | None, subtype: AlterTableType, recurse: bool) -> None:
        every = subtype in {
            AlterTableType.AT_EnableTrigAll,
            AlterTableType.AT_DisableTrigAll,
            AlterTableType.AT_EnableTrigUser,
            AlterTableType.AT_DisableTrigUser,
        }
        for key, trigger in self.triggers.items():
            if trigger.table == table and (every or trigger.name == name):
                trigger.enabled = _ENABLE[subtype]
                if recurse:
                    for clone in self.triggers.values():
                        if clone.parent == key:
                            clone.enabled = _ENABLE[subtype]

    def on_RenameStmt(self, node: ast.RenameStmt, where: tuple[int, int]) -> None:
        kind = node.renameType
        if kind == ObjectType.OBJECT_TABLE:
            old = self.relation(node.relation)
            new = f"{old.split('.')[0]}.{node.newname}"
            self.move_table(old, new)
        elif kind == ObjectType.OBJECT_COLUMN:
            table = self.tables[self.relation(node.relation)]
            table.columns = {
                (node.newname if c == node.subname else c): t for c, t in table.columns.items()
            }

            def renamed(names: tuple[str, ...]) -> tuple[str, ...]:
                return tuple(node.newname if n == node.subname else n for n in names)

            table.primary_key = renamed(table.primary_key)
            for other in self.tables.values():
                other.foreign_keys = [
                    (
                        fk[0],
                        fk[1],
                        renamed(fk[2]) if fk[1] == table.name else fk[2],
                        fk[3],
                        renamed(fk[4]) if fk[3] == table.name else fk[4],
                        *fk[5:],
                    )
                    for fk in other.foreign_keys
                ]
            for trigger in self.triggers.values():
                if trigger.table == table.name:
                    trigger.update_columns = renamed(trigger.update_columns)
        elif kind == ObjectType.OBJECT_TRIGGER:
            table = self.relation(node.relation)
            for key in [
                k for k, t in self.triggers.items() if t.table == table and t.name == node.subname
            ]:
                self.rename_trigger(key, node.newname)
        elif kind in {
            ObjectType.OBJECT_FUNCTION,
            ObjectType.OBJECT_PROCEDURE,
            ObjectType.OBJECT_ROUTINE,
        }:
            function = self.find_function(node.object)
            if function is not None:
                self.move_function(function, f"{function.name.split('.')[0]}.{node.newname}")

    def rename_trigger(self, key: str, new_name: str) -> None:
        trigger = self.triggers.pop(key)
        trigger.name = new_name
        new_key = f"{trigger.table}.{new_name}"
        self.triggers[new_key] = trigger
        for clone_key, clone in list(self.triggers.items()):
            if clone.parent == key:
                clone.parent = new_key
                self.rename_trigger(clone_key, new_name)

    def on_AlterObjectSchemaStmt(
        self, node: ast.AlterObjectSchemaStmt, where: tuple[int, int]
    ) -> None:
        if node.objectType == ObjectType.OBJECT_TABLE:
            old = self.relation(node.relation)
            self.move_table(old, f"{node.newschema}.{old.split('.', 1)[1]}")
        elif node.objectType in {ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE}:
            function = self.find_function(node.object)
            if function is not None:
                self.move_function(function, f"{node.newschema}.{function.name.split('.', 1)[1]}")

    def move_table(self, old: str, new: str) -> None:
        table = self.tables.pop(old)
        table.name = new
        table.foreign_keys = [(fk[0], new, *fk[2:]) for fk in table.foreign_keys]
        self.tables[new] = table
        for other in self.tables.values():
            other.foreign_keys = [
                (*fk[:3], new if fk[3] == old else fk[3], *fk[4:]) for fk in other.foreign_keys
            ]
            if other.partition_of == old:
                other.partition_of = new
        for key, trigger in list(self.triggers.items()):
            if trigger.parent is not None and trigger.parent.startswith(old + "."):
                trigger.parent = new + trigger.parent[len(old) :]
            if trigger.table == old:
                del self.triggers[key]
                trigger.table = new
                self.triggers[f"{new}.{trigger.name}"] = trigger

    def move_function(self, function: PgFunction, new_name: str) -> None:
        del self.functions[function.key]
        old_name = function.name
        function.name = new_name
        self.functions[function.key] = function
        if not any(mode != "out" and mode != "table" for _, _, mode in function.arguments):
            for trigger in self.triggers.values():
                if trigger.function == old_name:
                    trigger.function = new_name

    def find_function(self, node: ast.ObjectWithArgs) -> PgFunction | None:
        name = self.function_name([n.sval for n in node.objname])
        if node.args_unspecified:
            found = [f for f in self.functions.values() if f.name == name]
            return found[0] if len(found) == 1 else None
        types = [type_name(a, self.tables) for a in node.objargs or ()]
        return self.functions.get(f"{name}({','.join(types)})")

    def on_DropStmt(self, node: ast.DropStmt, where: tuple[int, int]) -> None:
        cascade = node.behavior == DropBehavior.DROP_CASCADE
        kind = node.removeType
        if kind in {ObjectType.OBJECT_TABLE, ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW}:
            names = [self.function_name([n.sval for n in obj]) for obj in node.objects]
            names = [n for n in names if n in self.tables]
            dropped = set(names)
            dropped |= {t.name for t in self.tables.values() if t.partition_of in dropped}
            outside = [
                fk
                for t in self.tables.values()
                if t.name not in dropped
                for fk in t.foreign_keys
                if fk[3] in dropped
            ]
            if outside and not cascade:
                return
            for name in dropped:
                del self.tables[name]
            for table in self.tables.values():
                table.foreign_keys = [fk for fk in table.foreign_keys if fk[3] not in dropped]
            self.triggers = {k: t for k, t in self.triggers.items() if t.table not in dropped}
        elif kind in {
            ObjectType.OBJECT_FUNCTION,
            ObjectType.OBJECT_PROCEDURE,
            ObjectType.OBJECT_ROUTINE,
        }:
            targets = [self.find_function(obj) for obj in node.objects]
            found = [f for f in targets if f is not None]
            users = [t for t in self.triggers.values() if any(t.function == f.name for f in found)]
            if users and not cascade:
                return
            for function in found:
                del self.functions[function.key]
            self.triggers = {k: t for k, t in self.triggers.items() if t not in users}
        elif kind == ObjectType.OBJECT_TRIGGER:
            for obj in node.objects:
                *table_parts, trigger_name = [n.sval for n in obj]
                table = (
                    self.function_name(table_parts)
                    if len(table_parts) > 1
                    else self.relation(ast.RangeVar(relname=table_parts[0]))
                )
                key = f"{table}.{trigger_name}"
                if key in self.triggers:
                    clones = [k for k, t in self.triggers.items() if t.parent == key]
                    for gone in [key, *clones]:
                        del self.triggers[gone]

    def on_CreateFunctionStmt(self, node: ast.CreateFunctionStmt, where: tuple[int, int]) -> None:
        name = self.function_name([n.sval for n in node.funcname], creating=True)
        arguments = []
        table_columns = []
        for parameter in node.parameters or ():
            mode = _MODES[parameter.mode]
            entry = (parameter.name, type_name(parameter.argType, self.tables), mode)
            (table_columns if mode == "table" else arguments).append(entry)
        options = {o.defname: o for o in node.options or ()}
        language = options["language"].arg.sval.lower() if "language" in options else "sql"
        security = bool(options["security"].arg.boolval) if "security" in options else False
        search_path: tuple[str, ...] | None = None
        for option in node.options or ():
            if option.defname == "set" and option.arg.name == "search_path":
                search_path = self.configured_path(option.arg)
        outputs = [t for _, t, m in arguments if m in {"out", "inout"}]
        if table_columns:
            returns = "table"
        elif node.returnType is not None:
            returns = ("setof " if node.returnType.setof else "") + type_name(
                node.returnType, self.tables
            )
        elif outputs:
            returns = "record" if len(outputs) > 1 or node.is_procedure else outputs[0]
        else:
            returns = "void"
        function = PgFunction(
            name,
            tuple(arguments),
            returns,
            language,
            security,
            search_path,
            bool(node.is_procedure),
            *where,
            body=options["as"].arg[0].sval if "as" in options else None,
            parameters=tuple(node.parameters or ()),
        )
        if function.key in self.functions and not node.replace:
            return
        self.functions[function.key] = function

    def configured_path(self, setting: ast.VariableSetStmt) -> tuple[str, ...] | None:
        if setting.kind == VariableSetKind.VAR_SET_CURRENT:
            return tuple(s for s in self.path if s)
        if setting.kind != VariableSetKind.VAR_SET_VALUE:
            return None
        return tuple(a.val.sval for a in setting.args if a.val.sval)

    def on_AlterFunctionStmt(self, node: ast.AlterFunctionStmt, where: tuple[int, int]) -> None:
        function = self.find_function(node.func)
        if function is None:
            return
        for action in node.actions:
            if action.defname == "security":
                function.security_definer = bool(action.arg.boolval)
            elif action.defname == "set" and action.arg.name in {"search_path", None}:
                if action.arg.kind == VariableSetKind.VAR_RESET_ALL or (
                    action.arg.kind == VariableSetKind.VAR_RESET
                ):
                    function.search_path = None
                else:
                    function.search_path = self.configured_path(action.arg)

    def on_CreateTrigStmt(self, node: ast.CreateTrigStmt, where: tuple[int, int]) -> None:
        table = self.relation(node.relation)
        timing = "before" if node.timing & 2 else "instead of" if node.timing & 64 else "after"
        events = tuple(
            e
            for bit, e in ((4, "insert"), (16, "update"), (8, "delete"), (32, "truncate"))
            if node.events & bit
        )
        arguments = tuple(a.sval for a in node.args or ())
        trigger = PgTrigger(
            name=node.trigname,
            table=table,
            timing=timing,
            events=events,
            level="row" if node.row else "statement",
            function=self.function_name([n.sval for n in node.funcname]),
            update_columns=tuple(c.sval for c in node.columns or ()),
            has_when=node.whenClause is not None,
            arguments=arguments,
            constraint=bool(node.isconstraint),
            deferrable=bool(node.deferrable),
            initially_deferred=bool(node.initdeferred),
            referencing=tuple(
                ("new" if r.isNew else "old", r.name) for r in node.transitionRels or ()
            ),
            enabled="origin",
            parent=None,
            line=where[0],
            column=where[1],
        )
        key = f"{table}.{node.trigname}"
        if key in self.triggers and not node.replace:
            return
        self.triggers[key] = trigger
        target = self.tables.get(table)
        if target is not None and target.relkind == "partitioned" and trigger.level == "row":
            for child in [t.name for t in self.tables.values() if t.partition_of == table]:
                self.clone_row_triggers(table, child, only=key)

    def clone_row_triggers(self, parent: str, child: str, only: str | None = None) -> None:
        for key, trigger in list(self.triggers.items()):
            if trigger.table != parent or trigger.level != "row" or (only and key != only):
                continue
            clone_key = f"{child}.{trigger.name}"
            if clone_key not in self.triggers:
                self.triggers[clone_key] = replace(trigger, table=child, parent=key)
                if self.tables[child].relkind == "partitioned":
                    for grandchild in [
                        t.name for t in self.tables.values() if t.partition_of == child
                    ]:
                        self.clone_row_triggers(child, grandchild, only=clone_key)


def _find_all(node: Any, key: str) -> list[Any]:
    """Every value of `key` in a JSON tree, for assignment targets (varno)."""
    if isinstance(node, list):
        return [v for item in node for v in _find_all(item, key)]
    if not isinstance(node, dict):
        return []
    found = []
    for name, value in node.items():
        if name == "PLpgSQL_stmt_assign":
            found.append(value[key])
        found.extend(_find_all(value, key))
    return found


def _quote_ident(text: str) -> str:
    return text if re.fullmatch(r"[a-z_][a-z0-9_]*", text) else '"' + text.replace('"', '""') + '"'


def _format(template: str, values: list[str]) -> str | None:
    """format() with %s, %I, %L and %n$ positions."""
    position = 0

    def substitute(match: re.Match[str]) -> str:
        nonlocal position
        if match.group(3) == "%":
            return "%"
        index = int(match.group(1)) - 1 if match.group(1) else position
        position = index + 1
        value = values[index]
        if match.group(3) == "I":
            return _quote_ident(value)
        if match.group(3) == "L":
            return "'" + value.replace("'", "''") + "'"
        return value

    try:
        return re.sub(r"%(?:(\d+)\$)?(-?\d*)([sIL%])", substitute, template)
    except IndexError:
        return None


# ---- running both sides ---------------------------------------------------------------------

_META_LINE = re.compile(r"^[ \t]*\\.*$", re.M)


def pglast_statements(text: str) -> list[Any]:
    """Parse a file with pglast; psql meta-command lines are blanked first."""
    blanked = _META_LINE.sub(lambda m: " " * len(m.group()), text)
    return list(parse_sql(blanked))


def first_token_offset(text: str, offset: int) -> int:
    while True:
        stripped = len(text) - len(text[offset:].lstrip())
        offset = max(offset, stripped) if text[offset : offset + 1].isspace() else offset
        while offset < len(text) and text[offset].isspace():
            offset += 1
        if text.startswith("--", offset):
            offset = text.find("\n", offset) if "\n" in text[offset:] else len(text)
        elif text.startswith("/*", offset):
            offset = text.find("*/", offset) + 2
        else:
            return offset


def run_pglast(folder: Path, catalog: Catalog) -> tuple[Applier, dict[str, list[tuple[int, int]]]]:
    applier = Applier()
    starts: dict[str, list[tuple[int, int]]] = {}
    for source in catalog.files:
        applier.text = source.text
        applier.path = list(catalog.search_path)
        starts[source.path] = []
        for raw in pglast_statements(source.text):
            offset = first_token_offset(source.text, raw.stmt_location)
            starts[source.path].append(applier.position(offset))
            applier.apply(raw.stmt, applier.position(offset))
    return applier, starts


@pytest.fixture(
    scope="module", params=CASE_FOLDERS, ids=[f"{p.parent.name}/{p.name}" for p in CASE_FOLDERS]
)
def both(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Catalog, Applier, dict[str, list[tuple[int, int]]]]:
    folder: Path = request.param
    catalog = load([str(folder)])
    applier, starts = run_pglast(folder, catalog)
    return catalog, applier, starts


Both = tuple[Catalog, Applier, dict[str, list[tuple[int, int]]]]


def where(location: Location, starts: dict[str, list[tuple[int, int]]]) -> tuple[int, int]:
    """Our location as (line, column) if it starts a top-level statement; (0, 0) for an
    object that a DO block or routine made (pglast's side does not know where those are)."""
    position = (location.line, location.column)
    return position if position in starts.get(location.path, []) else (0, 0)


def test_statement_starts_and_counts_agree(both: Both) -> None:
    catalog, _, starts = both
    assert catalog.statements == sum(len(s) for s in starts.values())
    assert catalog.unanalyzed_statements == 0, [str(d) for d in catalog.diagnostics]


def test_tables_agree(both: Both) -> None:
    catalog, applier, starts = both
    assert sorted(catalog.tables) == sorted(applier.tables)
    for name, table in catalog.tables.items():
        theirs = applier.tables[name]
        assert (table.relkind, where(table.location, starts)) == (
            theirs.relkind,
            (theirs.line, theirs.column),
        ), name
        if not theirs.from_query:
            assert {c.name: c.type for c in table.columns} == theirs.columns, name
        assert table.primary_key == theirs.primary_key, name
        assert sorted(
            (k.columns, k.ref_table, k.ref_columns, k.on_delete, k.on_update)
            for k in table.foreign_keys
        ) == sorted(fk[2:] for fk in theirs.foreign_keys), name


def test_functions_agree(both: Both) -> None:
    catalog, applier, starts = both
    assert sorted(catalog.functions) == sorted(applier.functions)
    for key, function in catalog.functions.items():
        theirs = applier.functions[key]
        assert (
            function.name,
            tuple((a.name, a.type, a.mode) for a in function.arguments),
            function.returns,
            function.language,
            function.security_definer,
            function.search_path,
            function.is_procedure,
            where(function.location, starts),
        ) == (
            theirs.name,
            theirs.arguments,
            theirs.returns,
            theirs.language,
            theirs.security_definer,
            theirs.search_path,
            theirs.is_procedure,
            (theirs.line, theirs.column),
        ), key


def test_triggers_agree(both: Both) -> None:
    catalog, applier, starts = both
    assert sorted(catalog.triggers) == sorted(applier.triggers)
    for key, trigger in catalog.triggers.items():
        theirs = applier.triggers[key]
        assert (
            trigger.name,
            trigger.table,
            trigger.timing,
            trigger.events,
            trigger.level,
            trigger.function,
            trigger.update_columns,
            trigger.when is not None,
            trigger.arguments,
            trigger.constraint,
            trigger.deferrable,
            trigger.initially_deferred,
            trigger.referencing,
            trigger.enabled,
            trigger.inherited_from,
            where(trigger.location, starts),
        ) == (
            theirs.name,
            theirs.table,
            theirs.timing,
            theirs.events,
            theirs.level,
            theirs.function,
            theirs.update_columns,
            theirs.has_when,
            theirs.arguments,
            theirs.constraint,
            theirs.deferrable,
            theirs.initially_deferred,
            theirs.referencing,
            theirs.enabled,
            theirs.parent,
            (theirs.line, theirs.column),
        ), key


def test_pglast_reads_plpgsql_trigger_functions() -> None:
    """pglast 8.8's parse_sql keeps a PL/pgSQL trigger function's body intact."""
    body = "\nBEGIN\n  IF TG_OP = 'INSERT' THEN NEW.n := 1; END IF;\n  RETURN NEW;\nEND\n"
    (raw,) = parse_sql(f"CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$")
    options = {o.defname: o for o in raw.stmt.options}
    assert options["as"].arg[0].sval == f" {body} "
    assert raw.stmt.returnType.names[0].sval == "trigger"


def test_the_cases_cover_the_grammar() -> None:
    """The generated statements stay many and varied."""
    statements = [
        raw.stmt
        for path in sorted((ROOT / "tests" / "catalog_cases").glob("*.sql"))
        for raw in pglast_statements(path.read_text(encoding="utf-8"))
    ]
    kinds = {type(s).__name__ for s in statements}
    assert len(statements) >= 60
    assert {
        "CreateStmt",
        "ViewStmt",
        "CreateTableAsStmt",
        "AlterTableStmt",
        "RenameStmt",
        "AlterObjectSchemaStmt",
        "DropStmt",
        "CreateFunctionStmt",
        "AlterFunctionStmt",
        "CreateTrigStmt",
        "VariableSetStmt",
        "RuleStmt",
        "CreateEventTrigStmt",
    } <= kinds
