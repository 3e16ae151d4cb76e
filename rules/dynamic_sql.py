from __future__ import annotations

from collections.abc import Iterable

from analyzer.cascade import TraceEntry
from analyzer.catalog import Function, Trigger
from analyzer.effects import DynamicEffect, executed_effects, fold_dynamic
from analyzer.findings import Finding, Hop, Location, Severity
from analyzer.guards import FiringContext
from analyzer.rules import Context, Rule, subtree_nodes
from rules._paths import reachable_functions


class DynamicSql(Rule):
    """EXECUTE of SQL text known only at run time, on a trigger's path.

    Why it matters: a static analysis cannot see what `EXECUTE format('UPDATE %I …', t)`
    writes; the cascade through it may be incomplete, so counts are lower bounds there.

    Bad:

        EXECUTE format('UPDATE %I SET n = n + 1 WHERE id = $1', NEW.counter_table) USING NEW.id;

    Not reported: an EXECUTE whose text each trigger that runs it determines: string
    literals, `||`, `format()` and `quote_*()` over TG_TABLE_NAME, TG_TABLE_SCHEMA,
    TG_NAME, TG_OP, TG_WHEN, TG_LEVEL, TG_ARGV[n] and constant local variables (a generic
    history or "touch parent" trigger). The cascade follows that SQL like static SQL.

    Fix: prefer static SQL in trigger functions (one function per table is cheap); where
    dynamic SQL is needed, build it only from the trigger's own name, table and arguments.
    """

    code = "RP302"
    name = "dynamic-sql"
    severity = Severity.NOTE
    summary = "Dynamic SQL on a trigger path: the cascade may be incomplete"

    def check(self, ctx: Context) -> Iterable[Finding]:
        seen: set[object] = set()
        traced: tuple[set[str], set[Location]] | None = None  # walked only when needed
        for trigger in sorted(ctx.catalog.triggers.values(), key=lambda t: t.key):
            function = ctx.trigger_function(trigger)
            if function is None:
                continue
            for reached in reachable_functions(ctx, function):
                body = ctx.model.effects_of(reached)
                for effect in body.effects if body else ():
                    if not isinstance(effect, DynamicEffect) or effect.location in seen:
                        continue
                    if reached is function and _folds_in_every_firing(ctx, trigger, effect):
                        continue
                    if reached is not function and effect.template is not None:
                        traced = traced or _traced_dynamic_sql(ctx)
                        if _folded_where_called(traced, reached, effect):
                            continue
                    seen.add(effect.location)
                    if effect.inferred:
                        shown = "; ".join(
                            f"{w.kind} of {w.table or 'a table chosen at run time'}"
                            + (
                                " accumulating " + ", ".join(a.column for a in w.accumulations)
                                if w.accumulations
                                else ""
                            )
                            for w in effect.inferred
                        )
                        what = f"inferred from its template: {shown}"
                    else:
                        what = "nothing could be inferred from its text"
                    yield self.finding(
                        effect.location,
                        f"{reached.name} runs dynamic SQL on the path of trigger "
                        f"{trigger.key}; {what}: the cascade may be incomplete here",
                        hint="Use static SQL in trigger functions where possible.",
                        subject=reached.name,
                        path=(
                            Hop("trigger", trigger.key, trigger.location, "executes"),
                            Hop("function", reached.name, effect.location, "EXECUTE"),
                        ),
                    )


def _folds_in_every_firing(ctx: Context, trigger: Trigger, effect: DynamicEffect) -> bool:
    """Whether the EXECUTE's text is known, and parses, for every event `trigger` fires on
    where it runs at all (its guard, over TG_OP and TG_ARGV, may rule it out)."""
    function = ctx.trigger_function(trigger)
    if function is None or not trigger.events:
        return False
    return all(
        _folded_effects(ctx, function, trigger, effect, event) is not None
        for event in trigger.events
    )


def _folded_effects(
    ctx: Context, function: Function, trigger: Trigger, effect: DynamicEffect, event: str
) -> object | None:
    context = FiringContext(
        op=event.upper(),
        timing=trigger.timing.upper(),
        level=trigger.level.upper(),
        table=trigger.table,
        trigger_arguments=tuple(a.strip("'") for a in trigger.arguments),
        trigger_name=trigger.name,
    )
    if effect.guard.evaluate(context.decide) is False:
        return ()  # never runs in this firing: nothing unknown
    text = fold_dynamic(effect, context)
    return None if text is None else executed_effects(ctx.catalog, function, effect, text)


def _traced_dynamic_sql(ctx: Context) -> tuple[set[str], set[Location]]:
    """Over the cascades of every entry: the functions they run, and the EXECUTEs they
    could not fold."""
    functions: set[str] = set()
    unfolded: set[Location] = set()
    for point in ctx.entries:
        cascade = ctx.cascade(TraceEntry(point.table, point.operation))
        for node in subtree_nodes(cascade.tree):
            if isinstance(node.ref, Function):
                functions.add(node.ref.key)
            elif isinstance(node.ref, DynamicEffect) and node.ref.location is not None:
                unfolded.add(node.ref.location)
    return functions, unfolded


def _folded_where_called(
    traced: tuple[set[str], set[Location]], function: Function, effect: DynamicEffect
) -> bool:
    """A helper's EXECUTE that every traced call folds (its text built from constant or
    TG_* arguments)."""
    functions, unfolded = traced
    return function.key in functions and effect.location not in unfolded
