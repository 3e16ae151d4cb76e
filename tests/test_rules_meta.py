"""The built-in rule pack as a whole: metadata, documentation, fixture coverage, output.

Fixtures mark what must fire with `-- expect: rule` and what resembles a problem but
must not fire with `-- look-alike: rule`, on the line the finding would point at.
test_fixture_expectations.py compares findings with the expect markers; this module
checks that every rule has both kinds of marker somewhere, that markers name real
rules, that no look-alike line draws a finding of its rule, and that findings come out
sorted, stable and with the severity each case calls for.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

import rules
from analyzer import Config, Result, Severity, analyze
from analyzer.rules import Rule, load_rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
BUILTIN: tuple[type[Rule], ...] = rules.BUILTIN_RULES
KINDS = ("expect", "look-alike")
# One marker per `--` comment segment, so `-- look-alike: a -- expect: b` reads as two.
MARKER = re.compile(r"^\s*(expect|look-alike)\s*:\s*([a-z0-9][a-z0-9 ,-]*)")

Marker = tuple[str, int, str, str]  # (path relative to ROOT, line, kind, rule)


def markers_in(path: Path, base: Path = ROOT) -> list[Marker]:
    relative = path.relative_to(base).as_posix()
    found: list[Marker] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for segment in line.split("--")[1:]:
            match = MARKER.match(segment)
            if match is None:
                continue
            for rule in match.group(2).split(","):
                if rule.strip():
                    found.append((relative, number, match.group(1), rule.strip()))
    return found


@cache
def all_markers() -> tuple[Marker, ...]:
    return tuple(m for path in sorted(FIXTURES.rglob("*.sql")) for m in markers_in(path))


@cache
def analysed(folder: str) -> Result:
    return analyze([f"fixtures/{folder}"])


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding paths are relative to the current directory, markers to the repository."""
    monkeypatch.chdir(ROOT)


# ---- rule metadata -------------------------------------------------------------------


def test_builtin_names_and_codes_are_unique() -> None:
    names = [cls.name for cls in BUILTIN]
    codes = [cls.code for cls in BUILTIN]
    assert len(set(names)) == len(names), f"duplicate rule names: {sorted(names)}"
    assert len(set(codes)) == len(codes), f"duplicate rule codes: {sorted(codes)}"


@pytest.mark.parametrize("rule", BUILTIN, ids=[cls.name for cls in BUILTIN])
def test_builtin_rule_metadata(rule: type[Rule]) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", rule.name), rule.name
    assert re.fullmatch(r"RP\d{3}", rule.code), f"{rule.name}: code {rule.code!r}"
    assert isinstance(rule.severity, Severity)
    assert rule.summary.strip(), f"{rule.name} has no summary"
    assert "\n" not in rule.summary.strip(), f"{rule.name}: summary is one line"


@pytest.mark.parametrize("rule", BUILTIN, ids=[cls.name for cls in BUILTIN])
def test_builtin_rule_docstring_has_bad_example_and_fix(rule: type[Rule]) -> None:
    doc = rule.documentation()
    assert doc, f"{rule.name} has no docstring"
    bad = re.search(r"^Bad\b.*?$(?P<body>.*?)^Fix\b", doc, re.MULTILINE | re.DOTALL)
    assert bad is not None, f"{rule.name}: docstring needs a 'Bad' example, then a 'Fix'"
    assert bad.group("body").strip(), f"{rule.name}: the 'Bad' example is empty"
    fix = doc[bad.end() :].strip(" :\n")
    assert fix, f"{rule.name}: the 'Fix' paragraph is empty"


# ---- markers across fixtures/ -------------------------------------------------------


def test_marker_parser_reads_both_kinds_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "probe.sql"
    path.write_text(
        "UPDATE t SET n = n + 1;  -- look-alike: a-rule -- expect: b-rule, c-rule\n"
        "SELECT 1;  -- a comment, not a marker: expect nothing here\n"
        "SELECT 2;  -- expect: a-rule, a-rule\n",
        encoding="utf-8",
    )
    name = "probe.sql"
    assert markers_in(path, tmp_path) == [
        (name, 1, "look-alike", "a-rule"),
        (name, 1, "expect", "b-rule"),
        (name, 1, "expect", "c-rule"),
        (name, 3, "expect", "a-rule"),
        (name, 3, "expect", "a-rule"),
    ]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rule", BUILTIN, ids=[cls.name for cls in BUILTIN])
def test_every_builtin_rule_has_markers_of_both_kinds(rule: type[Rule], kind: str) -> None:
    where = [f"{p}:{n}" for p, n, k, r in all_markers() if k == kind and r == rule.name]
    assert where, f"no fixture has a `-- {kind}: {rule.name}` marker"


def test_markers_name_existing_rules() -> None:
    classes, problems = load_rules(Config())
    assert not problems, problems
    known = {cls.name for cls in classes} | {cls.name for cls in BUILTIN}
    unknown = [f"{p}:{n}: {k}: {r}" for p, n, k, r in all_markers() if r not in known]
    assert not unknown, "markers naming no rule:\n  " + "\n  ".join(unknown)


def test_no_line_both_expects_and_look_alikes_a_rule() -> None:
    kinds: dict[tuple[str, int, str], set[str]] = defaultdict(set)
    for path, line, kind, rule in all_markers():
        kinds[(path, line, rule)].add(kind)
    both = [f"{p}:{n}: {r}" for (p, n, r), k in sorted(kinds.items()) if len(k) > 1]
    assert not both, "expected and look-alike at once:\n  " + "\n  ".join(both)


def folders_with_look_alikes() -> list[str]:
    return sorted({p.split("/")[1] for p, _, kind, _ in all_markers() if kind == "look-alike"})


@pytest.mark.parametrize("folder", folders_with_look_alikes())
def test_look_alikes_draw_no_finding_of_their_rule(folder: str, at_root: None) -> None:
    prefix = f"fixtures/{folder}/"
    look_alikes = {
        (p, n, r) for p, n, k, r in all_markers() if k == "look-alike" and p.startswith(prefix)
    }
    fired = [
        f"{f.location.path}:{f.location.line}: {f.rule}: {f.message}"
        for f in analysed(folder).findings
        if (f.location.path, f.location.line, f.rule) in look_alikes
    ]
    assert not fired, "look-alikes that fired:\n  " + "\n  ".join(fired)


# ---- output order and stability ------------------------------------------------------


def test_findings_are_sorted_and_stable(at_root: None) -> None:
    first = analyze(["fixtures/chat"]).findings
    second = analyze(["fixtures/chat"]).findings
    assert first, "fixtures/chat should produce findings"
    assert [f.to_dict() for f in first] == [f.to_dict() for f in second]
    assert list(first) == sorted(first, key=lambda f: f.sort_key())


# ---- severities of specific findings -------------------------------------------------

TRIGGER_RECURSION = "rules-trigger-recursion"
MISSING_RETURN = "rules-missing-trigger-return/02-functions.sql"


def case(where: str, text: str, rule: str, severity: Severity) -> object:
    """A finding of `rule` on the one line of fixtures/`where` that contains `text`."""
    return pytest.param(where, text, rule, severity, id=f"{where.split('/')[0]}:{text.strip()}")


SEVERITIES = [
    # A loop that pg_trigger_depth(), a WHEN change test or an IS DISTINCT FROM test in
    # the body stops is a note; one that nothing stops is an error.
    *(
        case(f"{TRIGGER_RECURSION}/{file}", f"CREATE TRIGGER {name} ", "trigger-recursion", level)
        for file, name, level in [
            ("01-balances.sql", "payout_accounts_copy_balance", Severity.NOTE),
            ("03-storefront.sql", "shop_checkout_settings_copy_currency", Severity.NOTE),
            ("03-storefront.sql", "shop_pages_index", Severity.NOTE),
            ("02-prices.sql", "listings_copy_price", Severity.ERROR),
            ("04-stock.sql", "restock_requests_prereserve", Severity.ERROR),
            # Guards that leave one path of the loop open: still errors.
            ("05-wallets.sql", "wallet_limits_recheck", Severity.ERROR),
            ("05-wallets.sql", "loyalty_cards_copy", Severity.ERROR),
            ("05-wallets.sql", "coupon_stats_copy", Severity.ERROR),
            ("05-wallets.sql", "buyer_accounts_copy_email", Severity.ERROR),
        ]
    ),
    # Falling off the end fails the statement (error); RETURN NULL from a BEFORE row
    # trigger silently skips the row (warning).
    case(MISSING_RETURN, "public.record_price_change()", "missing-trigger-return", Severity.ERROR),
    case(MISSING_RETURN, "RETURN NULL;  -- expect:", "missing-trigger-return", Severity.WARNING),
    case(
        "rules-hot-row-contention/02-functions.sql",
        "INSERT INTO public.tenant_daily_usage",
        "hot-row-contention",
        Severity.NOTE,
    ),
    case(
        "rules-unresolved-reference/02-functions.sql",
        "PERFORM search_index_article(",
        "unresolved-reference",
        Severity.NOTE,
    ),
    case(
        "rules-dynamic-sql/02-functions.sql",
        "EXECUTE format('INSERT INTO public.%I",
        "dynamic-sql",
        Severity.NOTE,
    ),
    case(
        "rules-security-definer-search-path/02-functions.sql",
        "FUNCTION public.count_project()",
        "security-definer-search-path",
        Severity.WARNING,
    ),
]


def line_with(path: Path, text: str) -> int:
    text_lines = path.read_text(encoding="utf-8").splitlines()
    lines = [number for number, line in enumerate(text_lines, 1) if text in line]
    assert len(lines) == 1, f"{path}: {text!r} is on lines {lines}, expected exactly one"
    return lines[0]


@pytest.mark.parametrize(("where", "text", "rule", "severity"), SEVERITIES)
def test_severity_of_specific_findings(
    where: str, text: str, rule: str, severity: Severity, at_root: None
) -> None:
    path = FIXTURES / where
    line = line_with(path, text)
    relative = path.relative_to(ROOT).as_posix()
    found = [
        f
        for f in analysed(where.split("/")[0]).findings
        if f.rule == rule and f.location.path == relative and f.location.line == line
    ]
    assert found, f"no {rule} finding at {relative}:{line}"
    assert [f.severity for f in found] == [severity] * len(found), [
        f"{f.severity.value}: {f.message}" for f in found
    ]
