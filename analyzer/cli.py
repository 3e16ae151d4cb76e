"""The command line: the only module that imports click and decides exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from rich.console import Console

    from analyzer.analysis import Result
    from analyzer.config import Config

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

_PATHS = click.argument("paths", nargs=-1, required=True)
_JOBS = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="Processes that analyse function bodies; 1 starts none.  [default: the number of "
    "cores, one process below 64 bodies]",
)


def _usage_error(message: str) -> NoReturn:
    click.echo(f"sqlripple: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


@dataclass(frozen=True)
class CheckOutcome:
    """Everything a finished `check` prints, as the result cache stores it."""

    rendered: str  # the report, on standard output or in -o
    notices: tuple[str, ...]  # standard error lines before it
    summary: str  # the standard error line after writing -o
    failed: bool  # findings at or above --fail-on

    def encode(self) -> tuple[bytes, str]:
        """A JSON line with everything but the report, then the report as it is (the cache
        writes it as UTF-8, a chunk at a time): escaped into the JSON, or encoded whole, a
        large report cost more copies of itself (scale-100k: the peak of the whole run)."""
        head = {"notices": list(self.notices), "summary": self.summary, "failed": self.failed}
        return json.dumps(head).encode("utf-8") + b"\n", self.rendered

    @classmethod
    def decode(cls, data: bytes | None) -> CheckOutcome | None:
        try:
            head, separator, rendered = (data or b"").partition(b"\n")
            if not separator:
                return None
            fields = json.loads(head)
            return cls(
                rendered.decode("utf-8"),
                tuple(str(line) for line in fields["notices"]),
                str(fields["summary"]),
                bool(fields["failed"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


def _check_paths(paths: Sequence[str]) -> None:
    missing = [p for p in paths if p != "-" and not Path(p).exists()]
    if missing:
        for path in missing:
            click.echo(f"sqlripple: {path}: no such file or directory", err=True)
        sys.exit(EXIT_USAGE)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # Looked up only when asked for: package metadata is slow to read at every start.
    if not value or ctx.resilient_parsing:
        return
    from analyzer.report.summary import tool_version

    click.echo(f"sqlripple, version {tool_version()}")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def cli() -> None:
    """What one PostgreSQL write really costs once every trigger has run."""


@cli.command()
@_PATHS
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif", "github", "markdown", "junit"]),
    default="text",
    show_default=True,
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "note", "never"]),
    help="Exit 1 when a finding is at or above this severity.  [default: warning]",
)
@click.option("--select", help="Only these rules (names, codes or code prefixes, comma-separated).")
@click.option("--ignore", help="Skip these rules (names, codes or code prefixes).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Settings file (default: sqlripple.toml or [tool.sqlripple] in pyproject.toml, "
    "searched upwards from the current directory).",
)
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False),
    help="Report only findings beyond this baseline.",
)
@click.option(
    "--write-baseline",
    "write_baseline_file",
    type=click.Path(dir_okay=False),
    help="Record the current findings as the baseline and exit 0.",
)
@click.option("--show-suppressed", is_flag=True, help="Also show findings suppressed in comments.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Neither read nor write the result cache (also: SQLRIPPLE_NO_CACHE=1, cache = false).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    help="Cache directory (default: $SQLRIPPLE_CACHE_DIR, else .sqlripple_cache here).",
)
@_JOBS
def check(
    paths: tuple[str, ...],
    output_format: str,
    output: str | None,
    fail_on: str | None,
    select: str | None,
    ignore: str | None,
    config_file: str | None,
    baseline_file: str | None,
    write_baseline_file: str | None,
    show_suppressed: bool,
    no_cache: bool,
    cache_dir: str | None,
    jobs: int | None,
) -> None:
    """Analyse schema and migration files and report what triggers cost."""
    import dataclasses
    import os
    from typing import Any

    from analyzer.cache import Cache, default_directory, run_key
    from analyzer.config import ConfigError, load_config, unknown_patterns
    from analyzer.report.files import write_atomically

    _check_paths(paths)
    try:
        file_config = load_config(Path.cwd(), config_file)
    except ConfigError as error:
        _usage_error(str(error))
    overrides: dict[str, Any] = {}
    for flag, value in (("select", select), ("ignore", ignore)):
        if value is not None:
            overrides[flag] = _names(value)
    if fail_on is not None:
        overrides["fail_on"] = fail_on
    if baseline_file is not None:
        overrides["baseline"] = baseline_file
    config = dataclasses.replace(file_config, **overrides)
    color = (
        output is None
        and output_format == "text"
        and sys.stdout.isatty()
        and not os.environ.get("NO_COLOR")
    )

    def write(path: str, text: str) -> None:
        try:
            write_atomically(path, text)
        except OSError as error:
            _usage_error(f"{path}: cannot write: {error.strerror or error}")

    def finish(outcome: CheckOutcome) -> NoReturn:
        for line in outcome.notices:
            click.echo(line, err=True)
        if output:
            write(output, outcome.rendered)
            click.echo(outcome.summary, err=True)
        else:
            click.echo(outcome.rendered, nl=False, color=color)
        sys.exit(EXIT_FINDINGS if outcome.failed else EXIT_OK)

    cache, key = None, None
    options = {"format": output_format, "color": color, "show_suppressed": show_suppressed}
    if write_baseline_file is None and _cache_wanted(no_cache, config):
        cache = Cache(default_directory(cache_dir))
        key = run_key("check", paths, config, options)
        stored = CheckOutcome.decode(cache.get("check", key)) if key else None
        if stored is not None:
            finish(stored)

    from analyzer.analysis import analyze
    from analyzer.baseline import BaselineError, compare, parse_baseline, render_baseline
    from analyzer.config import RuleSpec, check_rule_references
    from analyzer.findings import Severity
    from analyzer.report import check_renderer
    from analyzer.report.check import Presentation, build_report, printable, summary_line
    from analyzer.report.progress import analysing
    from analyzer.rules import load_rules, selected
    from analyzer.source import discover
    from analyzer.suppressions import SUPPRESSION_RULES, apply_suppressions

    try:
        known, _ = load_rules(file_config)
        specs = [RuleSpec(c.name, c.code, dict(c.options)) for c in (*known, *SUPPRESSION_RULES)]
        check_rule_references(file_config, specs)
    except ConfigError as error:
        _usage_error(str(error))
    for flag in ("select", "ignore"):
        for pattern in unknown_patterns(overrides.get(flag, ()), specs):
            _usage_error(f"--{flag}: unknown rule {pattern!r} (`sqlripple rules` lists them)")

    baseline = None
    if config.baseline is not None and write_baseline_file is None:
        try:
            baseline = parse_baseline(
                Path(config.baseline).read_text(encoding="utf-8"), config.baseline
            )
        except OSError as error:
            _usage_error(f"{config.baseline}: cannot read baseline: {error.strerror or error}")
        except (BaselineError, UnicodeDecodeError) as error:
            _usage_error(str(error))

    files = len(discover(paths, config.include, config.exclude)[0]) if sys.stderr.isatty() else 0
    with analysing(files):
        result = analyze(paths, config, _jobs(jobs))
    notes = [
        cls(None, Severity(config.severity[cls.name]) if cls.name in config.severity else None)
        for cls in selected(SUPPRESSION_RULES, config.select, config.ignore)
    ]
    outcome = apply_suppressions(
        result.findings, result.catalog.files, known, {c.name for c in result.rules}, notes
    )

    if write_baseline_file is not None:
        write(write_baseline_file, render_baseline(outcome.findings))
        count = len(outcome.findings)
        click.echo(
            f"sqlripple: {write_baseline_file}: baseline of {count} "
            f"finding{'s' if count != 1 else ''}",
            err=True,
        )
        return
    compared = compare(outcome.findings, baseline, config.baseline or "") if baseline else None
    report = build_report(result, outcome, compared, [type(n) for n in notes], config.severity)
    # The report holds all that is shown: the analysis gives its memory back before the
    # report, the cache entry and the output (encoded copies of it) are rendered.
    del result
    notices = []
    if compared is not None and compared.absent:
        gone = sum(entry.count for entry in compared.absent)
        notices.append(
            f"sqlripple: {printable(compared.path)}: {gone} baseline "
            f"{'findings no longer occur' if gone != 1 else 'finding no longer occurs'}:"
        )
        for entry in compared.absent:
            times = f" (x{entry.count})" if entry.count > 1 else ""
            notices.append(f"  {entry.rule} {printable(entry.subject)}{times}")
    finished = CheckOutcome(
        rendered=check_renderer(output_format)(report, Presentation(color, show_suppressed)),
        notices=tuple(notices),
        summary=summary_line(report),
        failed=report.failed(config.fail_on),
    )
    del outcome, report
    # Stored only if no input changed while it was analysed: the key was read before.
    if cache is not None and key is not None and run_key("check", paths, config, options) == key:
        cache.put("check", key, *finished.encode())
        if cache.problem is not None:
            click.echo(
                f"sqlripple: cache not written ({cache.problem}); going on without", err=True
            )
    finish(finished)


def _cache_wanted(no_cache: bool, config: Config) -> bool:
    import os

    return not no_cache and config.cache and os.environ.get("SQLRIPPLE_NO_CACHE", "") in {"", "0"}


def _jobs(requested: int | None) -> int:
    if requested is not None:
        return requested
    from analyzer.parallel import available_cores

    return available_cores()


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip()) if text else ()


_TEXT_OR_JSON = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)

_CHILDREN = click.option(
    "--children",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Rows per parent row that an FK action (ON DELETE/UPDATE CASCADE, SET NULL…) reaches.",
)


@cli.command()
@_PATHS
@click.option("--table", help="The table written (schema-qualified or found on the search path).")
@click.option(
    "--op", type=click.Choice(["insert", "update", "delete", "truncate", "upsert", "merge"])
)
@click.option("--new-row", is_flag=True, help="Upsert: the row does not exist yet.")
@click.option("--unchanged", is_flag=True, help="Update/upsert writes the values already stored.")
@click.option("--columns", help="SET columns of the update (default: every column).")
@click.option("--rows", type=click.IntRange(min=1), default=1, show_default=True)
@_CHILDREN
@click.option("--sql", help="One DML statement or one function call to trace instead.")
@_TEXT_OR_JSON
@_JOBS
def trace(
    paths: tuple[str, ...],
    table: str | None,
    op: str | None,
    new_row: bool,
    unchanged: bool,
    columns: str | None,
    rows: int,
    children: int,
    sql: str | None,
    output_format: str,
    jobs: int | None,
) -> None:
    """Trace what one insert, update, delete or upsert really does."""
    from dataclasses import replace

    from analyzer.cascade import TraceEntry, Tracer, trace_call
    from analyzer.entry_sql import CallEntry, EntryError, entry_from_sql
    from analyzer.graph import build_model
    from analyzer.loader import load
    from analyzer.parallel import analyze_bodies_in_parallel
    from analyzer.report import trace as trace_report

    _check_paths(paths)
    if sql is not None and (table is not None or op is not None):
        _usage_error("give either --table and --op, or --sql, not both")
    if sql is None and (table is None or op is None):
        _usage_error("give either --table and --op, or --sql")
    catalog = load(paths)
    tracer = Tracer(build_model(catalog, analyze_bodies_in_parallel(catalog, _jobs(jobs))))
    if sql is not None:
        try:
            entry = entry_from_sql(catalog, sql, unchanged=unchanged, new_row=new_row, rows=rows)
            if isinstance(entry, TraceEntry):
                entry = replace(entry, children=children)
        except EntryError as error:
            _usage_error(f"--sql: {error}")
        if isinstance(entry, CallEntry):
            cascade = trace_call(tracer, entry.function, entry.arguments)
        else:
            cascade = tracer.trace(entry)
    else:
        assert table is not None and op is not None
        name = catalog.lookup_relation(table)
        if name is None:
            _usage_error(f"table {table} is not in the schema")
        set_columns = tuple(c.strip() for c in columns.split(",")) if columns else None
        known = catalog.tables.get(name)
        if set_columns is not None and known is not None:
            from analyzer.catalog import unknown_column

            problem = unknown_column(name, set_columns, [c.name for c in known.columns])
            if problem:
                _usage_error(f"--columns: {problem}")
        cascade = tracer.trace(
            TraceEntry(
                name,
                op,
                new_row=new_row,
                unchanged=unchanged,
                columns=set_columns,
                rows=rows,
                children=children,
            )
        )
    for diagnostic in catalog.diagnostics:
        click.echo(str(diagnostic), err=True)
    if output_format == "json":
        click.echo(trace_report.render_json(cascade), nl=False)
    else:
        _console().print(trace_report.render_text(cascade))


def _drawing_input(paths: tuple[str, ...], jobs: int | None) -> tuple[Result, Config, str]:
    """Analysis, settings and title shared by `graph` and `report`."""
    from analyzer.analysis import analyze
    from analyzer.config import ConfigError, load_config

    _check_paths(paths)
    try:
        config = load_config(Path.cwd())
    except ConfigError as error:
        _usage_error(str(error))
    result = analyze(paths, config, _jobs(jobs))
    for diagnostic in result.diagnostics:
        click.echo(str(diagnostic), err=True)
    title = " ".join("standard input" if p == "-" else p for p in paths)
    return result, config, title


def _write_output(output: str, text: str) -> None:
    from analyzer.report.check import write_atomically

    try:
        write_atomically(output, text)
    except OSError as error:
        _usage_error(f"{output}: cannot write: {error.strerror or error}")


@cli.command()
@_PATHS
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["html", "mermaid", "dot", "json", "svg"]),
    default="html",
    show_default=True,
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the graph here.")
@click.option("--focus", help="Draw this table, function or trigger and its neighbourhood.")
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    help="Hops around --focus, in either direction.  [default: 2]",
)
@click.option("--entry", help="TABLE:OP: draw only what this write's cascade visits.")
@_JOBS
def graph(
    paths: tuple[str, ...],
    output_format: str,
    output: str | None,
    focus: str | None,
    depth: int | None,
    entry: str | None,
    jobs: int | None,
) -> None:
    """Draw the table -> trigger -> function graph, findings' paths highlighted.

    The whole schema up to 150 nodes, one subgraph per finding above; --focus or
    --entry narrow it. json is networkx node-link data; svg needs Graphviz's dot.
    """
    from analyzer.report.dot import GraphvizMissing
    from analyzer.report.graph_view import (
        NODE_LIMIT,
        ScopeError,
        build_document,
        graph_formats,
        parse_entry,
    )

    if focus is not None and entry is not None:
        _usage_error("give --focus or --entry, not both")
    if depth is not None and focus is None:
        _usage_error("--depth goes with --focus")
    result, _, title = _drawing_input(paths, jobs)
    try:
        trace_entry = parse_entry(result.model, entry) if entry is not None else None
        document = build_document(
            result,
            title,
            focus=focus,
            depth=2 if depth is None else depth,
            entry=trace_entry,
            # json is data, not a drawing: the whole graph unless narrowed.
            limit=None if output_format == "json" else NODE_LIMIT,
        )
        rendered = graph_formats()[output_format](document)
    except ScopeError as error:
        _usage_error(str(error))
    except GraphvizMissing as error:
        _usage_error(str(error))
    if output:
        _write_output(output, rendered)
        click.echo(
            f"sqlripple: {output}: {len(document.nodes)} nodes, {len(document.edges)} edges "
            f"({document.scope})",
            err=True,
        )
    else:
        click.echo(rendered, nl=False)


@cli.command()
@_PATHS
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="The HTML file."
)
@_JOBS
def report(paths: tuple[str, ...], output: str, jobs: int | None) -> None:
    """Write one HTML audit page: findings, cascades and the graph."""
    from analyzer.report import audit

    result, config, title = _drawing_input(paths, jobs)
    page = audit.build_audit(result, title, config)
    _write_output(output, audit.render(page))
    click.echo(
        f"sqlripple: {output}: {len(result.findings)} findings, "
        f"{len(page.entries)} write entries, {len(page.graph.nodes)} graph nodes",
        err=True,
    )


@cli.command()
@_PATHS
@click.option("--table", help="The table written (schema-qualified or found on the search path).")
@click.option("--op", type=click.Choice(["insert", "update", "delete", "upsert"]))
@click.option("--new-row", is_flag=True, help="Upsert: the row does not exist yet.")
@click.option("--unchanged", is_flag=True, help="Update/upsert writes the values already stored.")
@click.option("--columns", help="SET columns (default: every column but the primary key).")
@_CHILDREN
@click.option(
    "--workload",
    type=click.Path(exists=True, dir_okay=False),
    help="SQL file to run instead; '-- sqlripple: measure' marks each statement to measure.",
)
@click.option("--dsn", help="Use this server instead of a throwaway one (all rolled back).")
@click.option("--prelude", help="SQL loaded before the schema: 'supabase' or a file.")
@_TEXT_OR_JSON
def verify(
    paths: tuple[str, ...],
    table: str | None,
    op: str | None,
    new_row: bool,
    unchanged: bool,
    columns: str | None,
    children: int,
    workload: str | None,
    dsn: str | None,
    prelude: str | None,
    output_format: str,
) -> None:
    """Run an entry on a real PostgreSQL server and compare with the prediction.

    Exits 1 when the server's counts fall outside the predicted range.
    """
    import psycopg

    from analyzer.pgserver import PgServerError, Terminated
    from analyzer.report import verify as verify_report
    from analyzer.verify import VerifyError
    from analyzer.verify import verify as run_verify
    from analyzer.workload import EntrySpec

    _check_paths(paths)
    if (workload is None) == (table is None or op is None):
        _usage_error("give either --table and --op, or --workload FILE")
    if workload is not None and (new_row or unchanged or columns):
        _usage_error(
            "--new-row, --unchanged and --columns go with --table/--op; in a workload file, "
            "write them after the marker: -- sqlripple: measure new-row unchanged"
        )
    if new_row and op != "upsert":
        _usage_error("--new-row only applies to --op upsert")
    if (unchanged or columns) and op not in {"update", "upsert"}:
        _usage_error("--unchanged and --columns only apply to --op update and upsert")
    spec = None
    if table is not None and op is not None:
        set_columns = tuple(c.strip() for c in columns.split(",")) if columns else None
        spec = EntrySpec(
            table,
            op,
            new_row=new_row,
            unchanged=unchanged,
            columns=set_columns,
            children=children,
        )
    try:
        result = run_verify(
            paths,
            spec=spec,
            workload=Path(workload) if workload else None,
            dsn=dsn,
            prelude=prelude,
        )
    except (VerifyError, PgServerError) as error:
        _usage_error(str(error))
    except psycopg.Error as error:
        _usage_error(f"the server failed: {str(error).strip()}")
    except KeyboardInterrupt as interrupt:
        click.echo("sqlripple verify: interrupted; nothing was left behind", err=True)
        sys.exit(128 + (interrupt.signum if isinstance(interrupt, Terminated) else 2))
    if output_format == "json":
        click.echo(verify_report.render_json(result), nl=False)
    else:
        _console().print(verify_report.render_text(result))
    sys.exit(EXIT_OK if result.agrees else EXIT_FINDINGS)


@cli.command(name="rules")
@_TEXT_OR_JSON
def list_rules(output_format: str) -> None:
    """List every rule: code, name, default severity and summary."""
    from analyzer.config import Config
    from analyzer.report import rules as rules_report
    from analyzer.rules import load_rules
    from analyzer.suppressions import SUPPRESSION_RULES

    classes, problems = load_rules(Config())
    classes = [*classes, *SUPPRESSION_RULES]
    for problem in problems:
        click.echo(str(problem), err=True)
    if output_format == "json":
        click.echo(rules_report.render_json(classes), nl=False)
    else:
        click.echo(rules_report.render_text(classes), nl=False)


@cli.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Print a rule's documentation (by name or code)."""
    from analyzer.config import Config
    from analyzer.report import rules as rules_report
    from analyzer.rules import load_rules
    from analyzer.suppressions import SUPPRESSION_RULES

    classes, _ = load_rules(Config())
    found = [c for c in [*classes, *SUPPRESSION_RULES] if rule in {c.name, c.code, c.code.lower()}]
    if not found:
        _usage_error(f"no rule named {rule!r}; `sqlripple rules` lists them")
    click.echo(rules_report.render_explanation(found[0]), nl=False)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="sqlripple")
