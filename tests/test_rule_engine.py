"""The rule engine: loading built-ins, entry-point packs and local files; failures named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import analyzer.rules as engine
from analyzer import analyze
from analyzer.config import Config
from analyzer.rules import load_rules, selected

ROOT = Path(__file__).resolve().parent.parent
CHAT = str(ROOT / "fixtures" / "chat")

RAISING_RULE = '''
from analyzer.findings import Severity
from analyzer.rules import Rule


class Exploding(Rule):
    """Raises on purpose.

    Bad: nothing. Fix: nothing.
    """

    code = "XP001"
    name = "exploding-rule"
    severity = Severity.NOTE
    summary = "always raises"

    def check(self, ctx):
        raise RuntimeError("boom")
'''


def test_a_local_rule_that_raises_is_named_and_the_others_still_run(tmp_path: Path) -> None:
    (tmp_path / "exploding.py").write_text(RAISING_RULE, encoding="utf-8")
    result = analyze([CHAT], Config(rules_path=(str(tmp_path),)))
    failures = [d.message for d in result.diagnostics if "exploding-rule" in d.message]
    assert failures == ["rule exploding-rule (XP001) failed: RuntimeError: boom"]
    assert {f.rule for f in result.findings} >= {"analytics-inflation", "noop-update-trigger"}


def test_a_local_rule_file_that_does_not_load_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken_rule.py"
    broken.write_text("def oops(:\n", encoding="utf-8")
    classes, problems = load_rules(Config(rules_path=(str(broken),)))
    assert [p.path for p in problems] == [broken.as_posix()]
    assert problems[0].message.startswith("local rule file failed to load: ")
    assert len(classes) == 10


class _BrokenEntryPoint:
    name = "acme"
    value = "acme_rules:pack"

    def load(self) -> Any:
        raise ImportError("No module named 'acme_rules'")


def test_an_entry_point_pack_that_does_not_load_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "entry_points", lambda group: [_BrokenEntryPoint()])
    classes, problems = load_rules(Config())
    assert [(p.path, p.message) for p in problems] == [
        (
            "plugin acme",
            "rule plugin acme_rules:pack failed to load: No module named 'acme_rules'",
        )
    ]
    assert len(classes) == 10


@pytest.mark.parametrize(
    ("select", "ignore", "expected"),
    [
        (("RP1",), (), ["RP101", "RP102", "RP103", "RP104", "RP105"]),
        (("trigger-recursion", "RP303"), (), ["RP201", "RP303"]),
        ((), ("RP1", "dynamic-sql"), ["RP201", "RP202", "RP301", "RP303"]),
        (("rp10",), ("RP104",), ["RP101", "RP102", "RP103", "RP105"]),
    ],
)
def test_select_and_ignore_take_names_codes_and_prefixes(
    select: tuple[str, ...], ignore: tuple[str, ...], expected: list[str]
) -> None:
    classes, _ = load_rules(Config())
    assert sorted(c.code for c in selected(classes, select, ignore)) == expected


def test_a_finding_whose_cascade_crosses_dynamic_sql_says_so(tmp_path: Path) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(
        "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric NOT NULL, stats text);\n"
        "CREATE TABLE order_stats (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0);\n"
        "CREATE FUNCTION count_order() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  UPDATE order_stats SET n = n + 1 WHERE id = 1;\n"
        "  EXECUTE format('UPDATE %I SET n = n + 1', NEW.stats);\n"
        "  RETURN NULL;\n"
        "END $$;\n"
        "CREATE TRIGGER counted AFTER INSERT OR UPDATE ON orders FOR EACH ROW\n"
        "  EXECUTE FUNCTION count_order('order_stats');\n",
        encoding="utf-8",
    )
    result = analyze([str(schema)], Config(select=("analytics-inflation",)))
    (finding,) = result.findings
    assert finding.message.endswith(
        "[the cascade crosses unknown ground, so figures may be higher: dynamic SQL "
        "(UPDATE sqlripple_dynamic_ident SET n = n + 1)]"
    )


@pytest.mark.parametrize(
    ("argument", "reported"),
    [
        ("TG_TABLE_NAME", False),  # folded in every traced call
        ("'orders'", False),
        ("NEW.kind", True),  # a row value names the table: unknown
    ],
)
def test_dynamic_sql_in_a_helper_is_reported_unless_every_call_folds_it(
    tmp_path: Path, argument: str, reported: bool
) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(
        "CREATE TABLE orders (id bigint PRIMARY KEY, kind text);\n"
        "CREATE TABLE orders_log (id bigint);\n"
        "CREATE FUNCTION log_row(p_table text, p_id bigint) RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  EXECUTE format('INSERT INTO public.%I (id) VALUES ($1)', p_table || '_log')"
        " USING p_id;\n"
        "END $$;\n"
        "CREATE FUNCTION on_order() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n  PERFORM log_row({argument}, NEW.id);\n  RETURN NULL;\nEND $$;\n"
        "CREATE TRIGGER logged AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION on_order();\n",
        encoding="utf-8",
    )
    result = analyze([str(schema)], Config(select=("dynamic-sql",)))
    assert [(f.rule, f.location.line) for f in result.findings] == (
        [("dynamic-sql", 5)] if reported else []
    )
