"""A throwaway PostgreSQL server, and loading SQL files into it.

`verify` and the integration tests need a real server to check predictions against. This
module finds the server binaries, runs one in a fresh temporary directory that listens on
a unix socket only, and removes every trace of it on exit. It also loads schema files
statement by statement, so that an error names the file, line and column it came from,
and reads the per-transaction statistics that count trigger work.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.parse import Statement, split_statements
from analyzer.source import SourceFile, discover

if TYPE_CHECKING:
    import psycopg

PRELUDES_DIR = Path(__file__).parent / "preludes"

_SUPERUSER = "postgres"
_SERVER_ACCOUNT = "postgres"
# Only names the socket file (.s.PGSQL.<port>); the socket directory is ours alone.
_PORT = 5432
_REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")
# A unix socket path must fit in sockaddr_un.sun_path (107 bytes on Linux), including
# the ".s.PGSQL.5432" file name PostgreSQL appends.
_MAX_SOCKET_DIR_LENGTH = 80
_START_TIMEOUT_SECONDS = 60
_STOP_TIMEOUT_SECONDS = 30


class PgServerError(RuntimeError):
    """The throwaway server could not be set up, started or stopped."""


class PgServerUnavailable(PgServerError):
    """No PostgreSQL server binaries (or no account to run them as) on this machine."""


@dataclass(frozen=True)
class Server:
    """A running throwaway server, reachable through its unix socket only."""

    bindir: Path
    datadir: Path
    socket_dir: Path
    version: str
    pid: int
    user: str = _SUPERUSER
    dbname: str = "postgres"

    @property
    def dsn(self) -> str:
        """libpq conninfo for the default database."""
        return self.conninfo()

    def conninfo(self, dbname: str | None = None) -> str:
        """libpq conninfo for `dbname` (default: the `postgres` database)."""
        return make_conninfo(
            host=str(self.socket_dir),
            port=str(_PORT),
            user=self.user,
            dbname=dbname or self.dbname,
        )

    def connect(
        self, dbname: str | None = None, *, autocommit: bool = True
    ) -> psycopg.Connection[tuple[Any, ...]]:
        """A psycopg connection (psycopg is only needed by callers that connect)."""
        import psycopg

        return psycopg.connect(self.conninfo(dbname), autocommit=autocommit)


def make_conninfo(**params: str) -> str:
    """A libpq keyword/value connection string, values quoted as libpq expects."""
    return " ".join(
        "{}='{}'".format(key, value.replace("\\", "\\\\").replace("'", "\\'"))
        for key, value in params.items()
    )


# --------------------------------------------------------------------------- binaries


def _has_server_binaries(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in _REQUIRED_BINARIES)


def _version_key(directory: Path) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin directories."""
    return tuple(int(part) for part in re.findall(r"\d+", directory.parent.name))


def find_pg_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None.

    Looks on PATH first, then asks `pg_config --bindir`, then takes the highest version
    under /usr/lib/postgresql (Debian and Ubuntu keep server binaries off PATH).
    """
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        directory = Path(on_path).resolve().parent
        if _has_server_binaries(directory):
            return directory
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            completed = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            directory = Path(completed.stdout.strip())
            if completed.stdout.strip() and _has_server_binaries(directory):
                return directory
    candidates = [
        directory
        for directory in Path("/usr/lib/postgresql").glob("*/bin")
        if _has_server_binaries(directory)
    ]
    if candidates:
        return max(candidates, key=_version_key)
    return None


# ----------------------------------------------------------------------------- server


@dataclass(frozen=True)
class _Account:
    """Who runs initdb, pg_ctl and the server: ourselves, or `postgres` when we are root."""

    uid: int | None = None
    gid: int | None = None
    home: str | None = None

    def run(
        self, args: list[str], *, cwd: Path, new_session: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run a server tool to completion, even when we are interrupted meanwhile.

        Killing `pg_ctl start` half-way could leave a server behind that no
        postmaster.pid names yet; so a Ctrl-C waits for the tool to finish (it is quick)
        and is raised afterwards, when the cleanup knows what is running.
        """
        env = dict(os.environ)
        env.update(LC_ALL="C", LANG="C")
        if self.home is not None:
            env["HOME"] = self.home
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            user=self.uid,
            group=self.gid,
            extra_groups=[] if self.uid is not None else None,
            # The server must not share our process group: a Ctrl-C meant for us would
            # otherwise reach it first, and we want to stop it ourselves in order.
            start_new_session=new_session,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            stdout, stderr = process.communicate()
        except BaseException:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.communicate(timeout=_START_TIMEOUT_SECONDS)
            if process.poll() is None:
                process.kill()
                process.wait()
            raise
        return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)

    def can_enter(self, directory: Path) -> bool:
        """Whether the account may traverse `directory` and every directory above it."""
        if self.uid is None:
            return True
        for path in (directory, *directory.parents):
            try:
                status = path.stat()
            except OSError:
                return False
            if status.st_uid == self.uid:
                allowed = status.st_mode & 0o100
            elif status.st_gid == self.gid:
                allowed = status.st_mode & 0o010
            else:
                allowed = status.st_mode & 0o001
            if not allowed:
                return False
        return True

    def chown(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


def _server_account() -> _Account:
    if os.geteuid() != 0:
        return _Account()
    try:
        entry = pwd.getpwnam(_SERVER_ACCOUNT)
    except KeyError:
        raise PgServerUnavailable(
            f"running as root, and PostgreSQL refuses to run as root; create the "
            f"'{_SERVER_ACCOUNT}' account (useradd --system {_SERVER_ACCOUNT})"
        ) from None
    return _Account(uid=entry.pw_uid, gid=entry.pw_gid, home=entry.pw_dir)


def _make_base_dir(account: _Account) -> Path:
    """A new directory for the cluster and its socket, in the temporary directory when
    the server account can reach it and the socket path fits, else in /tmp."""
    base = Path(tempfile.mkdtemp(prefix="sqlripple-pg-"))
    if len(str(base)) <= _MAX_SOCKET_DIR_LENGTH and account.can_enter(base.parent):
        return base
    base.rmdir()
    return Path(tempfile.mkdtemp(prefix="sqlripple-pg-", dir="/tmp"))


def _failure(
    what: str, completed: subprocess.CompletedProcess[str], log: Path | None = None
) -> PgServerError:
    details = (completed.stderr or completed.stdout).strip()
    if log is not None and log.exists():
        details = "\n".join(filter(None, [details, log.read_text(errors="replace").strip()]))
    return PgServerError(f"{what} failed (exit code {completed.returncode}): {details[-2000:]}")


def _postmaster_pid(datadir: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((datadir / "postmaster.pid").read_text().splitlines()[0])
    return None


def _process_exists(pid: int) -> bool:
    """Whether `pid` is a live process; a zombie waiting to be reaped counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] != "Z"
    return True


def _postmasters_of(datadir: Path) -> list[int]:
    """Server processes started on `datadir`, found through /proc (Linux).

    The safety net for a server whose postmaster.pid is gone or was never written.
    """
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if Path(os.fsdecode(argv[0])).name == "postgres" and os.fsencode(datadir) in argv:
                found.append(int(entry.name))
    return sorted(found)


def _wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """The processes of `pids` still alive after waiting up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    alive = sorted(pid for pid in pids if _process_exists(pid))
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if _process_exists(pid)]
    return alive


def _stop(account: _Account, bindir: Path, datadir: Path, base: Path) -> None:
    pid = _postmaster_pid(datadir)
    if pid is not None:
        account.run(
            [str(bindir / "pg_ctl"), "stop", "-D", str(datadir), "-m", "immediate", "-w"],
            cwd=base,
        )
    pids = {*([pid] if pid is not None else []), *_postmasters_of(datadir)}
    survivors = _wait_gone(pids, _STOP_TIMEOUT_SECONDS if pid is not None else 0)
    # SIGQUIT is PostgreSQL's immediate shutdown; SIGKILL when even that does not work.
    for sig in (signal.SIGQUIT, signal.SIGKILL):
        for survivor in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(survivor, sig)
        survivors = _wait_gone(survivors, 5)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived while a throwaway server was running."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"received {signal.Signals(signum).name}")
        self.signum = signum


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def _cleanup_on_termination() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into an exception, so that `finally` blocks run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_terminated) for sig in _STOP_SIGNALS[1:]}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Let the cleanup finish before a further Ctrl-C or SIGTERM takes effect."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {sig: signal.signal(sig, lambda n, _f: arrived.append(n)) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if arrived:
        raise KeyboardInterrupt


@contextlib.contextmanager
def throwaway_server(bindir: Path | None = None) -> Iterator[Server]:
    """Run a fresh PostgreSQL server for the duration of the `with` block.

    The cluster lives in a new temporary directory, trusts local connections, listens
    on a unix socket in that directory only, and skips fsync. On exit (also on an
    exception or KeyboardInterrupt) the server is stopped immediately and the directory
    removed.
    """
    bindir = bindir or find_pg_bindir()
    if bindir is None or not _has_server_binaries(bindir):
        raise PgServerUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH, "
            "via pg_config or under /usr/lib/postgresql"
        )
    account = _server_account()
    with _cleanup_on_termination():
        base = _make_base_dir(account)
        datadir = base / "data"
        try:
            yield from _run_server(account, bindir, base, datadir)
        finally:
            with _signals_deferred():
                try:
                    _stop(account, bindir, datadir, base)
                finally:
                    shutil.rmtree(base, ignore_errors=True)


def _run_server(account: _Account, bindir: Path, base: Path, datadir: Path) -> Iterator[Server]:
    log = base / "server.log"
    account.chown(base)
    initdb = account.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            _SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        cwd=base,
    )
    if initdb.returncode != 0:
        raise _failure("initdb", initdb)
    with (datadir / "postgresql.conf").open("a") as conf:
        conf.write(
            "\n# sqlripple throwaway server\n"
            "listen_addresses = ''\n"
            f"port = {_PORT}\n"
            f"unix_socket_directories = '{base}'\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "max_connections = 100\n"
        )
    start = account.run(
        [
            str(bindir / "pg_ctl"),
            "start",
            "-D",
            str(datadir),
            "-l",
            str(log),
            "-w",
            "-t",
            str(_START_TIMEOUT_SECONDS),
        ],
        cwd=base,
        new_session=True,
    )
    if start.returncode != 0:
        raise _failure("pg_ctl start", start, log)
    version = (datadir / "PG_VERSION").read_text().strip()
    pid = _postmaster_pid(datadir)
    if pid is None:
        raise PgServerError(f"server started but left no postmaster.pid in {datadir}")
    yield Server(bindir=bindir, datadir=datadir, socket_dir=base, version=version, pid=pid)


# ------------------------------------------------------------------------ SQL loading


@dataclass  # not frozen: raising sets __traceback__ and friends on the instance
class SqlLoadError(Exception):
    """A statement of a SQL file failed on the server (or cannot be sent to it)."""

    path: str
    line: int
    column: int
    message: str
    sqlstate: str | None = None
    context: str | None = None

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}:{self.column}: {self.message}"
        if self.sqlstate:
            text += f" [{self.sqlstate}]"
        if self.context:
            text += f"\n{self.context}"
        return text


_COPY_FROM_STDIN = re.compile(r"copy\b.*\bfrom\s+stdin\b", re.I | re.S)
_COPY_DATA_END = re.compile(r"^\\\.[ \t]*\r?$", re.M)


def _transaction_control(words: tuple[str, ...]) -> str | None:
    """How a statement touches the surrounding transaction: skip, refuse, or None (run it).

    A run that must leave nothing behind lives in one transaction: a file's own BEGIN and
    COMMIT fold into it, while anything that would end, undo or hand off that
    transaction is refused.
    """
    head = words[:2]
    if head[:1] in (("begin",), ("start",)):
        return "skip"
    if head in (("commit", "prepared"), ("rollback", "prepared"), ("prepare", "transaction")):
        return "refuse"
    if head[:1] in (("commit",), ("end",)):
        return "skip"
    if head[:1] in (("rollback",), ("abort",)) and head[1:] != ("to",):
        return "refuse"
    return None


def statement_error(error: Exception, statement: Statement) -> SqlLoadError:
    """A server error located in the file: at the position the server reports, or at the
    start of the statement when it reports none."""
    import psycopg

    offset = statement.start
    message = str(error).strip()
    sqlstate = context = None
    if isinstance(error, psycopg.Error):
        diag = error.diag
        if diag.statement_position:
            offset = statement.start + int(diag.statement_position) - 1
        message = diag.message_primary or message
        sqlstate = diag.sqlstate
        context = diag.context
    line, column = statement.file.position(offset)
    return SqlLoadError(statement.file.path, line, column, message, sqlstate, context)


def _refused(statement: Statement) -> SqlLoadError:
    line, column = statement.file.position(statement.start)
    return SqlLoadError(
        statement.file.path,
        line,
        column,
        f"{statement.excerpt(40)!r} would end the single transaction this run lives in",
    )


def execute_statement(
    conn: psycopg.Connection[tuple[Any, ...]],
    statement: Statement,
    *,
    single_transaction: bool = False,
) -> psycopg.Cursor[tuple[Any, ...]] | None:
    """Run one statement of a file; None when it was folded into the run's transaction.

    `COPY … FROM stdin` takes its data from the lines after the statement, as in psql.
    Raises SqlLoadError, located in the file.
    """
    import psycopg

    if single_transaction:
        control = _transaction_control(statement.words)
        if control == "skip":
            return None
        if control == "refuse":
            raise _refused(statement)
    try:
        if _COPY_FROM_STDIN.match(" ".join(statement.words)):
            text = statement.file.text
            data_start = text.find("\n", statement.end) + 1 or len(text)
            data_end = _COPY_DATA_END.search(text, data_start)
            cursor = conn.cursor()
            with cursor.copy(statement.text) as copy:
                copy.write(text[data_start : data_end.start() if data_end else len(text)])
            return cursor
        return conn.execute(statement.text)
    except psycopg.Error as error:
        raise statement_error(error, statement) from error


def load_source(
    conn: psycopg.Connection[tuple[Any, ...]],
    source: SourceFile,
    *,
    single_transaction: bool = False,
) -> int:
    """Run every statement of a file on `conn`, in order; return how many ran.

    Statements come from the project's one splitter (`analyzer.parse`). On an autocommit
    connection a file may hold its own BEGIN/COMMIT, or statements that cannot run
    inside a transaction block; with `single_transaction` everything joins the
    connection's open transaction. Raises SqlLoadError, located in the file.
    """
    statements, diagnostics, _ = split_statements(source)
    ran = 0
    for statement in statements:
        if execute_statement(conn, statement, single_transaction=single_transaction):
            ran += 1
    if diagnostics:
        # An unterminated quote or comment: the server would reject the rest as well.
        first = diagnostics[0]
        raise SqlLoadError(first.path, first.line, first.column, first.message)
    return ran


def load_sql_text(
    conn: psycopg.Connection[tuple[Any, ...]],
    text: str,
    path: str,
    *,
    single_transaction: bool = False,
) -> int:
    """`load_source` for text that does not come from a file; `path` names it in errors."""
    return load_source(
        conn, SourceFile.from_text(path, text), single_transaction=single_transaction
    )


def load_sql_files(
    conn: psycopg.Connection[tuple[Any, ...]],
    paths: Iterable[Path],
    *,
    single_transaction: bool = False,
) -> int:
    """Load SQL files in the given order; return how many statements ran."""
    count = 0
    for path in paths:
        count += load_sql_text(
            conn,
            path.read_text(encoding="utf-8"),
            str(path),
            single_transaction=single_transaction,
        )
    return count


def sql_files(folder: Path) -> list[Path]:
    """The `*.sql` files under `folder`, in migration order (as `analyzer.source` reads them)."""
    found, _ = discover([str(folder)])
    return [path for _, path in found if path is not None]


PRELUDES = ("supabase",)


def prelude_path(name: str) -> Path:
    """A bundled prelude (e.g. `supabase`), as a file path."""
    path = PRELUDES_DIR / f"{name}.sql"
    if name not in PRELUDES or not path.is_file():
        raise FileNotFoundError(f"no bundled prelude named {name!r}")
    return path


# ------------------------------------------------------------------------ statistics


@dataclass(frozen=True)
class RowWrites:
    insert: int = 0
    update: int = 0
    delete: int = 0

    def __add__(self, other: RowWrites) -> RowWrites:
        return RowWrites(
            self.insert + other.insert, self.update + other.update, self.delete + other.delete
        )

    def __sub__(self, other: RowWrites) -> RowWrites:
        return RowWrites(
            self.insert - other.insert, self.update - other.update, self.delete - other.delete
        )

    def __bool__(self) -> bool:
        return bool(self.insert or self.update or self.delete)

    def as_dict(self) -> dict[str, int]:
        return {"insert": self.insert, "update": self.update, "delete": self.delete}


@dataclass(frozen=True)
class XactStats:
    """What the current transaction has done so far, per function and per table.

    Keys are qualified names without arguments (`public.track_user_usage`,
    `public.chat_messages`); overloads of one name are summed.
    """

    function_calls: Mapping[str, int] = field(default_factory=dict)
    row_writes: Mapping[str, RowWrites] = field(default_factory=dict)

    def __sub__(self, before: XactStats) -> XactStats:
        """The work done between `before` and this snapshot (only what changed)."""
        calls = {
            name: count - before.function_calls.get(name, 0)
            for name, count in sorted(self.function_calls.items())
            if count != before.function_calls.get(name, 0)
        }
        writes = {
            name: diff
            for name, now in sorted(self.row_writes.items())
            if (diff := now - before.row_writes.get(name, RowWrites()))
        }
        return XactStats(calls, writes)


def xact_stats(conn: psycopg.Connection[tuple[Any, ...]]) -> XactStats:
    """Snapshot pg_stat_xact_user_functions and pg_stat_xact_user_tables.

    Function calls are only counted after `SET track_functions = 'all'` (or 'pl') in
    the same session. Writes to a partition count for the root of its partition tree.
    """
    calls: dict[str, int] = {}
    for schema, name, count in conn.execute(
        "SELECT schemaname, funcname, calls FROM pg_stat_xact_user_functions"
    ).fetchall():
        key = f"{schema}.{name}"
        calls[key] = calls.get(key, 0) + int(count)
    writes: dict[str, RowWrites] = {}
    for schema, name, inserted, updated, deleted in conn.execute(_TABLE_STATS).fetchall():
        key = f"{schema}.{name}"
        writes[key] = writes.get(key, RowWrites()) + RowWrites(
            int(inserted), int(updated), int(deleted)
        )
    return XactStats(calls, writes)


# A partition's writes count for its partitioned table, the table statements name.
_TABLE_STATS = """
SELECT n.nspname, c.relname, s.n_tup_ins, s.n_tup_upd, s.n_tup_del
FROM pg_stat_xact_user_tables AS s
JOIN pg_class AS c ON c.oid = coalesce(pg_partition_root(s.relid), s.relid)
JOIN pg_namespace AS n ON n.oid = c.relnamespace
"""
