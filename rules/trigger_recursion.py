from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from analyzer.catalog import Trigger
from analyzer.effects import Write
from analyzer.findings import Finding, Hop, Severity
from analyzer.guards import ChangeAtom, DepthAtom, guard_of
from analyzer.rules import Context, Rule
from rules._paths import reachable_functions

_EVENTS = {
    "insert": {"insert"},
    "update": {"update"},
    "delete": {"delete"},
    "upsert": {"insert", "update"},
    "insert-or-ignore": {"insert"},
    "merge": {"insert", "update", "delete"},
    "truncate": {"truncate"},
}


class TriggerRecursion(Rule):
    """A trigger whose writes lead back to itself.

    Why it matters: PostgreSQL has no recursion limit for triggers but the stack: a loop
    that nothing stops ends in "stack depth limit exceeded" and the whole statement fails.
    A loop that a guard stops is still fragile: the guard is the only thing between a
    harmless write and an outage.

    Bad:

        -- accounts trigger updates ledgers; ledgers trigger updates accounts.

    Fix: break the loop with a WHEN clause or an UPDATE OF list that the inner write does
    not match, a change test, or `IF pg_trigger_depth() < 2`; better, restructure so one
    side owns the derived data.

    A DELETE that leads back to an AFTER DELETE row trigger of its own table (delete the
    later rows, the descendants in the same table) runs out of rows: a row is deleted
    once, the nested DELETE no longer sees the rows deleted before it, and a DELETE that
    matches nothing fires no row trigger. So does an UPDATE reaching an AFTER UPDATE row
    trigger whose WHERE no longer matches a row it has set (`SET archived = true WHERE
    parent_id = NEW.id AND NOT archived`). Unless something else on the loop adds rows to
    that table again (or sets that column back), such a loop ends by itself and is
    reported as a note.
    """

    code = "RP201"
    name = "trigger-recursion"
    severity = Severity.ERROR
    summary = "A trigger cascade leads back to itself"

    def check(self, ctx: Context) -> Iterable[Finding]:
        graph: nx.DiGraph = nx.DiGraph()
        # An edge is broken when every write that creates it is guarded (or the target's
        # WHEN clause tests a change or the depth); the reasons are kept for the message.
        unbroken: set[tuple[str, str]] = set()
        reasons: dict[tuple[str, str], set[str]] = {}
        # Edges made by a DELETE reaching an AFTER DELETE row trigger: the table it deletes
        # from. And the tables each trigger's cascade adds rows to.
        deleting: dict[tuple[str, str], set[str]] = {}
        adds_rows: dict[str, set[str]] = {}
        # Per trigger: (table, column, id of the write) set by an UPDATE, upsert or MERGE it causes.
        sets: dict[str, set[tuple[str, str, int]]] = {}
        settling: dict[tuple[str, str], list[Write]] = {}
        for trigger in ctx.catalog.triggers.values():
            if trigger.enabled == "disabled":
                continue
            graph.add_node(trigger.key)
            function = ctx.trigger_function(trigger)
            if function is None:
                continue
            for reached in reachable_functions(ctx, function):
                body = ctx.model.effects_of(reached)
                for effect in body.effects if body else ():
                    if not isinstance(effect, Write) or effect.table is None:
                        continue
                    if set(effect.row_kinds) & {"insert"}:
                        adds_rows.setdefault(trigger.key, set()).add(effect.table)
                    for column in (*effect.columns, *effect.conflict_columns):
                        if effect.kind != "insert":
                            sets.setdefault(trigger.key, set()).add(
                                (effect.table, column, id(effect))
                            )
                    for target in ctx.catalog.triggers_on(effect.table):
                        if target.enabled == "disabled" or not _fires(target, effect):
                            continue
                        edge = (trigger.key, target.key)
                        graph.add_edge(*edge)
                        guards = _write_guards(effect, reached.name) + _when_guards(target)
                        reasons.setdefault(edge, set()).update(guards)
                        if guards:
                            continue
                        if _runs_out_of_rows(ctx, effect, target):
                            deleting.setdefault(edge, set()).add(effect.table)
                            if effect.kind == "update":
                                settling.setdefault(edge, []).append(effect)
                        else:
                            unbroken.add(edge)
        for component in sorted(nx.strongly_connected_components(graph), key=sorted):
            members = sorted(component)
            if len(members) == 1 and not graph.has_edge(members[0], members[0]):
                continue
            added = {table for key in component for table in adds_rows.get(key, ())}
            inside = [e for e in deleting if e[0] in component and e[1] in component]
            reset = {item for key in component for item in sets.get(key, ())}
            for edge in inside:
                reopened = any(
                    table == write.table and column in write.settles and other != id(write)
                    for write in settling.get(edge, ())
                    for table, column, other in reset
                )
                if deleting[edge] & added or reopened:
                    unbroken.add(edge)  # the loop brings rows back for the write to find
                elif edge in settling:
                    reasons.setdefault(edge, set()).update(
                        f"UPDATE {w.table} sets {', '.join(w.settles)} so that its WHERE "
                        "no longer matches the row"
                        for w in settling[edge]
                    )
                else:
                    reasons.setdefault(edge, set()).update(
                        f"DELETE FROM {table} runs out of rows (nothing on the loop adds any)"
                        for table in deleting[edge]
                    )
            loose = nx.DiGraph([e for e in unbroken if e[0] in component and e[1] in component])
            open_loop = _a_cycle(loose, members)
            if open_loop is not None:
                yield self._finding(ctx, open_loop, [], Severity.ERROR)
                continue
            loop = _a_cycle(graph.subgraph(members), members)
            if loop is None:
                continue
            edges = zip(loop, [*loop[1:], loop[0]], strict=True)
            guards = sorted({r for edge in edges for r in reasons.get(edge, ())})
            yield self._finding(ctx, loop, guards, Severity.NOTE)

    def _finding(
        self, ctx: Context, loop: list[str], guards: list[str], severity: Severity
    ) -> Finding:
        first = ctx.catalog.triggers[loop[0]]
        path = tuple(
            Hop("trigger", key, ctx.catalog.triggers[key].location, "fires")
            for key in [*loop, loop[0]]
        )
        chain = " -> ".join([*loop, loop[0]])
        if guards:
            return self.finding(
                first.location,
                f"trigger loop {chain}, broken by: " + "; ".join(guards),
                hint="Check that the guard holds for every write on the loop.",
                subject=" -> ".join(loop),
                path=path,
                severity=severity,
            )
        return self.finding(
            first.location,
            f"trigger loop {chain} with nothing to stop it: every firing ends in "
            "'stack depth limit exceeded'",
            hint=(
                "Break the loop: a WHEN clause or UPDATE OF list the inner write does not "
                "match, an IS DISTINCT FROM test, or IF pg_trigger_depth() < 2."
            ),
            subject=" -> ".join(loop),
            path=path,
            severity=severity,
        )


def _a_cycle(graph: nx.DiGraph, members: list[str]) -> list[str] | None:
    """A cycle through the first member that lies on one, rotated to start at it."""
    for start in members:
        if start not in graph:
            continue
        try:
            edges = nx.find_cycle(graph, source=start)
        except nx.NetworkXNoCycle:
            continue
        loop = [edge[0] for edge in edges]
        if start in loop:
            index = loop.index(start)
            return loop[index:] + loop[:index]
        first = min(loop)
        index = loop.index(first)
        return loop[index:] + loop[:index]
    return None


def _when_guards(trigger: Trigger) -> list[str]:
    """A WHEN clause breaks a loop only if it tests a change or the trigger depth."""
    if not trigger.when:
        return []
    guard = guard_of(trigger.when_expression, trigger.when)
    if any(isinstance(a, (ChangeAtom, DepthAtom)) for a in guard.atoms()):
        return [f"WHEN ({trigger.when}) on {trigger.key}"]
    return []


def _runs_out_of_rows(ctx: Context, write: Write, target: Trigger) -> bool:
    """A DELETE reaching an AFTER DELETE row trigger: that trigger fires once per row the
    DELETE removed, and a removed row is not there for the next DELETE to find; the same
    for an UPDATE whose WHERE no longer matches a row it has updated. (A BEFORE trigger
    runs while its row still holds the old values; a statement trigger fires for 0 rows.)"""
    table = ctx.catalog.tables.get(write.table or "")
    return (
        (write.kind == "delete" or (write.kind == "update" and bool(write.settles)))
        and target.timing == "after"
        and target.level == "row"
        and table is not None
        and table.relkind in {"table", "partitioned"}
    )


def _fires(trigger: Trigger, write: Write) -> bool:
    events = _EVENTS.get(write.kind, set()) & set(trigger.events)
    if not events:
        return False
    if events == {"update"} and trigger.update_columns and write.kind == "update":
        return bool(set(trigger.update_columns) & set(write.columns))
    return True


def _write_guards(write: Write, function: str) -> list[str]:
    """Guards that stop the write when the loop comes round: every alternative of the
    write's guard must test a change or the trigger depth."""
    alternatives = write.guard.alternatives
    breaking = [a for a in alternatives if any(isinstance(x, (DepthAtom, ChangeAtom)) for x in a)]
    if not alternatives or len(breaking) != len(alternatives):
        return []
    atoms = sorted({str(x) for a in breaking for x in a if isinstance(x, (DepthAtom, ChangeAtom))})
    return [f"{atom} in {function}" for atom in atoms]
