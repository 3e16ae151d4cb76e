"""Run a write on a real PostgreSQL server and compare what it did with the trace.

`verify` proves the cascade engine against the only authority there is: the server's own
statistics. Inside one transaction it loads the schema, sets up the rows the entry needs
(`analyzer.workload`, or a workload file), snapshots `pg_stat_xact_user_functions` and
`pg_stat_xact_user_tables` around each measured statement, and rolls everything back.
A server count outside the trace's [totals_min, totals] range is a difference, and so
is a function the server called that the trace does not predict, or a certain call it
did not make.

Without a DSN the run gets a throwaway server (analyzer.pgserver) that is stopped and
removed afterwards, also on Ctrl-C. With a DSN the schema load and the workload are one
transaction that is always rolled back, so the database is left as it was.

This module returns data; `cli.py` and `report/verify.py` print it.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from analyzer.cascade import (
    Cascade,
    TraceEntry,
    Tracer,
    bounded_sum,
    entry_document,
    outcome_document,
    totals_document,
    trace_call,
)
from analyzer.catalog import Catalog, Function
from analyzer.config import Config
from analyzer.ddl import build_catalog
from analyzer.entry_sql import CallEntry, EntryError, entry_from_sql
from analyzer.graph import Model, build_model
from analyzer.parse import Statement, split_statements
from analyzer.pgserver import (
    PRELUDES,
    RowWrites,
    SqlLoadError,
    XactStats,
    execute_statement,
    load_source,
    prelude_path,
    throwaway_server,
    xact_stats,
)
from analyzer.source import SourceFile, decode, display_path, read_sources
from analyzer.workload import EntrySpec, ServerSchema, WorkloadError, build_workload

if TYPE_CHECKING:
    import psycopg

    Connection = psycopg.Connection[tuple[Any, ...]]

_MARKER = re.compile(r"--[ \t]*sqlripple:[ \t]*measure\b([^\n]*)", re.I)
_AUTH_REFERENCE = re.compile(r"\bauth\s*\.\s*\w", re.I)


@functools.cache
def _supabase_object_names() -> re.Pattern[str]:
    """The schemas, roles and publications the Supabase prelude creates, as a server error
    names them
    (`schema "extensions" does not exist`, `function auth.uid() does not exist`)."""
    text = prelude_path("supabase").read_text(encoding="utf-8")
    created = r"(?i)\bcreate\s+(?:schema|role|publication)\s+(?:if\s+not\s+exists\s+)?(\w+)"
    names = set(re.findall(created, text))
    alternatives = "|".join(sorted(map(re.escape, names)))
    return re.compile(rf'"(?:{alternatives})"|\b(?:{alternatives})\.\w', re.I)


def _names_supabase_objects(message: str) -> bool:
    return _supabase_object_names().search(message) is not None


_STACK_DEPTH_EXCEEDED = "54001"
_SAVEPOINT = "sqlripple_measure"


class VerifyError(Exception):
    """The run could not be set up: bad input, a rejected schema, no server (exit 2)."""


# ------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Count:
    """One quantity compared: predicted [low, high] against what the server counted."""

    subject: str  # function | table
    name: str
    metric: str  # calls | insert | update | delete | insert+update
    low: int
    high: int | None  # None: no upper bound (a set-based write's rows)
    server: int

    @property
    def agrees(self) -> bool:
        return self.low <= self.server and (self.high is None or self.server <= self.high)

    @property
    def predicted(self) -> str:
        if self.high is None:
            return f"{self.low}..∞"
        return str(self.low) if self.low == self.high else f"{self.low}..{self.high}"


@dataclass(frozen=True)
class Difference:
    subject: str  # function | table | statement
    name: str
    metric: str
    reason: str
    low: int | None = None
    high: int | None = None
    server: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "name": self.name,
            "metric": self.metric,
            "predicted_min": self.low,
            "predicted_max": self.high,
            "server": self.server,
            "reason": self.reason,
        }


def _count_difference(count: Count) -> Difference:
    if count.high == 0:
        reason = "not predicted" if count.subject == "table" else "called, but not predicted"
    elif count.server == 0 and count.low > 0:
        reason = "predicted, but the server did not do it"
    else:
        reason = "outside the predicted range"
    return Difference(
        count.subject, count.name, count.metric, reason, count.low, count.high, count.server
    )


@dataclass(frozen=True)
class ServerError:
    sqlstate: str | None
    message: str  # as shown: located in the workload file when it ran from one
    primary: str = ""  # the server's own message, which predictions are matched against


@dataclass(frozen=True)
class Measurement:
    """One measured statement: its prediction, what the server did, and the comparison."""

    label: str
    sql: str
    setup: tuple[str, ...]
    cascade: Cascade
    stats: XactStats
    rows: int | None
    error: ServerError | None
    counts: tuple[Count, ...]
    not_compared: tuple[str, ...]  # functions the server called that the schema lacks
    outcome: Difference | None  # the statement itself: failed, or recursion disagrees
    notes: tuple[str, ...] = ()

    @property
    def differences(self) -> tuple[Difference, ...]:
        found = [_count_difference(count) for count in self.counts if not count.agrees]
        return (self.outcome, *found) if self.outcome else tuple(found)

    @property
    def agrees(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class Verification:
    measurements: tuple[Measurement, ...]
    server_version: str
    dsn: bool  # ran on the caller's server (rolled back) rather than a throwaway one
    notes: tuple[str, ...] = ()

    @property
    def agrees(self) -> bool:
        return all(m.agrees for m in self.measurements)


# ---------------------------------------------------------------------- comparison


def _as_counts(document: Mapping[str, object], key: str) -> Mapping[str, Any]:
    value = document[key]
    assert isinstance(value, dict)
    return value


def compare(
    cascade: Cascade,
    stats: XactStats,
    known_functions: frozenset[str],
    inlinable: frozenset[str] = frozenset(),
) -> tuple[tuple[Count, ...], tuple[str, ...]]:
    """The side-by-side counts for one statement, and the server's calls left out.

    A table the trace writes with kind `upsert` (existence of the target row unknown) is
    compared on insert + update. Functions the server called that the schema does not
    define (an extension's C functions) are left out of the comparison and listed.
    Temporary tables are not compared: the server forgets the counts of one dropped
    before they are read (ON COMMIT DROP, DROP TABLE at the end of the function).
    Calls of `inlinable` functions may count 0: the planner inlines them into the calling
    query, and no call of an inlined function is counted.
    """
    totals = cascade.totals()
    high, low = totals_document(totals, 1), totals_document(totals, 0)
    high_calls, low_calls = _as_counts(high, "function_calls"), _as_counts(low, "function_calls")
    functions = {*high_calls, *low_calls} | {
        f for f in stats.function_calls if f in known_functions
    }
    counts = [
        Count(
            "function",
            name,
            "calls",
            0 if name in inlinable else low_calls.get(name, 0),
            high_calls.get(name, 0),
            stats.function_calls.get(name, 0),
        )
        for name in sorted(functions)
    ]
    high_writes, low_writes = _as_counts(high, "row_writes"), _as_counts(low, "row_writes")
    zero = {"insert": 0, "update": 0, "delete": 0, "upsert": 0}
    for table in sorted({*high_writes, *low_writes, *stats.row_writes}):
        if table.startswith("pg_temp"):  # pg_temp.x in the trace, pg_temp_3.x on the server
            continue
        hi, lo = high_writes.get(table, zero), low_writes.get(table, zero)
        server = stats.row_writes.get(table, RowWrites())
        measured = {"insert": server.insert, "update": server.update, "delete": server.delete}
        if hi["upsert"] != 0:  # None: unbounded
            merged = ("insert", "update", "upsert")
            rows = [
                (
                    "insert+update",
                    sum(lo[k] for k in merged),
                    bounded_sum(hi[k] for k in merged),
                    server.insert + server.update,
                )
            ]
        else:
            rows = [(kind, lo[kind], hi[kind], measured[kind]) for kind in ("insert", "update")]
        rows.append(("delete", lo["delete"], hi["delete"], server.delete))
        counts.extend(
            Count("table", table, metric, a, b, s) for metric, a, b, s in rows if a or b != 0 or s
        )
    not_compared = tuple(sorted(set(stats.function_calls) - functions))
    return tuple(counts), not_compared


_NOT_INLINED_CLAUSES = (
    *("from_", "joins", "laterals", "where", "group", "having", "qualify", "windows"),
    *("order", "limit", "offset", "distinct", "with_", "locks"),
)


def may_be_inlined(function: Function) -> bool:
    """Whether PostgreSQL's planner may inline a call of `function` into the query that
    makes it (`inline_function` in optimizer/util/clauses.c), so that statistics count no
    call: a LANGUAGE sql function, not SECURITY DEFINER, without SET clauses, returning one
    value, whose body is one SELECT of one expression with no FROM, WHERE, GROUP BY,
    aggregate, window function, set operation or sub-query. The planner may still decline
    at run time (strictness, volatility): "may".
    """
    if (
        function.language.lower() != "sql"
        or function.security_definer
        or function.search_path is not None
        or function.is_procedure
        or function.returns.lower().startswith(("setof ", "table"))
        or function.returns_table
        or function.body is None
    ):
        return False
    body = function.body.strip().rstrip(";").strip()
    if re.match(r"(?i)return\s", body):  # a standard-SQL body: RETURN expression
        body = "SELECT " + body[len("return") :]
    try:
        trees = sqlglot.parse(body, read="postgres")
    except (sqlglot.errors.SqlglotError, RecursionError):
        return False
    if len(trees) != 1 or not isinstance(trees[0], exp.Select):
        return False
    select = trees[0]
    if len(select.expressions) != 1 or any(select.args.get(c) for c in _NOT_INLINED_CLAUSES):
        return False
    return not any(
        isinstance(node, (exp.Subquery, exp.Query, exp.AggFunc, exp.Window, exp.Exists))
        for node in select.expressions[0].walk()
    )


def _outcome(label: str, cascade: Cascade, error: ServerError | None) -> Difference | None:
    """What the statement as a whole did against what the trace expects of it.

    Running out of stack agrees with any cycle the trace reports (guards it lists may
    not stop it); finishing disagrees with a cycle nothing breaks that certainly comes
    round a third time.
    """
    if error is not None:
        if cascade.cycles and error.sqlstate == _STACK_DEPTH_EXCEEDED:
            return None
        if any(predicted.matches(error.primary or error.message) for predicted in cascade.errors):
            return None
        return Difference(
            "statement", label, "outcome", f"the statement fails: {error.message}, not predicted"
        )
    certainly = [e for e in cascade.errors if e.certain]
    if certainly:
        return Difference(
            "statement",
            label,
            "outcome",
            f"the trace predicts the statement fails: {certainly[0].describe()}; "
            "the server finished",
        )
    counts = cascade.totals().counts
    for cycle in cascade.cycles:
        if not cycle.broken and any(counts.get(("reentry", f), (0, 0))[0] for f in cycle.frames):
            return Difference(
                "statement",
                label,
                "outcome",
                f"the trace predicts endless recursion ({' -> '.join(cycle.frames)}), "
                "the server finished",
            )
    return None


def _notes(cascade: Cascade, error: ServerError | None) -> list[str]:
    notes = []
    if error is not None and error.sqlstate == _STACK_DEPTH_EXCEEDED:
        for cycle in cascade.cycles:
            broken = f", guarded by {'; '.join(cycle.guards)}" if cycle.guards else ""
            notes.append(
                f"the server ran out of stack; the trace reports the cycle "
                f"{' -> '.join(cycle.frames)}{broken}"
            )
    notes.extend(f"trace: {u.reason}: {u.name}" for u in cascade.unknowns)
    notes.extend(
        f"trace: the statement {'fails' if e.certain else 'may fail'}: {e.describe()}"
        for e in cascade.errors
    )
    return notes


# --------------------------------------------------------------------- measuring


@dataclass
class _Run:
    conn: Connection
    catalog: Catalog
    model: Model
    server_schema: ServerSchema
    known_functions: frozenset[str] = field(init=False)
    inlinable_functions: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        functions = self.catalog.functions.values()
        self.known_functions = frozenset(f.name for f in functions)
        self.inlinable_functions = frozenset(f.name for f in functions if may_be_inlined(f))

    def tracer(self) -> Tracer:
        # One tracer per prediction: a tracer's memo outlives trace(), and a memoized
        # sub-cascade does not report its cycles and unknowns again.
        return Tracer(self.model)

    @contextlib.contextmanager
    def measured(self) -> Iterator[list[XactStats]]:
        """Statistics before and after the block, which runs in a savepoint so that a
        statement the server rejects leaves the transaction usable."""
        self.conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        snapshots = [xact_stats(self.conn)]
        try:
            yield snapshots
        except BaseException:
            with contextlib.suppress(Exception):
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            raise
        snapshots.append(xact_stats(self.conn))
        self.conn.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")

    def measurement(
        self,
        label: str,
        sql: str,
        setup: tuple[str, ...],
        run: Callable[[], int],
        predict: Callable[[int], Cascade],
        notes: Sequence[str] = (),
    ) -> Measurement:
        import psycopg

        error: ServerError | None = None
        rows: int | None = None
        stats = XactStats()
        try:
            with self.measured() as snapshots:
                rows = run()
        except (psycopg.Error, SqlLoadError) as failure:
            if isinstance(failure, SqlLoadError):
                error = ServerError(failure.sqlstate, str(failure), failure.message)
            else:
                error = ServerError(failure.diag.sqlstate, failure.diag.message_primary or "")
        else:
            stats = snapshots[1] - snapshots[0]
        cascade = predict(max(rows or 0, 1))
        counts, not_compared = (
            ((), ())
            if error
            else compare(cascade, stats, self.known_functions, self.inlinable_functions)
        )
        inlined = [
            f"PostgreSQL may inline the SQL function {count.name} into the query that calls "
            "it, and then counts no call: its calls are compared from 0"
            for count in counts
            if count.subject == "function" and count.name in self.inlinable_functions
        ]
        return Measurement(
            label=label,
            sql=sql.strip(),
            setup=setup,
            cascade=cascade,
            stats=stats,
            rows=rows,
            error=error,
            counts=counts,
            not_compared=not_compared,
            outcome=_outcome(label, cascade, error),
            notes=(*notes, *inlined, *_notes(cascade, error)),
        )

    def entry(self, spec: EntrySpec) -> Measurement:
        try:
            workload = build_workload(self.conn, spec, self.server_schema)
        except WorkloadError as error:
            raise VerifyError(f"--table {spec.table} --op {spec.operation}: {error}") from error
        entry = TraceEntry(
            spec.table,
            spec.operation,
            new_row=spec.new_row,
            unchanged=spec.unchanged,
            columns=workload.set_columns,
            children=spec.children,
            # The trace counts the child rows the server really holds per parent.
            children_in=workload.children_in,
        )

        def run() -> int:
            return self.conn.execute(workload.sql).rowcount

        return self.measurement(
            f"{spec.operation.upper()} {spec.table} ({entry.scenario})",
            workload.sql,
            workload.setup,
            run,
            lambda _rows: self.tracer().trace(entry),
            workload.notes,
        )

    def workload_file(self, source: SourceFile) -> list[Measurement]:
        statements, diagnostics, _ = split_statements(source)
        if diagnostics:
            raise VerifyError(str(diagnostics[0]))
        marked = _marked_statements(source, statements)
        if not any(options is not None for _, options in marked):
            raise VerifyError(f"{source.path}: no statement is marked with '-- sqlripple: measure'")
        measurements = []
        setup: list[str] = []
        for statement, options in marked:
            if options is None:
                try:
                    execute_statement(self.conn, statement, single_transaction=True)
                except SqlLoadError as error:
                    raise VerifyError(f"workload setup failed: {error}") from error
                setup.append(statement.text)
                continue
            measurements.append(self.file_statement(statement, options, tuple(setup)))
            setup = []
        return measurements

    def file_statement(
        self, statement: Statement, options: _Options, setup: tuple[str, ...]
    ) -> Measurement:
        location = statement.location
        where = f"{location.path}:{location.line}:{location.column}"
        try:
            parsed = entry_from_sql(
                self.catalog, statement.text, unchanged=options.unchanged, new_row=options.new_row
            )
        except EntryError as error:
            raise VerifyError(f"{where}: {error}") from error

        def run() -> int:
            cursor = execute_statement(self.conn, statement, single_transaction=True)
            if cursor is None:
                raise VerifyError(f"{where}: a transaction control statement cannot be measured")
            return cursor.rowcount

        def predict(rows: int) -> Cascade:
            if isinstance(parsed, CallEntry):
                return trace_call(self.tracer(), parsed.function, parsed.arguments)
            return self.tracer().trace(replace(parsed, rows=rows, children=options.children))

        if isinstance(parsed, CallEntry):
            label = f"CALL {parsed.function.key} at {where}"
        else:
            label = f"{parsed.operation.upper()} {parsed.table} ({parsed.scenario}) at {where}"
        return self.measurement(label, statement.text, setup, run, predict)


@dataclass(frozen=True)
class _Options:
    new_row: bool = False
    unchanged: bool = False
    children: int = 1


def _parse_options(words: str, where: str) -> _Options:
    options = _Options()
    for word in words.split():
        if word == "new-row":
            options = replace(options, new_row=True)
        elif word == "unchanged":
            options = replace(options, unchanged=True)
        elif re.fullmatch(r"children=\d+", word):
            options = replace(options, children=int(word.split("=")[1]))
        else:
            raise VerifyError(
                f"{where}: unknown measure option {word!r} (new-row, unchanged, children=N)"
            )
    return options


def _marked_statements(
    source: SourceFile, statements: Sequence[Statement]
) -> list[tuple[Statement, _Options | None]]:
    """Each statement with its measure options, or None when it is setup.

    A `-- sqlripple: measure [new-row] [unchanged] [children=N]` comment marks the
    statement that follows it.
    """
    marked: list[tuple[Statement, _Options | None]] = []
    previous_end = 0
    for statement in statements:
        gap = source.text[previous_end : statement.start]
        markers = list(_MARKER.finditer(gap))
        options = None
        if markers:
            line, column = source.position(previous_end + markers[-1].start())
            options = _parse_options(markers[-1].group(1), f"{source.path}:{line}:{column}")
        marked.append((statement, options))
        previous_end = statement.end + 1
    return marked


# -------------------------------------------------------------------------- set-up


def resolve_prelude(prelude: str | None) -> Path | None:
    """`--prelude NAME|FILE` as a file: a bundled prelude by name, else a path."""
    if prelude is None:
        return None
    if prelude in PRELUDES:
        return prelude_path(prelude)
    path = Path(prelude)
    if not path.is_file():
        raise VerifyError(
            f"--prelude {prelude}: neither a bundled prelude ({', '.join(PRELUDES)}) nor a file"
        )
    return path


def _read(path: Path) -> SourceFile:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise VerifyError(f"{path}: {error.strerror or error}") from error
    source, problems = decode(display_path(path), data)
    if source is None:
        raise VerifyError(str(problems[0]))
    return source


def _connect(conninfo: str, *, autocommit: bool) -> Connection:
    import psycopg

    try:
        return psycopg.connect(conninfo, autocommit=autocommit)
    except psycopg.Error as error:
        raise VerifyError(f"cannot connect to the server: {str(error).strip()}") from error


def _release(conn: Connection) -> None:
    """Roll back whatever the run did, then disconnect."""
    with contextlib.suppress(Exception):
        conn.rollback()
    with contextlib.suppress(Exception):
        conn.close()


def _prepare_session(conn: Connection) -> None:
    import psycopg

    try:
        conn.execute("SET track_functions = 'all'")
    except psycopg.errors.InsufficientPrivilege as error:
        raise VerifyError(
            "counting function calls needs SET track_functions = 'all', which only a "
            "superuser (or a role granted SET on it) may run; connect as one"
        ) from error


def _start_workload(conn: Connection) -> None:
    """Leave the schema's session state (SET ROLE …) and open the workload's transaction."""
    import psycopg

    if conn.autocommit:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("COMMIT")  # a file left its transaction open on a throwaway server
        conn.autocommit = False
    conn.execute("RESET ROLE")
    _prepare_session(conn)


def _sequences(conn: Connection) -> dict[str, int | None]:
    rows = conn.execute(
        "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences"
    ).fetchall()
    return {name: value for name, value in rows}


def _advanced_sequences(
    before: Mapping[str, int | None], after: Mapping[str, int | None]
) -> tuple[str, ...]:
    """Sequences of the caller's database that the run moved on, which the rollback
    cannot undo: said, rather than claiming the database was left as it was."""
    return tuple(
        f"sequence {name} advanced from {before[name] or 'unused'} to {after[name]}: "
        "a rollback does not undo nextval()"
        for name in sorted(before)
        if name in after and after[name] != before[name]
    )


def _server_version(conn: Connection) -> str:
    major, minor = divmod(conn.info.server_version, 10000)
    return f"{major}.{minor}"


class Verifier:
    """The analysis half of a run, prepared once: the schema files, their catalog and
    their model.

    `run` is one whole verification. A caller that verifies many entries against one
    database (the differential tests) loads the schema once with `load_schema` and calls
    `measure` for each entry.
    """

    def __init__(self, paths: Sequence[str], prelude: str | None = None) -> None:
        prelude_file = resolve_prelude(prelude)
        sources = read_sources(paths)
        problems = [d for d in sources.diagnostics if "decoded as latin-1" not in d.message]
        if problems:
            raise VerifyError("\n".join(str(p) for p in problems))
        self.files = sources.files
        self.prelude = _read(prelude_file) if prelude_file is not None else None
        # The analysis reads the very text the server is given.
        self.catalog = build_catalog(
            [*([self.prelude] if self.prelude else []), *self.files], Config().search_path
        )
        self.model = build_model(self.catalog)
        # The schema on the server is this one, loaded by load_schema: read it once.
        self.server_schema = ServerSchema()

    def resolve(self, spec: EntrySpec) -> EntrySpec:
        """The spec with its table named as the catalog names it."""
        table = self.catalog.lookup_relation(spec.table)
        if table is None:
            raise VerifyError(f"table {spec.table} is not in the schema")
        return replace(spec, table=table)

    def load_schema(self, conn: Connection, *, single_transaction: bool) -> None:
        """Load the prelude and the schema files, in migration order."""
        for source in [*([self.prelude] if self.prelude else []), *self.files]:
            try:
                load_source(conn, source, single_transaction=single_transaction)
            except SqlLoadError as error:
                message = f"the server rejected the schema: {error}"
                if (
                    self.prelude is None
                    and _names_supabase_objects(error.message)
                    and any(_AUTH_REFERENCE.search(f.text) for f in self.files)
                ):
                    message += (
                        "\nhint: the schema uses Supabase's auth schema (auth.users,"
                        " auth.uid()); add --prelude supabase"
                    )
                raise VerifyError(message) from error

    def measure(
        self,
        conn: Connection,
        *,
        spec: EntrySpec | None = None,
        workload: SourceFile | None = None,
    ) -> tuple[Measurement, ...]:
        """Run the entry or the workload file on `conn`, whose database holds the schema,
        in a transaction that is rolled back before this returns."""
        try:
            _start_workload(conn)
            run = _Run(conn, self.catalog, self.model, self.server_schema)
            if spec is not None:
                return (run.entry(self.resolve(spec)),)
            if workload is None:
                raise VerifyError("give either --table and --op, or --workload FILE")
            return tuple(run.workload_file(workload))
        finally:
            with contextlib.suppress(Exception):
                conn.rollback()

    def run(
        self,
        *,
        spec: EntrySpec | None = None,
        workload: Path | None = None,
        dsn: str | None = None,
    ) -> Verification:
        """Load the schema on a throwaway server (or in one rolled-back transaction on
        `dsn`), measure, and leave nothing behind."""
        if (spec is None) == (workload is None):
            raise VerifyError("give either --table and --op, or --workload FILE")
        if spec is not None:
            spec = self.resolve(spec)
        workload_source = _read(workload) if workload is not None else None
        with contextlib.ExitStack() as stack:
            if dsn is None:
                server = stack.enter_context(throwaway_server())
                conn = _connect(server.conninfo(), autocommit=True)
            else:
                conn = _connect(dsn, autocommit=False)
            stack.callback(_release, conn)
            _prepare_session(conn)
            sequences = _sequences(conn) if dsn is not None else {}
            self.load_schema(conn, single_transaction=dsn is not None)
            measurements = self.measure(conn, spec=spec, workload=workload_source)
            notes = _advanced_sequences(sequences, _sequences(conn)) if sequences else ()
            version = _server_version(conn)
        return Verification(measurements, version, dsn is not None, notes)


def verify(
    paths: Sequence[str],
    *,
    spec: EntrySpec | None = None,
    workload: Path | None = None,
    dsn: str | None = None,
    prelude: str | None = None,
) -> Verification:
    """Load the schema, run the entry (or the workload file) and compare with the trace."""
    return Verifier(paths, prelude).run(spec=spec, workload=workload, dsn=dsn)


# ------------------------------------------------------------------------- document


def measurement_document(measurement: Measurement) -> dict[str, object]:
    cascade = measurement.cascade
    totals = cascade.totals()
    return {
        "label": measurement.label,
        "entry": entry_document(cascade.entry),
        "setup": list(measurement.setup),
        "sql": measurement.sql,
        "prediction": {
            "totals": totals_document(totals, 1),
            "totals_min": totals_document(totals, 0),
            "cycles": [
                {"triggers": list(c.frames), "broken_by": list(c.guards)} for c in cascade.cycles
            ],
            "outcome": outcome_document(cascade),
        },
        "server": {
            "rows": measurement.rows,
            "error": (
                {"sqlstate": measurement.error.sqlstate, "message": measurement.error.message}
                if measurement.error
                else None
            ),
            "function_calls": dict(measurement.stats.function_calls),
            "row_writes": {
                name: writes.as_dict() for name, writes in measurement.stats.row_writes.items()
            },
        },
        "comparison": [
            {
                "subject": c.subject,
                "name": c.name,
                "metric": c.metric,
                "predicted_min": c.low,
                "predicted_max": c.high,
                "server": c.server,
                "agrees": c.agrees,
            }
            for c in measurement.counts
        ],
        "not_compared": list(measurement.not_compared),
        "differences": [d.to_dict() for d in measurement.differences],
        "notes": list(measurement.notes),
    }


def verification_document(verification: Verification) -> dict[str, object]:
    """The JSON of `verify --format json` (no server version: same input, same bytes)."""
    return {
        "agrees": verification.agrees,
        "differences": sum(len(m.differences) for m in verification.measurements),
        "measurements": [measurement_document(m) for m in verification.measurements],
        "notes": list(verification.notes),
    }
