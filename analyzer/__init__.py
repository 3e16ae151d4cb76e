"""sqlripple: what one PostgreSQL write really costs once every trigger has run.

The names below are imported on first use, so that `python -m analyzer` and the command
line (whose warm, cached runs never need the engine) do not pay for sqlglot and networkx.
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

_HOMES = {
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
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'analyzer' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
