"""The rule engine: the Rule base class, the Context rules see, loading and running.

Built-in rules are listed in `rules/__init__.py`; third-party packs register classes
under the entry-point group `sqlripple.rules`; local files load from `rules_path`. A rule
that fails to load, or raises while checking, becomes an error diagnostic that names it
and the other rules still run.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, overload

from analyzer.cascade import OPERATIONS, Cascade, Node, TraceEntry, Tracer
from analyzer.catalog import Catalog, Function, Trigger
from analyzer.config import Config
from analyzer.effects import Write
from analyzer.findings import Diagnostic, Entry, Finding, Hop, Location, Severity
from analyzer.graph import Model

ENTRY_POINT_GROUP = "sqlripple.rules"


class Rule:
    """Base class: subclasses set the class attributes and implement `check`.

    The docstring of a rule is its user documentation: why it matters, a bad example,
    the fix.
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    severity: ClassVar[Severity] = Severity.WARNING
    summary: ClassVar[str] = ""
    options: ClassVar[Mapping[str, Any]] = {}

    def __init__(
        self, options: Mapping[str, Any] | None = None, severity: Severity | None = None
    ) -> None:
        self.settings: dict[str, Any] = {**self.options, **(options or {})}
        self.level = severity or self.severity

    def check(self, ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

    def finding(
        self,
        location: Location,
        message: str,
        *,
        hint: str = "",
        subject: str = "",
        path: Sequence[Hop] = (),
        entry: Entry | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding stamped with this rule's id, code and (configured) severity."""
        return Finding(
            rule=self.name,
            code=self.code,
            severity=severity or self.level,
            location=location,
            message=message,
            hint=hint,
            subject=subject,
            path=tuple(path),
            entry=entry,
        )

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")


@dataclass(frozen=True)
class EntryPoint:
    """A write the application makes: every (table, operation) with triggers or FK
    actions, plus the ones declared in configuration (which raise severity)."""

    table: str
    operation: str
    declared: bool = False


@dataclass
class Context:
    catalog: Catalog
    model: Model
    config: Config
    tracer: Tracer = field(init=False)
    _cascades: dict[TraceEntry, Cascade] = field(default_factory=dict, init=False)

    # Facts about cascade tree nodes, computed once per node whichever entry reaches it
    # (memoized sub-cascades share their nodes between entries). The node is kept with
    # its fact (in _depth_nodes, not in a tuple per node: 8 bytes instead of 64) so that
    # its id cannot be reused while the fact is cached.
    _trigger_depths: dict[int, int] = field(default_factory=dict, init=False)
    _depth_nodes: list[Node] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.tracer = Tracer(self.model)

    def trigger_depth(self, root: Node) -> int:
        """Most trigger firings nested on one path from `root` down."""
        depths = self._trigger_depths
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in depths:
                continue
            if expanded:
                below = max((depths[id(c)] for c in node.children), default=0)
                depths[id(node)] = below + (node.kind == "trigger")
                self._depth_nodes.append(node)
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in node.children if id(c) not in depths)
        return depths[id(root)]

    def cascade(self, entry: TraceEntry) -> Cascade:
        found = self._cascades.get(entry)
        if found is None:
            found = self.tracer.trace(self._application_write(entry))
            self._cascades[entry] = found
        return found

    def _application_write(self, entry: TraceEntry) -> TraceEntry:
        """An update or upsert the application makes sets every column but the keys the
        database generates (serial, identity, a default such as gen_random_uuid()):
        applications do not rewrite those, so their ON UPDATE actions and UPDATE OF
        triggers are no entry's cost. `trace --table T --op update` still sets them all."""
        if entry.columns is not None or entry.operation not in {"update", "upsert"}:
            return entry
        return replace(entry, generated_keys=False)

    def _written_with(self, kind: str) -> frozenset[str]:
        found = set()
        for body in self.model.bodies.functions.values():
            for effect in body.effects:
                if isinstance(effect, Write) and effect.kind == kind and effect.table:
                    found.add(effect.table)
        return frozenset(found)

    @cached_property
    def upserted_tables(self) -> frozenset[str]:
        """Tables some body writes with INSERT … ON CONFLICT DO UPDATE."""
        return self._written_with("upsert")

    @cached_property
    def insert_or_ignore_tables(self) -> frozenset[str]:
        """Tables some body writes with INSERT … ON CONFLICT DO NOTHING."""
        return self._written_with("insert-or-ignore")

    @cached_property
    def entries(self) -> list[EntryPoint]:
        declared: dict[tuple[str, str], EntryPoint] = {}
        for table, operations in self.config.entrypoints.items():
            name = self.catalog.resolve_table(table.split("."))
            for operation in operations:
                declared[(name, operation)] = EntryPoint(name, operation, True)
        found = dict(declared)
        # A table defined elsewhere (a platform's auth.users, another migration set's
        # table) is an entry too: for the events this schema puts triggers on (Supabase's
        # signup cascade), and for a DELETE when this schema's foreign keys act on it
        # (account deletion). Its keys are not known: one referenced by its primary key
        # (no column list) is taken as generated, never rewritten, like a known table's.
        triggered = {trigger.table for trigger in self.catalog.triggers.values()}
        for table in sorted({*self.catalog.tables, *triggered, *self.external_referenced}):
            triggers = self.catalog.triggers_on(table)
            events = {e for t in triggers for e in t.events}
            fk_events = set()
            external = table not in self.catalog.tables
            for fk in self.catalog.referencing_keys(table):
                if fk.on_delete in {"cascade", "set null", "set default"}:
                    fk_events.add("delete")
                if fk.on_update in {"cascade", "set null", "set default"} and (
                    fk.ref_columns or not external
                ):
                    fk_events.add("update")
            for operation in ("insert", "update", "delete", "truncate"):
                if operation in events or operation in fk_events:
                    found.setdefault((table, operation), EntryPoint(table, operation))
            if table in self.upserted_tables and events & {"insert", "update"}:
                found.setdefault((table, "upsert"), EntryPoint(table, "upsert"))
        return [found[k] for k in sorted(found)]

    @cached_property
    def external_referenced(self) -> frozenset[str]:
        """Tables the schema's foreign keys reference but the input never defines."""
        return frozenset(
            fk.ref_table
            for table in self.catalog.tables.values()
            for fk in table.foreign_keys
            if fk.ref_table not in self.catalog.tables
        )

    def is_declared(self, table: str, operation: str) -> bool:
        return (table, operation) in self._declared

    @cached_property
    def _declared(self) -> frozenset[tuple[str, str]]:
        # a set: rules ask once per finding, and scanning every entry each time was
        # quadratic (7 s of the rules on 100,000 statements)
        return frozenset((e.table, e.operation) for e in self.entries if e.declared)

    def trigger_function(self, trigger: Trigger) -> Function | None:
        return self.model.trigger_function(trigger)


# ---- paths through cascade trees ---------------------------------------------------------


class NodePath(Sequence[Node]):
    """A root-to-node path, linked to its parent's path: O(1) to extend, materialised into
    a tuple only when a rule reads more than its last node."""

    __slots__ = ("_nodes", "last", "parent")

    def __init__(self, parent: NodePath | None, last: Node) -> None:
        self.parent = parent
        self.last = last
        self._nodes: tuple[Node, ...] | None = None

    def nodes(self) -> tuple[Node, ...]:
        if self._nodes is None:
            chain: list[Node] = []
            cursor: NodePath | None = self
            while cursor is not None:
                chain.append(cursor.last)
                cursor = cursor.parent
            self._nodes = tuple(reversed(chain))
        return self._nodes

    @overload
    def __getitem__(self, index: int) -> Node: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Node]: ...

    def __getitem__(self, index: int | slice) -> Node | Sequence[Node]:
        if index == -1:
            return self.last
        return self.nodes()[index]

    def __len__(self) -> int:
        return len(self.nodes())


def walk_paths(root: Node) -> Iterator[NodePath]:
    """Each node of a cascade tree once, with the first path (depth first) that reaches it.

    Memoized sub-cascades are shared between parents, so the tree is a DAG: visiting every
    node once keeps this linear where enumerating every path could be exponential.
    """
    stack: list[NodePath] = [NodePath(None, root)]
    seen: set[int] = {id(root)}
    while stack:
        path = stack.pop()
        yield path
        for child in reversed(path.last.children):
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(NodePath(path, child))


def subtree_nodes(root: Node) -> Iterator[Node]:
    """Every node below (and including) `root` once."""
    for path in walk_paths(root):
        yield path.last


def hops(model: Model, path: Sequence[Node]) -> tuple[Hop, ...]:
    """A finding's path from a cascade path: tables, triggers, functions and writes."""
    result: list[Hop] = []
    for node in path:
        ref = node.ref
        if node.kind == "statement" and ref is None:
            result.append(Hop("table", node.name, _table_location(model, node.name), node.detail))
        elif isinstance(ref, Trigger):
            result.append(Hop("trigger", ref.key, ref.location, node.detail))
            function = model.trigger_function(ref)
            if function is not None:
                result.append(Hop("function", function.name, function.location, "executes"))
        elif isinstance(ref, Function):
            result.append(Hop("function", ref.name, node.location, node.detail))
        elif isinstance(ref, Write):
            result.append(Hop("write", node.name, ref.location, node.detail))
        elif node.kind in {"read", "unknown", "fk"}:
            result.append(Hop(node.kind, node.name, node.location, node.detail))
    return tuple(result)


def _table_location(model: Model, name: str) -> Location | None:
    table = model.catalog.tables.get(name)
    return table.location if table else None


# ---- loading -------------------------------------------------------------------------------


def _rule_classes_in(module: Any) -> list[type[Rule]]:
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Rule)
        and value is not Rule
        and value.__module__ == module.__name__
    ]


def load_rules(config: Config) -> tuple[list[type[Rule]], list[Diagnostic]]:
    """Built-ins, then entry-point packs, then `rules_path` files; failures are diagnostics."""
    diagnostics: list[Diagnostic] = []
    builtin = importlib.import_module("rules")
    classes: list[type[Rule]] = list(builtin.BUILTIN_RULES)
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        try:
            loaded = point.load()
        except Exception as error:  # a broken plugin must not stop the run
            diagnostics.append(
                Diagnostic(
                    f"plugin {point.name}",
                    1,
                    1,
                    f"rule plugin {point.value} failed to load: {error}",
                )
            )
            continue
        if inspect.isclass(loaded) and issubclass(loaded, Rule):
            classes.append(loaded)
        elif inspect.ismodule(loaded):
            classes.extend(_rule_classes_in(loaded))
        else:
            diagnostics.append(
                Diagnostic(
                    f"plugin {point.name}", 1, 1, f"rule plugin {point.value} is not a Rule class"
                )
            )
    for path_text in config.rules_path:
        path = Path(path_text)
        files = sorted(path.glob("*.py")) if path.is_dir() else [path]
        for file in files:
            try:
                spec = importlib.util.spec_from_file_location(f"sqlripple_local_{file.stem}", file)
                if spec is None or spec.loader is None:
                    raise ImportError("not a Python file")
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            except Exception as error:
                diagnostics.append(
                    Diagnostic(file.as_posix(), 1, 1, f"local rule file failed to load: {error}")
                )
                continue
            classes.extend(_rule_classes_in(module))
    unique: dict[str, type[Rule]] = {}
    for cls in classes:
        if cls.name in unique and unique[cls.name] is not cls:
            diagnostics.append(
                Diagnostic(
                    cls.__module__,
                    1,
                    1,
                    f"rule name {cls.name} is defined twice; keeping {unique[cls.name].__module__}",
                )
            )
            continue
        unique[cls.name] = cls
    return list(unique.values()), diagnostics


def selected(
    classes: Iterable[type[Rule]], select: Sequence[str], ignore: Sequence[str]
) -> list[type[Rule]]:
    """--select / --ignore take names, codes or code prefixes."""

    def matches(cls: type[Rule], patterns: Sequence[str]) -> bool:
        return any(p == cls.name or cls.code.startswith(p.upper()) for p in patterns if p)

    chosen = [c for c in classes if not select or matches(c, select)]
    return [c for c in chosen if not matches(c, ignore)]


def run_rules(
    classes: Iterable[type[Rule]], ctx: Context
) -> tuple[list[Finding], list[Diagnostic]]:
    findings: list[Finding] = []
    diagnostics: list[Diagnostic] = []
    for cls in sorted(classes, key=lambda c: c.code):
        severity_text = ctx.config.severity.get(cls.name)
        severity = Severity(severity_text) if severity_text else None
        try:
            rule = cls(ctx.config.rule_options.get(cls.name), severity)
            findings.extend(rule.check(ctx))
        except Exception as error:  # one broken rule must not hide the others' findings
            diagnostics.append(
                Diagnostic(
                    f"rule {cls.name}",
                    1,
                    1,
                    f"rule {cls.name} ({cls.code}) failed: {type(error).__name__}: {error}",
                )
            )
    unique = {(_key(f)): _with_unknown_ground(ctx, f) for f in findings}
    return sorted(unique.values(), key=lambda f: f.sort_key()), diagnostics


def _with_unknown_ground(ctx: Context, finding: Finding) -> Finding:
    """A finding about a write whose cascade crosses dynamic SQL or unresolved names says
    so: its figures are then lower bounds."""
    if finding.entry is None or finding.entry.operation not in OPERATIONS:
        return finding
    cascade = ctx.cascade(TraceEntry(finding.entry.table, finding.entry.operation))
    if not cascade.unknowns:
        return finding
    what = sorted({f"{u.reason} ({u.name})" for u in cascade.unknowns})
    shown = "; ".join(what[:3]) + (f"; and {len(what) - 3} more" if len(what) > 3 else "")
    note = f" [the cascade crosses unknown ground, so figures may be higher: {shown}]"
    return replace(finding, message=finding.message + note)


def _key(finding: Finding) -> tuple[Any, ...]:
    return (finding.rule, finding.location, finding.subject, finding.entry, finding.message)
