"""sqlripple: what one PostgreSQL write really costs once every trigger has run.

The public names are imported on first use, so that importing one stage module (or the
command line, for `--help`) does not pay for the whole pipeline.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer.analysis import Result, analyze
    from analyzer.catalog import Catalog
    from analyzer.config import Config
    from analyzer.findings import Diagnostic, Finding, Hop, Location, Severity
    from analyzer.loader import load
    from analyzer.rules import Rule

_PUBLIC = {
    "Catalog": "analyzer.catalog",
    "Config": "analyzer.config",
    "Diagnostic": "analyzer.findings",
    "Finding": "analyzer.findings",
    "Hop": "analyzer.findings",
    "Location": "analyzer.findings",
    "Result": "analyzer.analysis",
    "Rule": "analyzer.rules",
    "Severity": "analyzer.findings",
    "analyze": "analyzer.analysis",
    "load": "analyzer.loader",
}

__all__ = [
    "Catalog",
    "Config",
    "Diagnostic",
    "Finding",
    "Hop",
    "Location",
    "Result",
    "Rule",
    "Severity",
    "analyze",
    "load",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'analyzer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
