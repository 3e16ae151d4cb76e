"""Input files: discovery, migration order, decoding and line/column tables."""

from __future__ import annotations

import bisect
import fnmatch
import os
import re
import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.findings import Diagnostic, Location

STDIN = "-"

# Down (undo) migrations: Diesel's up.sql/down.sql folders, golang-migrate / sqlx
# `N_x.down.sql`, down/ folders, Flyway undo files `U1__x.sql`.
DEFAULT_EXCLUDE: tuple[str, ...] = (
    "down.sql",
    "*/down.sql",
    "down/*",
    "*/down/*",
    "*.down.sql",
    "[Uu][0-9]*__*.sql",
)
# dbmate, goose and sql-migrate keep both directions in one file; the down part never runs
# forward.
_DOWN_SECTION = re.compile(
    r"^--[ \t]*(?:migrate:down|\+goose[ \t]+down|\+migrate[ \t]+down)\b"
    r".*?(?=^--[ \t]*(?:migrate:up|\+goose[ \t]+up|\+migrate[ \t]+up)\b|\Z)",
    re.I | re.M | re.S,
)

_FLYWAY = re.compile(r"^[Vv](\d+(?:[._]\d+)*)__(.*)$")
_FLYWAY_REPEATABLE = re.compile(r"^[Rr]__(.*)$")
_CHUNK = re.compile(r"(\d+)")


@dataclass(frozen=True, eq=False)
class SourceFile:
    """One decoded input file and its line-start table.

    A derived file holds text that PostgreSQL only sees after unquoting or folding (a
    single-quoted DO body, a constant EXECUTE string): `origin` is the real file and
    `origin_offsets[i]` the offset in it that character i of `text` came from, so that
    positions and locations always point into the real file.
    """

    path: str
    text: str
    # offsets where lines start, as machine integers: a tuple of int objects took 36 bytes
    # a line, and every file's table stays alive as long as its locations may be asked for
    line_starts: array[int] = field(repr=False)
    origin: SourceFile | None = field(default=None, repr=False)
    origin_offsets: tuple[int, ...] = field(default=(), repr=False)

    @classmethod
    def from_text(cls, path: str, text: str) -> SourceFile:
        starts = array("q", [0])
        starts.extend(m.end() for m in re.finditer("\n", text))
        return cls(path, text, starts)

    @classmethod
    def derived(cls, origin: SourceFile, text: str, offsets: Sequence[int]) -> SourceFile:
        """Text whose character i comes from `origin` offset `offsets[i]`."""
        if len(offsets) != len(text):
            raise ValueError("one origin offset per character is needed")
        root = origin.origin or origin
        mapped = (
            tuple(origin.origin_offsets[o] for o in offsets) if origin.origin else tuple(offsets)
        )
        return cls(origin.path, text, array("q", [0]), root, mapped)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        if self.origin is not None:
            if not self.origin_offsets:
                return self.origin.position(0)
            index = min(max(offset, 0), len(self.origin_offsets) - 1)
            return self.origin.position(self.origin_offsets[index])
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1

    def location(self, start: int, end: int) -> Location:
        """Location of the characters start..end (end inclusive)."""
        line, column = self.position(start)
        end_line, end_column = self.position(max(start, end))
        return Location(self.path, line, column, end_line, end_column)

    def diagnostic(self, offset: int, message: str) -> Diagnostic:
        line, column = self.position(offset)
        return Diagnostic(self.path, line, column, message)


@dataclass(frozen=True)
class Sources:
    files: tuple[SourceFile, ...]
    diagnostics: tuple[Diagnostic, ...]
    skipped_files: int


def natural_key(relative_path: str) -> tuple[object, ...]:
    """Sort key that applies migrations in order: 2_x < 10_x, V1__a < V1_1__b < V2__c.

    Numbers compare by value, words without regard to case; the path itself breaks ties
    (`02_a` and `2_a`, `A.sql` and `a.sql`) so that the order never depends on the
    file system's listing order.
    """
    parts: list[object] = []
    for component in relative_path.replace("\\", "/").split("/"):
        flyway = _FLYWAY.match(component)
        repeatable = _FLYWAY_REPEATABLE.match(component)
        chunks: list[tuple[int, object]] = []
        if flyway:
            version = tuple(int(n) for n in re.split(r"[._]", flyway.group(1)))
            chunks = [(2, version), (1, flyway.group(2).lower())]
        elif repeatable:  # Flyway runs repeatable migrations after every versioned one
            chunks = [(3, repeatable.group(1).lower())]
        else:
            for i, chunk in enumerate(_CHUNK.split(component)):
                if not chunk:
                    continue
                chunks.append((0, int(chunk)) if i % 2 else (1, chunk.lower()))
        parts.append(tuple(chunks))
    return (tuple(parts), relative_path)


def display_path(path: Path) -> str:
    """Path relative to the current directory when below it, with / separators."""
    absolute = Path(os.path.abspath(path))
    for base in (Path(os.path.abspath(Path.cwd())), Path.cwd().resolve()):
        try:
            return absolute.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def _matches(relative: str, patterns: Iterable[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(name, p) for p in patterns)


def discover(
    paths: Sequence[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] | None = None,
) -> tuple[list[tuple[str, Path | None]], list[Diagnostic]]:
    """Files to read, in application order, as (display path, filesystem path or None for stdin).

    Each PATH argument keeps its position; a directory's files are naturally sorted by
    their path relative to it. A file named twice is read once.
    """
    excluded = DEFAULT_EXCLUDE if exclude is None else tuple(exclude)
    found: list[tuple[str, Path | None]] = []
    diagnostics: list[Diagnostic] = []
    seen: set[str] = set()
    for argument in paths:
        if argument == STDIN:
            found.append(("<stdin>", None))
            continue
        try:
            root = Path(argument)
            if root.is_dir():
                files = _directory_files(root, include, excluded, diagnostics)
                if not files:
                    diagnostics.append(
                        Diagnostic(display_path(root), 1, 1, "directory contains no .sql files")
                    )
            elif root.exists() or root.is_symlink():
                files = [root]
            else:
                diagnostics.append(Diagnostic(argument, 1, 1, "no such file or directory"))
                continue
        except (OSError, ValueError) as error:
            diagnostics.append(Diagnostic(argument, 1, 1, f"cannot use path: {error}"))
            continue
        for full in files:
            shown = display_path(full)
            if shown not in seen:
                seen.add(shown)
                found.append((shown, full))
    return found, diagnostics


def _directory_files(
    root: Path, include: Sequence[str], excluded: Sequence[str], diagnostics: list[Diagnostic]
) -> list[Path]:
    """The .sql files (and included names) below `root`, in migration order."""
    members: list[tuple[str, Path]] = []
    visited: set[str] = set()
    plans: list[Path] = []

    def unreadable(error: OSError) -> None:
        shown = display_path(Path(error.filename or root))
        reason = error.strerror or type(error).__name__
        diagnostics.append(Diagnostic(shown, 1, 1, f"cannot read directory: {reason}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in visited:
            message = "directory already visited (symlink loop): skipped"
            diagnostics.append(Diagnostic(display_path(Path(dirpath)), 1, 1, message))
            dirnames[:] = []
            continue
        visited.add(real)
        dirnames.sort()
        if SQITCH_PLAN in filenames:
            plans.append(Path(dirpath) / SQITCH_PLAN)
        for filename in filenames:
            full = Path(dirpath) / filename
            relative = full.relative_to(root).as_posix()
            wanted = filename.lower().endswith(".sql") or _matches(relative, include)
            if not wanted:
                continue
            if _matches(relative, excluded) and not _matches(relative, include):
                continue
            members.append((relative, full))
    members.sort(key=lambda member: natural_key(member[0]))
    for plan in plans:
        top = plan.parent.relative_to(root).as_posix()
        members = _sqitch_project(plan, "" if top == "." else f"{top}/", members, diagnostics)
    if root.name == "deploy" and (root.parent / SQITCH_PLAN).is_file():
        # `check project/deploy`: the scripts still run in plan order.
        members = _sqitch_project(root.parent / SQITCH_PLAN, None, members, diagnostics)
    return [full for _, full in members]


SQITCH_PLAN = "sqitch.plan"
_SQITCH_CHANGE = re.compile(r"^[+-]?([^\s@#\[]+)")


def _sqitch_scripts(plan_text: str) -> list[str]:
    """The deploy scripts `sqitch deploy` runs, in plan order, as names below deploy/.

    A change planned again after a tag (`sqitch rework`) has its earlier version kept
    as `name@tag.sql`, the tag being the first one after that earlier entry; both run,
    in plan order. `-name` entries (reverts) and pragmas are not deployed."""
    entries: list[tuple[str, str]] = []  # ("change", name) or ("tag", name)
    for raw in plan_text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("%", "#")):
            continue
        if line.startswith("@"):
            entries.append(("tag", line[1:].split()[0]))
            continue
        match = _SQITCH_CHANGE.match(line)
        if match and not line.startswith("-"):
            entries.append(("change", match.group(1)))
    scripts: list[str] = []
    for index, (kind, name) in enumerate(entries):
        if kind != "change":
            continue
        later = [e for e in entries[index + 1 :] if e == ("change", name)]
        tag = next((t for k, t in entries[index + 1 :] if k == "tag"), None)
        scripts.append(f"{name}@{tag}.sql" if later and tag else f"{name}.sql")
    return scripts


def _sqitch_project(
    plan: Path,
    prefix: str | None,
    members: list[tuple[str, Path]],
    diagnostics: list[Diagnostic],
) -> list[tuple[str, Path]]:
    """A Sqitch project (a sqitch.plan next to deploy/, revert/ and verify/, `prefix`
    below the root; None when the root is its deploy/ folder): only its deploy scripts
    run, in plan order, where its files would sort; revert/ and verify/ scripts (and
    deploy scripts the plan does not name) are skipped, and said so."""
    deploy_prefix = "" if prefix is None else f"{prefix}deploy/"
    other = () if prefix is None else (f"{prefix}revert/", f"{prefix}verify/")
    try:
        scripts = _sqitch_scripts(plan.read_text(encoding="utf-8", errors="replace"))
    except OSError as error:
        shown = display_path(plan)
        reason = error.strerror or type(error).__name__
        diagnostics.append(Diagnostic(shown, 1, 1, f"cannot read file: {reason}"))
        return members
    deploy = {
        relative[len(deploy_prefix) :]: (relative, full)
        for relative, full in members
        if relative.startswith(deploy_prefix)
    }
    ordered = [deploy[name] for name in scripts if name in deploy]
    kept = {relative for relative, _ in ordered}
    skipped = {
        relative: display_path(full)
        for relative, full in members
        if relative.startswith(other)
        or (relative.startswith(deploy_prefix) and relative not in kept)
    }
    missing = [name for name in scripts if name not in deploy]
    slots = iter(ordered)
    result = []
    for relative, full in members:
        if relative in skipped:
            continue
        if relative.startswith(deploy_prefix):
            result.append(next(slots))
        else:
            result.append((relative, full))
    shown = display_path(plan)
    message = (
        f"Sqitch project: {len(ordered)} deploy/ scripts applied in plan order"
        + (
            f"; skipped {len(skipped)} not deployed: {', '.join(skipped.values())}"
            if skipped
            else ""
        )
        + (f"; planned but missing: {', '.join(missing)}" if missing else "")
    )
    diagnostics.append(Diagnostic(shown, 1, 1, message))
    return result


def _position_of_byte(data: bytes, index: int) -> tuple[int, int]:
    """1-based (line, column in characters) of a byte offset."""
    line_start = data.rfind(b"\n", 0, index) + 1
    column = len(data[line_start:index].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, index) + 1, column


def strip_down_sections(text: str) -> str:
    """Blank out dbmate `-- migrate:down`, goose `-- +goose Down` and sql-migrate
    `-- +migrate Down` sections (lines kept)."""
    return _DOWN_SECTION.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def decode(path: str, data: bytes) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Decode bytes as UTF-8 (BOM tolerated); fall back to latin-1 with a diagnostic.

    A NUL byte means the file is not SQL text (PostgreSQL rejects it too): the file is
    skipped with a diagnostic. Positions count characters, after the BOM.
    """
    diagnostics: list[Diagnostic] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _position_of_byte(data, nul)
        diagnostics.append(Diagnostic(path, line, column, "NUL byte in file: file skipped"))
        return None, diagnostics
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _position_of_byte(data, error.start)
        diagnostics.append(Diagnostic(path, line, column, "invalid UTF-8: file decoded as latin-1"))
        text = data.decode("latin-1")
    return SourceFile.from_text(path, strip_down_sections(text)), diagnostics


def read_sources(
    paths: Sequence[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] | None = None,
) -> Sources:
    """Discover, read and decode every input file; unreadable files become diagnostics."""
    found, diagnostics = discover(paths, include, exclude)
    files: list[SourceFile] = []
    skipped = 0
    for shown, full in found:
        try:
            data = sys.stdin.buffer.read() if full is None else full.read_bytes()
        except OSError as error:
            reason = error.strerror or type(error).__name__
            diagnostics.append(Diagnostic(shown, 1, 1, f"cannot read file: {reason}: file skipped"))
            skipped += 1
            continue
        source, problems = decode(shown, data)
        diagnostics.extend(problems)
        if source is None:
            skipped += 1
        else:
            files.append(source)
    return Sources(tuple(files), tuple(diagnostics), skipped)
