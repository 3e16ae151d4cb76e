"""`check --format github`: GitHub Actions workflow commands, one annotation per finding.

    ::warning file=a.sql,line=3,endLine=5,col=1,endColumn=9,title=RP101 analytics-inflation::…

The message carries the cascade and the hint on further lines. Data escapes %, CR and
LF; property values also `,` and `:` (what actions/toolkit does), so an identifier can
neither end the command early nor forge another one.
"""

from __future__ import annotations

from analyzer.findings import Finding, Location, Severity
from analyzer.report.check import CheckReport, Presentation, printable, summary_line

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, properties: dict[str, str | int], message: str) -> str:
    listed = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name} {listed}::{escape_data(message)}"


def _position(location: Location) -> dict[str, str | int]:
    return {
        "file": printable(location.path),
        "line": location.line,
        "endLine": location.end_line,
        "col": location.column,
        "endColumn": location.end_column,
    }


def _message(finding: Finding) -> str:
    lines = [printable(finding.message)]
    if finding.path:
        lines.append("")
        for number, hop in enumerate(finding.path, 1):
            detail = f"  {printable(hop.detail)}" if hop.detail else ""
            where = (
                f"  ({printable(hop.location.path)}:{hop.location.line})" if hop.location else ""
            )
            lines.append(f"{number}. {hop.kind} {printable(hop.name)}{detail}{where}")
    if finding.hint:
        lines.append("")
        lines.append(f"Hint: {printable(finding.hint)}")
    return "\n".join(lines)


def render(report: CheckReport, presentation: Presentation) -> str:
    lines = [
        command(
            "warning",
            {
                "file": printable(d.path),
                "line": d.line,
                "col": d.column,
                "title": "sqlripple: input not analysed",
            },
            printable(d.message),
        )
        for d in report.diagnostics
    ]
    for finding in report.findings:
        properties = _position(finding.location)
        properties["title"] = f"{finding.code} {finding.rule}"
        lines.append(command(COMMAND[finding.severity], properties, _message(finding)))
    if presentation.show_suppressed:
        for suppressed in report.suppressed:
            finding = suppressed.finding
            properties = _position(finding.location)
            properties["title"] = f"{finding.code} {finding.rule} (suppressed)"
            reason = printable(suppressed.suppression.reason) or "no reason given"
            message = f"{_message(finding)}\n\nSuppressed: {reason}"
            lines.append(command("notice", properties, message))
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"
