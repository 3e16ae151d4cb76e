"""`check --format junit`: JUnit XML for CI test reports (GitLab, Jenkins, Azure).

One test case per rule that ran, one <failure> per finding of that rule; a rule without
findings passes. When part of the input was not analysed, an extra test case says so
with an <error>, so the report never looks clean by omission; every diagnostic is
listed in the suite's <system-err>.
"""

from __future__ import annotations

import re
from collections import defaultdict
from xml.sax.saxutils import escape, quoteattr

from analyzer.findings import Finding
from analyzer.report.check import CheckReport, Presentation, printable, summary_line

# Characters XML 1.0 cannot carry at all; `printable` already makes controls visible.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attribute(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", printable(value)))


def _body(finding: Finding) -> str:
    where = finding.location
    lines = [f"{where.path}:{where.line}:{where.column}: {finding.message}"]
    for number, hop in enumerate(finding.path, 1):
        detail = f"  {hop.detail}" if hop.detail else ""
        at = f"  ({hop.location.path}:{hop.location.line})" if hop.location else ""
        lines.append(f"  {number}. {hop.kind} {hop.name}{detail}{at}")
    if finding.hint:
        lines.append(f"  hint: {finding.hint}")
    return "\n".join(printable(line) for line in lines)


def render(report: CheckReport, presentation: Presentation) -> str:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_rule[finding.rule].append(finding)
    cases: list[str] = []
    failures = 0
    for rule in report.rules:
        found = by_rule.get(rule.name, [])
        failures += 1 if found else 0
        name = _attribute(f"{rule.code} {rule.name}")
        if not found:
            cases.append(f'    <testcase classname="sqlripple" name={name} time="0"/>')
            continue
        cases.append(f'    <testcase classname="sqlripple" name={name} time="0">')
        for finding in found:
            where = finding.location
            message = _attribute(f"{where.path}:{where.line}: {finding.message}")
            cases.append(
                f"      <failure type={_attribute(finding.severity.value)} message={message}>"
                f"{_text(_body(finding))}</failure>"
            )
        cases.append("    </testcase>")
    errors = 0
    if report.incomplete:
        errors = 1
        skipped = (
            f"{report.summary.unanalyzed_statements} statements and "
            f"{report.unanalyzed_functions} function bodies not fully analysed"
        )
        cases.append('    <testcase classname="sqlripple" name="input analysed" time="0">')
        cases.append(f"      <error message={_attribute(skipped)}/>")
        cases.append("    </testcase>")
    tests = len(report.rules) + errors
    counts = f'tests="{tests}" failures="{failures}" errors="{errors}" skipped="0" time="0"'
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="sqlripple" {counts}>',
        f'  <testsuite name="sqlripple" {counts}>',
        *cases,
    ]
    if presentation.show_suppressed and report.suppressed:
        shown = [
            f"suppressed: {s.finding.location}: {s.finding.code} [{s.finding.rule}] "
            f"{s.finding.message} ({s.suppression.reason or 'no reason given'})"
            for s in report.suppressed
        ]
        lines.append(
            "    <system-out>" + _text("\n".join(printable(s) for s in shown)) + "</system-out>"
        )
    stderr = [str(d) for d in report.diagnostics]
    stderr.append(summary_line(report))
    lines.append(
        "    <system-err>" + _text("\n".join(printable(s) for s in stderr)) + "</system-err>"
    )
    lines += ["  </testsuite>", "</testsuites>"]
    return "\n".join(lines) + "\n"
