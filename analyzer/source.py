"""Input files: discovery, migration order, decoding and line/column tables."""

from __future__ import annotations

import bisect
import fnmatch
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.findings import Diagnostic, Location

STDIN = "-"

DEFAULT_EXCLUDE: tuple[str, ...] = ("down.sql", "*/down.sql", "down/*", "*/down/*", "*.down.sql")

_FLYWAY = re.compile(r"^[Vv](\d+(?:[._]\d+)*)__(.*)$")
_CHUNK = re.compile(r"(\d+)")


@dataclass(frozen=True, eq=False)
class SourceFile:
    """One decoded input file and its line-start table."""

    path: str
    text: str
    line_starts: tuple[int, ...] = field(repr=False)

    @classmethod
    def from_text(cls, path: str, text: str) -> SourceFile:
        starts = [0]
        starts.extend(m.end() for m in re.finditer("\n", text))
        return cls(path, text, tuple(starts))

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
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


def natural_key(relative_path: str) -> tuple[tuple[tuple[int, object], ...], ...]:
    """Sort key that applies migrations in order: 2_x < 10_x, V1__a < V1_1__b < V2__c."""
    parts = []
    for component in relative_path.replace("\\", "/").split("/"):
        flyway = _FLYWAY.match(component)
        chunks: list[tuple[int, object]] = []
        if flyway:
            version = tuple(int(n) for n in re.split(r"[._]", flyway.group(1)))
            chunks = [(1, "v"), (2, version), (1, flyway.group(2).lower())]
        else:
            for i, chunk in enumerate(_CHUNK.split(component)):
                if not chunk:
                    continue
                chunks.append((0, int(chunk)) if i % 2 else (1, chunk.lower()))
        parts.append(tuple(chunks))
    return tuple(parts)


def display_path(path: Path) -> str:
    """Path relative to the current directory when below it, with / separators."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
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
    their path relative to it.
    """
    excluded = DEFAULT_EXCLUDE if exclude is None else tuple(exclude)
    found: list[tuple[str, Path | None]] = []
    diagnostics: list[Diagnostic] = []
    seen: set[str] = set()
    for argument in paths:
        if argument == STDIN:
            found.append(("<stdin>", None))
            continue
        root = Path(argument)
        if root.is_dir():
            members: list[tuple[str, Path]] = []
            visited: set[str] = set()
            for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
                real = os.path.realpath(dirpath)
                if real in visited:
                    diagnostics.append(
                        Diagnostic(display_path(Path(dirpath)), 1, 1, "symlink loop: skipped")
                    )
                    dirnames[:] = []
                    continue
                visited.add(real)
                dirnames.sort()
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
            if not members:
                diagnostics.append(
                    Diagnostic(display_path(root), 1, 1, "directory contains no .sql files")
                )
            for _, full in members:
                shown = display_path(full)
                if shown not in seen:
                    seen.add(shown)
                    found.append((shown, full))
        elif root.exists() or root.is_symlink():
            shown = display_path(root)
            if shown not in seen:
                seen.add(shown)
                found.append((shown, root))
        else:
            diagnostics.append(Diagnostic(argument, 1, 1, "no such file or directory"))
    return found, diagnostics


def decode(path: str, data: bytes) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Decode bytes as UTF-8 (BOM tolerated); fall back to latin-1 with a diagnostic."""
    diagnostics: list[Diagnostic] = []
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        column = nul - (data.rfind(b"\n", 0, nul) + 1) + 1
        diagnostics.append(Diagnostic(path, line, column, "NUL byte in file: file skipped"))
        return None, diagnostics
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        diagnostics.append(Diagnostic(path, line, column, "invalid UTF-8: file decoded as latin-1"))
        text = data.decode("latin-1")
    return SourceFile.from_text(path, text), diagnostics


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
            diagnostics.append(Diagnostic(shown, 1, 1, f"cannot read file: {error.strerror}"))
            skipped += 1
            continue
        source, problems = decode(shown, data)
        diagnostics.extend(problems)
        if source is None:
            skipped += 1
        else:
            files.append(source)
    return Sources(tuple(files), tuple(diagnostics), skipped)
