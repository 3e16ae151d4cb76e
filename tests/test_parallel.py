"""--jobs: function bodies analysed in worker processes give the very result of one process,
merged in catalog order; --jobs 1 and small inputs never start a process."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_check_helpers import run

import analyzer.parallel as parallel
from analyzer.catalog import Catalog
from analyzer.effects import BodyEffects, analyze_bodies
from analyzer.loader import load

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A generated migration history and every fixture folder: hundreds of bodies of every
    kind (PL/pgSQL, SQL, DO blocks, dynamic SQL, bodies that do not parse)."""
    generate = _generator()
    folder = tmp_path_factory.mktemp("corpus") / "migrations"
    generate.write(generate.build("migrations", small=True), folder)
    fixtures = sorted(p for p in (ROOT / "fixtures").iterdir() if p.is_dir())
    return [str(folder), *map(str, fixtures)]


@pytest.fixture(scope="module")
def catalog(inputs: list[str]) -> Catalog:
    return load(inputs)


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The start methods of the process pools created."""
    started: list[str] = []
    real = multiprocessing.get_context

    def counted(method: str | None = None) -> Any:
        started.append(str(method))
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", counted)
    yield started


def test_the_inputs_are_big_enough_to_be_shared_out(catalog: Catalog) -> None:
    bodies = sum(1 for f in catalog.functions.values() if f.body is not None)
    assert bodies >= 2 * parallel.MIN_BODIES
    assert catalog.anonymous_blocks


def test_two_jobs_give_the_result_of_one(catalog: Catalog, forks: list[str]) -> None:
    expected = analyze_bodies(catalog)
    found = parallel.analyze_bodies_in_parallel(catalog, 2)
    assert forks == ["fork"]
    assert list(found.functions) == list(expected.functions)
    assert dict(found.functions) == dict(expected.functions)
    assert found.blocks == expected.blocks
    assert found.diagnostics == expected.diagnostics


def test_one_job_or_few_bodies_start_no_process(
    catalog: Catalog, inputs: list[str], forks: list[str]
) -> None:
    parallel.analyze_bodies_in_parallel(catalog, 1)
    small = load([inputs[1]])  # one fixture folder: a handful of bodies
    parallel.analyze_bodies_in_parallel(small, 8)
    assert forks == []


def test_a_failing_worker_costs_time_not_results(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch, forks: list[str]
) -> None:
    parent = os.getpid()
    real = parallel.analyze_function
    victim = max(
        (key for key, f in catalog.functions.items() if f.body),
        key=lambda key: len(catalog.functions[key].body or ""),
    )

    def flaky(catalog: Catalog, function: Any) -> BodyEffects:
        if os.getpid() != parent and function.key == victim:
            raise RuntimeError("a worker fails")
        return real(catalog, function)

    monkeypatch.setattr(parallel, "analyze_function", flaky)
    found = parallel.analyze_bodies_in_parallel(catalog, 2)
    assert forks == ["fork"]
    assert dict(found.functions) == dict(analyze_bodies(catalog).functions)


def test_without_fork_everything_runs_here(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch, forks: list[str]
) -> None:
    monkeypatch.setattr(parallel, "can_fork", lambda: False)
    found = parallel.analyze_bodies_in_parallel(catalog, 2)
    assert forks == []
    assert dict(found.functions) == dict(analyze_bodies(catalog).functions)


@pytest.mark.parametrize("output_format", ["json", "text"])
def test_the_command_line_prints_the_same_bytes_for_any_jobs(
    inputs: list[str], forks: list[str], output_format: str
) -> None:
    one = run("check", *inputs, "--format", output_format, "--jobs", "1")
    assert forks == []
    two = run("check", *inputs, "--format", output_format, "--jobs", "2")
    assert forks == ["fork"]
    assert two == one
    assert one[0] == 1 and one[1].count("\n") > 100


def test_jobs_must_be_positive(inputs: list[str]) -> None:
    code, _, err = run("check", inputs[1], "--jobs", "0")
    assert code == 2
    assert "Invalid value for '--jobs' / '-j': 0 is not in the range x>=1." in err


def test_trace_prints_the_same_bytes_for_any_jobs(inputs: list[str], forks: list[str]) -> None:
    args = ("trace", *inputs, "--table", "public.chat_messages", "--op", "upsert")
    one = run(*args, "--format", "json", "--jobs", "1")
    assert forks == []
    two = run(*args, "--format", "json", "--jobs", "2")
    assert forks == ["fork"]
    assert two == one
    assert '"total_row_writes"' in one[1]


def test_workers_end_even_when_the_parent_defers_sigterm(inputs: list[str]) -> None:
    """verify's cleanup defers SIGTERM with a handler; forked workers used to inherit it,
    ignore the pool's terminate() and leave the parent waiting for them forever."""
    probe = (
        "import signal, sys\n"
        "from analyzer.loader import load\n"
        "from analyzer.parallel import analyze_bodies_in_parallel\n"
        "signal.signal(signal.SIGTERM, lambda number, frame: None)\n"
        "bodies = analyze_bodies_in_parallel(load(sys.argv[1:]), 2)\n"
        "print(len(bodies.functions))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", probe, *inputs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=600)  # a hang guard: the run takes seconds
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the stuck workers too
        process.communicate()
        pytest.fail("the parent waited for its workers forever")
    assert process.returncode == 0, err
    assert int(out) == len(load(inputs).functions)
