"""Read the input files and build the catalog: the first half of the pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.catalog import Catalog
from analyzer.config import Config
from analyzer.ddl import build_catalog
from analyzer.source import read_sources


def load(paths: Sequence[str], config: Config | None = None) -> Catalog:
    """Discover, decode and apply every input file in migration order.

    Files that cannot be read at all are reported in `diagnostics` and count as one
    statement that was not analysed each; the catalog holds the rest. Never raises.
    """
    settings = config or Config()
    sources = read_sources(paths, settings.include, settings.exclude)
    return build_catalog(
        sources.files, settings.search_path, sources.diagnostics, sources.skipped_files
    )
