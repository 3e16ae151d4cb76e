"""Every fixture folder's findings equal the `-- expect: rule` markers in its SQL.

A marker sits on the line a finding points at; one line may expect several rules
(`-- expect: a, b`) and a rule twice (`-- expect: a, a`).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from analyzer import analyze

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted(p for p in (ROOT / "fixtures").iterdir() if any(p.rglob("*.sql")))
RULE_NAME = r"[a-z0-9]+(?:-[a-z0-9]+)*"
MARKER = re.compile(rf"--\s*expect:\s*({RULE_NAME}(?:\s*,\s*{RULE_NAME})*)")


def expected_markers(folder: Path) -> Counter[tuple[str, int, str]]:
    expected: Counter[tuple[str, int, str]] = Counter()
    for path in sorted(folder.rglob("*.sql")):
        relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in MARKER.finditer(line):
                for rule in match.group(1).split(","):
                    if rule.strip():
                        expected[(relative, number, rule.strip())] += 1
    return expected


@pytest.mark.parametrize("folder", FIXTURES, ids=[p.name for p in FIXTURES])
def test_findings_match_markers(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = analyze([folder.relative_to(ROOT).as_posix()])
    found = Counter((f.location.path, f.location.line, f.rule) for f in result.findings)
    expected = expected_markers(folder)
    missing = sorted((expected - found).elements())
    unexpected = sorted((found - expected).elements())
    report = ["missing (marked, not found):"]
    report += [f"  {p}:{line}: {rule}" for p, line, rule in missing] or ["  none"]
    report += ["unexpected (found, not marked):"]
    report += [f"  {p}:{line}: {rule}" for p, line, rule in unexpected] or ["  none"]
    assert not missing and not unexpected, "\n".join(report)


def test_marker_parser_reads_lists_and_repeats(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "1.sql").write_text(
        "SELECT 1; -- expect: a-rule, b-rule\nSELECT 2; -- expect: a-rule, a-rule\n",
        encoding="utf-8",
    )
    markers = {(line, rule): n for (_, line, rule), n in expected_markers(folder).items()}
    assert markers == {(1, "a-rule"): 1, (1, "b-rule"): 1, (2, "a-rule"): 2}
