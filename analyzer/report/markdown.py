"""`check --format markdown`: a summary fit for a pull-request comment or
$GITHUB_STEP_SUMMARY: counts, a table per rule, a table of findings and each cascade
in a collapsed block.

Text from the input is escaped: `|` cannot split a table cell and markup characters
(`*`, `_`, backticks, `<`, brackets…) show as themselves.
"""

from __future__ import annotations

import re
from collections import Counter

from analyzer.findings import Finding, Severity
from analyzer.report.check import CheckReport, Presentation, printable, summary_line

_MARKUP = re.compile(r"([\\`*_\[\]|~#@])")
_ICON = {"error": "🔴", "warning": "🟠", "note": "🔵"}


def escape(text: str) -> str:
    """Markdown (GitHub flavoured) that renders as the literal text: emphasis, code,
    links, table pipes, strikethrough, issue and user references are escaped, HTML as
    entities, control characters as visible escapes."""
    marked = _MARKUP.sub(r"\\\1", printable(text))
    return marked.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _where(finding: Finding) -> str:
    return escape(f"{finding.location.path}:{finding.location.line}")


def render(report: CheckReport, presentation: Presentation) -> str:
    counts = report.counts()
    total = sum(counts.values())
    lines = [f"## sqlripple: {total} finding{'s' if total != 1 else ''}", ""]
    lines.append(escape(summary_line(report)))
    lines.append("")
    if report.incomplete or report.diagnostics:
        count = len(report.diagnostics)
        what = "was not analysed" if report.incomplete else "may not have been understood"
        lines.append(
            f"> [!WARNING]\n> {count} diagnostic{'s' if count != 1 else ''}: "
            f"part of the input {what} (see Diagnostics below)."
        )
        lines.append("")
    by_rule = Counter((f.rule, f.severity) for f in report.findings)
    if by_rule:
        lines += ["| Rule | Severity | Findings |", "| --- | --- | ---: |"]
        for rule in report.rules:
            for severity in sorted(Severity, key=lambda s: -s.rank):
                if by_rule[rule.name, severity]:
                    lines.append(
                        f"| {escape(rule.code)} {escape(rule.name)} | "
                        f"{_ICON[severity.value]} {severity.value} | "
                        f"{by_rule[rule.name, severity]} |"
                    )
        lines.append("")
        lines += ["| Severity | Rule | Location | Message |", "| --- | --- | --- | --- |"]
        for finding in report.findings:
            level = finding.severity.value
            lines.append(
                f"| {_ICON[level]} {level} | {escape(finding.code)} {escape(finding.rule)} "
                f"| {_where(finding)} | {escape(finding.message)} |"
            )
        lines.append("")
        for finding in report.findings:
            lines += _details(finding)
    if presentation.show_suppressed and report.suppressed:
        lines += ["### Suppressed", "", "| Rule | Location | Reason |", "| --- | --- | --- |"]
        for suppressed in report.suppressed:
            finding = suppressed.finding
            reason = escape(suppressed.suppression.reason) or "*no reason given*"
            lines.append(
                f"| {escape(finding.code)} {escape(finding.rule)} | {_where(finding)} | {reason} |"
            )
        lines.append("")
    if report.diagnostics:
        lines += ["<details><summary>Diagnostics</summary>", ""]
        for d in report.diagnostics:
            lines.append(f"- {escape(f'{d.path}:{d.line}:{d.column}')}: {escape(d.message)}")
        lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _details(finding: Finding) -> list[str]:
    if not finding.path and not finding.hint:
        return []
    title = f"{escape(finding.code)} at {_where(finding)}"
    lines = [f"<details><summary>{title}</summary>", ""]
    for number, hop in enumerate(finding.path, 1):
        detail = f" — {escape(hop.detail)}" if hop.detail else ""
        where = f" ({escape(f'{hop.location.path}:{hop.location.line}')})" if hop.location else ""
        lines.append(f"{number}. {escape(hop.kind)} **{escape(hop.name)}**{detail}{where}")
    if finding.hint:
        lines += ["", f"**Hint:** {escape(finding.hint)}"]
    lines += ["", "</details>", ""]
    return lines
