"""Baselines: --write-baseline records findings by fingerprint with counts; --baseline
reports only what goes beyond them, count-aware, and lists what no longer occurs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_check_helpers import patch_analysis, run

from analyzer.baseline import BaselineError, parse_baseline

FUNCTIONS = "db/1-functions.sql"
FUNCTIONS_SQL = """\
CREATE TABLE public.t (id int PRIMARY KEY, n int);
CREATE TABLE public.counts (id int PRIMARY KEY, total int);

CREATE FUNCTION public.bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.counts SET total = total + 1 WHERE id = 1;
    UPDATE public.counts SET total = total + NEW.n WHERE id = 2;
    RETURN NEW;
END
$$;
"""
TRIGGERS_SQL = """\
CREATE TRIGGER bump AFTER INSERT OR UPDATE ON public.t
    FOR EACH ROW EXECUTE FUNCTION public.bump();
"""
BASELINE = """\
{
  "schema_version": 1,
  "tool": "sqlripple",
  "findings": [
    {
      "fingerprint": "4aca2dc22d6356eb99e4003702a48a42",
      "rule": "analytics-inflation",
      "subject": "public.counts.total",
      "count": 2
    },
    {
      "fingerprint": "a2c363f918a9f6c7f4bee273b78f1a04",
      "rule": "hot-row-contention",
      "subject": "public.counts",
      "count": 2
    },
    {
      "fingerprint": "dbedb495b140b75672fd322ff12ba044",
      "rule": "noop-update-trigger",
      "subject": "public.t.bump",
      "count": 1
    },
    {
      "fingerprint": "1cbc7f3df18cb2149eb5f5bd61ca201b",
      "rule": "write-amplification",
      "subject": "public.t",
      "count": 1
    }
  ]
}
"""


@pytest.fixture(autouse=True)
def schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patch_analysis(monkeypatch)
    monkeypatch.chdir(tmp_path)
    Path("db").mkdir()
    Path(FUNCTIONS).write_text(FUNCTIONS_SQL, "utf-8")
    Path("db/2-triggers.sql").write_text(TRIGGERS_SQL, "utf-8")


def write_baseline() -> None:
    assert run("check", "db", "--write-baseline", "base.json") == (
        0,
        "",
        "sqlripple: base.json: baseline of 6 findings\n",
    )


def new_findings(*args: str) -> tuple[int, list[tuple[str, int]], dict[str, object]]:
    code, out, _ = run("check", "db", "--format", "json", "--baseline", "base.json", *args)
    document = json.loads(out)
    found = [(f["rule"], f["location"]["line"]) for f in document["findings"]]
    return code, found, document["baseline"]


def test_write_baseline_is_sorted_counted_and_stable() -> None:
    write_baseline()
    assert Path("base.json").read_text("utf-8") == BASELINE
    write_baseline()
    assert Path("base.json").read_text("utf-8") == BASELINE


def test_nothing_beyond_the_baseline_passes() -> None:
    write_baseline()
    assert new_findings() == (0, [], {"path": "base.json", "known": 6, "new": 0, "absent": []})
    code, out, err = run("check", "db", "--baseline", "base.json")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "0 findings (0 error, 0 warning, 0 note); 2 files, 4 statements, 2 tables, "
        "1 functions, 1 triggers; 6 in baseline base.json"
    ]


def test_blank_lines_and_comments_above_a_finding_keep_it_in_the_baseline() -> None:
    write_baseline()
    text = Path(FUNCTIONS).read_text("utf-8")
    text = "-- A new header comment.\n\n\n/* and a block\n   comment */\n" + text
    text = text.replace("BEGIN\n", "BEGIN\n\n    -- why we count here\n\n")
    Path(FUNCTIONS).write_text(text, "utf-8")
    out = run("check", "db", "--format", "json")[1]
    assert [f["location"]["line"] for f in json.loads(out)["findings"]][:2] == [14, 14]
    assert new_findings() == (0, [], {"path": "base.json", "known": 6, "new": 0, "absent": []})


def test_a_second_identical_path_is_new() -> None:
    write_baseline()
    text = (
        Path(FUNCTIONS)
        .read_text("utf-8")
        .replace(
            "    RETURN NEW;",
            "    UPDATE public.counts SET total = total + 1 WHERE id = 3;\n    RETURN NEW;",
        )
    )
    Path(FUNCTIONS).write_text(text, "utf-8")
    code, found, baseline = new_findings()
    assert found == [("analytics-inflation", 8), ("hot-row-contention", 8)]
    assert baseline == {"path": "base.json", "known": 6, "new": 2, "absent": []}
    assert code == 1


def test_findings_that_no_longer_occur_are_listed() -> None:
    write_baseline()
    text = (
        Path(FUNCTIONS)
        .read_text("utf-8")
        .replace("    UPDATE public.counts SET total = total + NEW.n WHERE id = 2;\n", "")
    )
    Path(FUNCTIONS).write_text(text, "utf-8")
    code, found, baseline = new_findings()
    assert (code, found) == (0, [])
    assert baseline == {
        "path": "base.json",
        "known": 3,
        "new": 0,
        "absent": [
            {
                "fingerprint": "4aca2dc22d6356eb99e4003702a48a42",
                "rule": "analytics-inflation",
                "subject": "public.counts.total",
                "count": 1,
            },
            {
                "fingerprint": "a2c363f918a9f6c7f4bee273b78f1a04",
                "rule": "hot-row-contention",
                "subject": "public.counts",
                "count": 1,
            },
            {
                "fingerprint": "1cbc7f3df18cb2149eb5f5bd61ca201b",
                "rule": "write-amplification",
                "subject": "public.t",
                "count": 1,
            },
        ],
    }
    code, out, err = run("check", "db", "--baseline", "base.json")
    assert err == (
        "sqlripple: base.json: 3 baseline findings no longer occur:\n"
        "  analytics-inflation public.counts.total\n"
        "  hot-row-contention public.counts\n"
        "  write-amplification public.t\n"
    )
    assert out.splitlines()[-1].endswith(
        "; 3 in baseline base.json, 3 of its findings no longer occur"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "base.json: cannot read baseline: No such file or directory"),
        (
            "{",
            "base.json: not a baseline file: invalid JSON: Expecting property name "
            "enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ('{"tool": "other", "findings": []}', "base.json: not a sqlripple baseline file"),
        (
            '{"schema_version": 9, "tool": "sqlripple", "findings": []}',
            "base.json: baseline schema_version 9 is not supported (expected 1)",
        ),
        (
            '{"schema_version": 1, "tool": "sqlripple", "findings": [{"rule": "x", "count": 1}]}',
            "base.json: findings[0] needs a fingerprint, a rule and a positive count",
        ),
    ],
)
def test_a_bad_baseline_exits_2(content: str | None, message: str) -> None:
    if content is not None:
        Path("base.json").write_text(content, "utf-8")
    assert run("check", "db", "--baseline", "base.json") == (2, "", f"sqlripple: {message}\n")


def test_write_baseline_ignores_the_configured_baseline() -> None:
    Path("sqlripple.toml").write_text('baseline = "missing.json"\n', "utf-8")
    write_baseline()
    assert Path("base.json").read_text("utf-8") == BASELINE


def test_parse_baseline_adds_up_repeated_fingerprints() -> None:
    text = json.dumps(
        {
            "schema_version": 1,
            "tool": "sqlripple",
            "findings": [
                {"fingerprint": "a" * 32, "rule": "r", "subject": "s", "count": 1},
                {"fingerprint": "a" * 32, "rule": "r", "subject": "s", "count": 2},
            ],
        }
    )
    assert parse_baseline(text, "b.json").entries["a" * 32].count == 3
    with pytest.raises(BaselineError, match=r"^b\.json: findings\[0\]"):
        parse_baseline(text.replace('"count": 1', '"count": 0'), "b.json")
