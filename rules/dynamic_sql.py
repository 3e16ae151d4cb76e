from __future__ import annotations

from collections.abc import Iterable

from analyzer.effects import DynamicEffect
from analyzer.findings import Finding, Hop, Severity
from analyzer.rules import Context, Rule
from rules._paths import reachable_functions


class DynamicSql(Rule):
    """EXECUTE of SQL text known only at run time, on a trigger's path.

    Why it matters: a static analysis cannot see what `EXECUTE format('UPDATE %I …', t)`
    writes; the cascade through it may be incomplete, so counts are lower bounds there.

    Bad:

        EXECUTE format('UPDATE %I SET n = n + 1 WHERE id = $1', TG_ARGV[0]) USING NEW.id;

    Fix: prefer static SQL in trigger functions (one function per table is cheap); where
    dynamic SQL is needed, keep the template constant so its shape can be inferred.
    """

    code = "RP302"
    name = "dynamic-sql"
    severity = Severity.NOTE
    summary = "Dynamic SQL on a trigger path: the cascade may be incomplete"

    def check(self, ctx: Context) -> Iterable[Finding]:
        seen: set[object] = set()
        for trigger in sorted(ctx.catalog.triggers.values(), key=lambda t: t.key):
            function = ctx.trigger_function(trigger)
            if function is None:
                continue
            for reached in reachable_functions(ctx, function):
                body = ctx.model.effects_of(reached)
                for effect in body.effects if body else ():
                    if not isinstance(effect, DynamicEffect) or effect.location in seen:
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
