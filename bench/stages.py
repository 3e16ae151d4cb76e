"""Run the pipeline stage by stage on one corpus and print the measurements as JSON.

    python -m bench.stages CORPUS_DIR [--tracemalloc] [--trace-all]

Run by bench/run.py in a fresh subprocess per corpus, so that each measurement starts from
a cold interpreter and the process's peak RSS belongs to one corpus. Stages, in pipeline
order (DESIGN.md):

- source read: `analyzer.source.read_sources` (discover, read, decode, line tables)
- split/parse: `analyzer.parse.split_statements` on every file, then the leading-keyword
  classification and sqlglot tokenising of every statement the catalog does not skip
- catalog: `analyzer.ddl.build_catalog` minus the split/parse stage (the builder splits
  and tokenises again internally; `catalog (incl. split/parse)` is the whole call)
- bodies: `analyzer.effects.analyze_bodies`
- graph: `analyzer.graph.build_model`
- cascade: trace every (table, operation) entry of the rule context with one
  `analyzer.cascade.Tracer` (memo shared, as the rules share it)
- rules: `analyzer.rules.run_rules` on the context whose cascades are already traced
- report: `analyzer.report.check.build_report` and `render_json`

With --trace-all, one more measurement outside the pipeline: a fresh Tracer traces every
table for every operation (insert, update, delete, truncate, upsert).

With --tracemalloc every stage also reports its peak traced allocation (Python objects
only, measured above what was live when the stage started) and what it leaves live;
tracemalloc slows the run several times, so run.py does it in a separate pass.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OPERATIONS = ("insert", "update", "delete", "truncate", "upsert")
MB = 1024 * 1024


class Stages:
    def __init__(self, memory: bool, output: Path | None) -> None:
        self.memory = memory
        self.output = output
        self.rows: list[dict[str, Any]] = []

    def save(self) -> None:
        """Write the stages done so far, so that a run killed at its time limit still
        tells which stage it was in."""
        if self.output is not None:
            self.output.write_text(json.dumps({"stages": self.rows, "partial": True}))

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[dict[str, Any]]:
        row: dict[str, Any] = {"stage": name}
        if self.memory:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
        wall, cpu = time.perf_counter(), time.process_time()
        yield row
        row["wall_s"] = time.perf_counter() - wall
        row["cpu_s"] = time.process_time() - cpu
        row["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if self.memory:
            current, peak = tracemalloc.get_traced_memory()
            row["traced_peak_mb"] = (peak - before) / MB
            row["traced_live_mb"] = current / MB
        self.rows.append(row)
        self.save()


def _render_json(check_report: Any, result: Any) -> str:
    """The JSON report as `sqlripple check --format json` renders it (no suppressions)."""
    build = getattr(check_report, "build_report", None)
    return str(check_report.render_json(build(result) if build else result))


def run(corpus: str, memory: bool, trace_all: bool, output: Path | None) -> dict[str, Any]:
    if not Path(corpus).is_dir():
        raise SystemExit(f"{corpus}: no such corpus folder")
    if memory:
        tracemalloc.start()
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    from sqlglot.errors import TokenError

    from analyzer.analysis import Result
    from analyzer.cascade import TraceEntry, Tracer
    from analyzer.config import Config
    from analyzer.ddl import build_catalog
    from analyzer.effects import analyze_bodies
    from analyzer.graph import build_model
    from analyzer.parse import split_statements
    from analyzer.report import check as check_report
    from analyzer.rules import Context, load_rules, run_rules, selected
    from analyzer.source import read_sources

    import_s = time.perf_counter() - started_wall
    config = Config()
    stages = Stages(memory, output)
    counts: dict[str, int] = {}

    with stages.stage("source read"):
        sources = read_sources([corpus], config.include, config.exclude)
    with stages.stage("split/parse") as row:
        statements = tokenised = 0
        for source in sources.files:
            found, _, _ = split_statements(source)
            statements += len(found)
            for statement in found:
                if statement.kind in {"other", "empty"}:
                    continue
                with contextlib.suppress(TokenError):
                    tokenised += bool(statement.tokens)
        row["statements"] = statements
        row["tokenised"] = tokenised
    split_row = stages.rows[-1]
    with stages.stage("catalog (incl. split/parse)"):
        catalog = build_catalog(sources.files, config.search_path, sources.diagnostics)
    whole = stages.rows.pop()
    net = {
        "stage": "catalog",
        "wall_s": whole["wall_s"] - split_row["wall_s"],
        "cpu_s": whole["cpu_s"] - split_row["cpu_s"],
        "rss_peak_mb": whole["rss_peak_mb"],
    }
    for key in ("traced_peak_mb", "traced_live_mb"):
        if key in whole:
            net[key] = whole[key]
    stages.rows.append(net)
    with stages.stage("bodies"):
        bodies = analyze_bodies(catalog)
    with stages.stage("graph"):
        model = build_model(catalog, bodies)
    with stages.stage("cascade") as row:
        context = Context(catalog, model, config)
        entries = context.entries
        for entry in entries:
            context.cascade(TraceEntry(entry.table, entry.operation))
        row["traces"] = len(entries)
    with stages.stage("rules") as row:
        classes, load_problems = load_rules(config)
        chosen = selected(classes, config.select, config.ignore)
        findings, rule_problems = run_rules(chosen, context)
        row["findings"] = len(findings)
    with stages.stage("report"):
        diagnostics = sorted(
            {*catalog.diagnostics, *model.bodies.diagnostics, *load_problems, *rule_problems}
        )
        result = Result(catalog, model, tuple(findings), tuple(diagnostics), tuple(chosen))
        rendered = _render_json(check_report, result)
    pipeline_wall = time.perf_counter() - started_wall
    pipeline_cpu = time.process_time() - started_cpu
    summary = json.loads(rendered)["summary"]
    counts["diagnostics"] = len(diagnostics)

    extra: list[dict[str, Any]] = []
    if trace_all:
        with stages.stage("trace all tables x operations") as row:
            tracer = Tracer(model)
            traces = 0
            for table in sorted(catalog.tables):
                for operation in OPERATIONS:
                    tracer.trace(TraceEntry(table, operation))
                    traces += 1
            row["traces"] = traces
        extra.append(stages.rows.pop())
    return {
        "corpus": corpus,
        "import_s": import_s,
        "pipeline_wall_s": pipeline_wall,
        "pipeline_cpu_s": pipeline_cpu,
        "stages": stages.rows,
        "extra": extra,
        "catalog_incl_split": whole,
        "summary": summary,
        "counts": counts,
        "pid": os.getpid(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--trace-all", action="store_true")
    parser.add_argument("--output", type=Path, help="write the JSON here instead of stdout")
    args = parser.parse_args(argv)
    measured = run(args.corpus, args.tracemalloc, args.trace_all, args.output)
    text = json.dumps(measured, indent=1)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
