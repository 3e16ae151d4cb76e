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
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
        env = dict(os.environ)
        env.update(LC_ALL="C", LANG="C")
        if self.home is not None:
            env["HOME"] = self.home
        return subprocess.run(
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
            capture_output=True,
            text=True,
            check=False,
        )

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


def _make_base_dir() -> Path:
    base = Path(tempfile.mkdtemp(prefix="sqlripple-pg-"))
    if len(str(base)) <= _MAX_SOCKET_DIR_LENGTH:
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


def _stop(account: _Account, bindir: Path, datadir: Path, base: Path) -> None:
    pid = _postmaster_pid(datadir)
    if pid is None:
        return
    account.run(
        [str(bindir / "pg_ctl"), "stop", "-D", str(datadir), "-m", "immediate", "-w"], cwd=base
    )
    deadline = time.monotonic() + _STOP_TIMEOUT_SECONDS
    while _process_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _process_exists(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


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
    base = _make_base_dir()
    datadir = base / "data"
    log = base / "server.log"
    try:
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
                "max_connections = 20\n"
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
    finally:
        try:
            _stop(account, bindir, datadir, base)
        finally:
            shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------------ SQL loading


@dataclass(frozen=True)
class SqlLoadError(Exception):
    """A statement of a SQL file failed on the server."""

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


@dataclass(frozen=True)
class Statement:
    """One statement of a SQL text and the 0-based offset where it starts."""

    text: str
    offset: int


_IDENT_START = re.compile(r"[A-Za-z_\x80-\U0010ffff]")
_IDENT = re.compile(r"[A-Za-z_\x80-\U0010ffff][A-Za-z_0-9$\x80-\U0010ffff]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z_0-9\x80-\U0010ffff]*)?\$")


def split_statements(text: str) -> list[Statement]:
    """Split SQL text at top-level semicolons, the way psql does.

    Knows comments (nested block comments too), quoted strings and identifiers, E''
    strings, dollar quoting, parentheses, and SQL-standard function bodies
    (`BEGIN ATOMIC … END`, where CASE … END nests). Statements that hold only comments
    and white space are dropped.
    """
    statements: list[Statement] = []
    start = 0
    i = 0
    n = len(text)
    paren_depth = 0
    begin_depth = 0
    words = 0
    has_code = False
    while i < n:
        char = text[i]
        if char == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if char == "/" and text.startswith("/*", i):
            i = _skip_block_comment(text, i)
            continue
        if char.isspace():
            i += 1
            continue
        if char == ";" and paren_depth == 0 and begin_depth == 0:
            if has_code:
                statements.append(Statement(text[start : i + 1], start))
            i += 1
            start = i
            paren_depth = begin_depth = words = 0
            has_code = False
            continue
        has_code = True
        if char == "'":
            escapes = i > 0 and text[i - 1] in "eE" and (i < 2 or not _is_ident_char(text[i - 2]))
            i = _skip_string(text, i, escapes)
        elif char == '"':
            i = _skip_quoted_identifier(text, i)
        elif char == "$" and (i == 0 or not _is_ident_char(text[i - 1])):
            match = _DOLLAR_TAG.match(text, i)
            if match is None:
                i += 1
            else:
                end = text.find(match.group(), match.end())
                i = n if end < 0 else end + len(match.group())
        elif char == "(":
            paren_depth += 1
            i += 1
        elif char == ")":
            paren_depth = max(paren_depth - 1, 0)
            i += 1
        elif _IDENT_START.match(char):
            match = _IDENT.match(text, i)
            assert match is not None
            word = match.group().lower()
            words += 1
            if word in ("begin", "case") and words > 1:
                begin_depth += 1
            elif word == "end" and begin_depth > 0:
                begin_depth -= 1
            i = match.end()
        else:
            i += 1
    if has_code:
        statements.append(Statement(text[start:], start))
    return statements


def _is_ident_char(char: str) -> bool:
    return char.isalnum() or char in "_$" or ord(char) >= 0x80


def _skip_block_comment(text: str, i: int) -> int:
    depth = 0
    n = len(text)
    while i < n:
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _skip_string(text: str, i: int, escapes: bool) -> int:
    i += 1
    n = len(text)
    while i < n:
        char = text[i]
        if escapes and char == "\\":
            i += 2
        elif char == "'":
            if text.startswith("''", i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n


def _skip_quoted_identifier(text: str, i: int) -> int:
    i += 1
    n = len(text)
    while i < n:
        if text[i] == '"':
            if text.startswith('""', i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of the 0-based character `offset` in `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _first_code_offset(statement: Statement) -> int:
    """Offset of the statement's first token, past leading comments and white space."""
    i = 0
    text = statement.text
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end + 1
        elif text.startswith("/*", i):
            i = _skip_block_comment(text, i)
        else:
            break
    return statement.offset + i


def load_sql_text(conn: psycopg.Connection[tuple[Any, ...]], text: str, path: str) -> int:
    """Run every statement of `text` on `conn`, in order; return how many ran.

    Use an autocommit connection for migration files (they may hold their own
    BEGIN/COMMIT, or statements that cannot run inside a transaction block).
    Raises SqlLoadError, located at the error position the server reports, or at the
    start of the failing statement when it reports none.
    """
    import psycopg

    statements = split_statements(text)
    for statement in statements:
        try:
            conn.execute(statement.text)
        except psycopg.Error as error:
            diag = error.diag
            offset = _first_code_offset(statement)
            if diag.statement_position:
                offset = statement.offset + int(diag.statement_position) - 1
            line, column = line_column(text, offset)
            raise SqlLoadError(
                path=path,
                line=line,
                column=column,
                message=diag.message_primary or str(error).strip(),
                sqlstate=diag.sqlstate,
                context=diag.context,
            ) from error
    return len(statements)


def load_sql_files(conn: psycopg.Connection[tuple[Any, ...]], paths: Iterable[Path]) -> int:
    """Load SQL files in the given order; return how many statements ran."""
    count = 0
    for path in paths:
        count += load_sql_text(conn, path.read_text(encoding="utf-8"), str(path))
    return count


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders `2-x.sql` before `10-x.sql`."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    )


def sql_files(folder: Path) -> list[Path]:
    """The `*.sql` files directly in `folder`, in natural order of file name."""
    return sorted(folder.glob("*.sql"), key=lambda path: natural_key(path.name))


def prelude_path(name: str) -> Path:
    """A bundled prelude (e.g. `supabase`), as a file path."""
    path = PRELUDES_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no bundled prelude named {name!r}")
    return path


# ------------------------------------------------------------------------ statistics


@dataclass(frozen=True)
class RowWrites:
    insert: int = 0
    update: int = 0
    delete: int = 0

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
    the same session.
    """
    calls: dict[str, int] = {}
    for schema, name, count in conn.execute(
        "SELECT schemaname, funcname, calls FROM pg_stat_xact_user_functions"
    ).fetchall():
        key = f"{schema}.{name}"
        calls[key] = calls.get(key, 0) + int(count)
    writes: dict[str, RowWrites] = {}
    for schema, name, inserted, updated, deleted in conn.execute(
        "SELECT schemaname, relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables"
    ).fetchall():
        writes[f"{schema}.{name}"] = RowWrites(int(inserted), int(updated), int(deleted))
    return XactStats(calls, writes)
