"""`sqlripple verify` output: prediction and server side by side, or the JSON document."""

from __future__ import annotations

import json

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from analyzer.verify import Measurement, Verification, verification_document


def render_json(verification: Verification) -> str:
    return json.dumps(verification_document(verification), indent=2) + "\n"


def _measurement(measurement: Measurement) -> RenderableType:
    parts: list[RenderableType] = []
    heading = Text(measurement.label, style="bold")
    if measurement.rows is not None:
        heading.append(f"  ({measurement.rows} row{'s' if measurement.rows != 1 else ''})")
    parts.append(heading)
    if measurement.setup:
        setup = len(measurement.setup)
        parts.append(Text(f"after {setup} setup statement{'s' if setup != 1 else ''}", style="dim"))
    parts.append(Text(measurement.sql, style="dim"))
    if measurement.counts:
        table = Table(title_justify="left")
        table.add_column("what")
        table.add_column("name")
        table.add_column("predicted", justify="right")
        table.add_column("server", justify="right")
        table.add_column("")
        for count in measurement.counts:
            verdict = Text("ok", style="green") if count.agrees else Text("DIFFERS", style="red")
            table.add_row(count.metric, count.name, count.predicted, str(count.server), verdict)
        parts.append(table)
    if measurement.error is not None:
        parts.append(Text(f"the statement fails: {measurement.error.message}", style="red"))
    for name in measurement.not_compared:
        calls = measurement.stats.function_calls[name]
        parts.append(Text(f"not compared (not in the schema): {name} x{calls}", style="dim"))
    for note in measurement.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    for difference in measurement.differences:
        parts.append(
            Text(f"difference: {difference.name} {difference.metric}: {difference.reason}", "red")
        )
    return Group(*parts)


def render_text(verification: Verification) -> RenderableType:
    where = "the given server, rolled back" if verification.dsn else "a throwaway server"
    parts: list[RenderableType] = [
        Text(f"PostgreSQL {verification.server_version} ({where})", style="dim")
    ]
    for measurement in verification.measurements:
        parts.extend([Text(""), _measurement(measurement)])
    differences = sum(len(m.differences) for m in verification.measurements)
    parts.append(Text(""))
    for note in verification.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    if differences:
        parts.append(
            Text(
                f"{differences} difference{'s' if differences != 1 else ''} between the "
                "prediction and the server",
                style="bold red",
            )
        )
    else:
        parts.append(Text("prediction and server agree", style="bold green"))
    return Group(*parts)
