"""`sqlripple rules` and `sqlripple explain`: rule metadata and documentation."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from analyzer.rules import Rule


def rule_document(rule: type[Rule]) -> dict[str, Any]:
    return {
        "code": rule.code,
        "name": rule.name,
        "severity": rule.severity.value,
        "summary": rule.summary,
        "options": dict(rule.options),
        "documentation": rule.documentation(),
    }


def render_json(rules: Iterable[type[Rule]]) -> str:
    ordered = sorted(rules, key=lambda r: r.code)
    return json.dumps([rule_document(r) for r in ordered], indent=2) + "\n"


def render_text(rules: Iterable[type[Rule]]) -> str:
    ordered = sorted(rules, key=lambda r: r.code)
    width = max((len(r.name) for r in ordered), default=0)
    lines = [f"{r.code}  {r.name:<{width}}  {r.severity.value:<7}  {r.summary}" for r in ordered]
    return "\n".join(lines) + "\n"


def render_explanation(rule: type[Rule]) -> str:
    header = f"{rule.code} {rule.name} ({rule.severity.value}): {rule.summary}"
    options = ""
    if rule.options:
        options = "\n\nOptions (defaults): " + ", ".join(
            f"{k} = {v}" for k, v in sorted(rule.options.items())
        )
    return f"{header}\n\n{rule.documentation()}{options}\n"
