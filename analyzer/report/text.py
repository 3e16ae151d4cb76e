"""`check --format text`: findings grouped by file, each with its source line and a caret,
the cascade hop by hop and the hint; then counts per rule and the one-line summary.

Colour only when the caller says so (a terminal, NO_COLOR unset). Everything taken from
the input goes through `printable`, so an identifier or comment cannot drive the terminal.
"""

from __future__ import annotations

import io
from collections import Counter

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from analyzer.findings import Finding, Severity
from analyzer.report.check import (
    CheckReport,
    Presentation,
    location_text,
    printable,
    summary_line,
)
from analyzer.suppressions import Suppressed, line_comments

TAB_WIDTH = 4
_SEVERITY_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "bold yellow",
    Severity.NOTE: "bold cyan",
}


def render(report: CheckReport, presentation: Presentation) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=presentation.color,
        color_system="standard" if presentation.color else None,
        no_color=not presentation.color,
        soft_wrap=True,
        highlight=False,
        markup=False,
        emoji=False,
        width=100,
    )
    for text in _lines(report, presentation):
        console.print(text)
    return buffer.getvalue()


def _lines(report: CheckReport, presentation: Presentation) -> list[Text]:
    lines: list[Text] = []
    for diagnostic in report.diagnostics:
        where = location_text(diagnostic.path, diagnostic.line, diagnostic.column)
        lines.append(Text.assemble((where, "bold"), f": {printable(diagnostic.message)}"))
    shown: list[tuple[Finding, Suppressed | None]] = [(f, None) for f in report.findings]
    if presentation.show_suppressed:
        shown.extend((s.finding, s) for s in report.suppressed)
    shown.sort(key=lambda item: item[0].sort_key())
    per_file = Counter(finding.location.path for finding, _ in shown)
    current = None
    for finding, suppressed in shown:
        if finding.location.path != current:
            current = finding.location.path
            count = per_file[current]
            lines.append(Text(""))
            lines.append(
                Text.assemble(
                    (printable(current), "bold underline"),
                    f" ({count} finding{'s' if count != 1 else ''})",
                )
            )
        lines.append(Text(""))
        lines.extend(_finding(report, finding, suppressed))
    if report.baseline is not None and report.baseline.absent:
        lines.append(Text(""))
        lines.append(
            Text(f"No longer found (in baseline {printable(report.baseline.path)}):", "bold")
        )
        for entry in report.baseline.absent:
            times = f" (x{entry.count})" if entry.count > 1 else ""
            lines.append(Text(f"  {entry.rule} {printable(entry.subject)}{times}"))
    lines.extend(_per_rule(report))
    lines.append(Text(""))
    lines.append(Text(summary_line(report), style="bold"))
    if lines and not lines[0].plain:
        lines.pop(0)
    return lines


def _finding(report: CheckReport, finding: Finding, suppressed: Suppressed | None) -> list[Text]:
    where = finding.location
    header = Text.assemble(
        (location_text(where.path, where.line, where.column), "bold"),
        ": ",
        (finding.severity.value, _SEVERITY_STYLE[finding.severity]),
        f" {finding.code} [{finding.rule}] ",
        printable(finding.message),
    )
    lines = [header]
    if suppressed is not None:
        note = suppressed.suppression
        reason = printable(note.reason) or "no reason given"
        lines.append(
            Text(
                f"  suppressed at {location_text(note.location.path, note.location.line)}: "
                f"{reason}",
                style="magenta",
            )
        )
    lines.extend(_excerpt(report, finding))
    if finding.path:
        lines.append(Text("  cascade:", style="dim"))
        for number, hop in enumerate(finding.path, 1):
            text = Text(f"    {number}. ")
            text.append(hop.kind, style="dim")
            text.append(f" {printable(hop.name)}", style="bold")
            if hop.detail:
                text.append(f"  {printable(hop.detail)}")
            if hop.location is not None:
                text.append(f"  {location_text(hop.location.path, hop.location.line)}", style="dim")
            lines.append(text)
    if finding.hint:
        lines.append(Text.assemble(("  hint: ", "green"), printable(finding.hint)))
    return lines


def _excerpt(report: CheckReport, finding: Finding) -> list[Text]:
    where = finding.location
    source = report.sources.get(where.path)
    if source is None or not 1 <= where.line <= len(source):
        return []
    raw = source[where.line - 1]
    start = min(max(where.column - 1, 0), len(raw))
    if where.end_line == where.line:
        stop = min(max(where.end_column, start + 1), len(raw))
    else:
        stop = _code_end(raw)
    expanded = [raw[:end].expandtabs(TAB_WIDTH) for end in (start, stop, len(raw))]
    before = printable(expanded[0])
    marked = printable(expanded[1][len(expanded[0]) :])
    rest = printable(expanded[2][len(expanded[1]) :])
    gutter = str(where.line)
    pad = " " * len(gutter)
    caret = "^" * max(1, cell_len(marked))
    continued = f" (to line {where.end_line})" if where.end_line > where.line else ""
    return [
        Text.assemble((f"  {gutter} | ", "dim"), before, (marked, "bold"), rest),
        Text.assemble(
            (f"  {pad} | ", "dim"),
            " " * cell_len(before),
            (caret, "bold red"),
            (continued, "dim"),
        ),
    ]


def _code_end(line: str) -> int:
    """Where the code of a line ends: before a trailing comment and trailing blanks."""
    for start, _ in line_comments(line):
        line = line[:start]
        break
    return len(line.rstrip())


def _per_rule(report: CheckReport) -> list[Text]:
    """One line per rule and severity reported: a rule may report below its default."""
    counts = Counter((f.rule, f.severity) for f in report.findings)
    if not counts:
        return []
    lines = [Text(""), Text("Findings by rule:", style="bold")]
    width = max(len(name) for name, _ in counts)
    for info in report.rules:
        for severity in sorted(Severity, key=lambda s: -s.rank):
            if counts[info.name, severity]:
                lines.append(
                    Text.assemble(
                        f"  {info.code}  {info.name:<{width}}  ",
                        (f"{severity.value:<7}", _SEVERITY_STYLE[severity]),
                        f"  {counts[info.name, severity]}",
                    )
                )
    return lines
