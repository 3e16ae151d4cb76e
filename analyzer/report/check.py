"""`sqlripple check` output: plain text grouped by file, and the versioned JSON contract."""

from __future__ import annotations

import json
from typing import Any

from analyzer.analysis import Result
from analyzer.findings import Finding
from analyzer.report.summary import tool_version


def check_document(result: Result) -> dict[str, Any]:
    summary: dict[str, Any] = dict(result.catalog.summary.to_dict())
    summary["unanalyzed_functions"] = result.unanalyzed_functions
    summary["findings"] = result.counts()
    return {
        "schema_version": 1,
        "tool": {"name": "sqlripple", "version": tool_version()},
        "summary": summary,
        "findings": [f.to_dict() for f in result.findings],
        "diagnostics": [d.to_dict() for d in result.diagnostics],
    }


def render_json(result: Result) -> str:
    return json.dumps(check_document(result), indent=2) + "\n"


def _finding_lines(finding: Finding) -> list[str]:
    where = finding.location
    lines = [
        f"{where.path}:{where.line}:{where.column}: {finding.severity.value} "
        f"{finding.code} [{finding.rule}] {finding.message}"
    ]
    for hop in finding.path:
        at = f"  ({hop.location.path}:{hop.location.line})" if hop.location else ""
        detail = f"  {hop.detail}" if hop.detail else ""
        lines.append(f"    -> {hop.kind} {hop.name}{detail}{at}")
    if finding.hint:
        lines.append(f"    hint: {finding.hint}")
    return lines


def summary_line(result: Result) -> str:
    counts = result.counts()
    summary = result.catalog.summary
    found = sum(counts.values())
    parts = [
        f"{found} finding{'s' if found != 1 else ''} "
        f"({counts['error']} error, {counts['warning']} warning, {counts['note']} note)",
        f"{summary.files} files, {summary.statements} statements, {summary.tables} tables, "
        f"{summary.functions} functions, {summary.triggers} triggers",
    ]
    skipped = summary.unanalyzed_statements + result.unanalyzed_functions
    if skipped:
        parts.append(
            f"INCOMPLETE: {summary.unanalyzed_statements} statements and "
            f"{result.unanalyzed_functions} function bodies not fully analysed "
            "(see the diagnostics)"
        )
    return "; ".join(parts)


def render_text(result: Result) -> str:
    lines: list[str] = []
    for diagnostic in result.diagnostics:
        lines.append(f"{diagnostic}")
    current = None
    for finding in result.findings:
        if finding.location.path != current:
            current = finding.location.path
            lines.append("")
            lines.append(current)
        lines.extend(_finding_lines(finding))
    lines.append("")
    lines.append(summary_line(result))
    return "\n".join(lines).lstrip("\n") + "\n"
