"""The machine formats validate: SARIF against the vendored SARIF 2.1.0 schema, JSON against
the schema shipped in the package; both also with suppressions and a baseline in play."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_check_helpers import ROOT, copy_chat, patch_analysis, run

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GOLDEN = ROOT / "tests" / "golden"


def sarif_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "tests/schemas/sarif-schema-2.1.0.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def check_validator() -> jsonschema.Draft202012Validator:
    text = resources.files("analyzer").joinpath("schemas/check.schema.json").read_text("utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_analysis(monkeypatch)


def with_suppression_and_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """chat with one suppressed finding, one unused suppression without a reason, and a
    baseline that misses the last finding and remembers one more than there is."""
    chat = copy_chat(tmp_path, monkeypatch)
    triggers = chat / "04-triggers.sql"
    triggers.write_text(
        triggers.read_text("utf-8").replace(
            "CREATE TRIGGER on_session_created",
            "CREATE TRIGGER on_session_created  -- sqlripple: ignore[RP102] one per signup\n"
            "-- sqlripple: ignore[dynamic-sql]\n",
        ),
        "utf-8",
    )
    assert run("check", "chat", "--write-baseline", "base.json")[0] == 0
    baseline = json.loads(Path("base.json").read_text("utf-8"))
    baseline["findings"][0]["count"] += 1
    baseline["findings"].pop()
    Path("base.json").write_text(json.dumps(baseline), "utf-8")
    return chat


def test_sarif_golden_is_valid_sarif_2_1_0() -> None:
    document = json.loads((GOLDEN / "chat.sarif").read_text("utf-8"))
    sarif_validator().validate(document)
    run_ = document["runs"][0]
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]][:3] == ["RP101", "RP102", "RP103"]
    assert len(run_["results"]) == 11


def test_sarif_with_suppressions_and_baseline_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_suppression_and_baseline(tmp_path, monkeypatch)
    code, out, _ = run("check", "chat", "--format", "sarif", "--baseline", "base.json")
    document = json.loads(out)
    sarif_validator().validate(document)
    results = document["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [s["suppressions"] for s in suppressed] == [
        [
            {
                "kind": "inSource",
                "status": "accepted",
                "location": {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "chat/04-triggers.sql"},
                        "region": {
                            "startLine": 15,
                            "startColumn": 36,
                            "endLine": 15,
                            "endColumn": 78,
                        },
                    }
                },
                "justification": "one per signup",
            }
        ]
    ]
    new = [r for r in results if r.get("baselineState") == "new"]
    assert [
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in new
    ] == [("RP102", 26)]
    assert code == 1


def test_json_golden_matches_the_shipped_schema() -> None:
    document = json.loads((GOLDEN / "chat.json").read_text("utf-8"))
    check_validator().validate(document)


def test_json_with_suppressions_and_baseline_matches_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_suppression_and_baseline(tmp_path, monkeypatch)
    _, out, _ = run("check", "chat", "--format", "json", "--baseline", "base.json")
    document: dict[str, Any] = json.loads(out)
    check_validator().validate(document)
    assert [s["rule"] for s in document["suppressed"]] == ["write-amplification"]
    assert document["suppressed"][0]["suppression"]["reason"] == "one per signup"
    assert document["baseline"]["known"] == 11
    assert document["baseline"]["new"] == 1
    assert [a["count"] for a in document["baseline"]["absent"]] == [1]


def test_the_schema_rejects_what_the_contract_does_not_allow() -> None:
    document = json.loads((GOLDEN / "chat.json").read_text("utf-8"))
    validator = check_validator()
    extra = {**document, "surprise": 1}
    wrong_severity = json.loads(json.dumps(document))
    wrong_severity["findings"][0]["severity"] = "fatal"
    no_fingerprint = json.loads(json.dumps(document))
    del no_fingerprint["findings"][0]["fingerprint"]
    for bad in (extra, wrong_severity, no_fingerprint):
        assert not validator.is_valid(bad)


def test_the_schema_ships_with_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "schemas/*.json" in pyproject["tool"]["setuptools"]["package-data"]["analyzer"]
    assert resources.files("analyzer").joinpath("schemas/check.schema.json").is_file()
