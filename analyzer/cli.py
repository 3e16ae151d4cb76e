"""The command line: the only module that imports click and decides exit codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from analyzer.report.summary import tool_version

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

_PATHS = click.argument("paths", nargs=-1, required=True)


def _not_implemented(command: str) -> None:
    click.echo(f"sqlripple {command}: not implemented yet", err=True)
    sys.exit(EXIT_USAGE)


def _usage_error(message: str) -> NoReturn:
    click.echo(f"sqlripple: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _check_paths(paths: Sequence[str]) -> None:
    missing = [p for p in paths if p != "-" and not Path(p).exists()]
    if missing:
        for path in missing:
            click.echo(f"sqlripple: {path}: no such file or directory", err=True)
        sys.exit(EXIT_USAGE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(tool_version(), "--version", prog_name="sqlripple")
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
    default="warning",
    show_default=True,
    help="Exit 1 when a finding is at or above this severity.",
)
@click.option("--select", help="Only these rules (names, codes or code prefixes, comma-separated).")
@click.option("--ignore", help="Skip these rules (names, codes or code prefixes).")
def check(
    paths: tuple[str, ...],
    output_format: str,
    output: str | None,
    fail_on: str,
    select: str | None,
    ignore: str | None,
) -> None:
    """Analyse schema and migration files and report what triggers cost."""
    from analyzer.analysis import analyze
    from analyzer.config import Config
    from analyzer.report import check as check_report

    _check_paths(paths)
    if output_format not in {"text", "json"}:
        _not_implemented(f"check --format {output_format}")
    config = Config(select=_names(select), ignore=_names(ignore), fail_on=fail_on)
    result = analyze(paths, config)
    if output_format == "json":
        rendered = check_report.render_json(result)
    else:
        rendered = check_report.render_text(result)
    if output:
        Path(output).write_text(rendered, encoding="utf-8")
        click.echo(check_report.summary_line(result), err=True)
    else:
        click.echo(rendered, nl=False)
    threshold = {"error": 3, "warning": 2, "note": 1, "never": 99}[fail_on]
    if any(f.severity.rank >= threshold for f in result.findings):
        sys.exit(EXIT_FINDINGS)


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip()) if text else ()


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
@click.option("--sql", help="One DML statement or one function call to trace instead.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def trace(
    paths: tuple[str, ...],
    table: str | None,
    op: str | None,
    new_row: bool,
    unchanged: bool,
    columns: str | None,
    rows: int,
    sql: str | None,
    output_format: str,
) -> None:
    """Trace what one insert, update, delete or upsert really does."""
    from analyzer.cascade import TraceEntry, Tracer, trace_call
    from analyzer.entry_sql import CallEntry, EntryError, entry_from_sql
    from analyzer.graph import build_model
    from analyzer.loader import load
    from analyzer.report import trace as trace_report

    _check_paths(paths)
    if sql is not None and (table is not None or op is not None):
        _usage_error("give either --table and --op, or --sql, not both")
    if sql is None and (table is None or op is None):
        _usage_error("give either --table and --op, or --sql")
    catalog = load(paths)
    tracer = Tracer(build_model(catalog))
    if sql is not None:
        try:
            entry = entry_from_sql(catalog, sql, unchanged=unchanged, new_row=new_row, rows=rows)
        except EntryError as error:
            _usage_error(f"--sql: {error}")
        if isinstance(entry, CallEntry):
            cascade = trace_call(tracer, entry.function, entry.arguments)
        else:
            cascade = tracer.trace(entry)
    else:
        assert table is not None and op is not None
        name = catalog.resolve_table(table.split("."))
        if name not in catalog.tables:
            _usage_error(f"table {table} is not in the schema")
        set_columns = tuple(c.strip() for c in columns.split(",")) if columns else None
        cascade = tracer.trace(
            TraceEntry(
                name, op, new_row=new_row, unchanged=unchanged, columns=set_columns, rows=rows
            )
        )
    for diagnostic in catalog.diagnostics:
        click.echo(str(diagnostic), err=True)
    if output_format == "json":
        click.echo(trace_report.render_json(cascade), nl=False)
    else:
        _console().print(trace_report.render_text(cascade))


@cli.command()
@_PATHS
def graph(paths: tuple[str, ...]) -> None:
    """Render the table -> trigger -> function graph."""
    _not_implemented("graph")


@cli.command()
@_PATHS
@click.option("-o", "--output", required=True)
def report(paths: tuple[str, ...], output: str) -> None:
    """Write one HTML audit page: findings, cascades and the graph."""
    _not_implemented("report")


@cli.command()
@_PATHS
def verify(paths: tuple[str, ...]) -> None:
    """Run an entry on a real PostgreSQL server and compare with the prediction."""
    _not_implemented("verify")


@cli.command(name="rules")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def list_rules(output_format: str) -> None:
    """List every rule: code, name, default severity and summary."""
    from analyzer.config import Config
    from analyzer.report import rules as rules_report
    from analyzer.rules import load_rules

    classes, problems = load_rules(Config())
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

    classes, _ = load_rules(Config())
    found = [c for c in classes if rule in {c.name, c.code, c.code.lower()}]
    if not found:
        _usage_error(f"no rule named {rule!r}; `sqlripple rules` lists them")
    click.echo(rules_report.render_explanation(found[0]), nl=False)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="sqlripple")
