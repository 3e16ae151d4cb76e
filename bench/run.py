"""The benchmark harness: generate the corpora, measure sqlripple and the reference tools.

    python -m bench                      # every corpus; writes bench/results.json
    python -m bench --corpus migrations --corpus triggers-500
    python -m bench --ci                 # CI: the smallest corpora, once, no targets enforced
    python -m bench --install-tools      # pgspot, squawk, pure sqlglot: bench/corpus/ venvs
    python -m bench --profile migrations # cProfile of `sqlripple check` (bench/profiling.py)
    python -m bench --show               # print bench/results.json again

Per corpus it runs, each in a fresh subprocess (os.wait4 gives its CPU time and peak RSS):
the stage runner (bench/stages.py), again under tracemalloc for per-stage Python memory
(corpora up to --memory-limit statements), `sqlripple check CORPUS --format json -o
/dev/null` (--repeat times with one fresh --cache-dir: the first run is the cold one, with
an empty cache; the rest are warm, their result in the cache), and, when installed,
pglast parse-only (libpg_query through pglast.parser.parse_sql), squawk and pgspot on the
same files. Ratios compare CPU time (user + sys) of the same run, which a busy machine
distorts less than wall time; both are recorded.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from bench import generate

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CORPUS_DIR = BENCH / "corpus"
TOOLS_VENV = CORPUS_DIR / ".tools"
PURE_SQLGLOT_VENV = CORPUS_DIR / ".sqlglot-pure"
RESULTS = BENCH / "results.json"
DEFAULT_CORPORA = (
    "migrations",
    "scale-1k",
    "scale-10k",
    "scale-100k",
    "triggers-250",
    "triggers-500",
    "triggers-1000",
    "triggers",
)
CI_CORPORA = ("migrations", "scale-1k", "triggers")

# The targets of issue 10.
COLD_VS_PGLAST = 3.0
GROWTH_LIMIT = 11.0
MEMORY_LIMIT_MB = 500.0
TRACE_ALL_LIMIT_S = 5.0  # "a few seconds"

# Parse-only: read every file and parse it with libpg_query into pglast's Python AST.
PGLAST_PARSE = r"""
import json, sys, time
import pglast
start = time.process_time()
statements = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        statements += len(pglast.parser.parse_sql(handle.read()))
print(json.dumps({"statements": statements, "parse_cpu_s": time.process_time() - start}))
"""


# ---- corpora -----------------------------------------------------------------------------


def corpus_spec(name: str, seed: int, small: bool) -> generate.Corpus:
    """`triggers-N`: the trigger-heavy schema with N tables and 2.5 N triggers."""
    if name.startswith("triggers-"):
        tables = int(name.split("-", 1)[1])
        return generate.trigger_heavy(seed, tables=tables, triggers=tables * 5 // 2)
    return generate.build(name, seed, small)


def ensure_corpus(name: str, seed: int, small: bool) -> tuple[Path, dict[str, Any]]:
    """Generate the corpus unless the folder already holds exactly these bytes."""
    corpus = corpus_spec(name, seed, small)
    folder = CORPUS_DIR / (f"ci-{name}" if small else name)
    manifest = generate.read_manifest(folder)
    if manifest is None or manifest.get("sha256") != corpus.digest():
        return folder, generate.write(corpus, folder)
    return folder, dict(manifest)


# ---- subprocess measurement ----------------------------------------------------------


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    rss_mb: float
    exit_code: int | None  # None: killed at the time limit
    stdout: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 4),
            "cpu_s": round(self.cpu_s, 4),
            "rss_mb": round(self.rss_mb, 1),
            "exit_code": self.exit_code,
            "timed_out": self.exit_code is None,
        }


def measure(
    command: list[str], timeout: float, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Run:
    """Run a command; its wall time, CPU time (user + sys, with its children) and peak RSS."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True
        )
        deadline = start + timeout
        exit_code: int | None = None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                exit_code = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() > deadline:
                os.killpg(process.pid, 9)
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        process.returncode = exit_code if exit_code is not None else -9
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, exit_code, text)


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONHASHSEED", None)
    # Measure what an installed sqlripple does: `pip install` leaves bytecode next to every
    # module, so the interpreter does not compile the analyzer from source on each run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_bytecode() -> None:
    """Bytecode for the analyzer and the rules, as `pip install` writes it, so that no
    measured run (the cold one included) pays for compiling them from source."""
    import compileall

    for package in ("analyzer", "rules", "bench"):
        compileall.compile_dir(str(ROOT / package), quiet=1)


def sqlripple_command() -> list[str]:
    script = Path(sys.executable).parent / "sqlripple"
    return [str(script)] if script.exists() else [sys.executable, "-m", "analyzer"]


def find_tool(name: str) -> str | None:
    local = TOOLS_VENV / "bin" / name
    return str(local) if local.exists() else shutil.which(name)


def pglast_python() -> str | None:
    """An interpreter with pglast: the project's (test extra), else the tools' venv."""
    for python in (sys.executable, str(TOOLS_VENV / "bin" / "python")):
        if not Path(python).exists():
            continue
        probe = subprocess.run([python, "-c", "import pglast"], capture_output=True)
        if probe.returncode == 0:
            return python
    return None


def sql_files(folder: Path) -> list[str]:
    from analyzer.source import discover

    found, _ = discover([str(folder)])
    return [str(path) for _, path in found if path is not None]


# ---- one corpus --------------------------------------------------------------------------


def stage_pass(folder: Path, memory: bool, trace_all: bool, timeout: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        output = Path(handle.name)
    command = [sys.executable, "-m", "bench.stages", str(folder), "--output", str(output)]
    if memory:
        command.append("--tracemalloc")
    if trace_all:
        command.append("--trace-all")
    run = measure(command, timeout, python_env())
    try:
        measured = json.loads(output.read_text(encoding="utf-8") or "{}")
    except ValueError:
        measured = {}
    finally:
        output.unlink(missing_ok=True)
    measured["process"] = run.to_dict()
    return measured


def measure_corpus(name: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    manifest = generate.read_manifest(folder) or {}
    statements = int(str(manifest.get("statements", 0)))
    result: dict[str, Any] = {"name": name, "path": str(folder.relative_to(ROOT))}
    result["manifest"] = manifest
    trace_all = name.startswith("triggers") or name == "migrations"
    log(f"{name}: stages")
    result["stages"] = stage_pass(folder, False, trace_all, args.timeout)
    # tracemalloc slows the run several times: only where the plain run is short.
    if args.memory_limit and statements <= args.memory_limit and not name.startswith("triggers"):
        log(f"{name}: stages under tracemalloc")
        result["memory"] = stage_pass(folder, True, False, args.timeout)
    runs = []
    # The first run starts from an empty cache directory (cold) and fills it; the later
    # ones find their result there (warm). Never the repository's own .sqlripple_cache.
    with tempfile.TemporaryDirectory(prefix="sqlripple-bench-cache-") as cache:
        for attempt in range(args.repeat):
            log(f"{name}: sqlripple check ({attempt + 1}/{args.repeat})")
            run = measure(
                [
                    *sqlripple_command(),
                    "check",
                    str(folder),
                    *("--format", "json", "-o", os.devnull, "--cache-dir", cache),
                ],
                args.timeout,
            )
            runs.append(run)
            if run.exit_code is None:
                break
    result["cli"] = summarise(runs)
    tools: dict[str, Any] = {}
    if not args.no_tools:
        files = sql_files(folder)
        python = pglast_python()
        if python:
            log(f"{name}: pglast parse-only")
            runs = [
                measure([python, "-c", PGLAST_PARSE, *files], args.timeout)
                for _ in range(args.repeat)
            ]
            tools["pglast"] = summarise(runs)
            with contextlib.suppress(ValueError):
                tools["pglast"]["in_process"] = json.loads(runs[-1].stdout)
        for tool, command in (("squawk", ["squawk"]), ("pgspot", ["pgspot"])):
            path = find_tool(command[0])
            if path:
                log(f"{name}: {tool}")
                tools[tool] = summarise(
                    [measure([path, *files], args.timeout) for _ in range(args.repeat)]
                )
        if name == "migrations" and (PURE_SQLGLOT_VENV / "bin" / "python").exists():
            tools["sqlglot_tokenizer"] = sqlglotc_comparison(folder, args.timeout)
            log(f"{name}: sqlripple check on pure-Python sqlglot")
            tools["check_pure_sqlglot"] = summarise(
                [
                    measure(
                        [
                            str(PURE_SQLGLOT_VENV / "bin" / "python"),
                            "-m",
                            "analyzer",
                            *("check", str(folder), "--no-cache", "--format", "json"),
                            *("-o", os.devnull),
                        ],
                        args.timeout,
                        python_env(),
                    )
                    for _ in range(args.repeat)
                ]
            )
    result["tools"] = tools
    result["ratios"] = ratios(result)
    return result


def startup(timeout: float) -> dict[str, Any]:
    """`sqlripple check` on one trivial file: interpreter start and imports."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "one.sql"
        path.write_text("SELECT 1;\n", encoding="utf-8")
        command = [*sqlripple_command(), "check", str(path), "--format", "json", "-o", os.devnull]
        command.append("--no-cache")  # start-up of a real analysis, not of a cache hit
        return summarise([measure(command, timeout) for _ in range(3)])


def summarise(runs: list[Run]) -> dict[str, Any]:
    """The cold (first) run, the best warm run, and every run."""
    done = [r for r in runs if r.exit_code is not None]
    summary: dict[str, Any] = {"runs": [r.to_dict() for r in runs]}
    summary["cold"] = runs[0].to_dict()
    if len(done) > 1:
        warm = min(done[1:], key=lambda r: r.cpu_s)
        summary["warm"] = warm.to_dict()
    best = min(done, key=lambda r: r.cpu_s) if done else runs[0]
    summary["best"] = best.to_dict()
    return summary


def sqlglotc_comparison(folder: Path, timeout: float) -> dict[str, Any]:
    """sqlglot's tokenizer and parser on every statement, pure Python vs sqlglotc (each
    labelled by what the interpreter really has)."""
    found = {}
    for python in (sys.executable, str(PURE_SQLGLOT_VENV / "bin" / "python")):
        run = measure([python, "-m", "bench.tokenize_speed", str(folder)], timeout, python_env())
        try:
            measured = json.loads(run.stdout)
        except ValueError:
            measured = {"error": run.stdout[-300:]}
        found["sqlglotc" if measured.get("sqlglotc") else "python"] = measured
    return found


def ratios(result: dict[str, Any]) -> dict[str, float]:
    cli = result["cli"]
    found: dict[str, float] = {}
    if cli["cold"]["timed_out"]:
        return found
    tools = result["tools"]
    for tool, key in (("pglast", "cold_vs_pglast"), ("pgspot", "cold_vs_pgspot")):
        if tool in tools:
            found[key] = cli["cold"]["cpu_s"] / max(tools[tool]["best"]["cpu_s"], 1e-3)
            found[key + "_wall"] = cli["cold"]["wall_s"] / max(tools[tool]["best"]["wall_s"], 1e-3)
    if "squawk" in tools and "warm" in cli:
        found["warm_vs_squawk"] = cli["warm"]["cpu_s"] / max(tools["squawk"]["best"]["cpu_s"], 1e-3)
        found["warm_vs_squawk_wall"] = cli["warm"]["wall_s"] / max(
            tools["squawk"]["best"]["wall_s"], 1e-3
        )
    return found


# ---- targets -----------------------------------------------------------------------------


def targets(corpora: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def add(name: str, measured: float | None, limit: float, unit: str, note: str = "") -> None:
        met = None if measured is None else measured <= limit
        found.append(
            {
                "target": name,
                "measured": None if measured is None else round(measured, 3),
                "limit": limit,
                "unit": unit,
                "met": met,
                "note": note,
            }
        )

    for name, result in corpora.items():
        r = result["ratios"]
        if "cold_vs_pglast" in r:
            add(f"cold check <= 3x pglast parse-only ({name})", r["cold_vs_pglast"], 3.0, "x")
        if "warm_vs_squawk" in r:
            add(
                f"warm check <= squawk ({name})",
                r["warm_vs_squawk"],
                1.0,
                "x",
                "warm: the result is in the cache (first run cold, empty --cache-dir)",
            )
    series = [n for n in ("scale-1k", "scale-10k", "scale-100k") if n in corpora]
    for small, large in itertools.pairwise(series):
        a, b = corpora[small], corpora[large]
        if not b["cli"]["cold"]["timed_out"]:
            # The cold runs: since the result cache, the best run is a cache hit.
            add(
                f"10x input <= 11x time ({small} -> {large}, whole CLI, CPU)",
                b["cli"]["cold"]["cpu_s"] / a["cli"]["cold"]["cpu_s"],
                GROWTH_LIMIT,
                "x",
                f"wall: {b['cli']['cold']['wall_s'] / a['cli']['cold']['wall_s']:.2f}x",
            )
        else:
            add(
                f"10x input <= 11x time ({small} -> {large}, whole CLI)",
                None,
                11.0,
                "x",
                f"the CLI run was killed at {b['cli']['cold']['wall_s']:.0f} s",
            )
        pa, pb = a["stages"].get("pipeline_cpu_s"), b["stages"].get("pipeline_cpu_s")
        if pa and pb:
            add(
                f"10x input <= 11x time ({small} -> {large}, pipeline stages, CPU)",
                pb / pa,
                GROWTH_LIMIT,
                "x",
            )
    if "scale-100k" in corpora:
        result = corpora["scale-100k"]
        cli = result["cli"]["cold"]
        if not cli["timed_out"]:
            add(
                "peak memory < 500 MB for 100,000 statements (whole CLI process)",
                cli["rss_mb"],
                MEMORY_LIMIT_MB,
                "MB",
            )
        else:
            process = result["stages"]["process"]
            add(
                "peak memory < 500 MB for 100,000 statements (stage runner process)",
                process["rss_mb"],
                MEMORY_LIMIT_MB,
                "MB",
                f"the CLI run was killed at {cli['wall_s']:.0f} s with {cli['rss_mb']:.0f} MB",
            )
    for name, result in corpora.items():
        if not name.startswith("triggers"):
            continue
        extra = {row["stage"]: row for row in result["stages"].get("extra", [])}
        row = extra.get("trace all tables x operations")
        if name == "triggers" or row is None:
            measured = row["wall_s"] if row else None
            note = "" if row else timed_out_note(result)
            add(
                f"trace every table and operation in a few seconds ({name})",
                measured,
                TRACE_ALL_LIMIT_S,
                "s",
                note,
            )
    return found


def timed_out_note(result: dict[str, Any]) -> str:
    stages = result["stages"]
    done = [row["stage"] for row in stages.get("stages", [])]
    limit = stages["process"]["wall_s"]
    return f"stage runner killed after {limit:.0f} s; finished stages: {', '.join(done) or 'none'}"


# ---- machine and versions ------------------------------------------------------------


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


def source_state() -> str | None:
    """The commit, and whether analyzer/ or rules/ differ from it (so that a run can
    tell when the code changed under it)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    diff = subprocess.run(
        ["git", "diff", "HEAD", "--", "analyzer", "rules"], capture_output=True, cwd=ROOT
    ).stdout
    suffix = f"+uncommitted:{hashlib.sha256(diff).hexdigest()[:8]}" if diff else ""
    return (commit + suffix) or None


def versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for package in ("sqlripple", "sqlglot", "networkx", "click", "rich", "pglast"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    for tool, flag in (("squawk", "--version"), ("pgspot", "--version")):
        path = find_tool(tool)
        found[tool] = (
            subprocess.run([path, flag], capture_output=True, text=True).stdout.strip()
            if path
            else None
        )
    python = pglast_python()
    if python and python != sys.executable:
        found["pglast"] = subprocess.run(
            [python, "-c", "import importlib.metadata as m; print(m.version('pglast'))"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    found["commit"] = source_state()
    return found


# ---- printing ----------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    """A plain-text table; the first `left` columns align left, the rest right."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    for row in rows:
        cells = zip(row, widths, strict=True)
        lines.append(
            " | ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(cells))
        )
    return "\n".join(lines)


def render(results: dict[str, Any]) -> str:
    out: list[str] = []
    for name, result in results["corpora"].items():
        stages = result["stages"]
        memory = {r["stage"]: r for r in result.get("memory", {}).get("stages", [])}
        rows = []
        for row in [*stages.get("stages", []), *stages.get("extra", [])]:
            traced = memory.get(row["stage"], {})
            rows.append(
                [
                    row["stage"],
                    fmt(row["wall_s"], 3),
                    fmt(row["cpu_s"], 3),
                    fmt(traced.get("traced_peak_mb"), 1),
                    fmt(row["rss_peak_mb"], 0),
                ]
            )
        process = stages.get("process", {})
        summary = stages.get("summary", {})
        out.append(
            f"\n## {name}: {result['manifest'].get('files')} files, "
            f"{result['manifest'].get('statements')} statements, "
            f"{summary.get('tables', '?')} tables, {summary.get('triggers', '?')} triggers"
        )
        out.append(
            table(["stage", "wall s", "CPU s", "traced peak MB", "RSS MB"], rows)
            + f"\nstage runner process: wall {fmt(process.get('wall_s'))} s, CPU "
            f"{fmt(process.get('cpu_s'))} s, peak RSS {fmt(process.get('rss_mb'), 0)} MB"
            + (" (TIMED OUT)" if process.get("timed_out") else "")
        )
    start = results["startup"]["best"]
    out.append(
        f"\nstartup (`sqlripple check` on one `SELECT 1;`): wall {start['wall_s']:.2f} s, "
        f"CPU {start['cpu_s']:.2f} s, RSS {start['rss_mb']:.0f} MB"
    )
    rows = []
    for name, result in results["corpora"].items():
        cli, tools, r = result["cli"], result["tools"], result["ratios"]

        def pair(run: dict[str, Any] | None) -> str:
            if not run:
                return "-"
            if run["timed_out"]:
                return f">{run['wall_s']:.0f} (timeout)"
            return f"{run['wall_s']:.2f} / {run['cpu_s']:.2f}"

        rows.append(
            [
                name,
                str(result["manifest"].get("statements")),
                pair(cli["cold"]),
                pair(cli.get("warm")),
                fmt(cli["cold"]["rss_mb"], 0),
                pair(tools.get("pglast", {}).get("best")),
                pair(tools.get("squawk", {}).get("best")),
                pair(tools.get("pgspot", {}).get("best")),
                fmt(r.get("cold_vs_pglast")),
                fmt(r.get("warm_vs_squawk"), 1),
                fmt(r.get("cold_vs_pgspot")),
            ]
        )
    out.append("\n## whole runs (wall s / CPU s)")
    out.append(
        table(
            [
                "corpus",
                "stmts",
                "check cold",
                "check warm",
                "RSS MB",
                "pglast parse",
                "squawk",
                "pgspot",
                "cold/pglast",
                "warm/squawk",
                "cold/pgspot",
            ],
            rows,
        )
    )
    out.append("\n## targets")
    out.append(
        table(
            ["target", "measured", "limit", "met"],
            [
                [
                    t["target"],
                    f"{fmt(t['measured'])} {t['unit']}",
                    f"{t['limit']} {t['unit']}",
                    {True: "yes", False: "NO", None: "-"}[t["met"]]
                    + (f" ({t['note']})" if t["note"] else ""),
                ]
                for t in results["targets"]
            ],
            left=4,
        )
    )
    return "\n".join(out) + "\n"


# ---- entry point -------------------------------------------------------------------------


def install_tools() -> int:
    """pgspot and squawk-cli in a venv of their own (pgspot pins an older pglast than the
    project's tests), and sqlripple's dependencies with pure-Python sqlglot, without the
    compiled sqlglotc the project installs, to measure what sqlglotc buys."""
    from importlib.metadata import version

    for venv, packages in (
        (TOOLS_VENV, ["pgspot", "squawk-cli"]),
        (
            PURE_SQLGLOT_VENV,
            [f"sqlglot=={version('sqlglot')}", "click", "rich", "networkx", "psycopg[binary]"],
        ),
    ):
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *packages], check=True)
        log(f"installed {' '.join(packages)} in {venv.relative_to(ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", help="corpus name (repeatable)")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=2, help="runs per command (first = cold)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per command")
    parser.add_argument(
        "--memory-limit",
        type=int,
        default=20_000,
        help="tracemalloc pass only for corpora up to this many statements (0: never)",
    )
    parser.add_argument("--no-tools", action="store_true", help="skip pglast, squawk, pgspot")
    parser.add_argument("--output", type=Path, help=f"JSON results (default {RESULTS.name})")
    parser.add_argument("--ci", action="store_true", help="smallest corpora, one run each")
    parser.add_argument(
        "--check-targets", action="store_true", help="exit 1 when a measured target is missed"
    )
    parser.add_argument("--install-tools", action="store_true")
    parser.add_argument("--show", action="store_true", help="print the recorded results again")
    parser.add_argument("--profile", nargs="+", metavar="CORPUS", help="cProfile these corpora")
    args = parser.parse_args(argv)
    if args.install_tools:
        return install_tools()
    if args.show:
        recorded = json.loads((args.output or RESULTS).read_text(encoding="utf-8"))
        recorded["targets"] = targets(recorded["corpora"])
        sys.stdout.write(render(recorded))
        return 0
    if args.ci:
        args.repeat = 1
        args.memory_limit = 0
        args.timeout = min(args.timeout, 600.0)
    if args.profile:
        from bench import profiling

        for name in args.profile:
            folder, _ = ensure_corpus(name, args.seed, small=False)
            profiling.report(name, folder, CORPUS_DIR / "profiles")
        return 0
    compile_bytecode()
    names = args.corpus or list(CI_CORPORA if args.ci else DEFAULT_CORPORA)
    output = args.output or (CORPUS_DIR / "results-ci.json" if args.ci else RESULTS)
    previous: dict[str, Any] = {}
    if args.corpus and output.exists():  # re-measure some corpora, keep the others
        previous = json.loads(output.read_text(encoding="utf-8")).get("corpora", {})
    results: dict[str, Any] = {
        "schema": 1,
        "date": time.strftime("%Y-%m-%d"),
        "seed": args.seed,
        "machine": machine(),
        "versions": versions(),
        "settings": {"repeat": args.repeat, "timeout_s": args.timeout, "ci": args.ci},
        "startup": startup(args.timeout),
        "corpora": previous,
    }
    for name in names:
        log(f"{name}: generating")
        folder, _ = ensure_corpus(name, args.seed, small=args.ci)
        results["corpora"][name] = measure_corpus(name, folder, args)
    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["versions"]["commit_after"] = source_state()
    if results["versions"]["commit_after"] != results["versions"]["commit"]:
        log("the analyzer's code changed during the run: figures mix versions")
    results["targets"] = targets(results["corpora"])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(render(results))
    log(f"results written to {output}")
    failures = [
        c
        for c, r in results["corpora"].items()
        if r["cli"]["cold"]["exit_code"] not in (0, 1, None)
    ]
    if failures:
        log(f"sqlripple check failed on {', '.join(failures)}")
        return 2
    if args.check_targets and any(t["met"] is False for t in results["targets"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
