"""sqlripple: what one PostgreSQL write really costs once every trigger has run."""

from __future__ import annotations

from analyzer.analysis import Result, analyze
from analyzer.catalog import Catalog
from analyzer.config import Config
from analyzer.findings import Diagnostic, Finding, Hop, Location, Severity
from analyzer.loader import load
from analyzer.rules import Rule

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
