"""Golden files for every `check` output format on fixtures/chat.

Run from the repository root, so paths in the output are relative. After an intended
change of the output, regenerate with `SQLRIPPLE_UPDATE_GOLDEN=1 pytest tests/test_check_golden.py`
and review the diff. The tool version is replaced by <VERSION> so that a release does not
touch the golden files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from test_check_helpers import patch_analysis, run

from analyzer.report.summary import tool_version

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("SQLRIPPLE_UPDATE_GOLDEN") == "1"
FORMATS = {
    "text": "chat.txt",
    "json": "chat.json",
    "sarif": "chat.sarif",
    "github": "chat.github.txt",
    "markdown": "chat.md",
    "junit": "chat.junit.xml",
}
ESCAPE = re.compile(r"\x1b\[")


def check(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    return run("check", *args, env=env)


def normalised(text: str) -> str:
    version = re.escape(tool_version())
    return re.sub(rf'"(version|semanticVersion)": "{version}"', r'"\1": "<VERSION>"', text)


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    patch_analysis(monkeypatch)


@pytest.mark.parametrize("output_format", list(FORMATS))
def test_golden(output_format: str) -> None:
    code, out, err = check("fixtures/chat", "--format", output_format)
    assert (code, err) == (1, "")
    golden = GOLDEN / FORMATS[output_format]
    if UPDATE:
        golden.write_text(normalised(out), encoding="utf-8", newline="")
    assert normalised(out) == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs: review, then SQLRIPPLE_UPDATE_GOLDEN=1 to regenerate"
    )


def test_two_analyses_render_the_same_bytes_in_every_format() -> None:
    import test_check_helpers

    from analyzer.report import check_formats
    from analyzer.report.check import Presentation, build_report

    first, second = (
        build_report(test_check_helpers._REAL_ANALYZE(["fixtures/chat"])) for _ in range(2)
    )
    assert first.findings and first.findings == second.findings
    for name, render in check_formats().items():
        for presentation in (Presentation(), Presentation(color=True, show_suppressed=True)):
            assert render(first, presentation) == render(second, presentation), name


@pytest.mark.parametrize("output_format", ["text", "sarif"])
def test_output_file_equals_stdout_and_summary_goes_to_stderr(
    output_format: str, tmp_path: Path
) -> None:
    target = tmp_path / "report.out"
    code, out, err = check("fixtures/chat", "--format", output_format, "-o", str(target))
    assert code == 1
    assert out == ""
    assert err == (
        "11 findings (0 error, 7 warning, 4 note); 6 files, 54 statements, 5 tables, "
        "7 functions, 6 triggers\n"
    )
    assert normalised(target.read_text(encoding="utf-8")) == (
        GOLDEN / FORMATS[output_format]
    ).read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["report.out"]  # no temporary left


def test_no_escape_codes_in_a_pipe_or_under_no_color() -> None:
    _, piped, _ = check("fixtures/chat")
    _, no_color, _ = check("fixtures/chat", env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert not ESCAPE.search(piped)
    assert no_color == piped


def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer.analysis import analyze
    from analyzer.report import text
    from analyzer.report.check import Presentation, build_report

    report = build_report(analyze(["fixtures/chat"]))
    coloured = text.render(report, Presentation(color=True))
    plain = text.render(report, Presentation(color=False))
    assert "\x1b[1;33mwarning\x1b[0m" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
