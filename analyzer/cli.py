"""The command line: the only module that imports click and decides exit codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from analyzer.report.summary import tool_version

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

_PATHS = click.argument("paths", nargs=-1, required=True)


def _not_implemented(command: str) -> None:
    click.echo(f"sqlripple {command}: not implemented yet", err=True)
    sys.exit(EXIT_USAGE)


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
def check(paths: tuple[str, ...], output_format: str, output: str | None) -> None:
    """Analyse schema and migration files and report what triggers cost."""
    from analyzer.loader import load
    from analyzer.report.summary import render_json, render_text

    _check_paths(paths)
    if output_format not in {"text", "json"}:
        _not_implemented(f"check --format {output_format}")
    catalog = load(paths)
    rendered = render_json(catalog) if output_format == "json" else render_text(catalog)
    if output:
        Path(output).write_text(rendered, encoding="utf-8")
    else:
        click.echo(rendered, nl=False)


@cli.command()
@_PATHS
@click.option("--table")
@click.option("--op")
@click.option("--sql")
def trace(paths: tuple[str, ...], table: str | None, op: str | None, sql: str | None) -> None:
    """Trace what one insert, update, delete or upsert really does."""
    _not_implemented("trace")


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
def list_rules() -> None:
    """List every rule."""
    _not_implemented("rules")


@cli.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Print a rule's documentation."""
    _not_implemented("explain")


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="sqlripple")
