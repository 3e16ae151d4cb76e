"""Renderers: one module per output format.

`check_renderer(name)` gives the renderer of one `sqlripple check --format` value and
imports only that format's module, so that a run pays for the format it asked for (the
text format alone needs rich); `check_formats()` is the whole registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.report.check import CheckReport, Presentation

    CheckRenderer = Callable[[CheckReport, Presentation], str]

# format → (module in this package, its render function)
_CHECK_FORMATS = {
    "text": ("text", "render"),
    "json": ("check", "render_json"),
    "sarif": ("sarif", "render"),
    "github": ("github", "render"),
    "markdown": ("markdown", "render"),
    "junit": ("junit", "render"),
}


def check_renderer(name: str) -> CheckRenderer:
    module, function = _CHECK_FORMATS[name]
    renderer: CheckRenderer = getattr(importlib.import_module(f"{__name__}.{module}"), function)
    return renderer


def check_formats() -> dict[str, CheckRenderer]:
    return {name: check_renderer(name) for name in _CHECK_FORMATS}
