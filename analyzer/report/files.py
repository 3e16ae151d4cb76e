"""Writing a report file: whole or not at all, light enough for a cached run to use."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO


def _write_in_pieces(stream: TextIO, text: str, piece: int = 1 << 20) -> None:
    """A text stream encodes what it is given whole: a megabyte at a time, a large report
    is not copied once more in memory."""
    for start in range(0, len(text), piece):
        stream.write(text[start : start + piece])


def write_atomically(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same directory, so that a
    reader never sees half a report and a failed run leaves the old file in place."""
    target = Path(path)
    if target.exists() and not target.is_file():
        # /dev/null, a FIFO or a terminal: write through it, never replace the node.
        with target.open("w", encoding="utf-8", newline="") as stream:
            _write_in_pieces(stream, text)
        return
    directory = target.parent if str(target.parent) else Path(".")
    import tempfile  # only here: printing or writing to a device needs none (5 ms)

    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=str(directory)
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            _write_in_pieces(stream, text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 is not what a report wants
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
