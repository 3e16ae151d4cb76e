"""Renderers: one module per output format.

`check_formats()` is the registry of `sqlripple check --format` values; the format
modules are imported when asked for, so that other commands do not pay for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.report.check import CheckReport, Presentation

    CheckRenderer = Callable[[CheckReport, Presentation], str]


def check_formats() -> dict[str, CheckRenderer]:
    from analyzer.report import check, github, junit, markdown, sarif, text

    return {
        "text": text.render,
        "json": check.render_json,
        "sarif": sarif.render,
        "github": github.render,
        "markdown": markdown.render,
        "junit": junit.render,
    }
