"""The effects of every function in the reference fixtures, exactly (reviewed golden files).

Regenerate after a reviewed change with SQLRIPPLE_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analyzer.effects import (
    BodyEffects,
    CallEffect,
    DynamicEffect,
    Read,
    ReturnEffect,
    RowAssignment,
    Write,
    analyze_bodies,
)
from analyzer.loader import load

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden_effects"


def describe(body: BodyEffects) -> list[str]:
    lines = [f"{body.owner}  falls_off_end={body.falls_off_end}  incomplete={body.incomplete}"]
    for effect in body.effects:
        where = f"L{effect.location.line}"
        guard = f"  if {effect.guard}" if not effect.guard.is_always else ""
        if isinstance(effect, Write):
            parts = [f"{where} write {effect.kind} {effect.table} keyed_by={effect.keyed_by}"]
            if effect.columns:
                parts.append(f"columns={','.join(effect.columns)}")
            if effect.conflict_columns:
                parts.append(f"on_conflict_set={','.join(effect.conflict_columns)}")
            if effect.accumulations:
                parts.append(f"accumulates={','.join(a.column for a in effect.accumulations)}")
            if effect.deltas:
                parts.append(f"deltas={','.join(effect.deltas)}")
            if effect.appends:
                parts.append("appends")
            if effect.sources:
                parts.append(f"from={','.join(effect.sources)}")
            lines.append("  " + " ".join(parts) + guard)
        elif isinstance(effect, Read):
            aggregates = ",".join(effect.aggregates) or "-"
            keys = ",".join(effect.key_columns) or "-"
            lines.append(
                f"  {where} read {effect.table} aggregates={aggregates} "
                f"keyed_by={effect.keyed_by} keys={keys}{guard}"
            )
        elif isinstance(effect, CallEffect):
            lines.append(f"  {where} call {effect.display_name}/{len(effect.arguments)}{guard}")
        elif isinstance(effect, ReturnEffect):
            lines.append(f"  {where} return {effect.value}{guard}")
        elif isinstance(effect, RowAssignment):
            lines.append(f"  {where} assigns NEW.{effect.column}{guard}")
        elif isinstance(effect, DynamicEffect):
            lines.append(f"  {where} dynamic {effect.text!r}{guard}")
    return lines


@pytest.mark.parametrize("fixture", ["chat", "chat-fixed"])
def test_effects_of_every_fixture_function(fixture: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    bodies = analyze_bodies(load([f"fixtures/{fixture}"]))
    text = "\n".join(line for b in bodies.functions.values() for line in describe(b)) + "\n"
    golden = GOLDEN / f"{fixture}.txt"
    if os.environ.get("SQLRIPPLE_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
