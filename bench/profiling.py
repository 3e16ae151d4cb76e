"""cProfile of `sqlripple check CORPUS --format json -o /dev/null`, with a time limit.

    python -m bench --profile migrations triggers
    python -m bench.profiling CORPUS_DIR [--limit SECONDS] [--top N] [--dump FILE]

The limit stops the run with SIGALRM and keeps the profile of what ran so far, so a
corpus that takes too long still shows where the time goes. Prints the top functions by
cumulative and by own time, with their share of the profiled time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class _Limit(BaseException):
    pass


def _stop(signum: int, frame: object) -> None:
    raise _Limit


def profile(corpus: str, limit: int, dump: Path) -> dict[str, Any]:
    from analyzer.cli import main

    profiler = cProfile.Profile()
    signal.signal(signal.SIGALRM, _stop)
    signal.alarm(limit)
    stopped = False
    profiler.enable()
    try:
        main(["check", corpus, "--format", "json", "-o", os.devnull, "--no-cache"])
    except SystemExit:
        pass
    except _Limit:
        stopped = True
    finally:
        profiler.disable()
        signal.alarm(0)
    profiler.dump_stats(dump)
    return {"stopped_at_limit": stopped}


def top(dump: Path, count: int) -> dict[str, list[dict[str, Any]]]:
    stats = pstats.Stats(str(dump), stream=io.StringIO())
    rows = []
    for (path, line, function), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        module = path
        for prefix in (str(ROOT) + "/", "site-packages/"):
            if prefix in module:
                module = module.split(prefix, 1)[1]
        rows.append(
            {
                "function": function,
                "module": f"{module}:{line}",
                "calls": calls,
                "own_s": round(own, 3),
                "cumulative_s": round(cumulative, 3),
            }
        )
    # Share of the whole run: the outermost call's cumulative time.
    total = max((r["cumulative_s"] for r in rows), default=0.0)
    for row in rows:
        row["share"] = round(row["cumulative_s"] / total, 3) if total else 0.0
        row["own_share"] = round(row["own_s"] / total, 3) if total else 0.0
    by_cumulative = sorted(rows, key=lambda r: -r["cumulative_s"])[:count]
    by_own = sorted(rows, key=lambda r: -r["own_s"])[:count]
    return {"total_s": round(total, 3), "cumulative": by_cumulative, "own": by_own}


def report(name: str, folder: Path, out: Path, limit: int = 240, count: int = 25) -> None:
    """Profile in a subprocess (a cold interpreter) and print the tables."""
    out.mkdir(parents=True, exist_ok=True)
    dump = out / f"{name}.prof"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "bench.profiling", str(folder), "--limit", str(limit)]
    command += ["--top", str(count), "--dump", str(dump)]
    found = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if found.returncode:
        sys.stderr.write(found.stderr)
        return
    data = json.loads(found.stdout)
    (out / f"{name}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    sys.stdout.write(render(name, data))


def render(name: str, data: dict[str, Any]) -> str:
    lines = [f"\n## {name}: {data['total_s']:.2f} s profiled"]
    if data["stopped_at_limit"]:
        lines[0] += " (stopped at the time limit)"
    for key, title in (("cumulative", "by cumulative time"), ("own", "by own time")):
        lines.append(f"\n{title}:")
        lines.append(f"{'cum s':>8} {'share':>6} {'own s':>8} {'calls':>9}  function (module)")
        for row in data[key]:
            lines.append(
                f"{row['cumulative_s']:8.2f} {row['share']:6.1%} {row['own_s']:8.2f} "
                f"{row['calls']:9d}  {row['function']} ({row['module']})"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--dump", type=Path, default=Path("profile.prof"))
    args = parser.parse_args(argv)
    result = profile(args.corpus, args.limit, args.dump)
    result.update(top(args.dump, args.top))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
