"""The benchmark corpus generator makes deterministic SQL that sqlripple reads completely.

Fast: only the smallest variant of each corpus. Timings are bench/run.py's business,
never a unit test's.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from analyzer import analyze

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    spec.loader.exec_module(module)
    return module


generate = _generator()
SMALLEST = ("migrations", "scale-1k", "triggers")


@pytest.mark.parametrize("name", SMALLEST)
def test_same_seed_same_bytes(name: str) -> None:
    first = generate.build(name, seed=11, small=True)
    second = generate.build(name, seed=11, small=True)
    assert first.files == second.files
    assert first.digest() == second.digest()
    other = generate.build(name, seed=12, small=True)
    assert other.digest() != first.digest()


def test_scale_series_has_exactly_the_statements_asked_for() -> None:
    for count in (400, 1000, 1234):
        assert generate.scale_series(5, count).statements == count


def test_trigger_heavy_rejects_impossible_trigger_counts() -> None:
    with pytest.raises(ValueError):
        generate.trigger_heavy(tables=100, triggers=150, group_size=25)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, object]]:
    base = tmp_path_factory.mktemp("corpora")
    found = {}
    for name in SMALLEST:
        corpus = generate.build(name, small=True)
        folder = base / name
        manifest = generate.write(corpus, folder)
        assert generate.read_manifest(folder) == manifest
        found[name] = (folder, corpus)
    return found


@pytest.mark.parametrize("name", SMALLEST)
def test_every_statement_and_function_is_analysed(
    name: str, written: dict[str, tuple[Path, object]]
) -> None:
    folder, corpus = written[name]
    result = analyze([str(folder)])
    catalog = result.catalog
    assert [str(d) for d in result.diagnostics] == []
    assert catalog.unanalyzed_statements == 0
    assert result.unanalyzed_functions == 0
    assert catalog.statements == corpus.statements  # type: ignore[attr-defined]
    assert len(catalog.files) == len(corpus.files)  # type: ignore[attr-defined]
    assert result.findings, "the corpora hold the trigger patterns the rules look for"
    if name == "triggers":
        assert len(catalog.tables) == 100
        assert len(catalog.triggers) == 250
