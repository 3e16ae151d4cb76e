"""What one write really does under PostgreSQL's trigger rules.

`Tracer.trace(entry)` follows an insert, update, delete, truncate, upsert or merge through
statement- and row-level triggers (BEFORE, then the row write, FK actions, then AFTER; in
alphabetical order of trigger name), WHEN clauses and UPDATE OF lists, in-body guards,
function calls with constant arguments, and the writes those bodies make, recursively.

Every count is a pair (lo, hi): `hi` assumes every guard that cannot be decided passes,
`lo` that it fails; where they agree the prediction is exact. Results are memoized per
(table, row event, SET columns, changed columns, …), so shared sub-cascades are computed
once; recursion is cut at the first repeated (trigger, event) frame and reported as a cycle.
"""

from __future__ import annotations

import gc
import itertools
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TypeVar

import networkx as nx
from sqlglot import exp

from analyzer.builtins import is_builtin
from analyzer.catalog import Catalog, ForeignKey, Function, Trigger
from analyzer.effects import (
    ONCE,
    BodyEffects,
    CallEffect,
    Choice,
    DynamicEffect,
    Effect,
    Iterations,
    Origins,
    RaiseEffect,
    Read,
    ReturnEffect,
    RowAssignment,
    Write,
    call_arguments,
    catches,
    executed_effects,
    fold_dynamic,
    index_probe,
    repeated,
)
from analyzer.findings import Location
from analyzer.graph import Model, table_node
from analyzer.guards import (
    Atom,
    ChangeAtom,
    DepthAtom,
    FiringContext,
    FoundAtom,
    Guard,
    Truth,
    guard_of,
)
from analyzer.parse import parse_expression

OPERATIONS = ("insert", "update", "delete", "truncate", "upsert", "merge")
# Row writes and aggregate scans of all tables together: alternatives (IF arms, MERGE
# actions, upsert paths) are hulled on this sum too, so its bounds are not the sum of the
# per-table bounds.
ALL_WRITES: tuple[str, ...] = ("writes",)
ALL_SCANS: tuple[str, ...] = ("scans",)
# Nested trigger levels followed before the cascade is cut (reported as unknown ground).
# PostgreSQL itself runs out of max_stack_depth long before this on real schemas.
MAX_TRIGGER_DEPTH = 1000
# Tree levels written out by to_dict (JSON); deeper levels are counted, not shown.
TREE_DEPTH_SHOWN = 200
# Python frames the engine uses per trigger level, with room to spare.
_FRAMES_PER_LEVEL = 16
Key = tuple[str, ...]
# The upper bound of a count nothing bounds: the rows a set-based write touches.
UNBOUNDED = math.inf
# FK actions that write the referencing rows.
_WRITING_ACTIONS = frozenset({"cascade", "set null", "set default"})
_Count = TypeVar("_Count", int, float)


_KEYS: dict[Key, Key] = {}


class Tally:
    """Counts as (lo, hi) pairs per key: ('firing', trigger), ('call', function),
    ('write', table, kind), ('scan', table), and ('reentry', trigger) where a trigger loop,
    in its second round, comes round again and is cut. `hi` may be UNBOUNDED.

    Adding a tally records it as a part, scaled by (lo, hi) factors, and costs O(1); the
    parts are summed the first time `counts` is read. The engine settles the tally of
    every memoized row event when it stores it, so each sub-cascade's counts are summed
    once however many parents share it, and the tallies of the firings, bodies and writes
    in between (read by nobody else) are summed straight into it, never copied. Lower and
    upper counts are kept apart: a part that may not happen (lo factor 0) adds nothing to
    the lower counts, and the largest part is copied whole rather than key by key.
    """

    __slots__ = ("_hi", "_lo", "_parts")

    def __init__(self) -> None:
        self._lo: dict[Key, int] = {}  # a key missing here has lo 0
        self._hi: dict[Key, float] = {}  # every key; an int, or UNBOUNDED
        self._parts: list[tuple[Tally, int, float]] = []

    @property
    def counts(self) -> dict[Key, tuple[int, float]]:
        self.settle()
        lo = self._lo
        return {key: (lo.get(key, 0), hi) for key, hi in self._hi.items()}

    def settle(self) -> None:
        """Sum the pending parts now."""
        if self._parts:
            self._sum_parts()

    def upper_total(self, what: str) -> float:
        """The upper bound of every count of one kind ('write', 'firing', …) together."""
        self.settle()
        # Writes and scans keep a sum of their own, on which alternatives are hulled.
        together = {"write": ALL_WRITES, "scan": ALL_SCANS}.get(what)
        if together is not None and together in self._hi:
            return self._hi[together]
        return sum(hi for key, hi in self._hi.items() if key[0] == what)

    def bump(self, key: Key, lo: int = 1, hi: float = 1) -> None:
        # One key object per value: memoized tallies keep the keys of every count bumped
        # below them (scale-100k: ~150,000 key tuples for a few thousand values).
        key = _KEYS.setdefault(key, key)
        if lo:
            self._lo[key] = self._lo.get(key, 0) + lo
        self._hi[key] = self._hi.get(key, 0) + hi

    def add(self, other: Tally, certain: bool = True, times: float = 1) -> None:
        """Add `other` `times` over; `times` may be UNBOUNDED only when not `certain`."""
        if times and (other._hi or other._parts):
            self._parts.append((other, int(times) if certain else 0, times))

    def add_between(self, other: Tally, lo: int, hi: float) -> None:
        """Add `other` at least `lo` and at most `hi` (possibly UNBOUNDED) times over."""
        if hi and (other._hi or other._parts):
            self._parts.append((other, lo, hi))

    def _sum_parts(self) -> None:
        # Parts still holding parts of their own are walked, not summed on their own: a
        # tally with pending parts has exactly one reader, so nothing is lost by not
        # keeping its sum.
        leaves: list[tuple[dict[Key, int], dict[Key, float], int, float]] = [
            (self._lo, self._hi, 1, 1)
        ]
        stack = list(self._parts)
        self._parts = []
        while stack:
            part, low, high = stack.pop()
            stack.extend((inner, low * a, high * b) for inner, a, b in part._parts)
            if part._hi:
                leaves.append((part._lo, part._hi, low, high))
        self._hi = _scaled_sum([(hi, high) for _, hi, _, high in leaves])
        self._lo = _scaled_sum([(lo, low) for lo, _, low, _ in leaves if low])

    def without(self, drop: Callable[[Key], bool]) -> Tally:
        """The settled counts without the keys `drop` picks, as a new tally."""
        self.settle()
        kept = Tally()
        kept._lo = {key: lo for key, lo in self._lo.items() if not drop(key)}
        kept._hi = {key: hi for key, hi in self._hi.items() if not drop(key)}
        return kept

    @staticmethod
    def hull(first: Tally, second: Tally) -> Tally:
        """Either one happens: lo is the smaller, hi the larger count."""
        first.settle()
        second.settle()
        result = Tally()
        result._lo = {
            key: min(lo, second._lo[key]) for key, lo in first._lo.items() if key in second._lo
        }
        hi = dict(first._hi)
        for key, value in second._hi.items():
            if value > hi.get(key, 0):
                hi[key] = value
        result._hi = hi
        return result


def _scaled_sum(parts: list[tuple[dict[Key, _Count], _Count]]) -> dict[Key, _Count]:
    """The sum of factor * counts. The largest unscaled dict (typically the sub-cascade below a
    firing) is copied whole, at C speed; only the others are added key by key."""
    unscaled = [index for index, (_, factor) in enumerate(parts) if factor == 1]
    base = max(unscaled, key=lambda index: len(parts[index][0]), default=-1)
    total = dict(parts[base][0]) if base >= 0 else {}
    for index, (counts, factor) in enumerate(parts):
        if index == base:
            continue
        if factor == 1:
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value
        else:
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value * factor
    return total


@dataclass(slots=True)
class Node:
    """One line of the cascade tree: a statement, a firing, a call, a write or a read."""

    kind: str
    name: str
    detail: str = ""
    location: Location | None = None
    certain: bool = True
    multiplicity: str = ""
    children: list[Node] = field(default_factory=list)
    # The catalog object or effect this line stands for, for rules that walk the tree.
    ref: Trigger | Function | Write | Read | DynamicEffect | None = field(
        default=None, repr=False, compare=False
    )
    # How many times the effect runs per run of its body, when in a loop.
    iterations: Iterations = field(default=ONCE, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A few dozen details ("call [if …]", "insert") are built again for every node
        # of every memoized sub-cascade: one string each.
        self.detail = sys.intern(self.detail)

    def to_dict(self, seen: set[int] | None = None, depth: int = 0) -> dict[str, object]:
        """The tree as plain data; a subtree already shown, or nested deeper than
        TREE_DEPTH_SHOWN, is marked instead of repeated."""
        seen = set() if seen is None else seen
        shared = id(self) in seen
        seen.add(id(self))
        data: dict[str, object] = {
            "kind": self.kind,
            "name": self.name,
            "detail": self.detail,
            "location": self.location.to_dict() if self.location else None,
            "certain": self.certain,
        }
        if self.multiplicity:
            data["multiplicity"] = self.multiplicity
        if self.children and shared:
            data["children_shown_above"] = True
        elif self.children and depth >= TREE_DEPTH_SHOWN:
            data["children_not_shown"] = len(self.children)
        elif self.children:
            data["children"] = [c.to_dict(seen, depth + 1) for c in self.children]
        return data


@dataclass(frozen=True)
class Cycle:
    frames: tuple[str, ...]  # trigger keys around the loop, in firing order
    guards: tuple[str, ...]  # what could break it: WHEN, UPDATE OF, depth or change tests
    location: Location | None

    @property
    def broken(self) -> bool:
        return bool(self.guards)


@dataclass(frozen=True)
class Unknown:
    reason: str
    name: str
    location: Location | None


NO_RETURN = "control reached end of trigger procedure without RETURN"
NO_RETURN_CONDITION = "function_executed_no_return_statement"  # SQLSTATE 2F005
TRUNCATE_REFERENCED = "cannot truncate a table referenced in a foreign key constraint"  # 0A000


@dataclass(frozen=True)
class PredictedError:
    """An error that ends the statement: a RAISE EXCEPTION, or a trigger function falling
    off its end. `certain` when it happens on every path the entry reaches."""

    condition: str  # condition name or SQLSTATE
    message: str | None  # RAISE's format string (`%` = a parameter); None: known at run time
    path: str
    line: int
    certain: bool

    def matches(self, server_message: str) -> bool:
        """Whether the server's error message is one this RAISE can produce."""
        if self.message is None:
            return True
        parts = self.message.split("%%")
        pattern = "%".join(".*".join(re.escape(p) for p in part.split("%")) for part in parts)
        return re.fullmatch(pattern, server_message, re.S) is not None

    def describe(self) -> str:
        return f"{self.message or self.condition} ({self.path}:{self.line})"


def _error_key(condition: str, message: str | None, location: Location) -> Key:
    # A key of the tally like any count, so errors travel through the memo, guards and
    # hulls exactly as writes do: lo > 0 means the error is certain.
    return ("error", condition, message or "", location.path, str(location.line))


def _without_caught(tally: Tally, conditions: frozenset[str]) -> Tally:
    """`tally` without the errors an EXCEPTION handler for `conditions` catches."""

    def caught(key: Key) -> bool:
        return key[0] == "error" and catches(conditions, key[1])

    if not any(caught(key) for key in tally.counts):
        return tally
    return tally.without(caught)


@dataclass(frozen=True)
class TraceEntry:
    table: str
    operation: str
    new_row: bool = False  # upsert: the row does not exist yet
    unchanged: bool = False  # update / upsert conflict writes the values already stored
    columns: tuple[str, ...] | None = None  # SET columns (update) or DO UPDATE SET (upsert)
    do_nothing: bool = False  # INSERT … ON CONFLICT DO NOTHING
    conflict_guard: Guard | None = None  # DO UPDATE … WHERE, as a guard on the update
    rows: int = 1
    children: int = 1  # rows per parent that an FK action touches
    cascade: bool = False  # TRUNCATE … CASCADE
    merge_actions: tuple[str, ...] | None = None  # the WHEN arms' actions; None: all
    # Without `columns`, whether the SET list holds the keys the database generates
    # (serial, identity, a default such as gen_random_uuid()) too: `check` leaves them out,
    # as applications do not rewrite them.
    generated_keys: bool = True
    # Rows per parent in given child tables, where they differ from `children` (verify
    # passes what the server's setup really holds: a trigger may have made more).
    children_in: tuple[tuple[str, int], ...] = ()

    @property
    def scenario(self) -> str:
        if self.operation == "upsert":
            path = "new-row" if self.new_row else "conflict"
            return f"{path}{', do nothing' if self.do_nothing else ''}" + (
                ", unchanged" if self.unchanged and not self.new_row else ""
            )
        if self.operation == "update":
            return "unchanged" if self.unchanged else "changed"
        if self.operation == "truncate" and self.cascade:
            return "cascade"
        return "default"


@dataclass
class Cascade:
    entry: TraceEntry
    statement_totals: Tally  # once per statement
    row_totals: Tally  # per source row
    tree: Node
    cycles: list[Cycle]
    unknowns: list[Unknown]

    def totals(self, rows: int | None = None) -> Tally:
        count = self.entry.rows if rows is None else rows
        result = Tally()
        result.add(self.statement_totals)
        result.add(self.row_totals, times=count)
        return result

    @property
    def errors(self) -> list[PredictedError]:
        """Errors that can end the statement, certain ones first."""
        found = [
            PredictedError(key[1], key[2] or None, key[3], int(key[4]), lo > 0)
            for key, (lo, hi) in self.totals().counts.items()
            if key[0] == "error" and hi > 0
        ]
        return sorted(found, key=lambda e: (not e.certain, e.path, e.line, e.condition))

    @property
    def fails(self) -> str:
        """certainly | possibly | no: whether the statement ends in an error."""
        errors = self.errors
        if any(e.certain for e in errors):
            return "certainly"
        return "possibly" if errors else "no"


@dataclass
class _Result:
    tally: Tally
    nodes: list[Node]
    # A write's tally when it processes at least one row and when it processes none (None
    # where that cannot happen): what FOUND tells apart. Made only when asked for.
    found: tuple[Tally | None, Tally | None] | None = None


@dataclass
class _Run:
    """A function body's contribution when it runs once."""

    tally: Tally
    nodes: list[Node]
    returns_null: Truth
    assigned: set[str]
    maybe_assigned: set[str]
    # Per column assigned once, unconditionally: the NEW columns its value is a
    # deterministic function of (None: anything else).
    derived: dict[str, frozenset[str] | None] = field(default_factory=dict)


@dataclass(frozen=True, order=True)
class _RowValue:
    """A column of the row a row-level trigger fired for, as its function sees it."""

    table: str
    event: str  # INSERT | UPDATE | DELETE
    timing: str  # BEFORE | AFTER | INSTEAD OF
    row: str  # new | old
    column: str


# Parameter name -> the trigger-row values an argument may hold (None: anything else).
_Bindings = Mapping[str, frozenset[_RowValue] | None]


@dataclass(frozen=True)
class _Frame:
    """The state a row event is processed in."""

    depth: int  # pg_trigger_depth() of the triggers this event fires
    stack: tuple[str, ...]  # trigger frames on the way here
    # (table, key columns, referencing columns, referencing table) of the row an FK cascade
    # has already deleted on the way here: the RI action runs after the parent row is gone,
    # so a write keyed by the child's referencing columns (OLD.fk) finds nothing.
    deleting: frozenset[tuple[str, tuple[str, ...], tuple[str, ...], str]] = frozenset()
    # Tables an FK action further up the chain deletes a row of, which this row references
    # too: a write keyed into one may find its row gone (a reply's trigger updating the
    # post the DELETE removes).
    doomed: frozenset[str] = frozenset()
    # Transition tables (REFERENCING … AS name) of this firing, and those known to be empty.
    transitions: frozenset[str] = frozenset()
    empty_relations: frozenset[str] = frozenset()
    # Rows in those transition tables: the rows of the statement that fired the trigger
    # (UNBOUNDED when not known, as for a row-level trigger's).
    transition_rows: float = UNBOUNDED
    # (column of the row being processed, table of an earlier row on the way here, its
    # column) whose values are equal: copied by an UPDATE's SET or picked by its key.
    # Only earlier tables this row's cascade can write again are kept.
    copies: frozenset[tuple[str, str, str]] = frozenset()
    # A trigger loop came round: this is its second round, and a third is cut.
    again: bool = False
    # Tables an ON DELETE CASCADE chain this row is in may delete rows of, kept only where a
    # child has two cascading keys into them (an FK diamond): the child row one key reaches
    # may be the one the other already deleted, and PostgreSQL deletes a row once.
    fk_closure: frozenset[str] = frozenset()
    # The tables of the FK-action chain that led to this row event from the statement's
    # row, kept only while this row's FK actions can lead back to them.
    fk_path: tuple[str, ...] = ()


class Tracer:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.catalog = model.catalog
        self.memo: dict[tuple[object, ...], _Result] = {}
        self._key_sets: dict[frozenset[object], frozenset[object]] = {}
        # The unknowns each memoized row event crossed, replayed on a memo hit.
        self._memo_unknowns: dict[tuple[object, ...], tuple[Unknown, ...]] = {}
        self._in_progress: dict[tuple[object, ...], int] = {}
        self._tainted: set[tuple[object, ...]] = set()
        self._layouts: dict[str, _Layout] = {}  # IF/CASE arms of each body, by owner
        self.cycles: dict[tuple[str, ...], Cycle] = {}
        self.unknowns: dict[tuple[str, str, Location | None], Unknown] = {}
        self.children = 1
        self.children_in: dict[str, int] = {}
        self._children_key: tuple[tuple[str, int], ...] = ()  # children_in, in memo keys
        # Hulls of memoized tallies, which every writer of the same upsert shares.
        self._hulls: dict[tuple[Tally, Tally], Tally] = {}
        # pg_trigger_depth() tests decide differently only up to their largest threshold:
        # deeper frames share one memo entry.
        thresholds = [
            atom.value
            for body in model.bodies.functions.values()
            for effect in body.effects
            for atom in effect.guard.atoms()
            if isinstance(atom, DepthAtom)
        ]
        self.depth_cap = max(thresholds) + 1 if thresholds else 0
        # The triggers that fire on each table (not disabled, not replica-only), by name.
        self._loops: dict[str, int] | None = None
        self._assigned: dict[tuple[str, str], frozenset[str] | None] = {}
        self._triggers: dict[str, list[Trigger]] = {}
        self._folded: dict[tuple[str, Location, str], list[Effect] | None] = {}
        self._cascade_closures: dict[str, frozenset[str]] = {}
        # Bodies with an EXECUTE whose text may depend on the firing (see _executed).
        self._templated = {
            body.owner
            for body in model.bodies.functions.values()
            if any(isinstance(e, DynamicEffect) and e.template is not None for e in body.effects)
        }
        for trigger in self.catalog.triggers.values():
            if trigger.enabled not in {"disabled", "replica"}:
                self._triggers.setdefault(trigger.table, []).append(trigger)
        for triggers in self._triggers.values():
            triggers.sort(key=lambda t: t.name)

    @cached_property
    def _writable_from(self) -> tuple[dict[str, int], dict[str, int]]:
        """A bit per table, and per table the tables (as bits) that the cascade of a row
        event on it may write: through its triggers' functions and the functions they
        call, and its FK actions, transitively. An over-approximation: every event,
        every guard."""
        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(self.catalog.tables)
        for table, triggers in self._triggers.items():
            for trigger in triggers:
                function = self.model.trigger_function(trigger)
                for written in self._tables_written_by(function) if function else ():
                    graph.add_edge(table, written)
        for table, known in self.catalog.tables.items():
            for fk in self.catalog.referencing_keys(table):
                graph.add_edge(table, fk.table)
            if known.view_update is not None and known.view_update.base is not None:
                graph.add_edge(table, known.view_update.base)  # written through the view
        bit = {name: index for index, name in enumerate(sorted(graph))}
        condensed = nx.condensation(graph)
        below: dict[int, int] = {}
        for component in reversed(list(nx.topological_sort(condensed))):
            reach = 0
            for member in condensed.nodes[component]["members"]:
                for successor in graph.successors(member):
                    reach |= 1 << bit[successor]
            for successor in condensed.successors(component):
                reach |= below[successor]
            below[component] = reach
        mapping = condensed.graph["mapping"]
        return bit, {table: below[mapping[table]] for table in bit}

    @cached_property
    def _fk_loops(self) -> dict[str, int]:
        """Tables on a loop of FK actions (a self-referencing key, or keys that lead back
        through other tables), numbered by loop: only there can an FK chain come back."""
        graph: nx.DiGraph[str] = nx.DiGraph()
        for table in self.catalog.tables:
            for fk in self.catalog.referencing_keys(table):
                if {fk.on_delete, fk.on_update} & _WRITING_ACTIONS:
                    graph.add_edge(table, fk.table)
        return {
            table: index
            for index, component in enumerate(nx.strongly_connected_components(graph))
            if len(component) > 1 or any(graph.has_edge(t, t) for t in component)
            for table in component
        }

    def _hull(self, first: Tally, second: Tally) -> Tally:
        found = self._hulls.get((first, second))
        if found is None:
            found = self._hulls[(first, second)] = Tally.hull(first, second)
        return found

    def _may_write(self, table: str, target: str) -> bool:
        """Whether the cascade of a row event on `table` may write `target`."""
        bit, reach = self._writable_from
        index = bit.get(target)
        return index is None or bool(reach.get(table, -1) >> index & 1)

    def _tables_written_by(self, function: Function) -> set[str]:
        """Tables `function` and the functions it calls (transitively) write."""
        written: set[str] = set()
        for reached in self.model.reachable_functions(function):
            body = self.model.effects_of(reached)
            for effect in body.effects if body else ():
                if isinstance(effect, Write) and effect.table:
                    written.add(effect.table)
                elif isinstance(effect, DynamicEffect):  # what its template was read as
                    written.update(w.table for w in effect.inferred if w.table)
        return written

    # ---- entry ----------------------------------------------------------------------

    def trace(self, entry: TraceEntry) -> Cascade:
        with _tracing():
            try:
                return self._trace(entry)
            finally:
                self._forget_tainted()

    def _forget_tainted(self) -> None:
        for key in self._tainted:
            self.memo.pop(key, None)
            self._memo_unknowns.pop(key, None)
        self._tainted.clear()

    def _trace(self, entry: TraceEntry) -> Cascade:
        self.cycles = {}
        self.unknowns = {}
        self.children = entry.children
        self.children_in = dict(entry.children_in)
        self._children_key = tuple(sorted(entry.children_in))
        table = entry.table
        traced = entry  # the entry as the server runs it: on a view's base relation
        frame = _Frame(depth=1, stack=())
        statement = Tally()
        rows = Tally()
        label = _entry_label(entry)
        if table not in self.catalog.tables:
            # A platform's auth.users, another migration set's table: its own triggers,
            # rules and keys are not known, only what this schema attaches to it.
            label += "; the table is not defined in the input"
        root = Node("statement", table, label)
        operation = entry.operation
        columns = self._set_columns(table, entry.columns, entry.generated_keys)
        if operation == "truncate":
            result = self._truncate(table, entry.cascade, frame)
            statement.add(result.tally)
            root.children.extend(result.nodes)
        else:
            events = {
                "insert": ("insert",),
                "update": ("update",),
                "delete": ("delete",),
                "upsert": ("insert", "update") if not entry.do_nothing else ("insert",),
                "merge": _actions_of(entry),
            }[operation]
            through = self._through_view(table, events)
            if through is not None:
                base, mapping = through
                mapped = tuple(mapping[c] for c in sorted(columns) if c in mapping)
                root.children.append(
                    Node("view", table, f"automatically updatable: the write goes to {base}")
                )
                table, columns = base, frozenset(mapped)
                traced = replace(traced, table=base, columns=mapped)
            refused = self._refused_by_view(table, events, None)
            if refused is not None:
                statement.add(refused.tally)
                root.children.extend(refused.nodes)
                events = ()
            # On the conflict path no row is inserted: the INSERT statement triggers still
            # fire, but their NEW TABLE transition relation is empty.
            empty = (
                frozenset({"insert"})
                if operation == "upsert" and not entry.new_row
                else (frozenset())
            )
            before = self._statement_triggers(
                table, events, columns, frame, "before", empty, entry.rows
            )
            after = self._statement_triggers(
                table, events, columns, frame, "after", empty, entry.rows
            )
            statement.add(before.tally)
            statement.add(after.tally)
            if events:
                row = self._entry_row(traced, columns, frame)
                rows.add(row.tally)
                row_node = Node(
                    "row",
                    table,
                    "per source row",
                    multiplicity=f"x{entry.rows}",
                    children=row.nodes,
                )
                root.children.extend([*before.nodes, row_node, *after.nodes])
        return Cascade(
            entry,
            statement,
            rows,
            root,
            sorted(self.cycles.values(), key=lambda c: c.frames),
            sorted(self.unknowns.values(), key=lambda u: (u.name, u.reason)),
        )

    def _entry_row(self, entry: TraceEntry, columns: frozenset[str], frame: _Frame) -> _Result:
        table, operation = entry.table, entry.operation
        # Whether a SET column really changes depends on the data: undecidable, unless the
        # entry says the update writes back the stored values (--unchanged).
        changed: frozenset[str] = frozenset()
        maybe = frozenset() if entry.unchanged else columns
        if operation == "insert":
            return self._row(table, "insert", frozenset(), frozenset(), frozenset(), frame)
        if operation == "update":
            return self._row(table, "update", columns, changed, maybe, frame)
        if operation == "delete":
            return self._row(table, "delete", frozenset(), frozenset(), frozenset(), frame)
        if operation == "upsert":
            if entry.new_row:
                return self._row(table, "insert", frozenset(), frozenset(), frozenset(), frame)
            path = "ignore-conflict" if entry.do_nothing else "upsert-conflict"
            return self._row(
                table, path, columns, changed, maybe, frame, conflict_guard=entry.conflict_guard
            )
        # merge: which action runs depends on the data
        # One WHEN arm per source row, or none: a row no arm matches is not written.
        results = [self._row(table, e, columns, changed, maybe, frame) for e in _actions_of(entry)]
        tally = Tally()
        for result in results:
            tally = Tally.hull(tally, result.tally)
        return _Result(tally, [n for r in results for n in r.nodes])

    def _set_columns(
        self, table: str, columns: Iterable[str] | None, generated_keys: bool = True
    ) -> frozenset[str]:
        if columns is not None:
            return frozenset(columns)
        known = self.catalog.tables.get(table)
        if known is None:
            return frozenset({"*"})
        skipped: set[str] = set()
        if not generated_keys:
            keys = {c for key in known.unique_keys for c in key}
            skipped = {
                c.name
                for c in known.columns
                if c.name in keys and (c.identity is not None or c.default is not None)
            }
        return frozenset(c.name for c in known.columns if c.name not in skipped) or frozenset(
            c.name for c in known.columns
        )

    # ---- statement-level triggers ------------------------------------------------------

    def _through_view(self, table: str, events: Iterable[str]) -> tuple[str, dict[str, str]] | None:
        """The relation PostgreSQL writes instead of `table` when it is an automatically
        updatable view with no INSTEAD OF trigger or INSTEAD rule for `events` (through
        views of views), and which of its columns are which columns there."""
        wanted = set(events)
        mapping: dict[str, str] | None = None
        passed = {table}
        while True:
            known = self.catalog.tables.get(table)
            update = known.view_update if known is not None else None
            base = update.base if update is not None else None
            # (A view cannot reach itself on the server; a catalog may, by OR REPLACE.)
            if update is None or base is None or base in passed or self._instead(table, wanted):
                break
            passed.add(base)
            step = dict(update.columns)
            mapping = (
                step if mapping is None else {v: step[b] for v, b in mapping.items() if b in step}
            )
            table = base
        return (table, mapping) if mapping is not None else None

    def _instead(self, view: str, events: set[str]) -> bool:
        """Whether an INSTEAD OF trigger or an INSTEAD rule handles `events` on `view`."""
        return any(
            t.timing == "instead of" and events & set(t.events) for t in self._active(view)
        ) or any(
            r.table == view and r.instead and r.event in events and r.enabled != "disabled"
            for r in self.catalog.rules.values()
        )

    def _refused_by_view(
        self, table: str, events: Iterable[str], location: Location | None
    ) -> _Result | None:
        """A write PostgreSQL refuses: to a view that is not automatically updatable and
        has no INSTEAD OF trigger or INSTEAD rule for it."""
        known = self.catalog.tables.get(table)
        update = known.view_update if known is not None else None
        wanted = set(events)
        if not wanted or known is None or known.relkind != "view" or self._instead(table, wanted):
            return None
        if update is None:
            # Its query was not understood: whether the server writes a base table through
            # it, or refuses, is not known; the write is counted on the view.
            self._unknown("write to a view whose query was not understood", table, location)
            return None
        if update.base is not None:
            return None
        verb = (
            "insert into"
            if "insert" in wanted
            else "update"
            if "update" in wanted
            else "delete from"
        )
        message = f'cannot {verb} view "{table.rsplit(".", 1)[-1]}"'
        where = location or (known.location if known else None)
        tally = Tally()
        if where is not None:
            tally.bump(_error_key("object_not_in_prerequisite_state", message, where))
        node = Node("error", table, f"{message}: {update.reason}", where)
        return _Result(tally, [node])

    def _statement_triggers(
        self,
        table: str,
        events: Iterable[str],
        columns: frozenset[str] | None,
        frame: _Frame,
        timing: str | None = None,
        empty_events: frozenset[str] = frozenset(),
        rows: float = UNBOUNDED,
    ) -> _Result:
        """`rows`: the rows the statement writes, which its transition tables hold."""
        tally = Tally()
        nodes: list[Node] = []
        wanted = set(events)
        for rule in self.catalog.rules.values():
            if (
                rule.table == table
                and rule.event in wanted
                and rule.rewrites_writes
                and rule.enabled != "disabled"
            ):
                self._unknown("rewrite rule not followed", f"{table}.{rule.name}", rule.location)
        for trigger in self._active(table):
            if trigger.level != "statement" or (timing and trigger.timing != timing):
                continue
            # An upsert fires INSERT and UPDATE statement triggers: a trigger on both fires twice.
            for event in ("insert", "update", "delete", "truncate"):
                if event not in wanted or event not in trigger.events:
                    continue
                if event == "update" and not self._update_of_matches(trigger, columns):
                    continue
                context = FiringContext(
                    op=event.upper(),
                    timing=trigger.timing.upper(),
                    level="STATEMENT",
                    table=table,
                    depth=frame.depth,
                    trigger_arguments=tuple(a.strip("'") for a in trigger.arguments),
                    trigger_name=trigger.name,
                )
                empty = (
                    frozenset(name for _, name in trigger.referencing)
                    if event in empty_events
                    else frozenset()
                )
                fired = self._fire(trigger, context, frame, event, True, empty, rows)
                tally.add(fired.tally)
                nodes.extend(fired.nodes)
        return _Result(tally, nodes)

    def _truncate(self, table: str, cascade: bool, frame: _Frame) -> _Result:
        """TRUNCATE fires statement-level TRUNCATE triggers only, on every table it empties:
        the table's partitions and inheritance children too, and with CASCADE every table
        that references a truncated one, transitively. All BEFORE TRUNCATE triggers fire
        first, then all AFTER TRUNCATE ones."""
        tables = [table]
        while True:
            more = [
                child
                for name in tables
                for child in self._descendants(name)
                + ([fk.table for fk in self.catalog.referencing_keys(name)] if cascade else [])
                if child not in tables
            ]
            if not more:
                break
            tables.extend(dict.fromkeys(more))
        tally = Tally()
        nodes: list[Node] = []
        if not cascade:
            # Without CASCADE, a table another (not truncated) table references cannot be
            # truncated, however empty both are: checked before any trigger fires.
            blocker = next(
                (
                    fk
                    for name in tables
                    for fk in self.catalog.referencing_keys(name)
                    if fk.table not in tables
                ),
                None,
            )
            where = None
            if blocker is not None:
                where = blocker.location or self._table_location(blocker.table)
            if blocker is not None and where is not None:
                tally.bump(_error_key("feature_not_supported", TRUNCATE_REFERENCED, where))
                nodes.append(
                    Node(
                        "error",
                        blocker.table,
                        f"{TRUNCATE_REFERENCED}: {blocker.table} ({', '.join(blocker.columns)})"
                        f" references {blocker.ref_table}",
                        where,
                    )
                )
                return _Result(tally, nodes)
        for timing in ("before", "after"):
            for name in tables:
                result = self._statement_triggers(name, ("truncate",), None, frame, timing)
                tally.add(result.tally)
                nodes.extend(result.nodes)
        return _Result(tally, nodes)

    def _table_location(self, table: str) -> Location | None:
        known = self.catalog.tables.get(table)
        return known.location if known else None

    def _descendants(self, table: str) -> list[str]:
        """Partitions and inheritance children of `table` (one level), in name order."""
        return self._children_of.get(table, [])

    @cached_property
    def _children_of(self) -> dict[str, list[str]]:
        # Once per tracer: scanning every table per TRUNCATE made tracing every table
        # quadratic in the number of tables (0.17 s of 4.5 s on triggers-1000).
        found: dict[str, list[str]] = {}
        for name, known in sorted(self.catalog.tables.items()):
            for parent in dict.fromkeys((known.partition_of, *known.inherits)):
                if parent:
                    found.setdefault(parent, []).append(name)
        return found

    # ---- row events --------------------------------------------------------------------

    def _active(self, table: str) -> list[Trigger]:
        return self._triggers.get(table, [])

    def _row(
        self,
        table: str,
        path: str,
        set_columns: frozenset[str],
        changed: frozenset[str],
        maybe: frozenset[str],
        frame: _Frame,
        write_kind: str | None = None,
        conflict_guard: Guard | None = None,
    ) -> _Result:
        """One row through BEFORE triggers, the write, FK actions and AFTER triggers.

        `path` is insert | update | delete | upsert-conflict | ignore-conflict;
        `conflict_guard` is an upsert's DO UPDATE … WHERE condition.
        """
        if frame.deleting:
            # A row an FK action deleted matters only to the writes below that can reach
            # its table: forgetting it elsewhere lets every FK path share one memo entry.
            deleting = frozenset(gone for gone in frame.deleting if self._may_write(table, gone[0]))
            if deleting != frame.deleting:
                frame = replace(frame, deleting=deleting)
        if frame.doomed:
            # Only a row that references such a table can be keyed to the doomed row by
            # its own values (a reply's post_id); forgetting the rest keeps memo entries
            # shared down long FK chains.
            known = self.catalog.tables.get(table)
            referenced = {fk.ref_table for fk in known.foreign_keys} if known else set()
            doomed = frozenset(
                t for t in frame.doomed if t in referenced and self._may_write(table, t)
            )
            if doomed != frame.doomed:
                frame = replace(frame, doomed=doomed)
        key: tuple[object, ...] = (
            table,
            path,
            set_columns,
            changed,
            maybe,
            min(frame.depth, self.depth_cap),
            write_kind,
            frame.deleting,
            frame.doomed,
            self.children,
            self._children_key,
            conflict_guard,
            frame.copies,
            frame.fk_closure,
            frame.fk_path,
            frame.again,
        )
        cached = self.memo.get(key)
        if cached is not None and key in self._in_progress:
            # The same row event again while it is being computed: a trigger loop. It
            # happens once more (the second round), its triggers fire and their guards
            # decide under that round's state; the third round is cut.
            self._loop_closed(key, frame)
            if frame.again:
                loop = self._loop_frames(frame.stack[self._in_progress[key] :])
                cut = Tally()
                if loop:
                    cut.bump(("reentry", loop[0]))  # the loop certainly comes round again
                return _Result(cut, [])
            frame = replace(frame, again=True)
            key = (*key[:-1], True)
            cached = self.memo.get(key)
        if cached is not None:
            # What the row event crossed that is unknown belongs to every trace reaching it.
            for unknown in self._memo_unknowns.get(key, ()):
                self.unknowns.setdefault((unknown.reason, unknown.name, unknown.location), unknown)
            return cached
        key = self._kept_key(key)
        self.memo[key] = _Result(Tally(), [])  # a re-entry while computing this adds nothing
        self._in_progress[key] = len(frame.stack)
        before = len(self.unknowns)  # unknowns are only ever added, in order
        try:
            result = self._row_uncached(
                table, path, set_columns, changed, maybe, frame, write_kind, conflict_guard
            )
        finally:
            del self._in_progress[key]
        result.tally.settle()  # every reader of the memo shares one sum
        self.memo[key] = result
        crossed = tuple(itertools.islice(self.unknowns.values(), before, None))
        if crossed:
            self._memo_unknowns[key] = crossed
        return result

    def _kept_key(self, key: tuple[object, ...]) -> tuple[object, ...]:
        """`key` with each column set replaced by the one equal set the memo already
        holds: most row events of a table share their column sets (scale-10k: 13,374 sets
        in the memo keys, 384 different ones)."""
        sets = self._key_sets
        return tuple(sets.setdefault(p, p) if type(p) is frozenset else p for p in key)

    def _loop_closed(self, key: tuple[object, ...], frame: _Frame) -> None:
        entered = self._in_progress[key]
        self._record_loop(self._loop_frames(frame.stack[entered:]))
        # Results computed inside the loop saw it cut: keep them for this trace only, so a
        # trace that enters the loop elsewhere computes it afresh.
        self._tainted.update(k for k, at in self._in_progress.items() if at >= entered)

    @staticmethod
    def _loop_frames(frames: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(f.rsplit(":", 1)[0] for f in frames if not f.startswith("function:"))

    def _row_uncached(
        self,
        table: str,
        path: str,
        set_columns: frozenset[str],
        changed: frozenset[str],
        maybe: frozenset[str],
        frame: _Frame,
        write_kind: str | None,
        conflict_guard: Guard | None,
    ) -> _Result:
        tally = Tally()
        nodes: list[Node] = []
        if path in {"insert", "update", "delete"}:
            instead = self._row_triggers(table, "instead of", path, set_columns)
            if instead:
                return self._instead_of(table, path, instead, changed, maybe, frame)
        alive: Truth = True
        changed_now, maybe_now = set(changed), set(maybe)
        phases: list[tuple[str, str]] = []
        if path in {"insert", "ignore-conflict"}:
            phases.append(("before", "insert"))
        elif path == "upsert-conflict":
            phases.extend([("before", "insert"), ("before", "update")])
        else:
            phases.append(("before", path))
        for timing, event in phases:
            if path == "upsert-conflict" and event == "update" and conflict_guard is not None:
                context = FiringContext(
                    op="UPDATE",
                    table=table,
                    changed_columns=frozenset(changed_now),
                    maybe_changed=frozenset(maybe_now),
                )
                proceeds = conflict_guard.evaluate(context.decide)
                if proceeds is False:
                    nodes.append(
                        Node("stop", table, "DO UPDATE … WHERE is false: the row is not updated")
                    )
                    return _Result(tally, nodes)
                if proceeds is None:
                    alive = None if alive is True else alive
            for trigger in self._row_triggers(table, timing, event, set_columns):
                context = self._context(trigger, event, table, frame, changed_now, maybe_now)
                fired = self._fire(trigger, context, frame, event, alive is True)
                tally.add(fired.tally)
                nodes.extend(fired.nodes)
                if fired.run is None:
                    continue
                if event == "update" or path == "insert":
                    for column in fired.run.assigned:
                        status = (
                            _derived_status(trigger, fired.run, column, changed_now | maybe_now)
                            if event == "update"
                            else "changed"
                        )
                        changed_now.discard(column)
                        maybe_now.discard(column)
                        if status == "changed":
                            changed_now.add(column)
                        elif status == "maybe":
                            maybe_now.add(column)
                    maybe_now |= fired.run.maybe_assigned - changed_now
                if fired.certain and fired.run.returns_null is True:
                    alive = False
                    nodes.append(
                        Node(
                            "stop",
                            trigger.key,
                            "BEFORE trigger returned NULL: the row is skipped",
                            trigger.location,
                        )
                    )
                    break
                if fired.run.returns_null is None or (
                    fired.run.returns_null is True and not fired.certain
                ):
                    alive = None if alive is True else alive
            if alive is False:
                break
        if alive is False or path == "ignore-conflict":
            if path == "ignore-conflict":
                nodes.append(Node("stop", table, "conflict: DO NOTHING drops the proposed row"))
            return _Result(tally, nodes)
        event = "insert" if path == "insert" else ("update" if path == "upsert-conflict" else path)
        kind = write_kind or event
        tally.bump(("write", table, kind), 1 if alive else 0, 1)
        tally.bump(ALL_WRITES, 1 if alive else 0, 1)
        nodes.append(Node("write", table, kind, certain=alive is True))
        fk = self._fk_actions(table, event, frozenset(changed_now), frozenset(maybe_now), frame)
        tally.add(fk.tally, certain=alive is True)
        nodes.extend(fk.nodes)
        for trigger in self._row_triggers(table, "after", event, set_columns):
            context = self._context(trigger, event, table, frame, changed_now, maybe_now)
            fired = self._fire(trigger, context, frame, event, alive is True)
            tally.add(fired.tally)
            nodes.extend(fired.nodes)
        return _Result(tally, nodes)

    def _instead_of(
        self,
        view: str,
        event: str,
        triggers: list[Trigger],
        changed: frozenset[str],
        maybe: frozenset[str],
        frame: _Frame,
    ) -> _Result:
        """A view row with INSTEAD OF triggers: they run in its place, the view is never
        written, and there is no row for FK actions or AFTER row triggers."""
        tally = Tally()
        nodes: list[Node] = []
        for trigger in triggers:
            context = self._context(trigger, event, view, frame, set(changed), set(maybe))
            fired = self._fire(trigger, context, frame, event, True)
            tally.add(fired.tally)
            nodes.extend(fired.nodes)
        nodes.append(Node("stop", view, f"view: INSTEAD OF {event.upper()} runs in place of it"))
        return _Result(tally, nodes)

    def _row_triggers(
        self, table: str, timing: str, event: str, set_columns: frozenset[str]
    ) -> list[Trigger]:
        found = []
        for trigger in self._active(table):
            if trigger.level != "row" or trigger.timing != timing or event not in trigger.events:
                continue
            if event == "update" and not self._update_of_matches(trigger, set_columns):
                continue
            found.append(trigger)
        return found

    @staticmethod
    def _update_of_matches(trigger: Trigger, columns: frozenset[str] | None) -> bool:
        """UPDATE OF fires when a listed column is in the SET list, changed or not."""
        if not trigger.update_columns or columns is None or "*" in columns:
            return True
        return bool(set(trigger.update_columns) & columns)

    def _context(
        self,
        trigger: Trigger,
        event: str,
        table: str,
        frame: _Frame,
        changed: set[str],
        maybe: set[str],
    ) -> FiringContext:
        return FiringContext(
            op=event.upper(),
            timing=trigger.timing.upper(),
            level=trigger.level.upper(),
            table=table,
            depth=frame.depth,
            changed_columns=frozenset(changed) if event == "update" else None,
            maybe_changed=frozenset(maybe),
            trigger_arguments=tuple(a.strip("'") for a in trigger.arguments),
            trigger_name=trigger.name,
        )

    # ---- firing a trigger ------------------------------------------------------------

    @dataclass
    class _Fired:
        tally: Tally
        nodes: list[Node]
        run: _Run | None
        certain: bool

    def _fire(
        self,
        trigger: Trigger,
        context: FiringContext,
        frame: _Frame,
        event: str,
        certain: bool,
        empty: frozenset[str] = frozenset(),
        transition_rows: float = UNBOUNDED,
    ) -> Tracer._Fired:
        when: Truth = True
        if trigger.when is not None:
            when = self._when_truth(trigger, context)
        frame_key = f"{trigger.key}:{event}"
        if when is False:
            if frame_key in frame.stack:
                # The loop comes round and its WHEN clause stops it: still a loop to report.
                self._record_cycle(frame.stack, frame_key, trigger)
            return Tracer._Fired(Tally(), [], None, False)
        certain = certain and when is True
        label = f"{trigger.timing.upper()} {event.upper()} {trigger.level.upper()}"
        if trigger.when:
            label += f" WHEN ({trigger.when})"
        node = Node("trigger", trigger.key, label, trigger.location, certain, ref=trigger)
        if frame.depth > MAX_TRIGGER_DEPTH:
            self._unknown(
                f"cascade deeper than {MAX_TRIGGER_DEPTH} trigger levels: not followed",
                trigger.key,
                trigger.location,
            )
            node.children.append(
                Node("unknown", trigger.key, "cascade too deep: cut here", trigger.location)
            )
            return Tracer._Fired(Tally(), [node], None, certain)
        tally = Tally()
        repeated = frame_key in frame.stack
        if repeated:
            # A trigger loop: the trigger fires again and its guards decide under this
            # round's state (a copy coming back unchanged stops at a change test); in the
            # second round, any trigger that fires again is cut.
            self._record_cycle(frame.stack, frame_key, trigger)
        tally.bump(("firing", trigger.key), 1 if certain else 0, 1)
        function = self.model.trigger_function(trigger)
        if repeated and frame.again:
            # It fires and its function is called; what the body does is not followed.
            if function is not None:
                tally.bump(("call", function.name), 1 if certain else 0, 1)
            node.children.append(
                Node("cycle", trigger.key, "recursion cut here", trigger.location, certain)
            )
            tally.bump(("reentry", trigger.key), 1 if certain else 0, 1)
            return Tracer._Fired(tally, [node], None, certain)
        builtin = _builtin_trigger_run(trigger, context) if function is None else None
        if builtin is not None:
            node.detail += f"  (built-in {trigger.function.rsplit('.', 1)[-1]})"
            return Tracer._Fired(tally, [node], builtin, certain)
        if function is None and is_builtin(tuple(trigger.function.split(".")), ()):
            node.detail += "  (outside code, no write to the schema)"
            return Tracer._Fired(tally, [node], None, certain)
        if function is None:
            self._unknown("trigger function not found", f"{trigger.function}()", trigger.location)
            node.children.append(Node("unknown", f"{trigger.function}()", "function not found"))
            return Tracer._Fired(tally, [node], None, certain)
        inner = replace(
            frame,
            depth=frame.depth + 1,
            stack=(*frame.stack, frame_key),
            transitions=frozenset(name for _, name in trigger.referencing),
            empty_relations=empty,
            transition_rows=transition_rows,
            again=frame.again or repeated,
            fk_closure=frozenset(),  # the trigger's own writes start chains of their own
            fk_path=(),
        )
        run = self._run(function, context, inner, {}, {})
        tally.add(run.tally, certain=certain)
        node.children.extend(run.nodes)
        return Tracer._Fired(tally, [node], run, certain)

    def _when_truth(self, trigger: Trigger, context: FiringContext) -> Truth:
        guard = guard_of(trigger.when_expression, trigger.when or "")
        return guard.evaluate(context.decide)

    def _record_cycle(self, stack: tuple[str, ...], frame_key: str, trigger: Trigger) -> None:
        start = len(stack) - 1 - stack[::-1].index(frame_key)
        self._record_loop(
            tuple(
                f.rsplit(":", 1)[0]
                for f in stack[start:]
                if ":" in f and not f.startswith("function:")
            )
        )

    def _record_loop(self, loop: tuple[str, ...]) -> None:
        if not loop:
            return
        canonical = min(loop[i:] + loop[:i] for i in range(len(loop)))
        if canonical in self.cycles:
            return  # loops are closed again on every round: describe each once
        first = self.catalog.triggers.get(loop[0])
        breakers = []
        for name in loop:
            looped = self.catalog.triggers.get(name)
            if looped is None:
                continue
            # The loop got here, so its UPDATE OF lists matched; a WHEN clause can still
            # stop the next round if it tests a change or the depth.
            when = guard_of(looped.when_expression, looped.when) if looped.when else None
            if when is not None and any(
                isinstance(a, (ChangeAtom, DepthAtom)) for a in when.atoms()
            ):
                breakers.append(f"WHEN ({looped.when}) on {looped.key}")
            function = self.model.trigger_function(looped)
            body = self.model.effects_of(function) if function else None
            if body:
                for effect in body.effects:
                    for atom in effect.guard.atoms():
                        if isinstance(atom, (DepthAtom, ChangeAtom)):
                            breakers.append(f"{atom} in {function.name if function else ''}")
        self.cycles[canonical] = Cycle(
            loop, tuple(sorted(set(breakers))), first.location if first else None
        )

    def _unknown(self, reason: str, name: str, location: Location | None) -> None:
        self.unknowns.setdefault((reason, name, location), Unknown(reason, name, location))

    # ---- running a function body ----------------------------------------------------------

    def _add_result(
        self,
        body: BodyEffects,
        effect: Effect,
        result: _Result,
        sink: Tally,
        nodes: list[Node],
        times: tuple[int, float],
    ) -> bool:
        """Add what a write or call of `body` did, `times` over (its loop's rounds), less
        the errors an EXCEPTION handler around it catches; whether one is caught."""
        lo, hi = times
        iterations = getattr(effect, "iterations", ONCE)
        caught = False
        kept, shown = result.tally, result.nodes
        if body.handled:
            kept, caught = self._uncaught(body, effect, result.tally)
            if caught:
                shown = _caught(result.nodes, body, effect)
        sink.add_between(kept, 0 if caught else lo, hi)
        nodes.extend(_repeated(shown, iterations))
        return caught

    def _found_split(
        self,
        body: BodyEffects,
        effect: Write,
        found: tuple[Tally | None, Tally | None],
        times: tuple[int, float],
    ) -> tuple[Tally | None, Tally | None]:
        """The write's two tallies as `_add_result` adds it, `times` over."""
        split: list[Tally | None] = []
        for version in found:
            if version is None:
                split.append(None)
                continue
            sink = Tally()
            self._add_result(body, effect, _Result(version, []), sink, [], times)
            split.append(sink)
        return split[0], split[1]

    def _run(
        self,
        function: Function,
        context: FiringContext,
        frame: _Frame,
        arguments: Mapping[str, exp.Expr],
        bindings: _Bindings,
    ) -> _Run:
        tally = Tally()
        tally.bump(("call", function.name))
        nodes: list[Node] = []
        returns_null: Truth = False
        assigned: set[str] = set()
        maybe_assigned: set[str] = set()
        derived: dict[str, frozenset[str] | None] = {}
        body = self.model.effects_of(function)
        if body is None:
            return _Run(tally, nodes, None, assigned, maybe_assigned)
        if arguments:
            context = replace(context, arguments=dict(arguments))
        if body.incomplete:
            self._unknown("body not fully understood", function.key, function.location)
        # The arms of one IF/CASE are alternatives: each effect's counts go to its own
        # tally, and _fold hulls the arms instead of adding them.
        layout = self._layout(body) if body.choices else None
        parts: dict[int, Tally] = {}
        # A write whose FOUND the body tests: its tally with rows and without (_fold).
        splits: dict[int, tuple[Tally | None, Tally | None]] = {}
        # (table, key values) of rows an earlier statement of this body certainly made or
        # found: `INSERT … ON CONFLICT DO NOTHING; UPDATE … WHERE key = …` updates one row.
        made: set[tuple[str | None, tuple[tuple[str, str], ...]]] = set()
        effects = body.effects
        if body.owner in self._templated:
            effects = tuple(self._executed(function, effects, context))
        for effect in effects:
            truth = effect.guard.evaluate(context.decide)
            if truth is False:
                continue
            certain = truth is True
            guard_text = "" if certain else str(effect.guard.restrict(context.decide))
            position = layout.positions.get(id(effect)) if layout is not None else None
            if _from_empty_transition(effect, frame.empty_relations):
                if position is not None and layout is not None and position in layout.setters:
                    splits[position] = (None, Tally())  # no row: FOUND is false
                continue
            # An effect of the body as recorded (not one made up at run time) has a place
            # in the layout of its IF/CASE arms.
            sink = tally if position is None else parts.setdefault(position, Tally())
            # Counted in the lower bound: certain, or certain once its arm is taken.
            counted = certain or (
                position is not None
                and layout is not None
                and (
                    _certain_in_arm(effect.guard, layout.assumed.get(position), context)
                    or _certain_once_found(effect.guard, position, layout, splits, context)
                )
            )
            # Inside a loop an effect runs lo..hi times per run of the body.
            iterations = getattr(effect, "iterations", ONCE)
            lo = iterations.lo if counted else 0
            hi = UNBOUNDED if iterations.hi is None else iterations.hi
            if isinstance(effect, Write):
                view = effect.table
                effect = self._write_through_view(effect)
                copies, same_row, writes_back = self._copies(effect, context, bindings, frame)
                keyed = (effect.table, tuple(sorted(effect.key_values)))
                exists = (
                    (same_row or keyed in made) and effect.where_is_key
                ) or self._target_row_exists(effect, context, bindings)
                if effect.source_key is not None:
                    # INSERT … SELECT of the one row a key picks: there if the key's is.
                    exists = self._keyed_row_exists(*effect.source_key, context, bindings)
                key_rows = (
                    {
                        c: _row_values(o, context, bindings, self.catalog)
                        for c, o in effect.key_origins
                    }
                    if frame.deleting
                    else {}
                )
                tested = position is not None and layout is not None and position in layout.setters
                result = self._write(
                    effect, frame, guard_text, exists, copies, writes_back, key_rows, tested
                )
                if view != effect.table and result.nodes:
                    result.nodes[0].detail += f" (written as {view}, a view of it)"
                caught = self._add_result(body, effect, result, sink, nodes, (lo, hi))
                if tested and result.found is not None and position is not None:
                    splits[position] = self._found_split(body, effect, result.found, (lo, hi))
                if (
                    certain
                    and iterations.lo
                    and not caught
                    and effect.key_values
                    and self._makes_row(effect, result.tally)
                ):
                    made.add(keyed)
            elif isinstance(effect, Read):
                # Aggregating a transition table reads only the statement's own rows; a
                # MIN/MAX a btree index answers is one probe.
                transition = effect.table.rsplit(".", 1)[-1] in frame.transitions
                if (
                    effect.aggregates
                    and effect.keyed_by != "row"
                    and not transition
                    and hi
                    and not index_probe(effect, self.catalog.tables.get(effect.table))
                ):
                    sink.bump(("scan", effect.table), lo, hi)
                    sink.bump(ALL_SCANS, lo, hi)
                    nodes.extend(_repeated([_read_node(effect, certain, guard_text)], iterations))
            elif isinstance(effect, CallEffect):
                result = self._call(function, effect, context, frame, guard_text, bindings)
                self._add_result(body, effect, result, sink, nodes, (lo, hi))
            elif isinstance(effect, RaiseEffect):
                # An error ends the statement: it happens once at most, in whichever round.
                sink.bump(
                    _error_key(effect.condition, effect.message, effect.location),
                    1 if lo else 0,
                )
                detail = f"RAISE EXCEPTION {effect.message or effect.condition}"
                nodes.append(
                    Node(
                        "error",
                        function.name,
                        detail + (f" [if {guard_text}]" if guard_text else ""),
                        effect.location,
                        certain,
                    )
                )
            elif isinstance(effect, DynamicEffect):
                self._unknown("dynamic SQL", effect.text or "EXECUTE", effect.location)
                nodes.append(
                    Node(
                        "unknown",
                        "EXECUTE",
                        effect.text or "text known only at run time",
                        effect.location,
                        certain,
                        ref=effect,
                    )
                )
            elif isinstance(effect, ReturnEffect) and effect.value == "null":
                if certain:
                    returns_null = True
                elif returns_null is False:
                    returns_null = None
            elif isinstance(effect, RowAssignment):
                once = effect.column not in assigned | maybe_assigned
                (assigned if certain else maybe_assigned).add(effect.column)
                derived[effect.column] = (
                    effect.derived_from if once and certain and effect.guard.is_always else None
                )
        if layout is not None:
            tally.add(_fold(layout.sequence, parts, context.decide, layout, splits))
        if (
            context.level is not None
            and not body.falls_off_end.is_never
            and function.returns_trigger
        ):
            falls_off = body.falls_off_end.evaluate(context.decide)
            if falls_off is not False:
                tally.bump(
                    _error_key(
                        "function_executed_no_return_statement", NO_RETURN, function.location
                    ),
                    1 if falls_off else 0,
                )
                guard_text = "" if falls_off else str(body.falls_off_end.restrict(context.decide))
                nodes.append(
                    Node(
                        "error",
                        function.name,
                        "ends without RETURN" + (f" [if {guard_text}]" if guard_text else ""),
                        function.location,
                        falls_off is True,
                    )
                )
        return _Run(tally, nodes, returns_null, assigned, maybe_assigned, derived)

    def _layout(self, body: BodyEffects) -> _Layout:
        found = self._layouts.get(body.owner)
        if found is None:
            found = self._layouts[body.owner] = _body_layout(body)
        return found

    @staticmethod
    def _uncaught(body: BodyEffects, effect: Effect, tally: Tally) -> tuple[Tally, bool]:
        """The errors of what `effect` fired that escape the body's handlers, and whether
        one was caught: then the statement stops where it was raised, so nothing the
        effect counts is certain (what ran before the error is still counted: the server
        counts attempted writes of a rolled-back block)."""
        handled = body.handled.get(effect.location)
        if not handled:
            return tally, False
        kept = _without_caught(tally, handled)
        return kept, kept is not tally

    def _executed(
        self, function: Function, effects: Iterable[Effect], context: FiringContext
    ) -> Iterator[Effect]:
        """The body's effects, with each EXECUTE whose text this firing determines
        (TG_TABLE_NAME, TG_ARGV, constant arguments) replaced by the effects of that text."""
        for effect in effects:
            if isinstance(effect, DynamicEffect) and effect.template is not None:
                text = fold_dynamic(effect, context)
                if text is not None:
                    key = (function.key, effect.location, text)
                    if key not in self._folded:
                        self._folded[key] = executed_effects(self.catalog, function, effect, text)
                    folded = self._folded[key]
                    if folded is not None:
                        yield from (repeated(e, effect.iterations) for e in folded)
                        continue
            yield effect

    def _call(
        self,
        caller: Function,
        call: CallEffect,
        context: FiringContext,
        frame: _Frame,
        guard_text: str,
        bindings: _Bindings,
    ) -> _Result:
        callee = self.model.resolve_call(caller, call)
        if callee is None:
            if not is_builtin(call.name, self.catalog.extensions):
                self._unknown("unresolved function", call.display_name, call.location)
                return _Result(
                    Tally(),
                    [
                        Node(
                            "unknown", call.display_name + "()", "not in the catalog", call.location
                        )
                    ],
                )
            return _Result(Tally(), [])
        frame_key = f"function:{callee.key}"
        if frame_key in frame.stack:
            self._unknown("recursive function call", callee.key, call.location)
            return _Result(Tally(), [])
        # TG_TABLE_NAME, TG_OP, TG_ARGV[n] … passed on are constants of this firing.
        arguments = _constant_arguments(callee, call_arguments(call, context))
        callee_context = FiringContext(depth=context.depth, arguments=arguments)
        inner = replace(frame, stack=(*frame.stack, frame_key))
        inputs = [a for a in callee.arguments if a.mode in {"in", "inout", "variadic"}]
        callee_bindings = {
            parameter.name: _row_values(origins, context, bindings, self.catalog)
            for parameter, origins in zip(inputs, call.argument_origins, strict=False)
            if parameter.name
        }
        run = self._run(callee, callee_context, inner, arguments, callee_bindings)
        detail = "call" + (f" [if {guard_text}]" if guard_text else "")
        node = Node(
            "function",
            callee.name,
            detail,
            call.location,
            not guard_text,
            children=run.nodes,
            ref=callee,
        )
        return _Result(run.tally, [node])

    # ---- writes made by a body ----------------------------------------------------------

    def _target_row_exists(self, write: Write, context: FiringContext, bindings: _Bindings) -> bool:
        """Whether the row an UPDATE/DELETE picks by its key certainly exists.

        PostgreSQL updates 0 rows when no row has the key, so a row-keyed write counts
        for sure only where the schema guarantees the row: the key is the trigger row's
        NOT NULL foreign key to exactly the target's referenced columns (enforced once the
        row is written: NEW in an INSERT/UPDATE trigger, or OLD; not DEFERRABLE, not NOT
        VALID), or the target is
        the trigger row itself (NEW after it is written, OLD before it changes). Values reach the
        key unchanged through variables and helper-function parameters.
        """
        if write.kind not in {"update", "delete"}:
            return True
        if not write.where_is_key or write.table is None:
            return False
        return self._keyed_row_exists(write.table, write.key_origins, context, bindings)

    def _keyed_row_exists(
        self,
        table: str,
        key_origins: tuple[tuple[str, Origins], ...],
        context: FiringContext,
        bindings: _Bindings,
    ) -> bool:
        """Whether `table` certainly has the row whose key columns take these values (see
        `_target_row_exists`)."""
        if not key_origins:
            return False
        sources: dict[tuple[str, str, str, str], dict[str, str]] = {}
        for column, origins in key_origins:
            values = _row_values(origins, context, bindings, self.catalog)
            if not values:
                return False
            for value in values:
                source = sources.setdefault((value.table, value.event, value.timing, value.row), {})
                if source.setdefault(column, value.column) != value.column:
                    return False
        keys = {column for column, _ in key_origins}
        return all(
            set(columns) == keys and self._row_guaranteed(table, source, columns)
            for source, columns in sources.items()
        )

    def _row_guaranteed(
        self, target: str, source: tuple[str, str, str, str], columns: Mapping[str, str]
    ) -> bool:
        """`target` has a row whose columns equal those of the trigger row `source`."""
        table_name, event, timing, row = source
        if row == "new" and event not in {"INSERT", "UPDATE"}:
            return False  # DELETE: NEW is NULL
        if row == "new" and timing != "AFTER":
            # BEFORE: the key is checked once the row is written, and the statement goes on
            # only if the parent exists then; the row being written is not there yet. That
            # holds for the value seen here unless a BEFORE trigger may still change it.
            if timing != "BEFORE" or target == table_name:
                return False
            assigned = self._before_assigned(table_name, event.lower())
            if assigned is None or assigned & set(columns.values()):
                return False
        if row == "old" and event not in {"UPDATE", "DELETE"}:
            return False
        table = self.catalog.tables.get(table_name)
        if table is None:
            return False
        if target == table_name and (row == "new" or timing == "BEFORE"):
            # The trigger row itself: written (AFTER, NEW) or not yet deleted or updated
            # (BEFORE, OLD).
            unique = list(table.unique_keys)
            return all(c == v for c, v in columns.items()) and any(
                key and set(key) <= set(columns) for key in unique
            )
        referenced = self.catalog.tables.get(target)
        if referenced is None or "disabled" in {
            table.internal_triggers,
            referenced.internal_triggers,
        }:
            return False  # DISABLE TRIGGER ALL: the foreign keys are not enforced
        for fk in table.foreign_keys:
            if (
                fk.ref_table != target
                or set(fk.ref_columns) != set(columns)
                or fk.deferrable
                or not fk.validated
            ):
                continue
            pairs = dict(zip(fk.ref_columns, fk.columns, strict=False))
            if all(columns[c] == pairs[c] for c in columns) and all(
                (col := table.column(c)) is not None and (col.not_null or c in table.primary_key)
                for c in fk.columns
            ):
                return True  # MATCH SIMPLE checks nothing when a column is NULL
        return False

    def _copies(
        self, write: Write, context: FiringContext, bindings: _Bindings, frame: _Frame
    ) -> tuple[frozenset[tuple[str, str, str]], bool, bool]:
        """What the row an UPDATE writes shares with earlier rows of the cascade (see
        `_Frame.copies`); whether its key picks an earlier row of its own table (which
        exists); and whether it only writes back the values that row already holds: every
        SET column a copy of its own value. Such a write changes nothing, and change tests
        stop the loop.

        Values are followed from NEW of an AFTER INSERT/UPDATE row trigger, the row as
        written.
        """
        here = context.table
        if (
            write.kind != "update"
            or write.table is None
            or here is None
            or context.level != "ROW"
            or context.timing != "AFTER"
            or context.op not in {"INSERT", "UPDATE"}
        ):
            return frozenset(), False, False

        def equal_to(origins: Origins) -> set[tuple[str, str]]:
            values = _row_values(origins, context, bindings, self.catalog)
            if not values or len(values) != 1:
                return set()
            (value,) = values
            if (value.table, value.event, value.timing, value.row) != (
                here,
                context.op,
                "AFTER",
                "new",
            ):
                return set()
            return {(here, value.column)} | {
                (table, column) for own, table, column in frame.copies if own == value.column
            }

        target = write.table
        keys = {column: equal_to(origins) for column, origins in write.key_origins}
        sets = {column: equal_to(origins) for column, origins in write.set_origins}
        table = self.catalog.tables.get(target)
        unique = list(table.unique_keys) if table else []
        same_row = any(key and all((target, k) in keys.get(k, ()) for k in key) for key in unique)
        writes_back = (
            same_row
            and bool(write.columns)
            and set(sets) == set(write.columns)
            and all((target, column) in sets[column] for column in write.columns)
        )
        # An earlier row matters only if this row's cascade can write its table again:
        # it wrote this table, so that is when both lie on one loop.
        loop = self._loop_of(target)
        copies = frozenset(
            (column, table_name, source)
            for column, equal in {**keys, **sets}.items()
            for table_name, source in equal
            if table_name != target and self._loop_of(table_name) == loop
        )
        return copies, same_row, writes_back

    def _before_assigned(self, table: str, event: str) -> frozenset[str] | None:
        """Columns of NEW that BEFORE row triggers on `table` may assign; None when one
        may skip the row (RETURN NULL: then no key is checked) or is not understood."""
        key = (table, event)
        if key not in self._assigned:
            columns: set[str] = set()
            known = True
            for trigger in self._row_triggers(table, "before", event, frozenset({"*"})):
                function = self.model.trigger_function(trigger)
                body = self.model.effects_of(function) if function else None
                if (
                    body is None
                    or body.incomplete
                    or any(isinstance(e, ReturnEffect) and e.value != "new" for e in body.effects)
                ):
                    known = False
                    break
                columns.update(e.column for e in body.effects if isinstance(e, RowAssignment))
            self._assigned[key] = frozenset(columns) if known else None
        return self._assigned[key]

    def _makes_row(self, write: Write, result: Tally) -> bool:
        """After this single-row INSERT, a row with its key values certainly exists."""
        table = write.table
        if write.kind in {"insert", "upsert"}:
            return result.counts.get(("write", table or "", write.kind), (0, 0))[0] > 0
        if write.kind != "insert-or-ignore" or table is None:
            return False
        # DO NOTHING keeps the row that conflicts, which has the key only when the table
        # has no other unique key; a BEFORE INSERT trigger may skip the row altogether.
        shape = self.catalog.tables.get(table)
        keys = list(shape.unique_keys) if shape else []
        return (
            len(keys) == 1
            and set(keys[0]) == {column for column, _ in write.key_values}
            and not self._row_triggers(table, "before", "insert", frozenset())
        )

    def _loop_of(self, table: str) -> int:
        """The trigger loop `table` lies on: tables that write each other, through
        triggers and FK actions, share a number (strongly connected components)."""
        if self._loops is None:
            graph = self.model.graph
            followed = {"fires", "executes", "calls", "writes", "fk_cascade"}
            view = nx.subgraph_view(
                graph, filter_edge=lambda u, v, k: graph.edges[u, v, k]["kind"] in followed
            )
            self._loops = {
                node: index
                for index, component in enumerate(nx.strongly_connected_components(view))
                for node in component
            }
        return self._loops.get(table_node(table), -1)

    def _write(
        self,
        write: Write,
        frame: _Frame,
        guard_text: str,
        exists: bool,
        copies: frozenset[tuple[str, str, str]] = frozenset(),
        writes_back: bool = False,
        key_rows: Mapping[str, frozenset[_RowValue] | None] | None = None,
        split_found: bool = False,
    ) -> _Result:
        if write.table is None:
            self._unknown("write to a table known only at run time", write.text, write.location)
            return _Result(Tally(), [Node("unknown", "?", write.text, write.location, False)])
        table = write.table
        refused = self._refused_by_view(table, write.row_kinds, write.location)
        if refused is not None:
            return refused
        certain_rows = (
            (write.keyed_by == "row" or write.source_key is not None)
            and exists
            and not (table in frame.doomed and write.kind in {"update", "delete"})
        )
        if write.kind in {"update", "delete"} and any(
            table == gone and _keyed_by_referencing(write, key, referencing, child, frame, key_rows)
            for gone, key, referencing, child in frame.deleting
        ):
            node = Node(
                "statement",
                table,
                f"{write.kind}: the row was deleted by the FK action before this runs",
                write.location,
                False,
                "0 rows",
                ref=write,
            )
            return _Result(Tally(), [node], (None, Tally()) if split_found else None)
        columns = frozenset(write.columns) or self._set_columns(table, None)
        tally = Tally()
        nodes: list[Node] = []
        if frame.copies:
            frame = replace(frame, copies=frozenset())  # those describe the writer's row
        events = {
            "upsert": ("insert", "update"),
            "insert-or-ignore": ("insert",),
            "merge": write.row_kinds,
        }.get(write.kind, (write.kind,))
        rows = self._rows_written(write, frame)
        ignored: tuple[Tally, Tally] | None = None  # DO NOTHING: the new and conflict paths
        before = self._statement_triggers(table, events, columns, frame, "before", rows=rows)
        after = self._statement_triggers(table, events, columns, frame, "after", rows=rows)
        if write.kind == "truncate":
            result = self._truncate(table, write.cascade, frame)
            tally.add(result.tally)
            nodes.extend(result.nodes)
        # An accumulation always changes its column; other SET columns may keep their value.
        changed = frozenset(a.column for a in write.accumulations)
        maybe = frozenset() if writes_back else frozenset(write.columns) - changed
        if write.kind == "insert":
            row = self._row(table, "insert", frozenset(), frozenset(), frozenset(), frame)
        elif write.kind == "update":
            row = self._row(table, "update", columns, changed, maybe, replace(frame, copies=copies))
        elif write.kind == "delete":
            row = self._row(table, "delete", frozenset(), frozenset(), frozenset(), frame)
        elif write.kind == "upsert":
            conflict = frozenset(write.conflict_columns)
            new = self._row(
                table, "insert", frozenset(), frozenset(), frozenset(), frame, write_kind="upsert"
            )
            old = self._row(
                table,
                "upsert-conflict",
                conflict,
                changed & conflict,
                conflict - changed,
                frame,
                write_kind="upsert",
                conflict_guard=write.conflict_guard,
            )
            row = _Result(
                self._hull(new.tally, old.tally),
                [
                    Node("path", table, "row is new", children=new.nodes),
                    Node("path", table, "row exists (conflict)", children=old.nodes),
                ],
            )
        elif write.kind == "insert-or-ignore":
            new = self._row(table, "insert", frozenset(), frozenset(), frozenset(), frame)
            old = self._row(table, "ignore-conflict", frozenset(), frozenset(), frozenset(), frame)
            ignored = (new.tally, old.tally)
            row = _Result(
                self._hull(new.tally, old.tally),
                [
                    Node("path", table, "row is new", children=new.nodes),
                    Node("path", table, "row exists: DO NOTHING", children=old.nodes),
                ],
            )
        elif write.kind == "merge":
            # One WHEN arm runs per source row: its actions are alternatives.
            results = [self._row(table, e, columns, changed, maybe, frame) for e in events]
            merged = Tally()
            for index, result in enumerate(results):
                merged = result.tally if index == 0 else self._hull(merged, result.tally)
            row = _Result(merged, [n for r in results for n in r.nodes])
        else:
            row = _Result(Tally(), [])
        tally.add(before.tally)
        # A set-keyed write's row cascade runs once per row it touches: none or more.
        tally.add(row.tally, certain=certain_rows, times=rows)
        tally.add(after.tally)
        found = (
            self._found_versions(write, before, row, after, rows, certain_rows, ignored)
            if split_found
            else None
        )
        detail = write.kind + (f" [if {guard_text}]" if guard_text else "")
        if writes_back:
            detail += " writes back the values it copied"
        if write.accumulations:
            detail += " accumulates " + ", ".join(a.column for a in write.accumulations)
        multiplicity = {"row": "1 row", "table": "all rows"}.get(
            write.keyed_by,
            "per affected row, "
            + ("no upper bound" if rows == UNBOUNDED else f"at most {int(rows)}"),
        )
        if write.keyed_by == "row" and not exists:
            multiplicity = "0 or 1 row"
        node = Node(
            "statement",
            table,
            detail,
            write.location,
            not guard_text,
            multiplicity,
            [*before.nodes, *row.nodes, *after.nodes],
            ref=write,
        )
        return _Result(tally, [node], found)

    def _found_versions(
        self,
        write: Write,
        before: _Result,
        row: _Result,
        after: _Result,
        rows: float,
        certain_rows: bool,
        ignore_paths: tuple[Tally, Tally] | None = None,
    ) -> tuple[Tally | None, Tally | None]:
        """The write's tally when it processes at least one row (FOUND true) and when it
        processes none (None when it certainly processes one). A row can reach the row
        triggers and still not count as processed: a BEFORE trigger that may skip it, an
        INSTEAD OF trigger, DO UPDATE … WHERE, a MERGE arm doing nothing; then the row
        cascade may run when FOUND is false too. For DO NOTHING (`ignore_paths`: the new
        row's and the conflicting row's tallies) FOUND tells the two paths apart."""
        table = write.table or ""
        shape = self.catalog.tables.get(table)
        may_skip = (
            write.kind not in {"insert", "update", "delete", "insert-or-ignore"}
            or shape is None
            or shape.relkind not in {"table", "partitioned"}
            or any(self._before_assigned(table, kind) is None for kind in write.row_kinds)
        )
        found = Tally()
        found.add(before.tally)
        missed = Tally()
        missed.add(before.tally)
        if ignore_paths is not None:
            new, conflict = ignore_paths
            found.add_between(new, 1, rows)
            found.add_between(conflict, 0, rows - 1)
            missed.add_between(conflict, 0, rows)
            if may_skip:
                missed.add_between(new, 0, rows)
        else:
            found.add_between(row.tally, 1, rows)
            if may_skip:
                missed.add_between(row.tally, 0, rows)
        found.add(after.tally)
        missed.add(after.tally)
        if certain_rows and not may_skip and ignore_paths is None:
            return found, None
        return found, missed

    def _write_through_view(self, write: Write) -> Write:
        """`write` as the server runs it when its target is an automatically updatable
        view: on the base relation, view columns renamed to its columns."""
        known = self.catalog.tables.get(write.table) if write.table else None
        if known is None or known.view_update is None:
            return write
        through = self._through_view(known.name, write.row_kinds)
        if through is None:
            return write
        base, mapping = through

        def names(columns: Iterable[str]) -> tuple[str, ...]:
            return tuple(mapping[c] for c in columns if c in mapping)

        return replace(
            write,
            table=base,
            columns=names(write.columns),
            conflict_columns=names(write.conflict_columns),
            accumulations=tuple(
                replace(a, column=mapping[a.column])
                for a in write.accumulations
                if a.column in mapping
            ),
            deltas=names(write.deltas),
            key_columns=names(write.key_columns),
            key_values=tuple((mapping[c], v) for c, v in write.key_values if c in mapping),
        )

    def _rows_written(self, write: Write, frame: _Frame) -> float:
        """The most rows one run of `write` can touch (UNBOUNDED when nothing bounds it)."""
        if write.keyed_by == "row":
            return 1
        bound: float = UNBOUNDED if write.max_rows is None else write.max_rows
        if write.rows_from and write.rows_from in frame.transitions:
            # An aggregate without GROUP BY yields one row even from an empty relation.
            bound = min(bound, max(frame.transition_rows, 1))
        return bound

    # ---- foreign key actions -------------------------------------------------------------

    def _keys_of(self, table: str) -> tuple[ForeignKey, ...]:
        known = self.catalog.tables.get(table)
        return known.foreign_keys if known else ()

    @cached_property
    def _diamond_keys(self) -> frozenset[str]:
        """Tables referenced by a key of a table with ON DELETE CASCADE keys to two or more
        other tables: the only parents an FK diamond can join at. (Two keys to one table,
        a transfer's sender and receiver, reach one row only when it references the same
        parent twice: counted as two rows, as real data has them.)"""
        found: set[str] = set()
        for name, table in self.catalog.tables.items():
            parents = {
                fk.ref_table
                for fk in table.foreign_keys
                if fk.on_delete == "cascade" and fk.ref_table != name
            }
            if len(parents) > 1:
                found |= parents
        return frozenset(found)

    def _diamond_parents(self, table: str) -> frozenset[str]:
        """The diamond parents whose rows deleting a `table` row may delete through ON
        DELETE CASCADE (itself included); empty when no diamond can close in there."""
        if not self._diamond_keys:
            return frozenset()
        found = self._cascade_closures.get(table)
        if found is None:
            reached = {table}
            todo = [table]
            while todo:
                for fk in self.catalog.referencing_keys(todo.pop()):
                    if fk.on_delete == "cascade" and fk.table not in reached:
                        reached.add(fk.table)
                        todo.append(fk.table)
            parents = frozenset(reached) & self._diamond_keys
            found = self._cascade_closures[table] = parents if len(parents) > 1 else frozenset()
        return found

    def _fk_actions(
        self,
        table: str,
        event: str,
        changed: frozenset[str],
        maybe: frozenset[str],
        frame: _Frame,
    ) -> _Result:
        tally = Tally()
        nodes: list[Node] = []
        if event not in {"delete", "update"}:
            return _Result(tally, nodes)
        parent = self.catalog.tables.get(table)
        for fk in self.catalog.referencing_keys(table):
            action = fk.on_delete if event == "delete" else fk.on_update
            if action not in _WRITING_ACTIONS:
                continue
            # RI update actions run only for rows whose referenced key really changed.
            key_changes: Truth = True
            if event == "update":
                referenced = set(fk.ref_columns or (parent.primary_key if parent else ()))
                if "*" in changed or referenced & changed:
                    key_changes = True
                elif "*" in maybe or referenced & maybe:
                    key_changes = None
                else:
                    continue
            parent_key = tuple(fk.ref_columns or (parent.primary_key if parent else ()))
            deletes = event == "delete" and action == "cascade"
            closure = (frame.fk_closure or self._diamond_parents(table)) if deletes else frozenset()
            label = f"ON {event.upper()} {action.upper()} ({', '.join(fk.columns)})"
            # The chain comes back to a table it went through: rows referencing rows of
            # the same kind (a reply tree, a category tree), as deep as the data goes.
            looped = fk.table in frame.fk_path
            if looped:
                chain = (*frame.fk_path, table)
                self._record_fk_loop(chain[len(chain) - 1 - chain[::-1].index(fk.table) :], fk)
                # As for a trigger loop: the second round is followed (0..∞ times), the
                # third is cut.
                if frame.fk_path.count(fk.table) > 1:
                    nodes.append(
                        Node(
                            "cycle",
                            fk.table,
                            f"{label}: the next level of the tree, counted above",
                            fk.location,
                            False,
                        )
                    )
                    continue
            loop = self._fk_loops.get(fk.table)
            # Only the parent this action is deleting for: keeping every ancestor would make
            # each FK path a memo key of its own. Likewise the chain keeps only the tables
            # it can come back to.
            child_frame = replace(
                frame,
                deleting=frozenset({(table, parent_key, tuple(fk.columns), fk.table)})
                if event == "delete"
                else frame.deleting,
                doomed=frame.doomed | {gone[0] for gone in frame.deleting}
                if event == "delete"
                else frame.doomed,
                copies=frozenset(),
                fk_closure=closure,
                fk_path=tuple(
                    t
                    for t in (*frame.fk_path, table)
                    if loop is not None and self._fk_loops.get(t) == loop
                ),
            )
            # A child that another cascading key ties to a row of the same chain (comments
            # -> posts -> users and comments -> users) may be a row that path deletes: it
            # is deleted once. One key of the diamond (the first in key order) counts its
            # rows as certain; the others' may all be the same rows (lower bound 0).
            shared = any(
                other is not fk
                and other.on_delete == "cascade"
                and other.ref_table not in {fk.table, fk.ref_table}
                and other.ref_table in closure
                and _fk_order(other) < _fk_order(fk)
                for other in self._keys_of(fk.table)
            )
            columns = frozenset(fk.columns)
            if deletes:
                child = self._row(
                    fk.table, "delete", frozenset(), frozenset(), frozenset(), child_frame
                )
                events: tuple[str, ...] = ("delete",)
            else:
                child = self._row(fk.table, "update", columns, columns, frozenset(), child_frame)
                events = ("update",)
            statement = Tally()
            for timing in ("before", "after"):
                statement.add(
                    self._statement_triggers(
                        fk.table, events, columns, child_frame, timing=timing
                    ).tally
                )
            rows = self.children_in.get(fk.table, self.children)
            if looped:
                # Whether a row of the tree has children, and how many levels lie below
                # it, is data: none to any number. The level after this one is cut.
                tally.add_between(child.tally, 0, UNBOUNDED)
                tally.add_between(statement, 0, UNBOUNDED)
                multiplicity = "0..∞ children, any depth"
            else:
                tally.add(child.tally, certain=key_changes is True and not shared, times=rows)
                tally.add(statement, certain=False)
                multiplicity = f"x{rows} children"
            if shared:
                label += "; its rows may be ones another key of this cascade already deleted"
            nodes.append(
                Node(
                    "fk",
                    fk.table,
                    label,
                    fk.location,
                    key_changes is True and not looped and not shared,
                    multiplicity,
                    child.nodes,
                )
            )
        return _Result(tally, nodes)

    def _record_fk_loop(self, tables: tuple[str, ...], fk: ForeignKey) -> None:
        """The tables around a loop of FK actions, once per loop whichever starts it."""
        canonical = min(tables[i:] + tables[:i] for i in range(len(tables)))
        if canonical not in self.cycles:
            self.cycles[canonical] = Cycle(
                canonical,
                ("the rows: each round reaches other rows, as deep as the data goes",),
                fk.location,
            )


def _derived_status(trigger: Trigger, run: _Run, column: str, touched: set[str]) -> str:
    """changed | maybe | unchanged: a column a BEFORE UPDATE trigger assigned, after it.

    A deterministic function of other NEW columns (NEW.tags := parse(NEW.post)) that the
    trigger also computes on INSERT is what the stored row holds for those columns: it
    stays unchanged while they do, and may or may not change when they do (a post edit
    that keeps the tags). Anything else (now(), a lookup) is taken as a change."""
    sources = run.derived.get(column)
    if sources is None or column in sources or "insert" not in trigger.events:
        return "changed"
    if "*" in touched or sources & (touched | run.assigned | run.maybe_assigned):
        return "maybe"
    return "unchanged"


def _fk_order(fk: ForeignKey) -> tuple[str, tuple[str, ...], str]:
    return (fk.ref_table, fk.columns, fk.name or "")


def _builtin_trigger_run(trigger: Trigger, context: FiringContext) -> _Run | None:
    """What PostgreSQL's own trigger functions (and common contrib ones) do to the row."""
    name = trigger.function.rsplit(".", 1)[-1]
    arguments = [a.strip("'\"").lower() for a in trigger.arguments]
    if name == "suppress_redundant_updates_trigger":
        # Returns NULL (skips the row) when the new row equals the old one.
        if context.op != "UPDATE" or context.changed_columns is None:
            returns_null: Truth = None
        elif context.changed_columns:
            returns_null = False
        else:
            returns_null = None if context.maybe_changed else True
        return _Run(Tally(), [], returns_null, set(), set())
    if name in {"tsvector_update_trigger", "tsvector_update_trigger_column", "moddatetime"}:
        assigned = set(arguments[:1])
        return _Run(Tally(), [], False, assigned, set())
    return None


def _caught(nodes: list[Node], body: BodyEffects, effect: Effect) -> list[Node]:
    """The statement's lines, saying that the handler around it catches its errors."""
    handlers = " OR ".join(sorted(body.handled[effect.location]))
    for node in nodes:
        node.detail += f"  [an error here is caught: EXCEPTION WHEN {handlers}]"
    return nodes


def _row_values(
    origins: Origins, context: FiringContext, bindings: _Bindings, catalog: Catalog
) -> frozenset[_RowValue] | None:
    """The trigger-row values a value may be, where its guards may hold; None when it may
    be anything else."""
    values: set[_RowValue] = set()
    for guard, origin in origins:
        if guard.evaluate(context.decide) is False:
            continue
        if origin is None:
            return None
        if origin.source == "parameter":
            bound = bindings.get(origin.name)
            if bound is None:
                return None
            values |= bound
        elif context.level == "ROW" and context.table and context.op and context.timing:
            row = origin.source
            if row == "new-if-not-null":
                # coalesce(NEW.c, OLD.c) is NEW.c only where NEW.c cannot be NULL.
                if not _not_null(catalog, context.table, origin.name):
                    return None
                row = "new"
            values.add(_RowValue(context.table, context.op, context.timing, row, origin.name))
        else:
            return None
    return frozenset(values)


def _not_null(catalog: Catalog, table: str, column: str) -> bool:
    shape = catalog.tables.get(table)
    found = shape.column(column) if shape else None
    return (
        shape is not None and found is not None and (found.not_null or column in shape.primary_key)
    )


def _from_empty_transition(effect: object, empty: frozenset[str]) -> bool:
    """A write fed by, or an aggregate over, a transition table that holds no rows."""
    if not empty:
        return False
    if isinstance(effect, Write):
        return any(source in empty for source in effect.sources)
    if isinstance(effect, Read):
        return effect.table.rsplit(".", 1)[-1] in empty
    return False


def _repeated(nodes: list[Node], iterations: Iterations) -> list[Node]:
    """Nodes of an effect inside a loop say how many times it runs."""
    if not iterations.once:
        for node in nodes:
            node.detail += f" [in a loop: {iterations}]"
            node.iterations = iterations
    return nodes


def _read_node(read: Read, certain: bool, guard_text: str) -> Node:
    detail = f"{', '.join(read.aggregates)} over {read.keyed_by}"
    if read.key_columns:
        detail += f" by {', '.join(read.key_columns)}"
    if guard_text:
        detail += f" [if {guard_text}]"
    return Node("read", read.table, detail, read.location, certain, read.keyed_by, ref=read)


def _keyed_by_referencing(
    write: Write,
    key: tuple[str, ...],
    referencing: tuple[str, ...],
    child: str,
    frame: _Frame,
    key_rows: Mapping[str, frozenset[_RowValue] | None] | None,
) -> bool:
    """Whether `write` picks its row by the deleted child's referencing columns: each key
    column equals OLD.<its FK column> of the child row (directly, through a variable or a
    parameter), or that column of a transition table of this firing (which holds only
    children of the deleted parent). A value whose origin is unknown is taken to be the
    referencing one; any other column names another row, which survives."""
    if not key or not set(key) <= set(write.key_columns):
        return False
    values = dict(write.key_values)
    from_transition = any(source in frame.transitions for source in write.sources)
    for column, fk_column in zip(key, referencing, strict=False):
        rows = (key_rows or {}).get(column)
        if rows:
            deleted = _RowValue(child, "DELETE", "AFTER", "old", fk_column)
            if any(replace(row, timing="AFTER") != deleted for row in rows):
                return False
            continue
        value = values.get(column, "").replace('"', "").replace(" ", "").lower()
        qualifier, _, name = value.rpartition(".")
        if not qualifier:
            continue
        if name != fk_column.lower() or not (qualifier == "old" or from_transition):
            return False
    return True


def _constant_arguments(
    callee: Function, arguments: tuple[exp.Expr | None, ...]
) -> dict[str, exp.Expr]:
    """Parameter name → constant argument (literals, booleans, NULL; defaults included)."""
    constants: dict[str, exp.Expr] = {}
    inputs = [a for a in callee.arguments if a.mode in {"in", "inout", "variadic"}]
    for index, parameter in enumerate(inputs):
        if not parameter.name:
            continue
        value: exp.Expr | None = None
        if index < len(arguments):
            value = arguments[index]
        elif parameter.default is not None:
            value = parse_expression(f"SELECT {parameter.default}")
            if isinstance(value, exp.Select) and value.expressions:
                value = value.expressions[0]
        while isinstance(value, (exp.Cast, exp.Paren)):
            value = value.this
        if isinstance(value, (exp.Literal, exp.Boolean, exp.Null)):
            constants[parameter.name] = value
    return constants


@dataclass(frozen=True)
class _Alternatives:
    """A Choice with each arm's effects laid out (nested choices inside)."""

    choice: Choice
    arms: tuple[_Sequence, ...]


_Sequence = tuple["int | _Alternatives", ...]


@dataclass(frozen=True)
class _Layout:
    """A body's effects as a sequence of effect positions and choices."""

    sequence: _Sequence
    # The atoms an effect may take as true once the arms around it are taken.
    assumed: Mapping[int, frozenset[object]]
    positions: Mapping[int, int]  # id() of each recorded effect -> its position
    # Writes whose FOUND (or ROW_COUNT) the body tests, and the effects whose own guard
    # tests one (an IF FOUND THEN RETURN before them).
    setters: frozenset[int] = frozenset()
    found_guards: Mapping[int, Guard] = field(default_factory=dict)
    # Each of those writes: the positions that follow it in its own arm or body (_fold
    # folds them twice, once for each value of its FOUND).
    regions: Mapping[int, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Span:
    choice: Choice
    order: int  # inner choices are recorded before the ones around them
    start: int
    end: int

    def inside(self, other: _Span) -> bool:
        if (self.start, self.end) == (other.start, other.end):
            return self.order < other.order
        return other.start <= self.start and self.end <= other.end


def _body_layout(body: BodyEffects) -> _Layout:
    spans = [
        _Span(c, order, c.spans[0][0], c.spans[-1][1])
        for order, c in enumerate(body.choices)
        if c.spans and c.spans[0][0] < c.spans[-1][1]
    ]

    def build(start: int, end: int, pool: list[_Span]) -> _Sequence:
        top = sorted(
            (c for c in pool if not any(o is not c and c.inside(o) for o in pool)),
            key=lambda c: c.start,
        )
        items: list[int | _Alternatives] = []
        position = start
        for span in top:
            inner = [o for o in pool if o is not span and o.inside(span)]
            arms = []
            for arm_start, arm_end in span.choice.spans:
                items.extend(range(position, arm_start))  # ELSIF conditions: always evaluated
                nested = [o for o in inner if arm_start <= o.start and o.end <= arm_end]
                arms.append(build(arm_start, arm_end, nested) if arm_start < arm_end else ())
                position = max(position, arm_end)
            items.append(_Alternatives(span.choice, tuple(arms)))
        items.extend(range(position, end))
        return tuple(items)

    assumed: dict[int, frozenset[object]] = {}
    for choice in body.choices:
        for guard, (arm_start, arm_end) in zip(choice.arms, choice.spans, strict=True):
            if len(guard.alternatives) != 1:
                continue
            (atoms,) = guard.alternatives
            for index in range(arm_start, arm_end):
                assumed[index] = assumed.get(index, frozenset()) | atoms
    positions = {id(effect): index for index, effect in enumerate(body.effects)}
    found_guards = {
        index: effect.guard
        for index, effect in enumerate(body.effects)
        if any(isinstance(atom, FoundAtom) for atom in effect.guard.atoms())
    }
    tested = {atom for guard in found_guards.values() for atom in guard.atoms()}
    for choice in body.choices:
        for guard in (*choice.arms, choice.falls_through):
            tested |= guard.atoms()
    setters = frozenset(
        atom.setter
        for atom in tested
        if isinstance(atom, FoundAtom)
        and 0 <= atom.setter < len(body.effects)
        and isinstance(body.effects[atom.setter], Write)
    )
    sequence = build(0, len(body.effects), spans)
    regions: dict[int, frozenset[int]] = {}

    def note_regions(items: _Sequence) -> None:
        for index, item in enumerate(items):
            if isinstance(item, int):
                if item in setters:
                    regions[item] = frozenset(_positions_in(items[index + 1 :]))
            else:
                for arm in item.arms:
                    note_regions(arm)

    note_regions(sequence)
    return _Layout(sequence, assumed, positions, setters, found_guards, regions)


def _positions_in(items: _Sequence) -> Iterator[int]:
    for item in items:
        if isinstance(item, int):
            yield item
        else:
            for arm in item.arms:
                yield from _positions_in(arm)


def _certain_once_found(
    guard: Guard,
    position: int,
    layout: _Layout,
    splits: Mapping[int, object],
    context: FiringContext,
) -> bool:
    """Whether the guard holds once the FOUND it tests holds: then _fold adds the effect
    only where FOUND has that value, which it decides after each such write."""
    if len(guard.alternatives) != 1:
        return False
    (atoms,) = guard.alternatives
    tested = {atom for atom in atoms if isinstance(atom, FoundAtom)}
    if not tested or any(
        atom.setter not in splits or position not in layout.regions.get(atom.setter, ())
        for atom in tested
    ):
        return False
    assumed = layout.assumed.get(position, frozenset()) | tested
    return _certain_in_arm(guard, assumed, context)


def _certain_in_arm(
    guard: Guard, assumed: frozenset[object] | None, context: FiringContext
) -> bool:
    """Whether the guard holds once the conditions of the arms around the effect hold."""
    if not assumed:
        return False
    return guard.evaluate(lambda atom: True if atom in assumed else context.decide(atom)) is True


def _fold(
    sequence: _Sequence,
    parts: Mapping[int, Tally],
    decide: Callable[[Atom], Truth],
    layout: _Layout,
    splits: Mapping[int, tuple[Tally | None, Tally | None]],
) -> Tally:
    """The effects' counts added up, except that one arm of each choice runs: the arms
    that can be taken are hulled (and an empty one when no arm may be taken). After a
    write whose FOUND is tested, what follows it runs either with FOUND true (the write
    processed rows) or with FOUND false (it processed none): those two are hulled too."""
    tally = Tally()
    for index, item in enumerate(sequence):
        if isinstance(item, int):
            split = splits.get(item)
            if split is not None:
                rest = sequence[index + 1 :]
                options = []
                for found, version in zip((True, False), split, strict=True):
                    if version is not None:
                        option = Tally()
                        option.add(version)
                        option.add(
                            _fold(rest, parts, _assuming(decide, item, found), layout, splits)
                        )
                        options.append(option)
                tally.add(_hull_all(options))
                return tally
            guard = layout.found_guards.get(item)
            if guard is not None and guard.evaluate(decide) is False:
                continue
            part = parts.get(item)
            if part is not None:
                tally.add(part)
            continue
        options = [
            _fold(arm, parts, decide, layout, splits)
            for arm, guard in zip(item.arms, item.choice.arms, strict=True)
            if guard.evaluate(decide) is not False
        ]
        falls = item.choice.falls_through
        if not falls.is_never and falls.evaluate(decide) is not False:
            options.append(Tally())
        if options:
            tally.add(_hull_all(options))
    return tally


def _hull_all(options: list[Tally]) -> Tally:
    hulled = options[0]
    for option in options[1:]:
        hulled = Tally.hull(hulled, option)
    return hulled


def _assuming(decide: Callable[[Atom], Truth], setter: int, found: bool) -> Callable[[Atom], Truth]:
    """`decide`, knowing whether the write at position `setter` processed rows."""

    def deciding(atom: Atom) -> Truth:
        if isinstance(atom, FoundAtom) and atom.setter == setter:
            return atom.found == found
        return decide(atom)

    return deciding


def _actions_of(entry: TraceEntry) -> tuple[str, ...]:
    """A MERGE entry's row actions: those of its WHEN arms, or any when not known."""
    if entry.merge_actions is None:
        return ("insert", "update", "delete")
    return entry.merge_actions


def _entry_label(entry: TraceEntry) -> str:
    label = f"{entry.operation.upper()} ({entry.scenario})"
    if entry.columns is not None:
        label += f" SET {', '.join(entry.columns)}"
    return label


def totals_document(tally: Tally, bound: int) -> dict[str, object]:
    """The DESIGN.md totals shape for one bound: 0 = lo (totals_min), 1 = hi (totals).

    A count with no upper bound (UNBOUNDED: rows of a set-based write) is null, and so
    is any sum it enters.
    """
    firings: dict[str, int | None] = {}
    calls: dict[str, int | None] = {}
    writes: dict[str, dict[str, int | None]] = {}
    scans: int | None = 0
    counts = tally.counts
    for key, pair in sorted(counts.items()):
        value = pair[bound]
        count = None if value == UNBOUNDED else int(value)
        if key[0] == "firing" and value:
            firings[key[1]] = count
        elif key[0] == "call" and value:
            calls[key[1]] = count
        elif key[0] == "write" and value:
            row = writes.setdefault(key[1], {"insert": 0, "update": 0, "delete": 0, "upsert": 0})
            kind = key[2] if key[2] in row else "update"
            row[kind] = bounded_sum([row[kind], count])
        elif key[0] == "scan":
            scans = bounded_sum([scans, count])
    total = bounded_sum([bounded_sum(list(kinds.values())) for kinds in writes.values()])
    # Alternatives are hulled on the all-tables sums too: use them where the tally has them.
    if ALL_SCANS in counts:
        scans = _bounded(counts[ALL_SCANS][bound])
    if ALL_WRITES in counts:
        total = _bounded(counts[ALL_WRITES][bound])
    return {
        "trigger_firings": firings,
        "function_calls": calls,
        "row_writes": writes,
        "aggregate_scans": scans,
        "total_row_writes": total,
    }


def _bounded(value: float) -> int | None:
    return None if value == UNBOUNDED else int(value)


def bounded_sum(counts: Iterable[int | None]) -> int | None:
    """The sum of counts where None is unbounded: None if any is."""
    total = 0
    for count in counts:
        if count is None:
            return None
        total += count
    return total


def entry_document(entry: TraceEntry) -> dict[str, object]:
    """The entry as trace and verify JSON print it."""
    return {
        "table": entry.table,
        "operation": entry.operation,
        "scenario": entry.scenario,
        "rows": entry.rows,
        "columns": list(entry.columns) if entry.columns is not None else None,
        "children_per_parent": entry.children,
    }


def trace_document(cascade: Cascade) -> dict[str, object]:
    totals = cascade.totals()
    return {
        "entry": entry_document(cascade.entry),
        "totals": totals_document(totals, 1),
        "totals_min": totals_document(totals, 0),
        "per_row": totals_document(cascade.row_totals, 1),
        "tree": cascade.tree.to_dict(),
        "cycles": [
            {
                "triggers": list(c.frames),
                "broken_by": list(c.guards),
                "location": c.location.to_dict() if c.location else None,
            }
            for c in cascade.cycles
        ],
        "unknowns": [
            {
                "reason": u.reason,
                "name": u.name,
                "location": u.location.to_dict() if u.location else None,
            }
            for u in cascade.unknowns
        ],
        "outcome": outcome_document(cascade),
    }


def outcome_document(cascade: Cascade) -> dict[str, object]:
    """Whether the statement ends in an error (then nothing it wrote is kept: the totals
    are the work done before the server rolls it back), and which errors can end it."""
    return {
        "fails": cascade.fails,
        "errors": [
            {
                "condition": e.condition,
                "message": e.message,
                "location": {"path": e.path, "line": e.line},
                "certain": e.certain,
            }
            for e in cascade.errors
        ],
    }


@contextmanager
def _tracing() -> Iterator[None]:
    """The engine recurses once per trigger level: allow MAX_TRIGGER_DEPTH levels.

    It also allocates millions of small tuples and dicts and frees nearly all of them by
    reference counting; the cycle collector, triggered by those allocations and walking
    the whole heap (catalog, syntax trees, memo), took half the time of tracing every
    table of the `triggers` benchmark corpus. It is paused for the trace; the little a
    trace leaves in cycles is collected after it.
    """
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, MAX_TRIGGER_DEPTH * _FRAMES_PER_LEVEL + 1000))
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        sys.setrecursionlimit(previous)


def trace_call(tracer: Tracer, function: Function, arguments: tuple[exp.Expr, ...]) -> Cascade:
    """What one call of `function` (an RPC, `SELECT f(…)` or `CALL p(…)`) does."""
    with _tracing():
        try:
            return _trace_call(tracer, function, arguments)
        finally:
            tracer._forget_tainted()


def _trace_call(tracer: Tracer, function: Function, arguments: tuple[exp.Expr, ...]) -> Cascade:
    tracer.cycles = {}
    tracer.unknowns = {}
    frame = _Frame(depth=0, stack=(f"function:{function.key}",))
    constants = _constant_arguments(function, arguments)
    run = tracer._run(function, FiringContext(depth=0, arguments=constants), frame, constants, {})
    entry = TraceEntry(function.name, "call")
    root = Node(
        "call",
        function.key,
        "called with "
        + (
            ", ".join(f"{k} = {v.sql(dialect='postgres')}" for k, v in sorted(constants.items()))
            or "no constant arguments"
        ),
        function.location,
        children=run.nodes,
    )
    return Cascade(
        entry,
        Tally(),
        run.tally,
        root,
        sorted(tracer.cycles.values(), key=lambda c: c.frames),
        sorted(tracer.unknowns.values(), key=lambda u: (u.name, u.reason)),
    )
