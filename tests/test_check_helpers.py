"""Shared by the tests of `sqlripple check` (no tests here).

`run` invokes the command in-process. `patch_analysis` memoises `analyze` on the input
files (their paths as shown, relative to the current directory, and their bytes) and the
configuration, so that the many command-line runs over the same fixture analyse it once;
any change to a file is a new analysis.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import analyzer.analysis as analysis
from analyzer.cli import cli
from analyzer.config import Config
from analyzer.source import discover

ROOT = Path(__file__).resolve().parent.parent
_REAL_ANALYZE = analysis.analyze
_REAL_LOAD = analysis.load
_REAL_BUILD_MODEL = analysis.build_model
_REAL_BODIES = analysis.analyze_bodies_in_parallel
_CACHE: dict[tuple[Any, ...], Any] = {}


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _digest(paths: Sequence[str], config: Any) -> str:
    digest = hashlib.sha256()
    found, _ = discover(paths, getattr(config, "include", ()), getattr(config, "exclude", None))
    for shown, path in found:
        digest.update(shown.encode())
        digest.update(path.read_bytes() if path is not None else b"<stdin>")
    return digest.hexdigest()


def _cached_analyze(paths: Sequence[str], config: Any = None, jobs: int = 1) -> Any:
    key = (tuple(paths), repr(config), _digest(paths, config))
    if key not in _CACHE:
        _CACHE[key] = _REAL_ANALYZE(paths, config, jobs)
    return _CACHE[key]


def _cached_load(paths: Sequence[str], config: Any = None) -> Any:
    settings = config or Config()
    key = (
        "load",
        tuple(paths),
        settings.include,
        settings.exclude,
        settings.search_path,
        _digest(paths, config),
    )
    if key not in _CACHE:
        _CACHE[key] = _REAL_LOAD(paths, config)
    return _CACHE[key]


def _cached_bodies(catalog: Any, jobs: int = 1) -> Any:
    key = ("bodies", id(catalog))
    if key not in _CACHE:
        _CACHE[key] = (_REAL_BODIES(catalog, jobs), catalog)  # the catalog stays alive
    return _CACHE[key][0]


def _cached_build_model(catalog: Any, bodies: Any = None) -> Any:
    key = ("model", id(catalog))
    if key not in _CACHE:
        _CACHE[key] = (_REAL_BUILD_MODEL(catalog, bodies), catalog)  # the catalog stays alive
    return _CACHE[key][0]


def patch_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memoise `analyze` and its loading and model building for the rest of the test
    (rules still run for every new configuration)."""
    monkeypatch.setattr(analysis, "analyze", _cached_analyze)
    monkeypatch.setattr(analysis, "load", _cached_load)
    monkeypatch.setattr(analysis, "build_model", _cached_build_model)
    monkeypatch.setattr(analysis, "analyze_bodies_in_parallel", _cached_bodies)


def copy_chat(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of fixtures/chat below `directory`, which becomes the current directory."""
    shutil.copytree(ROOT / "fixtures" / "chat", directory / "chat")
    monkeypatch.chdir(directory)
    return directory / "chat"
