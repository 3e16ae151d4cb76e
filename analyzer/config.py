"""Analysis settings. Reading them from pyproject.toml / sqlripple.toml lives here too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analyzer.catalog import DEFAULT_SEARCH_PATH


@dataclass(frozen=True)
class Config:
    search_path: tuple[str, ...] = DEFAULT_SEARCH_PATH
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)  # rule name -> severity
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    entrypoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    known_objects: tuple[str, ...] = ()
    rules_path: tuple[str, ...] = ()
    fail_on: str = "warning"
