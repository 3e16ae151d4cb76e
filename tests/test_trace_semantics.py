"""Trace semantics found missing on real schemas (issue #5), each on a small schema.

Every case states the exact bounds the engine predicts and, against a throwaway
PostgreSQL server, that `sqlripple verify --workload` finds the server's counts inside
them (tests marked `integration`). The schemas sit in this file: each is a few
statements, and the server run proves the rule they show.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analyzer.analysis import analyze
from analyzer.cascade import Cascade, TraceEntry, Tracer, totals_document, trace_call
from analyzer.cli import cli
from analyzer.config import Config
from analyzer.effects import Write, analyze_bodies
from analyzer.entry_sql import entry_from_sql
from analyzer.findings import Entry
from analyzer.graph import build_model
from analyzer.loader import load

# ------------------------------------------------------------------------ helpers


def traced(tmp_path: Path, schema: str, entry: TraceEntry) -> Cascade:
    path = tmp_path / "schema.sql"
    path.write_text(schema, encoding="utf-8")
    return Tracer(build_model(load([str(path)]))).trace(entry)


def bounds(cascade: Cascade) -> dict[str, Any]:
    """{'name': (lo, hi)} for firings, calls and row writes per table and kind, plus the
    'total' row writes: the figures a test pins."""
    low, high = totals_document(cascade.totals(), 0), totals_document(cascade.totals(), 1)
    found: dict[str, Any] = {}
    for section in ("trigger_firings", "function_calls"):
        lo, hi = low[section], high[section]
        assert isinstance(lo, dict) and isinstance(hi, dict)
        for name in sorted(set(lo) | set(hi)):
            found[name] = (lo.get(name, 0), hi.get(name, 0))
    lo_writes, hi_writes = low["row_writes"], high["row_writes"]
    assert isinstance(lo_writes, dict) and isinstance(hi_writes, dict)
    for table in sorted(set(lo_writes) | set(hi_writes)):
        for kind in ("insert", "update", "delete", "upsert"):
            pair = (
                lo_writes.get(table, {}).get(kind, 0),
                hi_writes.get(table, {}).get(kind, 0),
            )
            if pair != (0, 0):
                found[f"{table} {kind}"] = pair
    found["total"] = (low["total_row_writes"], high["total_row_writes"])
    return found


def server_run(tmp_path: Path, database: str, schema: str, workload: str) -> list[dict[str, Any]]:
    """`sqlripple verify --workload` on `database`: asserts the server's counts lie within
    the predicted bounds, returns each measured statement's server counts."""
    (tmp_path / "schema.sql").write_text(schema, encoding="utf-8")
    (tmp_path / "workload.sql").write_text(workload, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(tmp_path / "schema.sql"),
            "--workload",
            str(tmp_path / "workload.sql"),
            "--dsn",
            database,
            "--format",
            "json",
        ],
    )
    document = json.loads(result.stdout)
    assert (result.exit_code, document["differences"]) == (0, 0), result.stdout
    return [m["server"] for m in document["measurements"]]


# ------------------------------------------------------- 1. ON UPDATE FK actions

CURRENCIES = """
CREATE TABLE currencies (code char(3) PRIMARY KEY, name text NOT NULL);
CREATE TABLE price_lists (
    id int PRIMARY KEY,
    currency_code char(3) NOT NULL REFERENCES currencies (code) ON UPDATE CASCADE,
    updated_at timestamptz
);
CREATE TABLE wallets (
    id int PRIMARY KEY,
    currency_code char(3) REFERENCES currencies (code) ON UPDATE SET NULL,
    balance_cents bigint NOT NULL DEFAULT 0
);
CREATE TABLE invoices (
    id int PRIMARY KEY,
    currency_code char(3) NOT NULL REFERENCES currencies (code) ON UPDATE NO ACTION
        DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE currency_changes (id serial PRIMARY KEY, what text NOT NULL);
CREATE FUNCTION stamp_price_list() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE FUNCTION log_currency_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO currency_changes (what) VALUES (TG_TABLE_NAME || ' ' || NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER price_lists_stamp BEFORE UPDATE OF currency_code ON price_lists
    FOR EACH ROW EXECUTE FUNCTION stamp_price_list();
CREATE TRIGGER price_lists_stamp_again BEFORE UPDATE OF updated_at ON price_lists
    FOR EACH ROW EXECUTE FUNCTION stamp_price_list();
CREATE TRIGGER wallets_log AFTER UPDATE ON wallets
    FOR EACH ROW EXECUTE FUNCTION log_currency_change();
CREATE TRIGGER invoices_log AFTER UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION log_currency_change();
"""
CURRENCY_CODE_CHANGE = {
    # ON UPDATE CASCADE sets price_lists.currency_code: UPDATE OF currency_code fires,
    # UPDATE OF updated_at does not (a BEFORE trigger's assignment is not a SET column).
    "public.price_lists.price_lists_stamp": (0, 2),
    "public.wallets.wallets_log": (0, 2),  # ON UPDATE SET NULL
    "public.log_currency_change": (0, 2),
    "public.stamp_price_list": (0, 2),
    "public.currencies update": (1, 1),
    "public.currency_changes insert": (0, 2),
    "public.price_lists update": (0, 2),
    "public.wallets update": (0, 2),
    "total": (1, 7),
}


def test_on_update_actions_follow_a_key_change_to_every_child(tmp_path: Path) -> None:
    # Whether the new code differs from the stored one is data: 0..children.
    entry = TraceEntry("public.currencies", "update", columns=("code",), children=2)
    assert bounds(traced(tmp_path, CURRENCIES, entry)) == CURRENCY_CODE_CHANGE
    # Every column set (the default) includes the key.
    every = replace(entry, columns=None)
    assert bounds(traced(tmp_path, CURRENCIES, every)) == CURRENCY_CODE_CHANGE


def test_on_update_actions_do_not_run_when_the_key_keeps_its_value(tmp_path: Path) -> None:
    only_the_key = {"public.currencies update": (1, 1), "total": (1, 1)}
    renamed = TraceEntry("public.currencies", "update", columns=("name",), children=2)
    assert bounds(traced(tmp_path, CURRENCIES, renamed)) == only_the_key
    resent = TraceEntry("public.currencies", "update", unchanged=True, children=2)
    assert bounds(traced(tmp_path, CURRENCIES, resent)) == only_the_key


def test_a_body_write_that_changes_the_key_cascades(tmp_path: Path) -> None:
    schema = (
        CURRENCIES
        + """
CREATE TABLE currency_renames (old_code char(3), new_code char(3));
CREATE FUNCTION apply_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE currencies SET code = NEW.new_code WHERE code = NEW.old_code;
    RETURN NULL;
END $$;
CREATE TRIGGER currency_renames_apply AFTER INSERT ON currency_renames
    FOR EACH ROW EXECUTE FUNCTION apply_rename();
"""
    )
    entry = TraceEntry("public.currency_renames", "insert", children=2)
    found = bounds(traced(tmp_path, schema, entry))
    assert found["public.price_lists update"] == (0, 2)
    assert found["public.wallets update"] == (0, 2)
    assert "public.invoices update" not in found  # NO ACTION only checks


@pytest.mark.integration
def test_server_runs_on_update_actions_per_child(
    tmp_path: Path, pg_database: Callable[[str], str]
) -> None:
    workload = """
INSERT INTO currencies VALUES ('EUR', 'Euro'), ('USD', 'Dollar');
INSERT INTO price_lists (id, currency_code) VALUES (1, 'EUR'), (2, 'EUR'), (3, 'USD');
INSERT INTO wallets (id, currency_code) VALUES (1, 'EUR'), (2, 'EUR');
INSERT INTO invoices VALUES (1, 'USD');
-- sqlripple: measure children=2
UPDATE currencies SET code = 'EUX' WHERE code = 'EUR';
-- sqlripple: measure children=2
UPDATE currencies SET name = 'Euro (new)' WHERE code = 'EUX';
"""
    changed, renamed = server_run(tmp_path, pg_database("on_update"), CURRENCIES, workload)
    assert changed["function_calls"] == {
        "public.log_currency_change": 2,
        "public.stamp_price_list": 2,
    }
    assert {t: w["update"] for t, w in changed["row_writes"].items() if w["update"]} == {
        "public.currencies": 1,
        "public.price_lists": 2,
        "public.wallets": 2,
    }
    assert renamed["function_calls"] == {}


# ------------------------------------------------------ 2. INSTEAD OF triggers on views

HELPDESK = """
CREATE TABLE agents (id int PRIMARY KEY, open_tickets int NOT NULL DEFAULT 0);
CREATE TABLE tickets (
    id int PRIMARY KEY,
    agent_id int NOT NULL REFERENCES agents (id),
    subject text NOT NULL,
    closed boolean NOT NULL DEFAULT false
);
CREATE TABLE ticket_events (id serial PRIMARY KEY, ticket_id int NOT NULL, what text NOT NULL);
CREATE TABLE inbox_requests (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
CREATE VIEW inbox AS SELECT id, agent_id, subject FROM tickets WHERE NOT closed;

CREATE FUNCTION inbox_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tickets (id, agent_id, subject) VALUES (NEW.id, NEW.agent_id, NEW.subject);
    RETURN NEW;
END $$;
CREATE FUNCTION inbox_close() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET closed = true WHERE id = OLD.id;
    RETURN OLD;
END $$;
CREATE FUNCTION ticket_opened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_events (ticket_id, what) VALUES (NEW.id, 'opened');
    UPDATE agents SET open_tickets = open_tickets + 1 WHERE id = NEW.agent_id;
    RETURN NULL;
END $$;
CREATE FUNCTION inbox_request() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbox_requests DEFAULT VALUES;
    RETURN NULL;
END $$;

CREATE TRIGGER inbox_insert INSTEAD OF INSERT ON inbox
    FOR EACH ROW EXECUTE FUNCTION inbox_insert();
CREATE TRIGGER inbox_close INSTEAD OF DELETE ON inbox
    FOR EACH ROW EXECUTE FUNCTION inbox_close();
CREATE TRIGGER inbox_requests AFTER INSERT OR DELETE ON inbox
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_request();
CREATE TRIGGER tickets_opened AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_opened();
"""


def test_instead_of_trigger_runs_in_place_of_the_view_write(tmp_path: Path) -> None:
    opened = traced(tmp_path, HELPDESK, TraceEntry("public.inbox", "insert", rows=2))
    assert bounds(opened) == {
        "public.inbox.inbox_insert": (2, 2),
        "public.inbox.inbox_requests": (1, 1),  # statement level: once
        "public.tickets.tickets_opened": (2, 2),
        "public.inbox_insert": (2, 2),
        "public.inbox_request": (1, 1),
        "public.ticket_opened": (2, 2),
        "public.agents update": (2, 2),
        "public.inbox_requests insert": (1, 1),
        "public.ticket_events insert": (2, 2),
        "public.tickets insert": (2, 2),
        "total": (7, 7),
    }
    closed = traced(tmp_path, HELPDESK, TraceEntry("public.inbox", "delete"))
    assert bounds(closed) == {
        "public.inbox.inbox_close": (1, 1),
        "public.inbox.inbox_requests": (1, 1),
        "public.inbox_close": (1, 1),
        "public.inbox_request": (1, 1),
        "public.inbox_requests insert": (1, 1),
        # Keyed by OLD.id of the view row: nothing in the schema proves the ticket exists.
        "public.tickets update": (0, 1),
        "total": (1, 2),
    }


def test_check_takes_a_view_with_instead_of_triggers_as_an_entry(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(HELPDESK, encoding="utf-8")
    result = analyze([str(tmp_path / "schema.sql")], Config(select=("write-amplification",)))
    # The view's insert costs what the tickets insert its trigger makes costs.
    assert [(f.entry, f.subject) for f in result.findings] == [
        (Entry("public.inbox", "insert"), "public.inbox"),
        (Entry("public.tickets", "insert"), "public.tickets"),
    ]
    assert result.findings[0].message.startswith(
        "one INSERT of a public.inbox row costs 3 row writes per source row "
        "(public.agents 1, public.ticket_events 1, public.tickets 1)"
    )


def test_verify_refuses_a_made_up_view_row_and_says_how_to_measure(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(HELPDESK, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["verify", str(tmp_path / "schema.sql"), "--table", "inbox", "--op", "insert"]
    )
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.endswith(
        "public.inbox is a view: write it in a workload (--workload FILE) whose setup makes "
        "the rows it shows\n"
    )


@pytest.mark.integration
def test_server_runs_instead_of_triggers_and_never_writes_the_view(
    tmp_path: Path, pg_database: Callable[[str], str]
) -> None:
    workload = """
INSERT INTO agents VALUES (7);
INSERT INTO tickets (id, agent_id, subject) VALUES (1, 7, 'printer');
-- sqlripple: measure
INSERT INTO inbox VALUES (2, 7, 'vpn'), (3, 7, 'mail');
-- sqlripple: measure
DELETE FROM inbox WHERE id = 1;
"""
    opened, closed = server_run(tmp_path, pg_database("instead_of"), HELPDESK, workload)
    assert opened["function_calls"] == {
        "public.inbox_insert": 2,
        "public.inbox_request": 1,
        "public.ticket_opened": 2,
    }
    assert "public.inbox" not in opened["row_writes"]
    assert closed["function_calls"] == {"public.inbox_close": 1, "public.inbox_request": 1}
    assert closed["row_writes"]["public.tickets"]["update"] == 1


# ------------------------------------- 3. FK cascade deletes: which parent is gone

MENTORING = """
CREATE TABLE members (
    id int PRIMARY KEY,
    mentee_count int NOT NULL DEFAULT 0,
    mentor_count int NOT NULL DEFAULT 0
);
CREATE TABLE mentorships (
    mentor_id int NOT NULL REFERENCES members ON DELETE CASCADE,
    mentee_id int NOT NULL REFERENCES members ON DELETE CASCADE,
    PRIMARY KEY (mentor_id, mentee_id)
);
CREATE FUNCTION mentorship_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE members SET mentee_count = mentee_count - 1 WHERE id = OLD.mentor_id;
    UPDATE members SET mentor_count = mentor_count - 1 WHERE id = OLD.mentee_id;
    RETURN NULL;
END $$;
CREATE TRIGGER mentorships_ended AFTER DELETE ON mentorships
    FOR EACH ROW EXECUTE FUNCTION mentorship_ended();
"""


def test_a_child_trigger_updates_the_other_parent_that_survives(tmp_path: Path) -> None:
    cascade = traced(tmp_path, MENTORING, TraceEntry("public.members", "delete"))
    # One mentorship per FK: removed as mentor, it updates its mentee's mentor_count (the
    # update keyed by OLD.mentor_id finds the deleted member); removed as mentee, its
    # mentor's mentee_count.
    assert bounds(cascade) == {
        "public.mentorships.mentorships_ended": (2, 2),
        "public.mentorship_ended": (2, 2),
        "public.members delete": (1, 1),
        "public.members update": (2, 2),
        "public.mentorships delete": (2, 2),
        "total": (5, 5),
    }
    (row,) = cascade.tree.children
    by_action: dict[str, list[tuple[int, str]]] = {}
    for fk in (n for n in row.children if n.kind == "fk"):
        (fired,) = [n for n in fk.children if n.kind == "trigger"]
        by_action[fk.detail] = [
            (statement.location.line, statement.multiplicity) for statement in fired.children
        ]
    assert by_action == {
        # line 14 is keyed by OLD.mentor_id, line 15 by OLD.mentee_id
        "ON DELETE CASCADE (mentor_id)": [(14, "0 rows"), (15, "1 row")],
        "ON DELETE CASCADE (mentee_id)": [(14, "1 row"), (15, "0 rows")],
    }


@pytest.mark.integration
def test_server_updates_the_surviving_parent(
    tmp_path: Path, pg_database: Callable[[str], str]
) -> None:
    workload = """
INSERT INTO members (id) VALUES (1), (2), (3);
INSERT INTO mentorships VALUES (1, 2), (3, 1);
-- sqlripple: measure
DELETE FROM members WHERE id = 1;
"""
    (deleted,) = server_run(tmp_path, pg_database("surviving_parent"), MENTORING, workload)
    assert deleted["row_writes"]["public.members"] == {"insert": 0, "update": 2, "delete": 1}


# --------------------------------------------------------------- 5. TRUNCATE … CASCADE

WORKSPACES = """
CREATE TABLE tenants (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE projects (id int PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants);
CREATE TABLE tasks (
    id int PRIMARY KEY,
    project_id int NOT NULL REFERENCES projects ON DELETE CASCADE,
    title text NOT NULL
);
CREATE TABLE purge_log (id serial PRIMARY KEY, relation text NOT NULL, phase text NOT NULL);
CREATE FUNCTION log_purge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO purge_log (relation, phase) VALUES (TG_TABLE_NAME, TG_WHEN);
    RETURN NULL;
END $$;
CREATE FUNCTION log_task_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO purge_log (relation, phase) VALUES ('task ' || OLD.id, 'row');
    RETURN OLD;
END $$;
CREATE FUNCTION reset_workspaces() RETURNS void LANGUAGE sql AS $$
    TRUNCATE tenants CASCADE;
$$;
CREATE TRIGGER projects_purged AFTER TRUNCATE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION log_purge();
CREATE TRIGGER tasks_purging BEFORE TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION log_purge();
CREATE TRIGGER tasks_removed BEFORE DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION log_task_removed();
"""
PURGED = {
    "public.projects.projects_purged": (1, 1),
    "public.tasks.tasks_purging": (1, 1),
    "public.log_purge": (2, 2),
    "public.purge_log insert": (2, 2),
    "total": (2, 2),
}


def sql_traced(tmp_path: Path, schema: str, sql: str) -> Cascade:
    path = tmp_path / "schema.sql"
    path.write_text(schema, encoding="utf-8")
    catalog = load([str(path)])
    tracer = Tracer(build_model(catalog))
    entry = entry_from_sql(catalog, sql)
    if isinstance(entry, TraceEntry):
        return tracer.trace(entry)
    return trace_call(tracer, entry.function, entry.arguments)


def test_truncate_cascade_fires_the_referencing_tables_truncate_triggers(
    tmp_path: Path,
) -> None:
    cascade = sql_traced(tmp_path, WORKSPACES, "TRUNCATE tenants CASCADE")
    assert cascade.entry.scenario == "cascade"
    assert bounds(cascade) == PURGED
    # BEFORE TRUNCATE triggers of every table first, then the AFTER ones.
    assert [n.name for n in cascade.tree.children] == [
        "public.tasks.tasks_purging",
        "public.projects.projects_purged",
    ]
    called = sql_traced(tmp_path, WORKSPACES, "SELECT reset_workspaces()")
    assert bounds(called) == {**PURGED, "public.reset_workspaces": (1, 1)}


def test_truncate_without_cascade_touches_only_its_table(tmp_path: Path) -> None:
    assert bounds(sql_traced(tmp_path, WORKSPACES, "TRUNCATE tasks")) == {
        "public.tasks.tasks_purging": (1, 1),
        "public.log_purge": (1, 1),
        "public.purge_log insert": (1, 1),
        "total": (1, 1),
    }
    assert bounds(sql_traced(tmp_path, WORKSPACES, "TRUNCATE tenants")) == {"total": (0, 0)}


@pytest.mark.integration
def test_server_truncates_referencing_tables_with_cascade(
    tmp_path: Path, pg_database: Callable[[str], str]
) -> None:
    workload = """
INSERT INTO tenants VALUES (1, 'acme');
INSERT INTO projects VALUES (10, 1);
INSERT INTO tasks VALUES (100, 10, 'ship it');
-- sqlripple: measure
TRUNCATE tenants CASCADE;
"""
    (purged,) = server_run(tmp_path, pg_database("truncate_cascade"), WORKSPACES, workload)
    assert purged["function_calls"] == {"public.log_purge": 2}
    assert purged["row_writes"]["public.purge_log"]["insert"] == 2


# ------------------------------------------ 4. IF/ELSIF/CASE arms and MERGE actions

PAYMENTS = """
CREATE TABLE payments (
    id int PRIMARY KEY,
    method text NOT NULL,
    currency text NOT NULL DEFAULT 'EUR',
    amount_cents bigint NOT NULL,
    paid_on date NOT NULL DEFAULT current_date
);
CREATE TABLE card_ledger (payment_id int PRIMARY KEY, amount_cents bigint NOT NULL);
CREATE TABLE card_fees (payment_id int PRIMARY KEY, fee_cents bigint NOT NULL);
CREATE TABLE fraud_reviews (payment_id int PRIMARY KEY);
CREATE TABLE bank_ledger (payment_id int PRIMARY KEY, amount_cents bigint NOT NULL);
CREATE TABLE manual_review (payment_id int PRIMARY KEY);
CREATE TABLE eur_totals (paid_on date PRIMARY KEY, cents bigint NOT NULL);
CREATE TABLE usd_totals (paid_on date PRIMARY KEY, cents bigint NOT NULL);

CREATE FUNCTION route_payment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.method = 'card' THEN
        INSERT INTO card_ledger VALUES (NEW.id, NEW.amount_cents);
        INSERT INTO card_fees VALUES (NEW.id, NEW.amount_cents * 3 / 100);
        IF NEW.amount_cents > 100000 THEN
            INSERT INTO fraud_reviews VALUES (NEW.id);
        END IF;
    ELSIF NEW.method = 'bank' THEN
        INSERT INTO bank_ledger VALUES (NEW.id, NEW.amount_cents);
    ELSE
        INSERT INTO manual_review VALUES (NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION add_to_daily_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CASE NEW.currency
        WHEN 'EUR' THEN
            MERGE INTO eur_totals AS t
            USING (SELECT NEW.paid_on AS paid_on, NEW.amount_cents AS cents) AS s
            ON t.paid_on = s.paid_on
            WHEN MATCHED THEN UPDATE SET cents = t.cents + s.cents
            WHEN NOT MATCHED THEN INSERT (paid_on, cents) VALUES (s.paid_on, s.cents);
        WHEN 'USD' THEN
            INSERT INTO usd_totals VALUES (NEW.paid_on, NEW.amount_cents)
            ON CONFLICT (paid_on) DO UPDATE SET cents = usd_totals.cents + EXCLUDED.cents;
        ELSE
            NULL;
    END CASE;
    RETURN NULL;
END $$;

CREATE TRIGGER payments_route AFTER INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION route_payment();
CREATE TRIGGER payments_totals AFTER INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION add_to_daily_totals();
"""


def test_arms_of_one_if_are_alternatives(tmp_path: Path) -> None:
    found = bounds(traced(tmp_path, PAYMENTS, TraceEntry("public.payments", "insert")))
    assert found == {
        "public.payments.payments_route": (1, 1),
        "public.payments.payments_totals": (1, 1),
        "public.add_to_daily_totals": (1, 1),
        "public.route_payment": (1, 1),
        "public.bank_ledger insert": (0, 1),
        "public.card_fees insert": (0, 1),
        "public.card_ledger insert": (0, 1),
        # The MERGE's source is one row (a SELECT with no FROM) and its ON clause pins
        # the target's primary key: one arm runs, on one row at most.
        "public.eur_totals insert": (0, 1),
        "public.eur_totals update": (0, 1),
        "public.fraud_reviews insert": (0, 1),
        "public.manual_review insert": (0, 1),
        "public.payments insert": (1, 1),
        "public.usd_totals upsert": (0, 1),
        # payments 1; route: card 2..3, bank 1, other 1 -> 1..3; totals: EUR 0..1 (the
        # MERGE inserts or updates), USD 1, other 0 -> 0..1.
        "total": (2, 5),
    }


def test_merge_predicts_only_the_actions_its_arms_take(tmp_path: Path) -> None:
    cascade = traced(tmp_path, PAYMENTS, TraceEntry("public.payments", "insert"))
    merges = [n for n in _walk(cascade.tree) if n.kind == "statement" and "merge" in n.detail]
    assert [[c.detail for c in n.children] for n in merges] == [["insert", "update"]]


def test_tg_op_arms_stay_exact(tmp_path: Path) -> None:
    schema = """
CREATE TABLE documents (id int PRIMARY KEY, title text NOT NULL);
CREATE TABLE document_log (id serial PRIMARY KEY, document_id int, what text);
CREATE TABLE document_stats (day date PRIMARY KEY, created int NOT NULL, edited int NOT NULL);
CREATE FUNCTION log_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO document_log (document_id, what) VALUES (NEW.id, 'created');
        UPDATE document_stats SET created = created + 1 WHERE day = current_date;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO document_log (document_id, what) VALUES (NEW.id, 'edited');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER documents_log AFTER INSERT OR UPDATE ON documents
    FOR EACH ROW EXECUTE FUNCTION log_document();
"""
    created = bounds(traced(tmp_path, schema, TraceEntry("public.documents", "insert")))
    # The INSERT arm's two writes, exactly; today's stats row may not exist yet (0..1).
    assert (created["public.document_log insert"], created["total"]) == ((1, 1), (2, 3))
    assert created["public.document_stats update"] == (0, 1)
    edited = bounds(traced(tmp_path, schema, TraceEntry("public.documents", "update")))
    assert (edited["public.document_log insert"], edited["total"]) == ((1, 1), (2, 2))
    assert "public.document_stats update" not in edited


def test_check_no_longer_adds_up_the_arms(tmp_path: Path) -> None:
    routing_only = PAYMENTS.split("CREATE TRIGGER payments_totals")[0]
    (tmp_path / "schema.sql").write_text(routing_only, encoding="utf-8")
    settings = Config(select=("write-amplification",))
    # 4 row writes at most (payments and the card arm): still amplification, but not the
    # 6 the summed arms made.
    (finding,) = analyze([str(tmp_path / "schema.sql")], settings).findings
    assert "costs 4 row writes per source row" in finding.message


def _walk(node: Any) -> list[Any]:
    found = [node]
    for child in node.children:
        found.extend(_walk(child))
    return found


@pytest.mark.integration
def test_server_takes_one_arm(tmp_path: Path, pg_database: Callable[[str], str]) -> None:
    workload = """
INSERT INTO eur_totals VALUES ('2026-01-05', 100);
-- sqlripple: measure
INSERT INTO payments VALUES (1, 'card', 'EUR', 250000, '2026-01-05');
-- sqlripple: measure
INSERT INTO payments VALUES (2, 'bank', 'USD', 900, '2026-01-05');
-- sqlripple: measure
INSERT INTO payments VALUES (3, 'cash', 'CHF', 900, '2026-01-05');
"""
    card, bank, cash = server_run(tmp_path, pg_database("one_arm"), PAYMENTS, workload)

    def written(run: dict[str, Any]) -> dict[str, int]:
        return {
            table: sum(kinds.values())
            for table, kinds in run["row_writes"].items()
            if sum(kinds.values())
        }

    assert written(card) == {
        "public.card_fees": 1,
        "public.card_ledger": 1,
        "public.eur_totals": 1,
        "public.fraud_reviews": 1,
        "public.payments": 1,
    }
    assert written(bank) == {
        "public.bank_ledger": 1,
        "public.payments": 1,
        "public.usd_totals": 1,
    }
    assert written(cash) == {"public.manual_review": 1, "public.payments": 1}


def test_each_if_and_case_is_recorded_as_a_choice_of_arms(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(PAYMENTS, encoding="utf-8")
    bodies = analyze_bodies(load([str(tmp_path / "schema.sql")]))
    route = bodies.functions["public.route_payment()"]
    tables = [e.table for e in route.effects if isinstance(e, Write)]
    assert tables == [
        "public.card_ledger",
        "public.card_fees",
        "public.fraud_reviews",
        "public.bank_ledger",
        "public.manual_review",
    ]
    # The nested IF is recorded first (it ends first); it has no ELSE, so it may fall
    # through; the outer IF has an ELSE, so one of its three arms always runs.
    nested, outer = route.choices
    assert (nested.spans, nested.falls_through.is_never) == (((2, 3),), False)
    assert (outer.spans, outer.falls_through.is_never) == (((0, 3), (3, 4), (4, 5)), True)
    assert [str(guard) for guard in outer.arms] == [
        "NEW.method = 'card'",
        # ELSIF/ELSE take the arms before them as not true: NULL included.
        "NEW.method = 'bank' AND NEW.method IS DISTINCT FROM 'card'",
        "NEW.method IS DISTINCT FROM 'bank' AND NEW.method IS DISTINCT FROM 'card'",
    ]
    totals_body = bodies.functions["public.add_to_daily_totals()"]
    (case,) = totals_body.choices
    # CASE without a matching arm raises CASE_NOT_FOUND: it never falls through; the
    # ELSE arm here has no effect.
    assert (case.spans, case.falls_through.is_never) == (((0, 1), (1, 2), (2, 2)), True)
    (merge,) = [e for e in totals_body.effects if isinstance(e, Write) and e.kind == "merge"]
    assert merge.row_kinds == ("insert", "update")


def test_arms_that_call_functions_cost_the_costliest_call(tmp_path: Path) -> None:
    schema = """
CREATE TABLE shipments (id int PRIMARY KEY, carrier text NOT NULL);
CREATE TABLE labels (shipment_id int, carrier text);
CREATE TABLE pickups (shipment_id int);
CREATE TABLE customs_forms (shipment_id int);
CREATE FUNCTION book_courier(p_id int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO labels VALUES (p_id, 'courier');
    INSERT INTO pickups VALUES (p_id);
    INSERT INTO customs_forms VALUES (p_id);
$$;
CREATE FUNCTION book_post(p_id int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO labels VALUES (p_id, 'post');
$$;
CREATE FUNCTION book_shipment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.carrier = 'courier' THEN
        PERFORM book_courier(NEW.id);
    ELSE
        PERFORM book_post(NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER shipments_book AFTER INSERT ON shipments
    FOR EACH ROW EXECUTE FUNCTION book_shipment();
"""
    found = bounds(traced(tmp_path, schema, TraceEntry("public.shipments", "insert")))
    assert found == {
        "public.shipments.shipments_book": (1, 1),
        "public.book_courier": (0, 1),
        "public.book_post": (0, 1),
        "public.book_shipment": (1, 1),
        "public.customs_forms insert": (0, 1),
        "public.labels insert": (1, 1),  # both arms write a label
        "public.pickups insert": (0, 1),
        "public.shipments insert": (1, 1),
        "total": (2, 4),
    }


METRICS = """
CREATE TABLE metrics (id bigint, taken_on date NOT NULL) PARTITION BY RANGE (taken_on);
CREATE TABLE metrics_2025 PARTITION OF metrics FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE metrics_2026 PARTITION OF metrics FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE archive_runs (relation text NOT NULL);
CREATE FUNCTION note_archive_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO archive_runs VALUES (TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER metrics_archived AFTER TRUNCATE ON metrics
    FOR EACH STATEMENT EXECUTE FUNCTION note_archive_run();
CREATE TRIGGER metrics_2025_archived AFTER TRUNCATE ON metrics_2025
    FOR EACH STATEMENT EXECUTE FUNCTION note_archive_run();
"""


def test_truncating_a_partitioned_table_fires_its_partitions_truncate_triggers(
    tmp_path: Path,
) -> None:
    whole = sql_traced(tmp_path, METRICS, "TRUNCATE metrics")
    assert bounds(whole) == {
        "public.metrics.metrics_archived": (1, 1),
        "public.metrics_2025.metrics_2025_archived": (1, 1),
        "public.note_archive_run": (2, 2),
        "public.archive_runs insert": (2, 2),
        "total": (2, 2),
    }
    one_year = sql_traced(tmp_path, METRICS, "TRUNCATE metrics_2026")
    assert bounds(one_year) == {"total": (0, 0)}


@pytest.mark.integration
def test_server_fires_partition_truncate_triggers(
    tmp_path: Path, pg_database: Callable[[str], str]
) -> None:
    workload = "-- sqlripple: measure\nTRUNCATE metrics;\n"
    (emptied,) = server_run(tmp_path, pg_database("truncate_partitions"), METRICS, workload)
    assert emptied["function_calls"] == {"public.note_archive_run": 2}


STOCK = """
CREATE TABLE stock_levels (sku text PRIMARY KEY, units int NOT NULL);
CREATE TABLE stock_events (id serial PRIMARY KEY, what text NOT NULL);
CREATE FUNCTION note_stock_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stock_events (what) VALUES (TG_OP || ' ' || TG_LEVEL);
    RETURN NULL;
END $$;
CREATE TRIGGER stock_levels_inserted AFTER INSERT ON stock_levels
    FOR EACH STATEMENT EXECUTE FUNCTION note_stock_event();
CREATE TRIGGER stock_levels_deleted AFTER DELETE ON stock_levels
    FOR EACH STATEMENT EXECUTE FUNCTION note_stock_event();
CREATE TRIGGER stock_levels_row_deleted AFTER DELETE ON stock_levels
    FOR EACH ROW EXECUTE FUNCTION note_stock_event();
"""
STOCK_MERGE = (
    "MERGE INTO stock_levels AS t USING (SELECT 'KETTLE-1' AS sku, 4 AS units) AS s "
    "ON t.sku = s.sku WHEN MATCHED THEN UPDATE SET units = t.units + s.units "
    "WHEN NOT MATCHED THEN INSERT (sku, units) VALUES (s.sku, s.units)"
)


def test_a_merge_statement_runs_only_its_arms_actions(tmp_path: Path) -> None:
    cascade = sql_traced(tmp_path, STOCK, STOCK_MERGE)
    assert (cascade.entry.merge_actions, cascade.entry.columns) == (
        ("insert", "update"),
        ("units",),
    )
    # No DELETE arm: neither DELETE trigger fires; the INSERT statement trigger does.
    assert bounds(cascade) == {
        "public.stock_levels.stock_levels_inserted": (1, 1),
        "public.note_stock_event": (1, 1),
        "public.stock_events insert": (1, 1),
        "public.stock_levels insert": (0, 1),
        "public.stock_levels update": (0, 1),
        "total": (1, 2),
    }


@pytest.mark.integration
def test_server_runs_a_merge_without_its_missing_arm(
    tmp_path: Path, pg_database: Callable[[str], str]
) -> None:
    workload = (
        f"INSERT INTO stock_levels VALUES ('KETTLE-1', 2);\n-- sqlripple: measure\n{STOCK_MERGE};\n"
    )
    (merged,) = server_run(tmp_path, pg_database("merge_arms"), STOCK, workload)
    assert merged["function_calls"] == {"public.note_stock_event": 1}
    assert merged["row_writes"]["public.stock_levels"] == {"insert": 0, "update": 1, "delete": 0}


def test_the_key_through_a_variable_or_a_parameter_is_followed(tmp_path: Path) -> None:
    schema = """
CREATE TABLE members (id int PRIMARY KEY, mentee_count int NOT NULL DEFAULT 0,
                      mentor_count int NOT NULL DEFAULT 0);
CREATE TABLE mentorships (
    mentor_id int NOT NULL REFERENCES members ON DELETE CASCADE,
    mentee_id int NOT NULL REFERENCES members ON DELETE CASCADE,
    PRIMARY KEY (mentor_id, mentee_id)
);
CREATE FUNCTION bump_mentor_count(p_member int, p_by int) RETURNS void LANGUAGE sql AS $$
    UPDATE members SET mentor_count = mentor_count + p_by WHERE id = p_member;
$$;
CREATE FUNCTION mentorship_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_mentor int;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_mentor := OLD.mentor_id;
        PERFORM bump_mentor_count(OLD.mentee_id, -1);
    ELSE
        v_mentor := NEW.mentor_id;
        PERFORM bump_mentor_count(NEW.mentee_id, 1);
    END IF;
    UPDATE members SET mentee_count = mentee_count + 1 WHERE id = v_mentor;
    RETURN NULL;
END $$;
CREATE TRIGGER mentorships_changed AFTER INSERT OR DELETE ON mentorships
    FOR EACH ROW EXECUTE FUNCTION mentorship_changed();
"""
    cascade = traced(tmp_path, schema, TraceEntry("public.members", "delete"))
    (row,) = cascade.tree.children
    kept = {}
    for fk in (n for n in row.children if n.kind == "fk"):
        statements = [n for n in _walk(fk) if n.kind == "statement"]
        kept[fk.detail] = sorted((n.location.line, n.multiplicity) for n in statements)
    assert kept == {
        # v_mentor is OLD.mentor_id under DELETE: gone when deleted as mentor (line 23);
        # the parameter p_member is OLD.mentee_id: gone when deleted as mentee (line 10).
        "ON DELETE CASCADE (mentor_id)": [(10, "1 row"), (23, "0 rows")],
        "ON DELETE CASCADE (mentee_id)": [(10, "0 rows"), (23, "1 row")],
    }
