"""`-- sqlripple: ignore[rule] reason` comments: every placement, codes and lists, the
reason requirement, unused and malformed suppressions, and how they are shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_check_helpers import patch_analysis, run

from analyzer.source import SourceFile
from analyzer.suppressions import line_comments, read_suppressions

FUNCTIONS = "db/1-functions.sql"
TRIGGERS = "db/2-triggers.sql"
FUNCTIONS_SQL = """\
-- Usage counters.
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
ALL = [
    ("analytics-inflation", FUNCTIONS, 7),
    ("hot-row-contention", FUNCTIONS, 7),
    ("analytics-inflation", FUNCTIONS, 8),
    ("hot-row-contention", FUNCTIONS, 8),
    ("noop-update-trigger", TRIGGERS, 1),
    ("write-amplification", TRIGGERS, 1),
]


@pytest.fixture(autouse=True)
def schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patch_analysis(monkeypatch)
    monkeypatch.chdir(tmp_path)
    Path("db").mkdir()
    Path(FUNCTIONS).write_text(FUNCTIONS_SQL, "utf-8")
    Path(TRIGGERS).write_text(TRIGGERS_SQL, "utf-8")


def edit(path: str, old: str, new: str) -> None:
    text = Path(path).read_text("utf-8")
    assert text.count(old) == 1, old
    Path(path).write_text(text.replace(old, new), "utf-8")


def insert_line(path: str, before: int, line: str) -> None:
    lines = Path(path).read_text("utf-8").split("\n")
    lines.insert(before - 1, line)
    Path(path).write_text("\n".join(lines), "utf-8")


def document(*args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run("check", "db", "--format", "json", *args)[1])
    return result


def found(*args: str) -> list[tuple[str, str, int]]:
    return [
        (f["rule"], f["location"]["path"], f["location"]["line"])
        for f in document(*args)["findings"]
    ]


def suppressed(*args: str) -> list[tuple[str, int, str, int]]:
    return [
        (
            s["rule"],
            s["location"]["line"],
            s["suppression"]["reason"],
            s["suppression"]["location"]["line"],
        )
        for s in document(*args)["suppressed"]
    ]


def test_without_comments_everything_is_reported() -> None:
    assert found() == ALL
    assert suppressed() == []


def test_on_the_line_the_finding_points_at() -> None:
    edit(
        FUNCTIONS,
        "WHERE id = 1;",
        "WHERE id = 1;  -- sqlripple: ignore[analytics-inflation] only inserts reach it",
    )
    assert suppressed() == [("analytics-inflation", 7, "only inserts reach it", 7)]
    assert found() == ALL[1:]


def test_on_the_line_above_even_among_other_comments() -> None:
    insert_line(FUNCTIONS, 8, "    -- sqlripple: ignore[hot-row-contention]: one row per key")
    insert_line(FUNCTIONS, 9, "    -- an ordinary comment between them")
    assert suppressed() == [("hot-row-contention", 10, "one row per key", 8)]
    assert found() == [*ALL[:2], ("analytics-inflation", FUNCTIONS, 10), *ALL[4:]]


def test_a_blank_line_breaks_the_link_to_the_line_below() -> None:
    insert_line(FUNCTIONS, 8, "    -- sqlripple: ignore[hot-row-contention] one row per key")
    insert_line(FUNCTIONS, 9, "")
    assert suppressed() == []
    assert ("unused-suppression", FUNCTIONS, 8) in found()


def test_on_the_first_line_of_a_function_covers_the_whole_function() -> None:
    edit(
        FUNCTIONS,
        "AS $$\n",
        "AS $$  -- sqlripple: ignore[analytics-inflation] reconciled nightly\n",
    )
    assert suppressed() == [
        ("analytics-inflation", 7, "reconciled nightly", 5),
        ("analytics-inflation", 8, "reconciled nightly", 5),
    ]
    assert [f for f in found() if f[0] == "analytics-inflation"] == []


def test_above_a_statement_covers_the_statement() -> None:
    insert_line(FUNCTIONS, 5, "-- sqlripple: ignore[RP104] one row per key, by design")
    insert_line(TRIGGERS, 1, "-- sqlripple: ignore[write-amplification, noop-update-trigger] ok")
    assert suppressed() == [
        ("hot-row-contention", 8, "one row per key, by design", 5),
        ("hot-row-contention", 9, "one row per key, by design", 5),
        ("noop-update-trigger", 2, "ok", 1),
        ("write-amplification", 2, "ok", 1),
    ]
    assert found() == [("analytics-inflation", FUNCTIONS, 8), ("analytics-inflation", FUNCTIONS, 9)]


def test_ignore_file_with_codes_in_any_case() -> None:
    with Path(FUNCTIONS).open("a", encoding="utf-8") as handle:
        handle.write("-- sqlripple: ignore-file[RP104, rp101] counters are advisory\n")
    assert [(rule, line) for rule, line, _, _ in suppressed()] == [
        ("analytics-inflation", 7),
        ("hot-row-contention", 7),
        ("analytics-inflation", 8),
        ("hot-row-contention", 8),
    ]
    assert found() == ALL[4:]


def test_a_suppression_without_reason_still_applies_and_is_reported() -> None:
    insert_line(TRIGGERS, 1, "-- sqlripple: ignore[write-amplification]")
    assert suppressed() == [("write-amplification", 2, "", 1)]
    notes = [f for f in document()["findings"] if f["rule"] == "suppression-without-reason"]
    assert [(n["code"], n["severity"], n["message"], n["location"]) for n in notes] == [
        (
            "RP901",
            "note",
            "suppression ignore[write-amplification] gives no reason",
            {"path": TRIGGERS, "line": 1, "column": 1, "end_line": 1, "end_column": 41},
        )
    ]


def test_unused_unknown_and_malformed_suppressions_are_reported() -> None:
    insert_line(FUNCTIONS, 2, "-- sqlripple: ignore[write-amplification, RP999] nothing here")
    insert_line(FUNCTIONS, 1, "-- sqlripple: ignore(aggregate-recompute) wrong brackets")
    notes = [
        (f["location"]["line"], f["message"])
        for f in document()["findings"]
        if f["rule"] == "unused-suppression"
    ]
    assert notes == [
        (1, "malformed suppression: nothing is suppressed"),
        (3, "suppression ignore[write-amplification, RP999]: no rule is named 'RP999'"),
        (3, "suppression ignore[write-amplification, RP999]: no write-amplification finding here"),
    ]


def test_rules_that_did_not_run_do_not_make_a_suppression_unused() -> None:
    with Path(TRIGGERS).open("a", encoding="utf-8") as handle:
        handle.write("-- sqlripple: ignore[analytics-inflation] not selected\n")
    assert found("--select", "RP104,unused-suppression") == [ALL[1], ALL[3]]
    assert ("unused-suppression", TRIGGERS, 3) in found()


def test_the_notes_are_rules_like_the_others() -> None:
    with Path(TRIGGERS).open("a", encoding="utf-8") as handle:
        handle.write("-- sqlripple: ignore[write-amplification]\n")
    assert found("--ignore", "unused-suppression,RP901") == ALL
    Path("sqlripple.toml").write_text('[severity]\nunused-suppression = "error"\n', "utf-8")
    code, out, _ = run("check", "db", "--format", "json", "--fail-on", "error")
    levels = [(f["rule"], f["severity"]) for f in json.loads(out)["findings"]][-2:]
    assert levels == [("suppression-without-reason", "note"), ("unused-suppression", "error")]
    assert code == 1


def test_suppressions_count_in_the_summary_and_show_on_request() -> None:
    edit(TRIGGERS, "public.t\n", "public.t  -- sqlripple: ignore[RP102] bulk loads bypass it\n")
    _, out, _ = run("check", "db")
    assert out.splitlines()[-1] == (
        "5 findings (0 error, 3 warning, 2 note); 2 files, 4 statements, 2 tables, "
        "1 functions, 1 triggers; 1 suppressed"
    )
    assert "suppressed at" not in out
    _, shown, _ = run("check", "db", "--show-suppressed")
    excerpt = shown[shown.index("db/2-triggers.sql:1:1: warning RP102") :].splitlines()[:4]
    assert excerpt == [
        "db/2-triggers.sql:1:1: warning RP102 [write-amplification] one UPDATE of a public.t "
        "row costs 3 row writes per source row (public.counts 2, public.t 1) through a "
        "trigger chain 1 deep; per operation: UPDATE 3, INSERT 3",
        "  suppressed at db/2-triggers.sql:1: bulk loads bypass it",
        "  1 | CREATE TRIGGER bump AFTER INSERT OR UPDATE ON public.t  "
        "-- sqlripple: ignore[RP102] bulk loads bypass it",
        "    | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ (to line 2)",
    ]


def test_suppressing_every_warning_exits_0() -> None:
    edit(TRIGGERS, "public.t\n", "public.t  -- sqlripple: ignore[RP102,RP105] trusted\n")
    edit(FUNCTIONS, "AS $$\n", "AS $$  -- sqlripple: ignore[RP101] trusted\n")
    assert [rule for rule, _, _ in found()] == ["hot-row-contention"] * 2
    assert run("check", "db")[0] == 0


def test_comment_scanner_skips_strings_and_reads_function_bodies() -> None:
    text = (
        "SELECT '-- sqlripple: ignore[a] in a string', \"-- not\" /* -- nor /* nested */ */;\n"
        "SELECT E'it\\'s -- still a string'; -- sqlripple: ignore[b] real\n"
        "CREATE FUNCTION f() RETURNS int AS $$\n"
        "  -- sqlripple: ignore[c] inside a body\n"
        "  SELECT 1;\n"
        "$$ LANGUAGE sql;\n"
    )
    comments = [text[start:end] for start, end in line_comments(text)]
    assert comments == [
        "-- sqlripple: ignore[b] real",
        "-- sqlripple: ignore[c] inside a body",
    ]
    found_, malformed = read_suppressions(SourceFile.from_text("x.sql", text))
    assert [(s.rules, s.reason, s.first_line, s.last_line) for s in found_] == [
        (("b",), "real", 2, 2),
        (("c",), "inside a body", 5, 5),
    ]
    assert malformed == []
