"""The content-hash cache in `.sqlripple_cache/`: results stored under a digest of everything
they depend on, so that an unchanged input is never analysed twice.

An entry is a file named by its key. It holds a header, the digest of its payload and the
payload; an entry that is truncated, corrupt or of another layout reads as absent and is
rewritten by the run that misses it. Entries are written to a temporary file in the same
directory and renamed into place, so that two runs sharing the directory never see half an
entry. A directory that cannot be created or written turns the cache off for the run: the
first problem is kept for one diagnostic, and the analysis goes on without the cache.

Nothing here imports the engine: a warm run decides from file bytes and versions alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from analyzer.config import Config
from analyzer.source import STDIN, discover

DIRECTORY_NAME = ".sqlripple_cache"
ENVIRONMENT_VARIABLE = "SQLRIPPLE_CACHE_DIR"
MAX_ENTRIES = 32  # per kind: a few branches' and configurations' results
LAYOUT = 1  # bump when the entry format or any cached payload's shape changes
_HEADER = b"sqlripple-cache %d\n" % LAYOUT
_DIGEST_SIZE = 32
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by sqlripple.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)
_GITIGNORE = "# Created by sqlripple: the cache is never committed.\n*\n"
PLUGIN_GROUP = "sqlripple.rules"  # rules.ENTRY_POINT_GROUP; the rule engine is not imported
# The distributions whose code decides a result: part of every key.
_DEPENDENCIES = ("sqlripple", "sqlglot", "sqlglotc", "networkx")


def default_directory(explicit: str | None = None) -> Path:
    """`--cache-dir`, else $SQLRIPPLE_CACHE_DIR, else `.sqlripple_cache` in the current
    directory."""
    chosen = explicit or os.environ.get(ENVIRONMENT_VARIABLE) or DIRECTORY_NAME
    return Path(chosen)


class Cache:
    """Entries of each kind (`check`, …) below one directory. Never raises on I/O."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problem: str | None = None  # why the cache stopped writing, if it did
        self._prepared = False

    def get(self, kind: str, key: str) -> bytes | None:
        entry = self.directory / kind / key
        try:
            data = entry.read_bytes()
        except (OSError, ValueError):
            return None
        payload = _payload(data)
        if payload is not None:
            with contextlib.suppress(OSError):
                os.utime(entry)  # recently used: the last to be pruned
        return payload

    def put(self, kind: str, key: str, *payload: bytes | str) -> None:
        """Store the concatenation of `payload`'s parts (written one by one: a large
        report is not copied into one buffer with the rest; text is UTF-8, encoded a
        chunk at a time, never whole)."""
        if self.problem is not None:
            return
        folder = self.directory / kind
        hashed = hashlib.blake2b(digest_size=_DIGEST_SIZE)
        for part in payload:
            for chunk in _encoded(part):
                hashed.update(chunk)
        digest = hashed.hexdigest().encode()
        try:
            self._prepare()
            folder.mkdir(exist_ok=True)
            replace_atomically(folder / key, _HEADER + digest + b"\n", *payload)
        except OSError as error:
            self.problem = f"{self.directory}: {error.strerror or type(error).__name__}"
            return
        _prune(folder)

    def _prepare(self) -> None:
        """Create the directory with its .gitignore and CACHEDIR.TAG (once per run)."""
        if self._prepared:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            marker = self.directory / name
            if not marker.exists():
                replace_atomically(marker, text.encode())
        self._prepared = True


def _prune(folder: Path) -> None:
    """Keep the most recently used entries of a kind; temporary files of runs that died
    go once they are an hour old. Another run may be pruning too: never fail."""
    try:
        found = []
        for item in os.scandir(folder):
            with contextlib.suppress(OSError):
                found.append((item.stat().st_mtime, item.name))
    except OSError:
        return
    entries = sorted((t, name) for t, name in found if not name.startswith("."))
    doomed = [name for _, name in entries[: max(0, len(entries) - MAX_ENTRIES)]]
    stale = time.time() - 3600
    doomed.extend(name for t, name in found if name.startswith(".") and t < stale)
    for name in doomed:
        with contextlib.suppress(OSError):
            (folder / name).unlink()


def _payload(data: bytes) -> bytes | None:
    """The payload of an entry, or None when the entry is not whole and intact."""
    if not data.startswith(_HEADER):
        return None
    start = len(_HEADER) + 2 * _DIGEST_SIZE + 1
    recorded = data[len(_HEADER) : start - 1]
    payload = data[start:]
    actual = hashlib.blake2b(payload, digest_size=_DIGEST_SIZE).hexdigest().encode()
    return payload if recorded == actual and data[start - 1 : start] == b"\n" else None


@lru_cache(maxsize=1)
def _umask() -> int:
    """The process's umask, read once (reading it means setting it for a moment)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_CHUNK = 1 << 20  # characters


def _encoded(part: bytes | str) -> Iterator[bytes]:
    """`part` as UTF-8 bytes, a megabyte-sized piece at a time: encoding a 28 MB report
    whole was the peak memory of a whole `check` on 100,000 statements."""
    if isinstance(part, bytes):
        yield part
        return
    for start in range(0, len(part), _CHUNK):
        yield part[start : start + _CHUNK].encode("utf-8")


def replace_atomically(target: Path, *parts: bytes | str) -> None:
    """Write `parts`, one after the other, through a temporary file in the same directory
    and rename it into place."""
    import tempfile  # only here: a cache hit writes nothing (5 ms)

    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.parent))
    try:
        with os.fdopen(handle, "wb") as stream:
            for part in parts:
                for chunk in _encoded(part):
                    stream.write(chunk)
        os.chmod(temporary, 0o666 & ~_umask())  # shareable like any file the user creates
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Key:
    """A digest built from labelled parts; the labels keep parts from running together."""

    def __init__(self, kind: str) -> None:
        self._hash = hashlib.blake2b(digest_size=20)
        self.add("kind", kind)

    def add(self, label: str, value: object) -> Key:
        text = json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)
        for part in (label, text):
            encoded = part.encode("utf-8", "surrogatepass")
            self._hash.update(b"%d:" % len(encoded) + encoded)
        return self

    def add_bytes(self, label: str, data: bytes) -> Key:
        return self.add(label, hashlib.blake2b(data, digest_size=20).hexdigest())

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@lru_cache(maxsize=1)
def environment() -> tuple[tuple[str, str], ...]:
    """What every result depends on besides its input: the Python interpreter; sqlripple and
    its analysis libraries as installed (each distribution's name, version and a digest of
    its RECORD, the list of every installed file with its hash); and a digest of every file
    of sqlripple's own packages (so that an edited checkout never reuses older results).

    Read straight from the .dist-info folders: importlib.metadata alone would cost a warm
    run a fifth of its time."""
    parts = [
        ("layout", str(LAYOUT)),
        ("python", f"{sys.implementation.name} {sys.version}"),
    ]
    installed = _distributions()
    for package in _DEPENDENCIES:
        found = installed.get(package)
        parts.append((package, _distribution_digest(found) if found else "absent"))
    code = hashlib.blake2b(digest_size=20)
    for path in _code_files():
        try:
            data = path.read_bytes()
        except OSError:
            data = b"unreadable"
        code.update(path.as_posix().encode("utf-8", "surrogateescape") + b"\0")
        code.update(hashlib.blake2b(data, digest_size=20).digest())
    parts.append(("code", code.hexdigest()))
    return tuple(parts)


@lru_cache(maxsize=1)
def _distributions() -> dict[str, Path]:
    """Installed distributions by normalised name: the first .dist-info or .egg-info folder
    on sys.path, as the import system and importlib.metadata find them."""
    found: dict[str, Path] = {}
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if not dot or suffix not in {"dist-info", "egg-info"}:
                continue
            project = stem.split("-", 1)[0].replace("_", "-").replace(".", "-").lower()
            found.setdefault(project, Path(entry or ".") / name)
    return found


def _distribution_digest(folder: Path) -> str:
    """The folder's name (name and version) and a digest of its RECORD (or, for an
    .egg-info, SOURCES.txt)."""
    for listing in ("RECORD", "SOURCES.txt"):
        digest = _digest_or_absent(folder / listing)
        if digest != "absent":
            return f"{folder.name} {digest}"
    return f"{folder.name} absent"


def _code_files() -> Iterator[Path]:
    """Every file of the `analyzer` package and of the `rules` package (the built-in rules,
    found the way the rule loader imports them), in a fixed order."""
    roots = [Path(__file__).resolve().parent]
    rules = importlib.util.find_spec("rules")
    if rules is not None:
        roots.extend(Path(p) for p in rules.submodule_search_locations or ())
    for root in roots:
        found: list[Path] = []
        for folder, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            found.extend(Path(folder) / name for name in filenames if not name.endswith(".pyc"))
        yield from sorted(found)


def file_digests(paths: Iterable[Path]) -> list[str] | None:
    """The content digest of each file, or None when one cannot be read."""
    digests = []
    for path in paths:
        try:
            digests.append(hashlib.blake2b(path.read_bytes(), digest_size=20).hexdigest())
        except OSError:
            return None
    return digests


def run_key(
    command: str, paths: Sequence[str], config: Config, options: Mapping[str, object]
) -> str | None:
    """The key of a whole run's output: the environment, the current directory, every input
    file's path and content, the effective settings, the code of every rule that can load
    (`rules_path` files, plugin distributions), the baseline file's content and the output
    options. None when the run cannot be keyed (standard input, an unreadable file)."""
    if STDIN in paths:
        return None
    found, problems = discover(paths, config.include, config.exclude)
    digests = file_digests(full for _, full in found if full is not None)
    if digests is None or len(digests) != len(found):
        return None
    key = Key(command)
    for label, value in environment():
        key.add(label, value)
    key.add("cwd", os.getcwd())
    key.add("paths", list(paths))
    key.add("files", [[shown, digest] for (shown, _), digest in zip(found, digests, strict=True)])
    key.add("discovery", [str(problem) for problem in problems])
    key.add("config", dataclasses.asdict(config))
    for path_text in config.rules_path:
        path = Path(path_text)
        files = sorted(path.glob("*.py")) if path.is_dir() else [path]
        key.add(f"rules_path {path_text}", [[f.as_posix(), _digest_or_absent(f)] for f in files])
    key.add("plugins", _plugin_code())
    if config.baseline is not None:
        key.add("baseline", _digest_or_absent(Path(config.baseline)))
    key.add("options", dict(options))
    return key.hexdigest()


def _digest_or_absent(path: Path) -> str:
    digests = file_digests([path])
    return digests[0] if digests else "absent"


def _plugin_code() -> list[list[str]]:
    """Every distribution that declares `sqlripple.rules` entry points: its entry points
    file and its RECORD (every installed file's hash; an editable install lists none of its
    sources, so such a plugin is keyed by its version and entry points only)."""
    found = []
    for folder in sorted(set(_distributions().values())):
        try:
            declared = (folder / "entry_points.txt").read_bytes()
        except OSError:
            continue
        if f"[{PLUGIN_GROUP}]".encode() in declared:
            digest = hashlib.blake2b(declared, digest_size=20).hexdigest()
            found.append([folder.as_posix(), digest, _distribution_digest(folder)])
    return found
