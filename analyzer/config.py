"""Analysis settings, and reading them from `[tool.sqlripple]` in pyproject.toml or from
sqlripple.toml (the same keys at the top level).

The file is found by walking up from the current directory; `--config FILE` names one.
Every key and value is checked here, so that a typo stops the run with the key and the
file named instead of being silently ignored. Rule names can only be checked once the
rules are loaded (`rules_path` adds some): `check_rule_references` does that.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.source import DEFAULT_EXCLUDE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_FILE = "sqlripple.toml"
PYPROJECT = "pyproject.toml"
SEVERITIES = ("error", "warning", "note")
FAIL_ON = ("error", "warning", "note", "never")
OPERATIONS = ("insert", "update", "delete", "truncate", "upsert", "merge")


@dataclass(frozen=True)
class Config:
    # catalog.DEFAULT_SEARCH_PATH, spelled out: importing the catalog would pull in sqlglot.
    search_path: tuple[str, ...] = ("public",)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)  # rule name -> severity
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    entrypoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    known_objects: tuple[str, ...] = ()
    rules_path: tuple[str, ...] = ()
    fail_on: str = "warning"
    baseline: str | None = None
    cache: bool = True  # use the result cache (`--no-cache` turns it off for one run)
    source: str = ""  # the file these settings came from, for messages; "" for defaults


class ConfigError(Exception):
    """A configuration problem; the message names the file and the key."""


@dataclass(frozen=True)
class RuleSpec:
    """What the configuration needs to know about a rule to check references to it."""

    name: str
    code: str
    options: Mapping[str, Any]


def find_config(start_dir: Path) -> Path | None:
    """sqlripple.toml, or a pyproject.toml with a [tool.sqlripple] table, nearest first."""
    directory = Path(os.path.abspath(start_dir))
    for candidate_dir in (directory, *directory.parents):
        own = candidate_dir / CONFIG_FILE
        if own.is_file():
            return own
        pyproject = candidate_dir / PYPROJECT
        if pyproject.is_file():
            tool = _read(pyproject, _shown(pyproject, directory)).get("tool")
            if isinstance(tool, dict) and "sqlripple" in tool:
                return pyproject
    return None


def load_config(start_dir: Path | str, explicit_path: Path | str | None = None) -> Config:
    """The settings of the file named, or of the one found above `start_dir`, or defaults.

    Paths in the file (`rules_path`, `baseline`) are relative to the file's directory and
    come back relative to `start_dir` when below it.
    """
    if explicit_path is not None:
        path = Path(explicit_path)
        if not path.is_file():
            raise ConfigError(f"{explicit_path}: configuration file not found")
    else:
        found = find_config(Path(start_dir))
        if found is None:
            return Config()
        path = found
    shown = _shown(path, Path(start_dir))
    document = _read(path, shown)
    if path.name == PYPROJECT:
        tool = document.get("tool", {})
        if not isinstance(tool, dict) or "sqlripple" not in tool:
            raise ConfigError(f"{shown}: no [tool.sqlripple] table")
        table = tool["sqlripple"]
        prefix = "tool.sqlripple."
    else:
        table = document
        prefix = ""
    if not isinstance(table, dict):
        raise ConfigError(f"{shown}: {prefix.rstrip('.')} must be a table")
    return _parse(table, _Where(shown, prefix, path.parent, Path(start_dir)))


def _read(path: Path, shown: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            document: dict[str, Any] = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{shown}: invalid TOML: {error}") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"{shown}: cannot read: {reason}") from None
    return document


def _shown(path: Path, start_dir: Path) -> str:
    try:
        return Path(os.path.relpath(path, start_dir)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


@dataclass(frozen=True)
class _Where:
    file: str
    prefix: str
    directory: Path
    start_dir: Path

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.file}: {self.prefix}{key}: {problem}")

    def relative(self, value: str) -> str:
        """A path from the file, as the run (in start_dir) must open it."""
        target = Path(value)
        if not target.is_absolute():
            target = self.directory / target
        try:
            return Path(os.path.relpath(target, self.start_dir)).as_posix()
        except ValueError:
            return target.as_posix()


_KEYS = (
    "include",
    "exclude",
    "select",
    "ignore",
    "severity",
    "rules",
    "fail_on",
    "search_path",
    "entrypoints",
    "rules_path",
    "known_objects",
    "baseline",
    "cache",
)


def _parse(table: Mapping[str, Any], where: _Where) -> Config:
    for key in table:
        if key not in _KEYS:
            raise where.error(key, f"unknown key (known keys: {', '.join(sorted(_KEYS))})")
    values: dict[str, Any] = {"source": where.file}
    for key in ("include", "select", "ignore", "known_objects"):
        if key in table:
            values[key] = _strings(table[key], key, where)
    if "exclude" in table:
        values["exclude"] = DEFAULT_EXCLUDE + _strings(table["exclude"], "exclude", where)
    if "search_path" in table:
        schemas = _strings(table["search_path"], "search_path", where)
        if not schemas:
            raise where.error("search_path", "must name at least one schema")
        values["search_path"] = schemas
    if "rules_path" in table:
        paths = _strings(table["rules_path"], "rules_path", where)
        values["rules_path"] = tuple(where.relative(p) for p in paths)
    if "fail_on" in table:
        values["fail_on"] = _choice(table["fail_on"], "fail_on", FAIL_ON, where)
    if "baseline" in table:
        baseline = table["baseline"]
        if not isinstance(baseline, str) or not baseline:
            raise where.error("baseline", f"must be a file name, not {_describe(baseline)}")
        values["baseline"] = where.relative(baseline)
    if "cache" in table:
        if not isinstance(table["cache"], bool):
            raise where.error("cache", f"must be true or false, not {_describe(table['cache'])}")
        values["cache"] = table["cache"]
    if "severity" in table:
        levels = _table(table["severity"], "severity", where)
        values["severity"] = {
            name: _choice(level, f"severity.{name}", SEVERITIES, where)
            for name, level in levels.items()
        }
    if "rules" in table:
        options = _table(table["rules"], "rules", where)
        values["rule_options"] = {
            name: dict(_table(settings, f"rules.{name}", where))
            for name, settings in options.items()
        }
    if "entrypoints" in table:
        entries = _table(table["entrypoints"], "entrypoints", where)
        parsed: dict[str, tuple[str, ...]] = {}
        for name, operations in entries.items():
            key = f"entrypoints.{_quoted(name)}"
            listed = _strings(operations, key, where)
            if not listed:
                raise where.error(key, "must list at least one operation")
            parsed[name] = tuple(_choice(op, key, OPERATIONS, where) for op in listed)
        values["entrypoints"] = parsed
    return Config(**values)


def _describe(value: object) -> str:
    kinds = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return kinds.get(type(value), type(value).__name__)


def _quoted(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else f'"{name}"'


def _strings(value: object, key: str, where: _Where) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(key, f"must be an array of strings, not {_describe(value)}")
    return tuple(value)


def _table(value: object, key: str, where: _Where) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise where.error(key, f"must be a table, not {_describe(value)}")
    return value


def _choice(value: object, key: str, choices: Sequence[str], where: _Where) -> str:
    if not isinstance(value, str) or value not in choices:
        shown = repr(value) if isinstance(value, str) else _describe(value)
        raise where.error(key, f"must be one of {', '.join(choices)}, not {shown}")
    return value


def check_rule_references(config: Config, rules: Sequence[RuleSpec]) -> None:
    """Every rule named in select, ignore, severity and rules.* exists, with its options.

    `select` and `ignore` take names, codes or code prefixes, the rest names only.
    """
    prefix = "tool.sqlripple." if Path(config.source).name == PYPROJECT else ""
    where = _Where(config.source or "configuration", prefix, Path(), Path())
    by_name = {rule.name: rule for rule in rules}
    known = ", ".join(sorted(by_name))
    for key in ("select", "ignore"):
        for pattern in unknown_patterns(getattr(config, key), rules):
            raise where.error(key, f"unknown rule {pattern!r} (rules: {known})")
    for name in config.severity:
        if name not in by_name:
            raise where.error(f"severity.{name}", f"unknown rule (rules: {known})")
    for name, options in config.rule_options.items():
        if name not in by_name:
            raise where.error(f"rules.{name}", f"unknown rule (rules: {known})")
        defaults = by_name[name].options
        for option, value in options.items():
            key = f"rules.{name}.{option}"
            if option not in defaults:
                names = ", ".join(sorted(defaults)) or "none"
                raise where.error(key, f"unknown option (options of {name}: {names})")
            default = defaults[option]
            if not _same_kind(value, default):
                raise where.error(
                    key,
                    f"must be {_describe(default)} like the default {default!r}, "
                    f"not {_describe(value)}",
                )


def unknown_patterns(patterns: Sequence[str], rules: Sequence[RuleSpec]) -> tuple[str, ...]:
    """The select/ignore patterns (names, codes, code prefixes) that match no rule."""
    return tuple(p for p in patterns if not any(_matches(rule, p) for rule in rules))


def _matches(rule: RuleSpec, pattern: str) -> bool:
    return bool(pattern) and (pattern == rule.name or rule.code.startswith(pattern.upper()))


def _same_kind(value: object, default: object) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return type(value) is type(default)
