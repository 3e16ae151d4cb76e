"""Baselines: accept today's findings, report only what goes beyond them.

A baseline file records each finding's fingerprint (rule, entry, the ordered objects of
its path, subject: no line numbers, so edits above a finding do not disturb it) with
how many findings share it. Comparison is count-aware: a second identical path is new.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analyzer.findings import Finding

BASELINE_VERSION = 1


class BaselineError(Exception):
    """An unreadable or malformed baseline file; the message names it."""


@dataclass(frozen=True, order=True)
class BaselineEntry:
    rule: str
    subject: str
    fingerprint: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "subject": self.subject,
            "count": self.count,
        }


@dataclass(frozen=True)
class Baseline:
    entries: Mapping[str, BaselineEntry]  # by fingerprint


@dataclass(frozen=True)
class BaselineOutcome:
    """New findings, how many the baseline accounted for, and its entries gone since."""

    path: str
    new: tuple[Finding, ...]
    known: int
    absent: tuple[BaselineEntry, ...]  # count: how many of that fingerprint are gone


def baseline_entries(findings: Sequence[Finding]) -> list[BaselineEntry]:
    counts = Counter(f.fingerprint for f in findings)
    first: dict[str, Finding] = {}
    for finding in findings:
        first.setdefault(finding.fingerprint, finding)
    return sorted(
        BaselineEntry(f.rule, f.subject, fingerprint, counts[fingerprint])
        for fingerprint, f in first.items()
    )


def render_baseline(findings: Sequence[Finding]) -> str:
    """The baseline file for these findings: JSON, sorted, no dates or versions."""
    document = {
        "schema_version": BASELINE_VERSION,
        "tool": "sqlripple",
        "findings": [entry.to_dict() for entry in baseline_entries(findings)],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def parse_baseline(text: str, path: str) -> Baseline:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(f"{path}: not a baseline file: invalid JSON: {error}") from None
    if (
        not isinstance(document, dict)
        or document.get("tool") != "sqlripple"
        or not isinstance(document.get("findings"), list)
    ):
        raise BaselineError(f"{path}: not a sqlripple baseline file")
    if document.get("schema_version") != BASELINE_VERSION:
        raise BaselineError(
            f"{path}: baseline schema_version {document.get('schema_version')!r} is not "
            f"supported (expected {BASELINE_VERSION})"
        )
    entries: dict[str, BaselineEntry] = {}
    for index, item in enumerate(document["findings"]):
        valid = (
            isinstance(item, dict)
            and isinstance(item.get("fingerprint"), str)
            and isinstance(item.get("rule"), str)
            and isinstance(item.get("subject", ""), str)
            and type(item.get("count")) is int
            and item["count"] > 0
        )
        if not valid:
            raise BaselineError(
                f"{path}: findings[{index}] needs a fingerprint, a rule and a positive count"
            )
        fingerprint = item["fingerprint"]
        previous = entries.get(fingerprint)
        count = item["count"] + (previous.count if previous else 0)
        entries[fingerprint] = BaselineEntry(
            item["rule"], item.get("subject", ""), fingerprint, count
        )
    return Baseline(entries)


def compare(findings: Sequence[Finding], baseline: Baseline, path: str) -> BaselineOutcome:
    """Findings beyond the baseline (in order: the first n of a fingerprint are known)."""
    remaining = {fingerprint: e.count for fingerprint, e in baseline.entries.items()}
    new: list[Finding] = []
    known = 0
    for finding in findings:
        fingerprint = finding.fingerprint
        if remaining.get(fingerprint, 0) > 0:
            remaining[fingerprint] -= 1
            known += 1
        else:
            new.append(finding)
    absent = sorted(
        BaselineEntry(entry.rule, entry.subject, fingerprint, remaining[fingerprint])
        for fingerprint, entry in baseline.entries.items()
        if remaining[fingerprint] > 0
    )
    return BaselineOutcome(path, tuple(new), known, tuple(absent))
