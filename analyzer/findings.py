"""Locations, diagnostics and findings: the plain data every stage may produce.

This module imports nothing from the rest of the package, so every stage can use it.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.Enum):
    """The SARIF levels, ordered from most to least severe."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "note": 1}[self.value]


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A span in a source file; lines and columns are 1-based, end inclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


@dataclass(frozen=True, order=True, slots=True)
class Diagnostic:
    """Something in the input that could not be analysed (or was analysed with doubt)."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


@dataclass(frozen=True, order=True, slots=True)
class Hop:
    """One step of a finding's path: a table, trigger, function or write."""

    kind: str
    name: str
    location: Location | None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "location": self.location.to_dict() if self.location else None,
            "detail": self.detail,
        }


@dataclass(frozen=True, order=True, slots=True)
class Entry:
    """An application write that a cascade starts from."""

    table: str
    operation: str


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's report; the engine stamps `rule`, `code` and `severity`."""

    rule: str
    code: str
    severity: Severity
    location: Location
    message: str
    hint: str = ""
    subject: str = ""
    path: tuple[Hop, ...] = field(default=())
    entry: Entry | None = None

    @property
    def fingerprint(self) -> str:
        """Stable across moved lines and reformatting: rule, entry, object path, subject."""
        entry = [self.entry.table, self.entry.operation] if self.entry else []
        objects = [[hop.kind, hop.name] for hop in self.path]
        material = json.dumps([self.rule, entry, objects, self.subject], sort_keys=True)
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "location": self.location.to_dict(),
            "subject": self.subject,
            "entry": (
                {"table": self.entry.table, "operation": self.entry.operation}
                if self.entry
                else None
            ),
            "path": [hop.to_dict() for hop in self.path],
            "fingerprint": self.fingerprint,
        }

    def sort_key(self) -> tuple[Any, ...]:
        entry = (self.entry.table, self.entry.operation) if self.entry else ("", "")
        return (self.location, self.rule, self.subject, entry, self.message)
