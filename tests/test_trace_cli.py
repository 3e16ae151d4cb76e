"""`sqlripple trace` end to end: the JSON contract of DESIGN.md, `--sql`, text output.

The chat fixture is the motivating case of DESIGN.md: a re-sent message (an upsert that
hits the stored row) runs the session stats trigger and the usage tracker again. The
server's counts for the same statements are in fixtures/chat/trace.toml (measured on
PostgreSQL by tests/test_fixtures_load.py); every trace here must contain them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from analyzer.cli import cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CHAT = str(FIXTURES / "chat")
CHAT_FIXED = str(FIXTURES / "chat-fixed")
MESSAGE_COLUMNS = "content,model,input_tokens,output_tokens,total_tokens"
CONFLICT = ["--table", "chat_messages", "--op", "upsert", "--columns", MESSAGE_COLUMNS]
KINDS = ("insert", "update", "delete", "upsert")
USER = "00000000-0000-4000-8000-00000000a001"


def invoke(*args: str) -> Result:
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["trace", *args])


def trace_json(*args: str) -> dict[str, Any]:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def totals(
    firings: dict[str, int] | None = None,
    calls: dict[str, int] | None = None,
    writes: dict[str, dict[str, int]] | None = None,
    scans: int = 0,
) -> dict[str, Any]:
    """The DESIGN.md totals document, written compactly (row kinds default to 0)."""
    row_writes = {
        table: {kind: kinds.get(kind, 0) for kind in KINDS}
        for table, kinds in sorted((writes or {}).items())
    }
    return {
        "trigger_firings": dict(sorted((firings or {}).items())),
        "function_calls": dict(sorted((calls or {}).items())),
        "row_writes": row_writes,
        "aggregate_scans": scans,
        "total_row_writes": sum(sum(kinds.values()) for kinds in row_writes.values()),
    }


def measured(folder: str, name: str) -> dict[str, Any]:
    document = tomllib.loads((FIXTURES / folder / "trace.toml").read_text(encoding="utf-8"))
    (entry,) = [e for e in document["entry"] if e["name"] == name]
    return entry


def assert_server_within(document: dict[str, Any], entry: dict[str, Any]) -> None:
    """The server's function calls and row writes lie within [totals_min, totals] (a
    null upper bound is none)."""
    low, high = document["totals_min"], document["totals"]
    outside = []

    def within(value: int, lo: int, *highs: int | None) -> bool:
        return lo <= value and (None in highs or value <= sum(h or 0 for h in highs))

    for name in sorted(set(entry["function_calls"]) | set(high["function_calls"])):
        value = entry["function_calls"].get(name, 0)
        lo, hi = low["function_calls"].get(name, 0), high["function_calls"].get(name, 0)
        if not within(value, lo, hi):
            outside.append(f"calls {name}: server {value}, predicted {lo}..{hi}")
    zero = dict.fromkeys(KINDS, 0)
    for table in sorted(set(entry["row_writes"]) | set(high["row_writes"])):
        server = {**zero, **entry["row_writes"].get(table, {})}
        lo = low["row_writes"].get(table, zero)
        hi = high["row_writes"].get(table, zero)
        for kind in ("insert", "update"):  # an upsert row is one or the other
            if not within(server[kind], lo[kind], hi[kind], hi["upsert"]):
                outside.append(f"{kind} {table}: server {server[kind]}, predicted {lo}..{hi}")
        if not within(server["delete"], lo["delete"], hi["delete"]):
            outside.append(f"delete {table}: server {server['delete']}, predicted {lo}..{hi}")
    total = entry["total_row_writes"]
    if not within(total, low["total_row_writes"], high["total_row_writes"]):
        outside.append(f"total row writes: server {total}")
    assert not outside, "\n".join(outside)


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("children", []):
        found.extend(walk(child))
    return found


# ------------------------------------------------------------------ the JSON contract

CHAT_CONFLICT_UPPER = totals(
    {
        "public.chat_messages.fill_message_defaults": 1,
        "public.chat_messages.on_message_change": 1,
        "public.chat_sessions.set_chat_sessions_updated_at": 1,
        "public.profiles.set_profiles_updated_at": 1,
    },
    {
        "public.fill_message_defaults": 1,
        "public.update_session_stats": 1,
        "public.track_user_usage": 1,
        "public.set_updated_at": 2,
    },
    {
        "public.chat_messages": {"update": 1},
        "public.chat_sessions": {"update": 1},
        "public.profiles": {"update": 1},
        # Whether today's usage row exists yet is data: an upsert either way.
        "public.user_usage_daily": {"upsert": 1},
    },
    scans=1,
)
# NEW.role IN ('user', 'assistant') cannot be decided: the tracker may not run.
CHAT_CONFLICT_LOWER = totals(
    {
        "public.chat_messages.fill_message_defaults": 1,
        "public.chat_messages.on_message_change": 1,
        "public.chat_sessions.set_chat_sessions_updated_at": 1,
    },
    {
        "public.fill_message_defaults": 1,
        "public.update_session_stats": 1,
        "public.set_updated_at": 1,
    },
    {"public.chat_messages": {"update": 1}, "public.chat_sessions": {"update": 1}},
    scans=1,
)


@pytest.mark.parametrize(
    ("flags", "scenario", "measured_as"),
    [
        ([], "conflict", "message-upsert-conflict-changed"),
        (["--unchanged"], "conflict, unchanged", "message-upsert-conflict-unchanged"),
    ],
    ids=["changed", "unchanged"],
)
def test_json_contract_on_the_chat_upsert_conflict_path(
    flags: list[str], scenario: str, measured_as: str
) -> None:
    document = trace_json(CHAT, *CONFLICT, *flags)
    assert {"entry", "totals", "totals_min", "tree", "cycles", "unknowns"} <= set(document)
    entry = document["entry"]
    assert {k: entry[k] for k in ("table", "operation", "scenario", "rows")} == {
        "table": "public.chat_messages",
        "operation": "upsert",
        "scenario": scenario,
        "rows": 1,
    }
    assert document["totals"] == CHAT_CONFLICT_UPPER
    assert document["totals_min"] == CHAT_CONFLICT_LOWER
    assert document["cycles"] == []
    assert document["unknowns"] == []
    assert document["outcome"] == {"fails": "no", "errors": []}
    # The list, spelled out.
    high = document["totals"]
    assert high["function_calls"]["public.update_session_stats"] == 1
    assert high["function_calls"]["public.track_user_usage"] == 1
    assert high["trigger_firings"]["public.chat_sessions.set_chat_sessions_updated_at"] == 1
    assert high["trigger_firings"]["public.profiles.set_profiles_updated_at"] == 1
    assert high["function_calls"]["public.set_updated_at"] == 2
    assert {table: sum(kinds.values()) for table, kinds in high["row_writes"].items()} == {
        "public.chat_messages": 1,
        "public.chat_sessions": 1,
        "public.user_usage_daily": 1,
        "public.profiles": 1,
    }
    assert high["total_row_writes"] == 4
    assert_server_within(document, measured("chat", measured_as))


@pytest.mark.parametrize("flags", [[], ["--unchanged"]], ids=["changed", "unchanged"])
def test_fixed_chat_does_not_track_a_resent_message(flags: list[str]) -> None:
    document = trace_json(CHAT_FIXED, *CONFLICT, *flags)
    for bound in ("totals", "totals_min"):
        assert "public.track_user_usage" not in document[bound]["function_calls"]
        assert "public.user_usage_daily" not in document[bound]["row_writes"]
        assert "public.profiles" not in document[bound]["row_writes"]
    name = "message-upsert-conflict-" + ("unchanged" if flags else "changed")
    assert_server_within(document, measured("chat-fixed", name))


def test_fixed_chat_resend_unchanged_costs_its_own_row_only() -> None:
    document = trace_json(CHAT_FIXED, *CONFLICT, "--unchanged")
    exact = totals(
        {
            "public.chat_messages.fill_message_defaults": 1,
            # INSERT statement trigger of the upsert; its NEW TABLE is empty on conflict.
            "public.chat_messages.on_messages_inserted": 1,
        },
        {"public.fill_message_defaults": 1, "public.record_new_messages": 1},
        {"public.chat_messages": {"update": 1}},
    )
    assert document["totals"] == document["totals_min"] == exact


def test_new_row_path() -> None:
    document = trace_json(CHAT, *CONFLICT, "--new-row")
    assert document["entry"]["scenario"] == "new-row"
    upper = json.loads(json.dumps(CHAT_CONFLICT_UPPER))
    upper["row_writes"]["public.chat_messages"] = {**dict.fromkeys(KINDS, 0), "insert": 1}
    lower = json.loads(json.dumps(CHAT_CONFLICT_LOWER))
    lower["row_writes"]["public.chat_messages"] = {**dict.fromkeys(KINDS, 0), "insert": 1}
    assert document["totals"] == upper
    assert document["totals_min"] == lower
    assert_server_within(document, measured("chat", "message-upsert-new-row"))


def test_delete_path_is_exact() -> None:
    document = trace_json(CHAT, "--table", "chat_messages", "--op", "delete")
    exact = totals(
        {
            "public.chat_messages.on_message_change": 1,
            "public.chat_sessions.set_chat_sessions_updated_at": 1,
        },
        {"public.update_session_stats": 1, "public.set_updated_at": 1},
        {"public.chat_messages": {"delete": 1}, "public.chat_sessions": {"update": 1}},
        scans=1,
    )
    assert document["totals"] == document["totals_min"] == exact
    server = measured("chat", "message-delete")
    assert exact["function_calls"] == server["function_calls"]
    assert exact["total_row_writes"] == server["total_row_writes"]


def test_rows_multiply_row_work_not_statement_work() -> None:
    document = trace_json(
        str(FIXTURES / "sem-transition-table"),
        "--table",
        "readings",
        "--op",
        "insert",
        "--rows",
        "100",
    )
    assert document["entry"]["rows"] == 100
    assert document["totals"]["trigger_firings"] == {
        "public.readings.readings_clamp": 100,
        "public.readings.readings_overheat": 100,
        "public.readings.readings_rollup": 1,
    }


def test_json_output_is_deterministic() -> None:
    first = invoke(CHAT, *CONFLICT, "--format", "json")
    second = invoke(CHAT, *CONFLICT, "--format", "json")
    assert first.stdout == second.stdout
    assert first.stdout.endswith("}\n")


# ----------------------------------------------------------------------------- --sql

UPSERT_ONE_COLUMN = (
    "INSERT INTO chat_messages (id, session_id, user_id, role, content) "
    "VALUES ('00000000-0000-4000-8000-00000000c001', '00000000-0000-4000-8000-00000000b001', "
    f"'{USER}', 'user', 'Hello') "
    "ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content"
)


@pytest.mark.parametrize(
    ("sql", "flags", "expected"),
    [
        (UPSERT_ONE_COLUMN, [], ("public.chat_messages", "upsert", "conflict", ["content"])),
        (
            UPSERT_ONE_COLUMN,
            ["--unchanged"],
            ("public.chat_messages", "upsert", "conflict, unchanged", ["content"]),
        ),
        (
            UPSERT_ONE_COLUMN,
            ["--new-row"],
            ("public.chat_messages", "upsert", "new-row", ["content"]),
        ),
        (
            "INSERT INTO public.chat_messages (id, content) VALUES ('x', 'y') "
            "ON CONFLICT ON CONSTRAINT chat_messages_pkey "
            "DO UPDATE SET content = EXCLUDED.content, model = EXCLUDED.model;",
            [],
            ("public.chat_messages", "upsert", "conflict", ["content", "model"]),
        ),
        (
            "INSERT INTO chat_messages (id, content) VALUES ('x', 'y') ON CONFLICT (id) DO NOTHING",
            [],
            ("public.chat_messages", "upsert", "conflict, do nothing", None),
        ),
        (
            "insert into CHAT_SESSIONS (id, user_id) values ('s', 'u')",
            [],
            ("public.chat_sessions", "insert", "default", None),
        ),
        (
            "UPDATE public.chat_sessions SET title = 'Renamed', last_activity = now() "
            "WHERE id = 's'",
            [],
            ("public.chat_sessions", "update", "changed", ["title", "last_activity"]),
        ),
        (
            "DELETE FROM chat_messages WHERE id = 'x'",
            [],
            ("public.chat_messages", "delete", "default", None),
        ),
    ],
    ids=[
        "upsert",
        "upsert-unchanged",
        "upsert-new-row",
        "on-constraint",
        "do-nothing",
        "insert",
        "update",
        "delete",
    ],
)
def test_sql_reads_the_entry(
    sql: str, flags: list[str], expected: tuple[str, str, str, list[str] | None]
) -> None:
    entry = trace_json(CHAT, "--sql", sql, *flags)["entry"]
    assert (entry["table"], entry["operation"], entry["scenario"], entry["columns"]) == expected


def test_sql_traces_what_the_equivalent_options_trace() -> None:
    from_sql = trace_json(CHAT, "--sql", UPSERT_ONE_COLUMN)
    from_options = trace_json(
        CHAT, "--table", "chat_messages", "--op", "upsert", "--columns", "content"
    )
    assert from_sql == from_options


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("message-upsert-conflict-changed", []),
        ("message-upsert-conflict-unchanged", ["--unchanged"]),
        ("message-upsert-new-row", ["--new-row"]),
        ("message-delete", []),
    ],
)
def test_sql_of_the_measured_statements_contains_the_server_counts(
    name: str, flags: list[str]
) -> None:
    entry = measured("chat", name)
    document = trace_json(CHAT, "--sql", entry["sql"], *flags)
    assert document["entry"]["table"] == entry["table"]
    assert document["entry"]["operation"] == entry["op"]
    assert_server_within(document, entry)


# Every write of sync_user_conversations sits in a FOR … IN SELECT loop (conversations,
# and messages inside them): PostgreSQL runs it once per row of the query, which nothing
# bounds statically, so everything below the call has no upper bound (null).
_LOOPED = {"insert": 0, "update": 0, "delete": 0, "upsert": 0}
SYNC_UPPER = {
    "trigger_firings": {
        name: None
        for name in (
            "public.chat_messages.fill_message_defaults",
            "public.chat_messages.on_message_change",
            "public.chat_sessions.on_session_created",
            "public.chat_sessions.set_chat_sessions_updated_at",
            "public.profiles.set_profiles_updated_at",
        )
    },
    "function_calls": {
        "public.fill_message_defaults": None,
        "public.handle_session_created": None,
        "public.set_updated_at": None,
        "public.sync_user_conversations": 1,
        "public.track_user_usage": None,
        "public.update_session_stats": None,
    },
    "row_writes": {
        "public.chat_messages": {**_LOOPED, "upsert": None},
        "public.chat_sessions": {**_LOOPED, "update": None, "upsert": None},
        "public.profiles": {**_LOOPED, "update": None},
        "public.user_usage_daily": {**_LOOPED, "upsert": None},
    },
    "aggregate_scans": None,
    "total_row_writes": None,
}


def test_sql_traces_a_function_call_with_constant_arguments() -> None:
    document = trace_json(
        CHAT, "--sql", f"SELECT public.sync_user_conversations('{USER}'::uuid, '[]'::jsonb)"
    )
    root = document["tree"]
    assert root["kind"] == "call"
    assert root["name"] == "public.sync_user_conversations(uuid,jsonb)"
    assert f"p_user_id = '{USER}'" in root["detail"]
    assert document["entry"]["operation"] == "call"
    # None round each loop at least; no bound on the rounds at most.
    assert document["totals"] == SYNC_UPPER
    assert document["totals_min"] == totals(calls={"public.sync_user_conversations": 1})


def _profiles_updates(document: dict[str, Any]) -> list[tuple[int, bool]]:
    return sorted(
        (node["location"]["line"], node["certain"])
        for node in walk(document["tree"])
        if node["kind"] == "statement" and node["name"] == "public.profiles"
    )


def _profiles_update_lines() -> list[int]:
    text = (FIXTURES / "chat" / "03-functions.sql").read_text(encoding="utf-8")
    return [n for n, line in enumerate(text.splitlines(), 1) if "UPDATE profiles" in line]


@pytest.mark.parametrize(
    ("argument", "branch"), [("true", 0), ("false", 1)], ids=["session", "message"]
)
def test_constant_argument_decides_which_update_runs(argument: str, branch: int) -> None:
    sessions_line, messages_line = _profiles_update_lines()
    sql = f"SELECT public.track_user_usage('{USER}', 'user', 'gpt-4o-mini', 12, 3, {argument})"
    document = trace_json(CHAT, "--sql", sql)
    assert _profiles_updates(document) == [((sessions_line, messages_line)[branch], True)]
    assert document["totals"] == totals(
        {"public.profiles.set_profiles_updated_at": 1},
        {"public.track_user_usage": 1, "public.set_updated_at": 1},
        {"public.profiles": {"update": 1}, "public.user_usage_daily": {"upsert": 1}},
    )
    # The branch is certain, its row is not: nothing in the schema says a profile with
    # the id the caller passes exists, and UPDATE … WHERE id = p_user_id then updates none.
    assert document["totals_min"] == totals(
        calls={"public.track_user_usage": 1}, writes={"public.user_usage_daily": {"upsert": 1}}
    )


def test_argument_default_is_a_constant_too() -> None:
    _, messages_line = _profiles_update_lines()
    sql = f"CALL public.track_user_usage('{USER}', 'assistant', NULL, 0, 40)"
    document = trace_json(CHAT, "--sql", sql)
    assert _profiles_updates(document) == [(messages_line, True)]


def test_unknown_argument_leaves_both_updates_possible() -> None:
    sessions_line, messages_line = _profiles_update_lines()
    sql = f"SELECT public.track_user_usage('{USER}', 'user', NULL, 1, 2, random() > 0.5)"
    document = trace_json(CHAT, "--sql", sql)
    assert _profiles_updates(document) == [(sessions_line, False), (messages_line, False)]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT count(*) FROM chat_messages", "expected one INSERT, UPDATE, DELETE"),
        ("SELECT 1", "expected one INSERT, UPDATE, DELETE"),
        (
            "DELETE FROM no_such_table WHERE id = 1",
            "table public.no_such_table is not in the schema",
        ),
        ("SELECT public.no_such_function(1)", "function public.no_such_function is not in the"),
        ("UPDATE chat_messages SET content =", "--sql:"),
        ("", "--sql:"),
    ],
    ids=["select", "select-constant", "unknown-table", "unknown-function", "broken", "empty"],
)
def test_sql_that_is_not_one_entry_exits_2(sql: str, message: str) -> None:
    result = invoke(CHAT, "--sql", sql)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_two_statements_exit_2() -> None:
    result = invoke(
        CHAT, "--sql", "DELETE FROM chat_messages WHERE id = 'x'; DELETE FROM chat_sessions"
    )
    assert result.exit_code == 2
    assert "one" in result.stderr


def test_function_call_in_from_is_a_call() -> None:
    sql = f"SELECT * FROM public.sync_user_conversations('{USER}', '[]')"
    assert trace_json(CHAT, "--sql", sql)["entry"]["operation"] == "call"


def test_update_without_assignments_exits_2() -> None:
    result = invoke(CHAT, "--sql", "UPDATE chat_messages SET")
    assert result.exit_code == 2


@pytest.mark.parametrize(
    "extra", [["--table", "chat_sessions"], ["--op", "insert"]], ids=["table", "op"]
)
def test_sql_with_table_or_op_exits_2(extra: list[str]) -> None:
    result = invoke(CHAT, "--sql", "DELETE FROM chat_messages", *extra)
    assert result.exit_code == 2
    assert "either" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--sql", "DELETE FROM chat_messages", "--table", "chat_messages", "--op", "delete"],
            "either",
        ),
        (["--table", "chat_messages"], "either"),
        ([], "either"),
        (["--table", "no_such_table", "--op", "insert"], "no_such_table is not in the schema"),
    ],
    ids=["both", "no-op", "neither", "unknown-table"],
)
def test_option_errors_exit_2(args: list[str], message: str) -> None:
    result = invoke(CHAT, *args)
    assert result.exit_code == 2
    assert message in result.stderr


# -------------------------------------------------------------------------- text output


def test_text_output_has_the_tree_and_the_totals_table() -> None:
    result = invoke(CHAT, *CONFLICT, "--rows", "3")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "statement public.chat_messages  UPSERT (conflict) SET content, model, input_tokens, "
        "output_tokens, total_tokens"
    )
    assert lines[1] == "└── row public.chat_messages  per source row  (x3)"
    for expected in (
        "├── trigger public.chat_messages.fill_message_defaults  BEFORE INSERT ROW  ",
        "└── trigger public.chat_messages.on_message_change  AFTER UPDATE ROW  ",
        "├── read public.chat_messages  count, sum over set by session_id  (set)  ",
        "└── function public.track_user_usage  call [if NEW.role IN ('user', 'assistant')]"
        "  [maybe]  ",
        "├── trigger public.chat_sessions.set_chat_sessions_updated_at  BEFORE UPDATE ROW  ",
    ):
        assert any(expected in line for line in lines), expected
    title = next(n for n, line in enumerate(lines) if "What one write costs" in line)
    table = "\n".join(lines[title:])
    header = next(line for line in table.splitlines() if "per source row" in line)
    assert "for 3 rows" in header

    def row(what: str, name: str) -> list[str]:
        for line in table.splitlines():
            cells = [c.strip() for c in line.strip("│").split("│")]
            if cells[:2] == [what, name]:
                return cells[2:]
        raise AssertionError(f"no row {what} {name}")

    assert row("function", "public.track_user_usage") == ["0..1", "0..3"]
    assert row("function", "public.set_updated_at") == ["1..2", "3..6"]
    assert row("trigger", "public.chat_messages.on_message_change") == ["1", "3"]
    assert row("upsert rows", "public.user_usage_daily") == ["0..1", "0..3"]
    assert row("row writes", "total") == ["2..4", "6..12"]


def test_text_output_reports_an_unbroken_cycle() -> None:
    result = invoke(str(FIXTURES / "sem-recursion"), "--table", "warehouse_stock", "--op", "update")
    assert result.exit_code == 0
    assert (
        "cycle: public.warehouse_stock.warehouse_stock_copy -> "
        "public.storefront_stock.storefront_stock_copy (nothing breaks it)"
    ) in result.stdout
    assert "recursion cut here" in result.stdout


def test_text_output_is_deterministic() -> None:
    assert invoke(CHAT, *CONFLICT).stdout == invoke(CHAT, *CONFLICT).stdout


SHOP = FIXTURES / "rules-missing-trigger-return"
SHOP_FUNCTIONS = "fixtures/rules-missing-trigger-return/02-functions.sql"
NO_RETURN = "control reached end of trigger procedure without RETURN"


@pytest.mark.parametrize(
    ("args", "fails", "message", "line"),
    [
        # forbid_gift_card_delete() raises unless the balance is 0: data the trace cannot see
        (
            ["--table", "gift_cards", "--op", "delete"],
            "possibly",
            "gift card % still holds % cents",
            101,
        ),
        # apply_coupon_use() ends without RETURN on its normal path
        (["--table", "shop_orders", "--op", "insert"], "certainly", NO_RETURN, 20),
        # record_price_change() returns only when the price changes
        (["--table", "shop_products", "--op", "update", "--unchanged"], "certainly", NO_RETURN, 2),
        (["--table", "shop_products", "--op", "update"], "possibly", NO_RETURN, 2),
    ],
)
def test_trace_predicts_run_time_errors(
    args: list[str], fails: str, message: str, line: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(SHOP.parent.parent)
    document = trace_json(str(SHOP.relative_to(SHOP.parent.parent)), *args)
    certain = fails == "certainly"
    condition = (
        "raise_exception" if message != NO_RETURN else "function_executed_no_return_statement"
    )
    assert document["outcome"] == {
        "fails": fails,
        "errors": [
            {
                "condition": condition,
                "message": message,
                "location": {"path": SHOP_FUNCTIONS, "line": line},
                "certain": certain,
            }
        ],
    }
    text = invoke(str(SHOP.relative_to(SHOP.parent.parent)), *args).stdout
    verdict = "the statement fails" if certain else "the statement may fail"
    assert f"{verdict}: {message} ({SHOP_FUNCTIONS}:{line})" in text
    assert ("The statement fails and is rolled back" in text) == certain


def test_a_raise_notice_and_a_look_alike_trigger_do_not_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(SHOP.parent.parent)
    # check_import_window() raises a WARNING only; fill_search_text() returns on every path
    document = trace_json(
        "fixtures/rules-missing-trigger-return", "--table", "shop_products", "--op", "insert"
    )
    assert document["outcome"] == {"fails": "no", "errors": []}


def _child_row_entries() -> list[tuple[str, dict[str, Any]]]:
    """Every server-measured entry whose FK action reaches a known number of child rows."""
    found = []
    for path in sorted(FIXTURES.glob("*/trace.toml")):
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        for entry in document["entry"]:
            counts = set(entry.get("child_rows", {}).values())
            if len(counts) == 1:
                found.append((path.parent.name, entry))
    return found


@pytest.mark.parametrize(
    ("folder", "entry"),
    _child_row_entries(),
    ids=[f"{folder}:{entry['name']}" for folder, entry in _child_row_entries()],
)
def test_children_option_predicts_the_measured_fk_action(
    folder: str, entry: dict[str, Any]
) -> None:
    """`--children N` is the number of rows each FK action reaches per parent row: with
    the number the server's setup really had, the server's counts are within the trace."""
    (children,) = set(entry["child_rows"].values())
    document = trace_json(
        str(FIXTURES / folder),
        "--table",
        entry["table"],
        "--op",
        entry["op"],
        "--children",
        str(children),
    )
    assert document["entry"]["children_per_parent"] == children
    assert_server_within(document, entry)


def test_children_zero_means_no_fk_action_rows() -> None:
    folder = str(FIXTURES / "sem-fk-actions")
    three = trace_json(folder, "--table", "orders", "--op", "delete", "--children", "3")
    none = trace_json(folder, "--table", "orders", "--op", "delete", "--children", "0")
    assert three["totals"]["row_writes"]["public.order_items"]["delete"] == 3
    assert three["totals"]["function_calls"] == {"public.release_reserved_stock": 3}
    assert none["totals"]["row_writes"].get("public.order_items", {}).get("delete", 0) == 0
    assert none["totals"]["function_calls"] == {}
    assert none["totals"]["total_row_writes"] == 1


def test_children_must_not_be_negative() -> None:
    result = invoke(
        str(FIXTURES / "sem-fk-actions"), "--table", "orders", "--op", "delete", "--children", "-1"
    )
    assert result.exit_code == 2
    assert "--children" in result.stderr


QUOTED_AND_EXTERNAL = """CREATE TABLE "Post" (id text PRIMARY KEY, author uuid NOT NULL);
CREATE TABLE post (id text PRIMARY KEY);
CREATE TABLE public.profiles (id uuid PRIMARY KEY REFERENCES auth.users ON DELETE CASCADE);
CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.profiles (id) VALUES (NEW.id);
  RETURN NEW;
END $$;
CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
  FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
CREATE FUNCTION public.log_post() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO post (id) VALUES (NEW.id);
  RETURN NEW;
END $$;
CREATE TRIGGER log_post AFTER INSERT ON "Post" FOR EACH ROW EXECUTE FUNCTION public.log_post();
"""


@pytest.mark.parametrize(
    ("table", "resolved"),
    [
        ('"Post"', "public.Post"),
        ('public."Post"', "public.Post"),
        ("Post", "public.post"),  # unquoted folds to lower case, as in PostgreSQL
        ("POST", "public.post"),
        ("auth.users", "auth.users"),  # defined by the platform; this schema triggers on it
        ("AUTH.Users", "auth.users"),
    ],
)
def test_table_option_reads_sql_identifiers(tmp_path: Path, table: str, resolved: str) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(QUOTED_AND_EXTERNAL, encoding="utf-8")
    document = trace_json(str(schema), "--table", table, "--op", "insert")
    assert document["entry"]["table"] == resolved


@pytest.mark.parametrize("table", ['"post', "public.post.x", '"POST"', "nowhere", "a b"])
def test_table_option_rejects_what_names_no_relation(tmp_path: Path, table: str) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(QUOTED_AND_EXTERNAL, encoding="utf-8")
    result = invoke(str(schema), "--table", table, "--op", "insert")
    assert result.exit_code == 2
    assert f"table {table} is not in the schema" in result.stderr


EMAIL_SYNC = """CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);
CREATE TABLE email_changes (id serial PRIMARY KEY, user_id int NOT NULL);
CREATE FUNCTION sync_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO email_changes (user_id) VALUES (NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER sync_email AFTER UPDATE OF email ON users
  FOR EACH ROW EXECUTE FUNCTION sync_email();
"""


def test_columns_option_rejects_a_column_the_table_does_not_have(tmp_path: Path) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(EMAIL_SYNC, encoding="utf-8")
    result = invoke(str(schema), "--table", "users", "--op", "update", "--columns", "id,emial")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "sqlripple: --columns: public.users has no column emial (its columns: id, email)\n"
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE users SET emial = 'x' WHERE id = 1", "public.users has no column emial"),
        (
            "INSERT INTO users VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET Emails = 'y'",
            "public.users has no column emails",
        ),
        ('UPDATE users SET "Email" = 1', "public.users has no column Email"),
    ],
)
def test_sql_option_rejects_a_set_column_the_table_does_not_have(
    tmp_path: Path, sql: str, message: str
) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(EMAIL_SYNC, encoding="utf-8")
    result = invoke(str(schema), "--sql", sql)
    assert result.exit_code == 2
    assert result.stderr == f"sqlripple: --sql: {message} (its columns: id, email)\n"


def test_sql_option_reads_set_columns_as_postgresql_does(tmp_path: Path) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(
        'CREATE TABLE "Post" (id int PRIMARY KEY, "Title" text, body text);\n', encoding="utf-8"
    )
    document = trace_json(str(schema), "--sql", "UPDATE \"Post\" SET \"Title\" = 'x', BODY = 'y'")
    assert document["entry"]["columns"] == ["Title", "body"]


def test_columns_option_takes_the_tables_columns(tmp_path: Path) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(EMAIL_SYNC, encoding="utf-8")
    document = trace_json(str(schema), "--table", "users", "--op", "update", "--columns", "email")
    assert document["totals"]["trigger_firings"] == {"public.users.sync_email": 1}
    assert document["totals"]["row_writes"]["public.email_changes"]["insert"] == 1


def test_a_platform_table_with_triggers_is_traced_and_checked(tmp_path: Path) -> None:
    """Supabase's signup cascade: auth.users is created by the platform, not the schema,
    yet its INSERT runs the schema's trigger and its DELETE the schema's FK actions. trace
    follows both; check makes them entries."""
    from analyzer.analysis import analyze
    from analyzer.config import Config
    from analyzer.rules import Context

    schema = tmp_path / "schema.sql"
    schema.write_text(QUOTED_AND_EXTERNAL, encoding="utf-8")
    document = trace_json(str(schema), "--table", "auth.users", "--op", "insert")
    assert document["totals"]["function_calls"] == {"public.handle_new_user": 1}
    assert document["totals"]["row_writes"]["public.profiles"]["insert"] == 1
    result = analyze([str(schema)])
    context = Context(result.catalog, result.model, Config())
    entries = {(e.table, e.operation) for e in context.entries}
    assert ("auth.users", "insert") in entries
    # Account deletion: the FK action on the platform's table makes its DELETE an entry.
    assert ("auth.users", "delete") in entries
