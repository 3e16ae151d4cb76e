from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from analyzer.catalog import Trigger
from analyzer.effects import Write
from analyzer.findings import Finding, Hop, Severity
from analyzer.guards import ChangeAtom, DepthAtom
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
    """

    code = "RP201"
    name = "trigger-recursion"
    severity = Severity.ERROR
    summary = "A trigger cascade leads back to itself"

    def check(self, ctx: Context) -> Iterable[Finding]:
        graph: nx.DiGraph = nx.DiGraph()
        breakers: dict[tuple[str, str], list[str]] = {}
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
                    for target in ctx.catalog.triggers_on(effect.table):
                        if not _fires(target, effect):
                            continue
                        graph.add_edge(trigger.key, target.key)
                        reasons = breakers.setdefault((trigger.key, target.key), [])
                        reasons.extend(_guards(effect, reached.name))
                        if target.when:
                            reasons.append(f"WHEN ({target.when}) on {target.key}")
                        if target.update_columns:
                            reasons.append(
                                f"UPDATE OF {', '.join(target.update_columns)} on {target.key}"
                            )
        for component in sorted(nx.strongly_connected_components(graph), key=sorted):
            members = sorted(component)
            if len(members) == 1 and not graph.has_edge(members[0], members[0]):
                continue
            cycle = nx.find_cycle(graph.subgraph(members), source=members[0])
            loop = [edge[0] for edge in cycle]
            guards = sorted({r for edge in cycle for r in breakers.get((edge[0], edge[1]), [])})
            first = ctx.catalog.triggers[loop[0]]
            path = tuple(
                Hop("trigger", key, ctx.catalog.triggers[key].location, "fires")
                for key in [*loop, loop[0]]
            )
            if guards:
                yield self.finding(
                    first.location,
                    f"trigger loop {' -> '.join([*loop, loop[0]])}, broken by: "
                    + "; ".join(guards),
                    hint="Check that the guard holds for every write on the loop.",
                    subject=" -> ".join(loop),
                    path=path,
                    severity=Severity.NOTE,
                )
            else:
                yield self.finding(
                    first.location,
                    f"trigger loop {' -> '.join([*loop, loop[0]])} with nothing to stop it: "
                    "every firing ends in 'stack depth limit exceeded'",
                    hint=(
                        "Break the loop: a WHEN clause or UPDATE OF list the inner write does "
                        "not match, an IS DISTINCT FROM test, or IF pg_trigger_depth() < 2."
                    ),
                    subject=" -> ".join(loop),
                    path=path,
                )


def _fires(trigger: Trigger, write: Write) -> bool:
    events = _EVENTS.get(write.kind, set()) & set(trigger.events)
    if not events:
        return False
    if events == {"update"} and trigger.update_columns and write.kind == "update":
        return bool(set(trigger.update_columns) & set(write.columns))
    return True


def _guards(write: Write, function: str) -> list[str]:
    found = []
    for atom in write.guard.atoms():
        if isinstance(atom, (DepthAtom, ChangeAtom)):
            found.append(f"{atom} in {function}")
    return found
