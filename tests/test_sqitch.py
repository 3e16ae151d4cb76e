"""Sqitch projects: a sqitch.plan next to deploy/, revert/ and verify/. `sqitch deploy`
runs only deploy/<change>.sql, in plan order (a reworked change's earlier version,
deploy/<change>@<tag>.sql, first); revert/ and verify/ never run forward."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.findings import Diagnostic
from analyzer.loader import load
from analyzer.source import discover

PLAN = """%syntax-version=1.0.0
%project=shop

users 2024-01-01T00:00:00Z dev <dev@example.com> # users
orders [users] 2024-01-02T00:00:00Z dev <dev@example.com> # orders
count_order [orders] 2024-01-03T00:00:00Z dev <dev@example.com> # counter
@v1.0 2024-01-04T00:00:00Z dev <dev@example.com> # release 1.0

count_order [count_order@v1.0] 2024-02-01T00:00:00Z dev <dev@example.com> # inserts only
"""
FILES = {
    "deploy/users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0);\n",
    "deploy/orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL);\n",
    "deploy/count_order@v1.0.sql": (
        "CREATE OR REPLACE FUNCTION count_order() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN UPDATE users SET n = n + 1 WHERE id = NEW.user_id; RETURN NULL; END $$;\n"
        "CREATE TRIGGER count_order AFTER INSERT OR UPDATE ON orders\n"
        "  FOR EACH ROW EXECUTE FUNCTION count_order();\n"
    ),
    "deploy/count_order.sql": (
        "CREATE OR REPLACE FUNCTION count_order() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN UPDATE users SET n = n + 1 WHERE id = NEW.user_id; RETURN NULL; END $$;\n"
        "DROP TRIGGER count_order ON orders;\n"
        "CREATE TRIGGER count_order AFTER INSERT ON orders\n"
        "  FOR EACH ROW EXECUTE FUNCTION count_order();\n"
    ),
    "deploy/scratch.sql": "CREATE TABLE scratch (id int);\n",
    "revert/users.sql": "DROP TABLE users;\n",
    "revert/orders.sql": "DROP TABLE orders;\n",
    "revert/count_order.sql": "DROP TRIGGER count_order ON orders;\n",
    "verify/users.sql": "BEGIN; SELECT id FROM users WHERE false; ROLLBACK;\n",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    top = tmp_path / "app" / "sqitch"
    for name, text in FILES.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_text(text, encoding="utf-8")
    (top / "sqitch.plan").write_text(PLAN, encoding="utf-8")
    (tmp_path / "app" / "seed.sql").write_text("SELECT 1;\n", encoding="utf-8")
    return tmp_path / "app"


def test_deploy_scripts_run_in_plan_order_and_the_rest_is_skipped(project: Path) -> None:
    found, diagnostics = discover(["app"])
    assert [shown for shown, _ in found] == [
        "app/seed.sql",
        "app/sqitch/deploy/users.sql",
        "app/sqitch/deploy/orders.sql",
        "app/sqitch/deploy/count_order@v1.0.sql",
        "app/sqitch/deploy/count_order.sql",
    ]
    assert diagnostics == [
        Diagnostic(
            "app/sqitch/sqitch.plan",
            1,
            1,
            "Sqitch project: 4 deploy/ scripts applied in plan order; skipped 5 not deployed: "
            "app/sqitch/deploy/scratch.sql, app/sqitch/revert/count_order.sql, "
            "app/sqitch/revert/orders.sql, app/sqitch/revert/users.sql, "
            "app/sqitch/verify/users.sql",
        )
    ]


def test_the_schema_is_the_deployed_one(project: Path) -> None:
    catalog = load(["app"])
    assert sorted(catalog.tables) == ["public.orders", "public.users"]
    (trigger,) = catalog.triggers.values()
    assert trigger.events == ("insert",)  # the reworked version, applied last


def test_the_deploy_folder_alone_keeps_plan_order(project: Path) -> None:
    found, diagnostics = discover(["app/sqitch/deploy"])
    assert [shown.rsplit("/", 1)[1] for shown, _ in found] == [
        "users.sql",
        "orders.sql",
        "count_order@v1.0.sql",
        "count_order.sql",
    ]
    assert [d.message for d in diagnostics] == [
        "Sqitch project: 4 deploy/ scripts applied in plan order; skipped 1 not deployed: "
        "app/sqitch/deploy/scratch.sql"
    ]


def test_without_a_plan_revert_folders_are_ordinary_sql(project: Path) -> None:
    (project / "sqitch" / "sqitch.plan").unlink()
    found, diagnostics = discover(["app"])
    assert len(found) == 10 and diagnostics == []
    assert "app/sqitch/revert/users.sql" in [shown for shown, _ in found]


def test_a_planned_change_without_its_script_is_reported(project: Path) -> None:
    (project / "sqitch" / "deploy" / "orders.sql").unlink()
    _, diagnostics = discover(["app"])
    (diagnostic,) = diagnostics
    assert diagnostic.message.endswith("; planned but missing: orders.sql")
