"""Analysis settings. Reading them from pyproject.toml / sqlripple.toml lives here too."""

from __future__ import annotations

from dataclasses import dataclass

from analyzer.catalog import DEFAULT_SEARCH_PATH


@dataclass(frozen=True)
class Config:
    search_path: tuple[str, ...] = DEFAULT_SEARCH_PATH
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] | None = None
