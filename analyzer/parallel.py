"""Function bodies analysed in worker processes (`--jobs`), merged in catalog order.

Each function body is analysed on its own against the finished catalog (parsing its
PL/pgSQL or SQL and working out its effects is most of a cold run), so the bodies can be
shared out. Workers are forked after the catalog is built and inherit it; only their
results travel back (multiprocessing serialises them between our own processes; nothing
read from disk is deserialised). The merge follows the catalog's order, whatever order the
workers finish in, so that the output is the same bytes for any number of jobs.

Forking is the only start method used: spawning would have to send the whole catalog to
every worker, which costs more than it saves. Where fork is unavailable or unsafe
(Windows, macOS) and for small inputs, bodies are analysed in this process. A worker
that fails, or whose result cannot be sent back, costs time only: its bodies are analysed
again here.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from types import MappingProxyType

from analyzer.catalog import Catalog
from analyzer.effects import Bodies, BodyEffects, analyze_blocks, analyze_bodies, analyze_function

# Below this many bodies the workers' start-up and the transfer of results cost more than
# the second core saves (measured: see BENCHMARKS.md, "Cache and --jobs").
MIN_BODIES = 64
_CHUNKS_PER_JOB = 4

_catalog: Catalog | None = None  # set in the parent just before forking


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods()


def analyze_bodies_in_parallel(catalog: Catalog, jobs: int) -> Bodies:
    """The same result as `effects.analyze_bodies`, with up to `jobs` processes."""
    keys = [key for key, function in catalog.functions.items() if function.body is not None]
    workers = min(jobs, len(keys) // (MIN_BODIES // 2) or 1)
    if jobs <= 1 or len(keys) < MIN_BODIES or workers <= 1 or not can_fork():
        return analyze_bodies(catalog)
    # Longest bodies first, dealt out in turn: chunks of about equal work.
    keys.sort(key=lambda key: -len(catalog.functions[key].body or ""))
    count = workers * _CHUNKS_PER_JOB
    chunks = [keys[start::count] for start in range(count)]
    found = _run_workers(catalog, chunks, workers)
    functions = {
        key: found[key] if key in found else analyze_function(catalog, function)
        for key, function in catalog.functions.items()
    }
    return Bodies(MappingProxyType(functions), analyze_blocks(catalog))


def _run_workers(
    catalog: Catalog, chunks: Sequence[list[str]], workers: int
) -> dict[str, BodyEffects]:
    global _catalog
    found: dict[str, BodyEffects] = {}
    _catalog = catalog
    # Objects that exist at the fork move to a generation the collector never scans, so
    # that the workers' collections do not copy every page of the inherited catalog.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(workers, _reset_signals) as pool:
            pending = [pool.apply_async(_analyze_chunk, (chunk,)) for chunk in chunks if chunk]
            for result in pending:
                try:
                    found.update(result.get())
                except Exception:  # analysed again in this process
                    continue
    except OSError:  # no processes to be had: everything is analysed here
        pass
    finally:
        gc.unfreeze()
        _catalog = None
    return found


def _reset_signals() -> None:
    """Workers take the default actions: a handler inherited from the parent (one that
    turns SIGTERM into an exception, or defers it while cleaning up) would keep the pool's
    terminate() from ending them, and the parent would wait for them forever. Ctrl-C is
    the parent's to handle; it ends the pool."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _analyze_chunk(keys: list[str]) -> list[tuple[str, BodyEffects]]:
    assert _catalog is not None, "workers are forked from analyze_bodies_in_parallel"
    return [(key, analyze_function(_catalog, _catalog.functions[key])) for key in keys]
