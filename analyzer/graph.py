"""The table → trigger → function → table graph (networkx), and name resolution for calls.

Node keys are strings: `table:public.t`, `trigger:public.t.name`, `function:public.f(uuid)`,
`do:path:line`, `unresolved:name`, `dynamic:owner@line:column`. Every node has `kind`,
`name` and `location`; edges have `kind` (fires, executes, writes, reads, calls,
fk_cascade) and the attributes of DESIGN.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from analyzer.builtins import is_builtin
from analyzer.catalog import Catalog, Function, Trigger
from analyzer.effects import (
    Bodies,
    BodyEffects,
    CallEffect,
    DynamicEffect,
    Read,
    Write,
    analyze_bodies,
)


def table_node(name: str) -> str:
    return f"table:{name}"


def trigger_node(trigger: Trigger) -> str:
    return f"trigger:{trigger.key}"


def function_node(key: str) -> str:
    return f"function:{key}"


@dataclass(frozen=True)
class Model:
    """Everything the cascade engine and the rules reason over."""

    catalog: Catalog
    bodies: Bodies
    graph: nx.MultiDiGraph

    def effects_of(self, function: Function) -> BodyEffects | None:
        return self.bodies.functions.get(function.key)

    def trigger_function(self, trigger: Trigger) -> Function | None:
        """The function a trigger executes: by name, taking no arguments."""
        candidates = [
            f for f in self.catalog.functions_named(trigger.function) if not f.input_types
        ]
        return candidates[0] if candidates else None

    def resolve_call(self, caller: Function | None, call: CallEffect) -> Function | None:
        path = (
            caller.search_path
            if caller and caller.search_path is not None
            else (caller.search_path_at_creation if caller else None)
        )
        return self.catalog.resolve_function(call.name, len(call.arguments), path)

    def reachable_functions(self, start: Function) -> list[Function]:
        """`start` and every function it calls, transitively (resolved calls only), in
        breadth-first order."""
        order = [start]
        seen = {start.key}
        index = 0
        while index < len(order):
            function = order[index]
            index += 1
            body = self.effects_of(function)
            for effect in body.effects if body else ():
                if isinstance(effect, CallEffect):
                    callee = self.resolve_call(function, effect)
                    if callee is not None and callee.key not in seen:
                        seen.add(callee.key)
                        order.append(callee)
        return order


def _owner_node(owner: str) -> str:
    return f"do:{owner}" if owner.startswith("DO block") else function_node(owner)


def build_model(catalog: Catalog, bodies: Bodies | None = None) -> Model:
    effects = bodies if bodies is not None else analyze_bodies(catalog)
    graph = nx.MultiDiGraph()
    model = Model(catalog, effects, graph)
    for table in catalog.tables.values():
        graph.add_node(
            table_node(table.name),
            kind="table",
            name=table.name,
            location=table.location,
            relkind=table.relkind,
        )
    for function in catalog.functions.values():
        graph.add_node(
            function_node(function.key),
            kind="function",
            name=function.key,
            location=function.location,
            args=[a.type for a in function.arguments],
            language=function.language,
            returns=function.returns,
            security_definer=function.security_definer,
            search_path=list(function.search_path) if function.search_path else None,
        )
    for trigger in catalog.triggers.values():
        node = trigger_node(trigger)
        _ensure_table(graph, trigger.table)
        graph.add_node(
            node,
            kind="trigger",
            name=trigger.key,
            location=trigger.location,
            table=trigger.table,
            timing=trigger.timing,
            events=list(trigger.events),
            update_columns=list(trigger.update_columns),
            level=trigger.level,
            when=trigger.when,
            function=trigger.function,
            enabled=trigger.enabled,
        )
        graph.add_edge(
            table_node(trigger.table),
            node,
            kind="fires",
            events=list(trigger.events),
            timing=trigger.timing,
            level=trigger.level,
            columns=list(trigger.update_columns),
            when=trigger.when,
        )
        target = model.trigger_function(trigger)
        if target is not None:
            graph.add_edge(node, function_node(target.key), kind="executes")
        else:
            missing = f"unresolved:{trigger.function}()"
            graph.add_node(missing, kind="unresolved", name=f"{trigger.function}()", location=None)
            graph.add_edge(node, missing, kind="executes")
    for table in catalog.tables.values():
        for fk in table.foreign_keys:
            _ensure_table(graph, fk.ref_table)
            for event, action in (("delete", fk.on_delete), ("update", fk.on_update)):
                if action in {"cascade", "set null", "set default"}:
                    graph.add_edge(
                        table_node(fk.ref_table),
                        table_node(table.name),
                        kind="fk_cascade",
                        event=event,
                        action=action,
                        columns=list(fk.columns),
                        constraint=fk.name,
                        location=fk.location,
                    )
    for owner, body in effects.functions.items():
        _add_effect_edges(model, catalog.functions.get(owner), body)
    for block, body in zip(catalog.anonymous_blocks, effects.blocks, strict=False):
        graph.add_node(_owner_node(body.owner), kind="do", name=body.owner, location=block.location)
        _add_effect_edges(model, None, body)
    return model


def _ensure_table(graph: nx.MultiDiGraph, name: str) -> None:
    node = table_node(name)
    if node not in graph:
        graph.add_node(node, kind="table", name=name, location=None, relkind="external")


def _add_effect_edges(model: Model, function: Function | None, body: BodyEffects) -> None:
    graph = model.graph
    source = _owner_node(body.owner)
    for effect in body.effects:
        if isinstance(effect, Write) and effect.table is not None:
            _ensure_table(graph, effect.table)
            graph.add_edge(source, table_node(effect.table), kind="writes", effect=effect)
        elif isinstance(effect, Read):
            _ensure_table(graph, effect.table)
            graph.add_edge(source, table_node(effect.table), kind="reads", effect=effect)
        elif isinstance(effect, CallEffect):
            callee = model.resolve_call(function, effect)
            if callee is not None:
                graph.add_edge(source, function_node(callee.key), kind="calls", effect=effect)
            elif not is_builtin(effect.name, model.catalog.extensions):
                missing = f"unresolved:{effect.display_name}()"
                graph.add_node(
                    missing, kind="unresolved", name=f"{effect.display_name}()", location=None
                )
                graph.add_edge(source, missing, kind="calls", effect=effect)
        elif isinstance(effect, DynamicEffect):
            where = effect.location
            node = f"dynamic:{body.owner}@{where.line}:{where.column}"
            graph.add_node(node, kind="dynamic", name=effect.text or "?", location=where)
            graph.add_edge(source, node, kind="executes", effect=effect)
