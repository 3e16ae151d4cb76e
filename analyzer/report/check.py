"""`sqlripple check`: what every output format is given, the versioned JSON contract, the
one-line summary and the helpers the formats share.

Formats take a `CheckReport` (findings, rule metadata, source lines for excerpts), never
the engine.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analyzer.analysis import Result
from analyzer.baseline import BaselineOutcome
from analyzer.catalog import Summary
from analyzer.findings import Diagnostic, Finding, Severity
from analyzer.report.files import write_atomically as write_atomically
from analyzer.report.summary import tool_version
from analyzer.rules import Rule
from analyzer.suppressions import Suppressed, SuppressionOutcome

SCHEMA_VERSION = 1
FAIL_THRESHOLDS = {"error": 3, "warning": 2, "note": 1, "never": 99}


@dataclass(frozen=True)
class RuleInfo:
    """A rule as the reports describe it, with the severity configured for this run."""

    code: str
    name: str
    severity: Severity
    summary: str
    documentation: str

    @property
    def short_documentation(self) -> str:
        """The first paragraph of the documentation."""
        return self.documentation.split("\n\n", 1)[0].replace("\n", " ").strip()


@dataclass(frozen=True)
class Presentation:
    color: bool = False
    show_suppressed: bool = False


class SourceLines(Mapping[str, tuple[str, ...]]):
    """The lines of each file, split when asked for: only the text format shows excerpts,
    and splitting every file up front cost the JSON report of scale-100k ~75 MB of line
    strings. Findings come sorted by file, so the last file's lines are kept."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._texts = texts
        self._last: tuple[str, tuple[str, ...]] | None = None

    def __getitem__(self, path: str) -> tuple[str, ...]:
        if self._last is None or self._last[0] != path:
            self._last = (path, tuple(self._texts[path].split("\n")))
        return self._last[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


@dataclass(frozen=True)
class CheckReport:
    version: str
    summary: Summary
    unanalyzed_functions: int
    findings: tuple[Finding, ...]
    diagnostics: tuple[Diagnostic, ...]
    rules: tuple[RuleInfo, ...]  # sorted by code
    suppressed: tuple[Suppressed, ...] = ()
    baseline: BaselineOutcome | None = None
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for finding in self.findings:
            counts[finding.severity.value] += 1
        return counts

    @property
    def incomplete(self) -> bool:
        return bool(self.summary.unanalyzed_statements or self.unanalyzed_functions)

    def failed(self, fail_on: str) -> bool:
        threshold = FAIL_THRESHOLDS[fail_on]
        return any(f.severity.rank >= threshold for f in self.findings)

    def rule(self, name: str) -> RuleInfo | None:
        return next((r for r in self.rules if r.name == name), None)


def build_report(
    result: Result,
    outcome: SuppressionOutcome | None = None,
    baseline: BaselineOutcome | None = None,
    extra_rules: Sequence[type[Rule]] = (),
    severity: Mapping[str, str] | None = None,
) -> CheckReport:
    """The report of a run: `outcome` after suppressions, `baseline` after the baseline."""
    findings = result.findings
    if outcome is not None:
        findings = outcome.findings
    if baseline is not None:
        findings = baseline.new
    levels = severity or {}
    rules = sorted(
        {
            RuleInfo(
                cls.code,
                cls.name,
                Severity(levels[cls.name]) if cls.name in levels else cls.severity,
                cls.summary,
                cls.documentation(),
            )
            for cls in (*result.rules, *extra_rules)
        },
        key=lambda r: (r.code, r.name),
    )
    wanted = {f.location.path for f in findings}
    if outcome is not None:
        wanted.update(s.finding.location.path for s in outcome.suppressed)
    sources = SourceLines(
        {f.path: f.text for f in result.catalog.files if f.origin is None and f.path in wanted}
    )
    return CheckReport(
        version=tool_version(),
        summary=result.catalog.summary,
        unanalyzed_functions=result.unanalyzed_functions,
        findings=tuple(findings),
        diagnostics=result.diagnostics,
        rules=tuple(rules),
        suppressed=outcome.suppressed if outcome else (),
        baseline=baseline,
        sources=sources,
    )


# ---- JSON ------------------------------------------------------------------------------------


def check_document(report: CheckReport) -> dict[str, Any]:
    summary: dict[str, Any] = dict(report.summary.to_dict())
    summary["unanalyzed_functions"] = report.unanalyzed_functions
    summary["findings"] = report.counts()
    baseline: dict[str, Any] | None = None
    if report.baseline is not None:
        baseline = {
            "path": report.baseline.path,
            "known": report.baseline.known,
            "new": len(report.baseline.new),
            "absent": [entry.to_dict() for entry in report.baseline.absent],
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "sqlripple", "version": report.version},
        "summary": summary,
        "findings": [f.to_dict() for f in report.findings],
        "suppressed": [
            {
                **s.finding.to_dict(),
                "suppression": {
                    "reason": s.suppression.reason,
                    "location": s.suppression.location.to_dict(),
                },
            }
            for s in report.suppressed
        ],
        "baseline": baseline,
        "diagnostics": [d.to_dict() for d in report.diagnostics],
    }


def render_json(report: CheckReport, presentation: Presentation | None = None) -> str:
    # json.dumps with an indent joins a list of every piece it writes (millions for a
    # large run: ~100 MB besides the 28 MB text on scale-100k); dump streams them into
    # one growing buffer. Same encoder, same bytes.
    buffer = io.StringIO()
    json.dump(check_document(report), buffer, indent=2)
    buffer.write("\n")
    return buffer.getvalue()


# ---- shared by the formats ---------------------------------------------------------------


def summary_line(report: CheckReport) -> str:
    counts = report.counts()
    summary = report.summary
    found = sum(counts.values())
    parts = [
        f"{found} finding{'s' if found != 1 else ''} "
        f"({counts['error']} error, {counts['warning']} warning, {counts['note']} note)",
        f"{summary.files} files, {summary.statements} statements, {summary.tables} tables, "
        f"{summary.functions} functions, {summary.triggers} triggers",
    ]
    if report.suppressed:
        parts.append(f"{len(report.suppressed)} suppressed")
    if report.baseline is not None:
        gone = sum(entry.count for entry in report.baseline.absent)
        parts.append(
            f"{report.baseline.known} in baseline {printable(report.baseline.path)}"
            + (f", {gone} of its findings no longer occur" if gone else "")
        )
    if report.incomplete:
        parts.append(
            f"INCOMPLETE: {summary.unanalyzed_statements} statements and "
            f"{report.unanalyzed_functions} function bodies not fully analysed "
            "(see the diagnostics)"
        )
    return "; ".join(parts)


_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


def printable(text: str) -> str:
    """Text safe to show on a terminal or in a log: control characters (escape sequences,
    carriage returns, newlines) and invisible or bidirectional formatting characters
    (Trojan-source reordering) become visible escapes such as \\x1b or \\u202e."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(escape, text)


def location_text(path: str, line: int, column: int | None = None) -> str:
    where = f"{printable(path)}:{line}"
    return f"{where}:{column}" if column is not None else where
