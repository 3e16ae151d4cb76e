"""Golden files for the graph formats (mermaid, dot, json) on the reference fixtures.

To rewrite them after an intended change:

    SQLRIPPLE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_graph_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import cli

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden_graph"
UPDATE = os.environ.get("SQLRIPPLE_UPDATE_GOLDEN") == "1"

CASES = [
    ("chat.mmd", ["fixtures/chat", "--format", "mermaid"]),
    ("chat.dot", ["fixtures/chat", "--format", "dot"]),
    ("chat.json", ["fixtures/chat", "--format", "json"]),
    (
        "chat-upsert.mmd",
        ["fixtures/chat", "--format", "mermaid", "--entry", "chat_messages:upsert"],
    ),
    ("injection.mmd", ["fixtures/injection", "--format", "mermaid"]),
    ("injection.dot", ["fixtures/injection", "--format", "dot"]),
]


@pytest.mark.parametrize(("name", "args"), CASES, ids=[name for name, _ in CASES])
def test_graph_matches_golden(name: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, ["graph", *args])
    assert result.exit_code == 0, result.output
    path = GOLDEN / name
    if UPDATE:
        path.write_text(result.stdout, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with SQLRIPPLE_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert result.stdout == expected, (
        f"{name} differs from its golden file; if the change is intended, rerun with "
        "SQLRIPPLE_UPDATE_GOLDEN=1 and review the diff"
    )


def test_output_is_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for fmt in ("mermaid", "dot", "json", "html"):
        first = CliRunner().invoke(cli, ["graph", "fixtures/chat", "--format", fmt]).stdout
        second = CliRunner().invoke(cli, ["graph", "fixtures/chat", "--format", fmt]).stdout
        assert first == second, fmt
