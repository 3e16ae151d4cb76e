"""`check --format sarif`: SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, IDEs).

Rules carry their documentation (short description, full description, help); each
finding's cascade is a code flow with one thread-flow location per hop and the hops'
places as related locations. `partialFingerprints` come from `Finding.fingerprint`
(no line numbers), numbered when several findings share one, so alerts survive edits
above them. Suppressed findings are included with an in-source suppression, as SARIF
intends; findings accepted by a baseline are left out and the rest marked new.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import quote

from analyzer.baseline import BaselineOutcome
from analyzer.findings import Finding, Hop, Location
from analyzer.report.check import CheckReport, Presentation, RuleInfo
from analyzer.suppressions import Suppressed

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "sqlripple/v1"


def render(report: CheckReport, presentation: Presentation | None = None) -> str:
    return json.dumps(sarif_document(report), indent=2) + "\n"


def sarif_document(report: CheckReport) -> dict[str, Any]:
    index = {rule.name: i for i, rule in enumerate(report.rules)}
    entries: list[tuple[Finding, Suppressed | None]] = [(f, None) for f in report.findings]
    entries.extend((s.finding, s) for s in report.suppressed)
    entries.sort(key=lambda item: item[0].sort_key())
    seen: Counter[str] = Counter()
    results = []
    for finding, suppressed in entries:
        seen[finding.fingerprint] += 1
        results.append(
            _result(finding, suppressed, index, seen[finding.fingerprint], report.baseline)
        )
    notifications: list[dict[str, Any]] = []
    if report.incomplete:
        notifications.append(
            {
                "level": "warning",
                "message": {
                    "text": f"INCOMPLETE: {report.summary.unanalyzed_statements} statements and "
                    f"{report.unanalyzed_functions} function bodies not fully analysed "
                    "(see the other notifications)"
                },
            }
        )
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "sqlripple",
                "version": report.version,
                "semanticVersion": report.version,
                "rules": [_rule(rule) for rule in report.rules],
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": notifications
                + [
                    {
                        "level": "warning",
                        "message": {"text": d.message},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": _uri(d.path)},
                                    "region": {"startLine": d.line, "startColumn": d.column},
                                }
                            }
                        ],
                    }
                    for d in report.diagnostics
                ],
                **(
                    {
                        "properties": {
                            "unanalyzedStatements": report.summary.unanalyzed_statements,
                            "unanalyzedFunctions": report.unanalyzed_functions,
                        }
                    }
                    if report.incomplete
                    else {}
                ),
            }
        ],
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _rule(rule: RuleInfo) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.short_documentation},
        "help": {"text": rule.documentation, "markdown": rule.documentation},
        "defaultConfiguration": {"level": rule.severity.value},
        "properties": {"tags": ["postgresql", "triggers"]},
    }


def _uri(path: str) -> str:
    return quote(path, safe="/")


def _physical(location: Location) -> dict[str, Any]:
    return {
        "artifactLocation": {"uri": _uri(location.path)},
        "region": {
            "startLine": location.line,
            "startColumn": location.column,
            "endLine": location.end_line,
            "endColumn": location.end_column + 1,  # SARIF's end column is exclusive
        },
    }


def _hop_text(hop: Hop) -> str:
    return f"{hop.kind} {hop.name}" + (f": {hop.detail}" if hop.detail else "")


def _result(
    finding: Finding,
    suppressed: Suppressed | None,
    index: dict[str, int],
    occurrence: int,
    baseline: BaselineOutcome | None,
) -> dict[str, Any]:
    text = finding.message + (f"\n\nHint: {finding.hint}" if finding.hint else "")
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": finding.severity.value,
        "message": {"text": text},
        "locations": [{"physicalLocation": _physical(finding.location)}],
        "partialFingerprints": {FINGERPRINT_KEY: f"{finding.fingerprint}:{occurrence}"},
    }
    if finding.rule in index:
        result["ruleIndex"] = index[finding.rule]
    if finding.path:
        result["codeFlows"] = [
            {
                "message": {"text": f"cascade from {finding.path[0].name}"},
                "threadFlows": [
                    {
                        "locations": [
                            _thread_location(hop, step) for step, hop in enumerate(finding.path, 1)
                        ]
                    }
                ],
            }
        ]
        related = [
            {
                "id": step,
                "physicalLocation": _physical(hop.location),
                "message": {"text": _hop_text(hop)},
            }
            for step, hop in enumerate(finding.path, 1)
            if hop.location is not None
        ]
        if related:
            result["relatedLocations"] = related
    properties: dict[str, Any] = {"rule": finding.rule}
    if finding.subject:
        properties["subject"] = finding.subject
    if finding.entry is not None:
        properties["entry"] = {"table": finding.entry.table, "operation": finding.entry.operation}
    result["properties"] = properties
    if suppressed is not None:
        suppression: dict[str, Any] = {
            "kind": "inSource",
            "status": "accepted",
            "location": {"physicalLocation": _physical(suppressed.suppression.location)},
        }
        if suppressed.suppression.reason:
            suppression["justification"] = suppressed.suppression.reason
        result["suppressions"] = [suppression]
    elif baseline is not None:
        result["baselineState"] = "new"
    return result


def _thread_location(hop: Hop, step: int) -> dict[str, Any]:
    location: dict[str, Any] = {"message": {"text": _hop_text(hop)}}
    if hop.location is not None:
        location["physicalLocation"] = _physical(hop.location)
    return {"location": location, "executionOrder": step}
