"""The catalog summary as text and as the JSON contract of `check`."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer.catalog import Catalog


def tool_version() -> str:
    try:
        return version("sqlripple")
    except PackageNotFoundError:
        return "0+unknown"


def check_document(catalog: Catalog) -> dict[str, Any]:
    summary: dict[str, Any] = dict(catalog.summary.to_dict())
    summary["findings"] = {"error": 0, "warning": 0, "note": 0}
    return {
        "schema_version": 1,
        "tool": {"name": "sqlripple", "version": tool_version()},
        "summary": summary,
        "findings": [],
        "diagnostics": [d.to_dict() for d in catalog.diagnostics],
    }


def render_json(catalog: Catalog) -> str:
    return json.dumps(check_document(catalog), indent=2, sort_keys=False) + "\n"


def render_text(catalog: Catalog) -> str:
    s = catalog.summary
    lines = [f"{d}" for d in catalog.diagnostics]
    lines.append(
        f"{s.files} files, {s.statements} statements "
        f"({s.unanalyzed_statements} not analysed), "
        f"{s.tables} tables, {s.functions} functions, {s.triggers} triggers"
    )
    if s.unanalyzed_statements or catalog.diagnostics:
        lines.append(
            f"warning: {s.unanalyzed_statements} statements could not be analysed and "
            f"{len(catalog.diagnostics)} diagnostics were raised: results are incomplete"
        )
    return "\n".join(lines) + "\n"
