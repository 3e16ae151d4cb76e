from __future__ import annotations

from collections.abc import Iterable

from analyzer.catalog import Catalog, Trigger
from analyzer.effects import BodyEffects, ReturnEffect, ValueOrigin, Write
from analyzer.findings import Finding, Hop, Severity
from analyzer.guards import FoundAtom, Guard
from analyzer.rules import Context, Rule


class MissingTriggerReturn(Rule):
    """A trigger function that can end without RETURN, or a BEFORE trigger returning NULL.

    Why it matters: a PL/pgSQL trigger function that reaches the end of its body without
    RETURN raises "control reached end of trigger procedure without RETURN" and the
    statement that fired it fails, on every firing that takes that path. A BEFORE row
    trigger that returns NULL silently skips the row: the INSERT or UPDATE reports
    success and nothing is written.

    Bad:

        BEGIN
          IF TG_OP = 'INSERT' THEN RETURN NEW; END IF;
        END;   -- UPDATE and DELETE fall off the end

    Fix: end every path with `RETURN NEW` (BEFORE INSERT/UPDATE), `RETURN OLD` (BEFORE
    DELETE) or `RETURN NULL` (AFTER and statement triggers, where the value is ignored);
    return NULL from a BEFORE trigger only when skipping the row is intended.

    Not reported: a BEFORE trigger that writes the row itself some other way on every
    path to its RETURN NULL: it stores NEW elsewhere (`INSERT INTO child VALUES (NEW.*);
    RETURN NULL;`, the partition-routing idiom of the PostgreSQL manual: the row is kept,
    in the table the trigger chose), or it updates the trigger's own row, picked by a
    unique key of its table from OLD or NEW (the soft delete: `UPDATE t SET deleted_at =
    now() WHERE id = OLD.id; RETURN NULL;` keeps the row, marked deleted). For an INSERT
    there is no such row yet: the RETURN NULL must be reached only when that UPDATE found
    one (`IF FOUND THEN RETURN NULL; END IF;`, an upsert done by the trigger).
    """

    code = "RP202"
    name = "missing-trigger-return"
    severity = Severity.ERROR
    summary = "A trigger function can end without RETURN, or a BEFORE trigger returns NULL"

    def check(self, ctx: Context) -> Iterable[Finding]:
        before_row_users: dict[str, list[Trigger]] = {}
        for trigger in ctx.catalog.triggers.values():
            executed = ctx.trigger_function(trigger)
            if executed is not None and trigger.timing == "before" and trigger.level == "row":
                before_row_users.setdefault(executed.key, []).append(trigger)
        for function in ctx.catalog.functions.values():
            if not function.returns_trigger or function.language != "plpgsql":
                continue
            body = ctx.model.effects_of(function)
            if body is None or body.incomplete:
                continue
            if not body.falls_off_end.is_never:
                condition = "" if body.falls_off_end.is_always else f" when {body.falls_off_end}"
                yield self.finding(
                    function.location,
                    f"{function.name} can reach the end of its body without RETURN"
                    f"{condition}: PostgreSQL raises an error for every such firing",
                    hint="End every path with RETURN NEW, RETURN OLD or RETURN NULL.",
                    subject=function.name,
                    path=(Hop("function", function.name, function.location, "falls off end"),),
                )
            users = before_row_users.get(function.key, [])
            if not users:
                continue
            returns = [e for e in body.effects if isinstance(e, ReturnEffect)]
            stored_elsewhere = _new_row_stored(body).or_(_own_row_updated(body, users, ctx.catalog))
            for effect in returns:
                if effect.value == "null" and not _implies(effect.guard, stored_elsewhere):
                    if effect.guard.is_always:
                        condition = ""
                    elif all(r.value == "null" for r in returns) and body.falls_off_end.is_never:
                        # Every other path raises an error: its guard is no real condition.
                        condition = " whenever it does not raise an error"
                    else:
                        condition = f" when {effect.guard}"
                    names = ", ".join(t.key for t in sorted(users, key=lambda t: t.key))
                    yield self.finding(
                        effect.location,
                        f"{function.name} returns NULL{condition}: as a BEFORE row trigger "
                        f"({names}) that silently skips the row",
                        hint=(
                            "Return NEW (or OLD for DELETE) unless skipping the write is "
                            "intended; say so in a comment and suppress this finding."
                        ),
                        subject=function.name,
                        path=(
                            Hop("trigger", users[0].key, users[0].location, "BEFORE ROW"),
                            Hop("function", function.name, effect.location, "RETURN NULL"),
                        ),
                        severity=Severity.WARNING,
                    )


def _new_row_stored(body: BodyEffects) -> Guard:
    """When the function has inserted the trigger's NEW row into some table."""
    stored = Guard.never()
    for effect in body.effects:
        if isinstance(effect, Write) and effect.carries_new_row and effect.table is not None:
            stored = stored.or_(effect.guard)
    return stored


def _own_row_updated(body: BodyEffects, users: list[Trigger], catalog: Catalog) -> Guard:
    """When the function has updated the row that fired it, in every trigger that runs it:
    an UPDATE of the trigger's table whose WHERE fixes a unique key to the same columns
    of OLD or NEW. On INSERT that row does not exist yet: only where FOUND says the
    UPDATE found a row with the new row's key."""
    updated = Guard.never()
    tables = {trigger.table for trigger in users}
    inserting = any("insert" in trigger.events for trigger in users)
    for position, effect in enumerate(body.effects):
        if not isinstance(effect, Write) or effect.kind != "update" or effect.table is None:
            continue
        if tables != {effect.table}:
            continue
        table = catalog.tables.get(effect.table)
        own = {
            column
            for column, origins in effect.key_origins
            if len(origins) == 1
            and origins[0][0].is_always
            and origins[0][1] in {ValueOrigin("old", column), ValueOrigin("new", column)}
        }
        if table is None or not any(key and set(key) <= own for key in table.unique_keys):
            continue
        guard = effect.guard
        if inserting:
            guard = guard.and_(Guard.of(FoundAtom(position, True)))
        updated = updated.or_(guard)
    return updated


def _implies(condition: Guard, consequence: Guard) -> bool:
    """Every path that meets `condition` meets `consequence` (as far as guards can tell)."""
    if consequence.is_never:
        return False
    return condition.and_(consequence.negate()).is_never
