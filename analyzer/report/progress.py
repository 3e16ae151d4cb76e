"""A progress display on standard error while a large input is analysed.

Shown only when standard error is a terminal and the input has more than a few dozen
files; otherwise nothing at all, so pipes, files and CI logs stay clean. The display is
transient: it disappears when the analysis is done.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

PROGRESS_MIN_FILES = 40


def wanted(files: int) -> bool:
    return files > PROGRESS_MIN_FILES and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


@contextlib.contextmanager
def analysing(files: int) -> Iterator[None]:
    """Show a pulsing bar with the file count and elapsed time while the block runs."""
    if not wanted(files):
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")))
    with Progress(
        SpinnerColumn(),
        TextColumn(f"analysing {files} files"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        progress.add_task("analyse", total=None)
        yield
