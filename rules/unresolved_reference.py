from __future__ import annotations

from collections.abc import Iterable, Mapping

from analyzer.builtins import (
    BUILTIN_FUNCTIONS,
    EXTENSION_FUNCTION_NAMES,
    EXTENSION_FUNCTION_PREFIXES,
    SYSTEM_SCHEMAS,
    WELL_KNOWN_TABLES,
    extension_of,
    is_builtin,
)
from analyzer.catalog import ForeignKey
from analyzer.effects import CallEffect, Read, Write
from analyzer.findings import Finding, Hop, Location, Severity
from analyzer.rules import Context, Rule

FK_ACTIONS = frozenset({"cascade", "set null", "set default"})


class UnresolvedReference(Rule):
    """A trigger, call, read or write that names an object the schema does not define.

    Why it matters: the cascade cannot be followed through an object sqlripple cannot
    see, so the analysis of that path is incomplete; and a trigger whose function does
    not exist makes every write to its table fail.

    Bad:

        CREATE TRIGGER audit AFTER UPDATE ON orders
            FOR EACH ROW EXECUTE FUNCTION audit_changes();   -- never created

    Fix: include the file that defines the object, correct the name, or list objects
    provided elsewhere (extensions, other services) in `known_objects`.
    """

    code = "RP301"
    name = "unresolved-reference"
    severity = Severity.NOTE
    summary = "A name that the analysed schema does not define"

    def check(self, ctx: Context) -> Iterable[Finding]:
        known = set(ctx.config.known_objects) | WELL_KNOWN_TABLES
        transition = {name for t in ctx.catalog.triggers.values() for _, name in t.referencing}
        for trigger in ctx.catalog.triggers.values():
            builtin = trigger.function.rsplit(".", 1)[-1] in BUILTIN_FUNCTIONS or is_builtin(
                tuple(trigger.function.split("."))
            )
            missing = ctx.trigger_function(trigger) is None
            if missing and trigger.function not in known and not builtin:
                yield self.finding(
                    trigger.location,
                    f"trigger {trigger.key} executes {trigger.function}(), which is not "
                    "defined in the analysed files",
                    subject=f"{trigger.function}()",
                    path=(Hop("trigger", trigger.key, trigger.location, "executes"),),
                )
        yield from self._referenced_elsewhere(ctx, known)
        for function in ctx.catalog.functions.values():
            body = ctx.model.effects_of(function)
            for effect in body.effects if body else ():
                if isinstance(effect, CallEffect):
                    name = effect.display_name
                    if is_builtin(effect.name, ctx.catalog.extensions) or name in known:
                        continue
                    if ctx.model.resolve_call(function, effect) is None:
                        yield self._missing(
                            function.name,
                            "function",
                            f"{name}()",
                            effect.location,
                            _origin(effect.name[-1], ctx.catalog.extensions),
                        )
                elif isinstance(effect, (Write, Read)) and effect.table:
                    table = effect.table
                    schema, _, relation = table.partition(".")
                    if (
                        table in ctx.catalog.tables
                        or table in known
                        or schema in SYSTEM_SCHEMAS
                        or schema == "pg_temp"  # created by the body before this statement
                        or relation in transition
                    ):
                        continue
                    yield self._missing(function.name, "table", table, effect.location)

    def _referenced_elsewhere(self, ctx: Context, known: set[str]) -> Iterable[Finding]:
        """A table foreign keys reference but the input never creates: its DELETE is traced
        as an entry when the keys act on it, but its own triggers and keys are unknown."""
        first: dict[str, ForeignKey] = {}
        for table in sorted(ctx.catalog.tables):
            for fk in ctx.catalog.tables[table].foreign_keys:
                if fk.ref_table in ctx.external_referenced and fk.location is not None:
                    first.setdefault(fk.ref_table, fk)
        for name, fk in sorted(first.items()):
            if name in known or name.partition(".")[0] in SYSTEM_SCHEMAS:
                continue
            assert fk.location is not None
            acting = any(key.on_delete in FK_ACTIONS for key in ctx.catalog.referencing_keys(name))
            yield self.finding(
                fk.location,
                f"{fk.table} ({', '.join(fk.columns)}) references {name}, which is not "
                "defined in the analysed files: "
                + (
                    "its deletes are traced through these foreign keys' actions, but its own "
                    "triggers and keys are not known"
                    if acting
                    else "what its writes fire is not known"
                ),
                hint="Add the file that defines it, or list it in known_objects.",
                subject=name,
                path=(Hop("fk", fk.table, fk.location, f"references {name}"),),
            )

    def _missing(
        self, owner: str, kind: str, name: str, location: object, origin: str = ""
    ) -> Finding:
        assert isinstance(location, Location)
        return self.finding(
            location,
            f"{owner} uses {kind} {name}, which is not defined in the analysed files"
            f"{origin}: the cascade stops there",
            hint="Add the file that defines it, or list it in known_objects.",
            subject=name,
            path=(Hop("function", owner, location, f"uses {name}"),),
        )


def _origin(name: str, created: Mapping[str, Location]) -> str:
    """Where an unresolved function may come from: a known extension the input does not
    create, or an extension it creates whose functions are not known."""
    extension = extension_of(name)
    if extension is not None:
        return f" (a function of extension {extension}, which they do not create)"
    listed = EXTENSION_FUNCTION_NAMES.keys() | EXTENSION_FUNCTION_PREFIXES.keys()
    unknown = [
        f"{e} ({where.path}:{where.line})" for e, where in created.items() if e not in listed
    ]
    if unknown:
        return " nor by an extension sqlripple knows; it may come from extension " + ", ".join(
            unknown
        )
    return ""
