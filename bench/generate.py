"""Deterministic SQL corpora for the benchmarks, generated from a seed.

Three kinds, each a folder of migration files that PostgreSQL applies in name order:

- `migrations`: a realistic migration history of a multi-module application: hundreds of
  files with CREATE TABLE / INDEX / POLICY, GRANT, COMMENT, seed INSERTs, and the trigger
  functions of fixtures/chat (updated_at stamps, counters, statistics recomputation,
  usage upserts, audit logs, FK cascades), later evolved by ALTER TABLE, CREATE OR REPLACE
  FUNCTION and DROP/CREATE TRIGGER migrations.
- `scale-N`: the same statement mix cut to exactly N top-level statements (padding with
  seed INSERTs), one file per application module.
- `triggers`: a trigger-heavy schema (2,000 tables, 5,000 triggers by default) in groups
  of chained tables whose triggers update the next table, roll statistics up into a chain
  of rollup tables that crosses every group, and close cycles (unguarded, guarded by
  pg_trigger_depth() or by a WHEN clause); FK ON DELETE CASCADE chains run alongside.

Same arguments, same bytes: every choice comes from `random.Random(seed)`; nothing reads
the clock or the environment. Every file is valid PostgreSQL (it loads into a server).

    python bench/generate.py --out bench/corpus              # every default corpus
    python bench/generate.py --out /tmp/c --kind scale --statements 1000 --seed 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

DEFAULT_SEED = 20240611
MANIFEST = "CORPUS.json"
GENERATOR_VERSION = 1

# (prefix word, container noun, item noun, item kinds): one application module each.
DOMAINS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("chat", "sessions", "messages", ("user", "assistant", "system", "tool")),
    ("shop", "orders", "order_lines", ("product", "shipping", "discount")),
    ("help", "tickets", "replies", ("customer", "agent", "note")),
    ("board", "boards", "cards", ("task", "bug", "idea")),
    ("blog", "posts", "comments", ("reader", "author", "moderator")),
    ("crm", "deals", "activities", ("call", "email", "meeting")),
    ("learn", "courses", "lessons", ("video", "quiz", "reading")),
    ("fleet", "trips", "waypoints", ("pickup", "dropoff", "stop")),
    ("bank", "ledgers", "entries", ("debit", "credit", "fee")),
    ("event", "calendars", "bookings", ("seat", "room", "online")),
)

WORDS = (
    "alpha",
    "bravo",
    "cedar",
    "delta",
    "ember",
    "falcon",
    "garnet",
    "harbor",
    "indigo",
    "juniper",
    "kestrel",
    "lumen",
    "maple",
    "nectar",
    "onyx",
    "pepper",
    "quartz",
    "raven",
    "sierra",
    "tundra",
    "umber",
    "velvet",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
)


# ---- small helpers -----------------------------------------------------------------------


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _money(rng: random.Random) -> str:
    return f"{rng.randint(0, 99999) / 100:.2f}"


class Script:
    """Top-level statements and comments of one file; `count` counts statements."""

    def __init__(self, header: str = "") -> None:
        self.parts: list[str] = [f"-- {header}\n"] if header else []
        self.count = 0

    def comment(self, text: str) -> None:
        self.parts.append("".join(f"-- {line}\n" for line in text.split("\n")))

    def add(self, sql: str) -> None:
        self.parts.append(sql.strip() + ";\n")
        self.count += 1

    def extend(self, statements: Iterable[str]) -> None:
        for sql in statements:
            self.add(sql)

    def render(self) -> str:
        return "\n".join(self.parts)


@dataclass
class Corpus:
    """A generated corpus: file name -> text, in application order, and what it holds."""

    kind: str
    seed: int
    parameters: dict[str, int]
    files: dict[str, str] = field(default_factory=dict)
    statements: int = 0

    def add(self, name: str, script: Script) -> None:
        if name in self.files:
            raise ValueError(f"duplicate file name {name}")
        self.files[name] = script.render()
        self.statements += script.count

    def digest(self) -> str:
        hasher = hashlib.sha256()
        for name in sorted(self.files):
            hasher.update(name.encode())
            hasher.update(b"\0")
            hasher.update(self.files[name].encode())
            hasher.update(b"\0")
        return hasher.hexdigest()

    def manifest(self) -> dict[str, object]:
        return {
            "generator_version": GENERATOR_VERSION,
            "kind": self.kind,
            "seed": self.seed,
            "parameters": self.parameters,
            "files": len(self.files),
            "bytes": sum(len(t.encode()) for t in self.files.values()),
            "statements": self.statements,
            "sha256": self.digest(),
        }


# ---- the application modules of the migration history ----------------------------------


class Module:
    """One application module: five tables and the trigger machinery of fixtures/chat."""

    def __init__(self, rng: random.Random, index: int, user_ids: list[str]) -> None:
        self.rng = rng
        self.index = index
        word, container, item, kinds = DOMAINS[index % len(DOMAINS)]
        self.prefix = f"{word}{index}"
        # Every fourth module lives in a schema of its own; the rest share public.
        self.schema = self.prefix if index % 4 == 3 else "public"
        self.container_noun = container
        self.item_noun = item
        self.kinds = kinds
        self.user_ids = user_ids
        # Which of the known shapes this module's triggers take.
        self.stats = rng.choice(("recompute", "recompute", "delta", "delta_guarded"))
        self.usage_guard = rng.choice(("any_change", "insert_only", "insert_only"))
        self.item_trigger = rng.choice(("all_events", "all_events", "update_of", "when_distinct"))
        self.audited = rng.random() < 0.6
        self.thread_ids: list[str] = []

    # names
    def q(self, name: str) -> str:
        return f"{self.schema}.{self.prefix}_{name}"

    @property
    def accounts(self) -> str:
        return self.q("accounts")

    @property
    def threads(self) -> str:
        return self.q(self.container_noun)

    @property
    def items(self) -> str:
        return self.q(self.item_noun)

    @property
    def usage(self) -> str:
        return self.q("usage_daily")

    @property
    def audit(self) -> str:
        return self.q("audit_log")

    def fn(self, name: str) -> str:
        return self.q(name)

    # -- files -----------------------------------------------------------------------------

    def tables(self) -> Script:
        s = Script(f"{self.prefix}: tables, indexes and comments")
        if self.schema != "public":
            s.add(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            s.add(f"GRANT USAGE ON SCHEMA {self.schema} TO app_user, app_admin")
        s.add(
            f"""
CREATE TABLE {self.accounts} (
    id uuid PRIMARY KEY REFERENCES public.app_users (id) ON DELETE CASCADE,
    display_name text,
    usage_stats jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
)"""
        )
        s.add(f"COMMENT ON TABLE {self.accounts} IS 'Per-user settings and lifetime counters'")
        s.add(
            f"""
CREATE TABLE {self.threads} (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id uuid NOT NULL REFERENCES public.app_users (id) ON DELETE CASCADE,
    title text NOT NULL DEFAULT 'Untitled',
    item_count integer NOT NULL DEFAULT 0,
    total_amount numeric(14, 2) NOT NULL DEFAULT 0,
    last_preview text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_activity timestamptz NOT NULL DEFAULT now()
)"""
        )
        s.add(
            f"COMMENT ON TABLE {self.threads} IS "
            f"'Counters are maintained by triggers on {self.prefix}_{self.item_noun}'"
        )
        s.add(
            f"CREATE INDEX {self.prefix}_{self.container_noun}_owner_idx "
            f"ON {self.threads} (owner_id, last_activity DESC)"
        )
        kinds = ", ".join(f"'{k}'" for k in self.kinds)
        s.add(
            f"""
CREATE TABLE {self.items} (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    thread_id uuid NOT NULL REFERENCES {self.threads} (id) ON DELETE CASCADE,
    owner_id uuid,
    kind text NOT NULL CHECK (kind IN ({kinds})),
    body text NOT NULL DEFAULT '',
    quantity integer NOT NULL DEFAULT 1,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
)"""
        )
        s.add(
            f"COMMENT ON COLUMN {self.items}.amount IS 'Summed into {self.prefix}_"
            f"{self.container_noun}.total_amount'"
        )
        s.add(
            f"CREATE INDEX {self.prefix}_{self.item_noun}_thread_idx "
            f"ON {self.items} (thread_id, created_at)"
        )
        s.add(f"CREATE INDEX {self.prefix}_{self.item_noun}_owner_idx ON {self.items} (owner_id)")
        s.add(
            f"""
CREATE TABLE {self.usage} (
    owner_id uuid NOT NULL REFERENCES public.app_users (id) ON DELETE CASCADE,
    usage_date date NOT NULL,
    items_created integer NOT NULL DEFAULT 0,
    amount_total numeric(14, 2) NOT NULL DEFAULT 0,
    threads_created integer NOT NULL DEFAULT 0,
    kinds_used jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    PRIMARY KEY (owner_id, usage_date)
)"""
        )
        s.add(f"COMMENT ON TABLE {self.usage} IS 'Daily usage; feeds billing'")
        s.add(
            f"""
CREATE TABLE {self.audit} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name text NOT NULL,
    operation text NOT NULL,
    row_id uuid,
    payload jsonb,
    changed_at timestamptz NOT NULL DEFAULT now()
)"""
        )
        s.add(
            f"CREATE INDEX {self.prefix}_audit_log_changed_idx ON {self.audit} "
            "USING brin (changed_at)"
        )
        return s

    def functions(self) -> Script:
        s = Script(f"{self.prefix}: functions (trigger wiring is in the next migration)")
        sp = self.schema if self.schema == "public" else f"{self.schema}, public"
        s.comment("Daily and lifetime usage counters, called once per tracked event.")
        s.add(
            f"""
CREATE OR REPLACE FUNCTION {self.fn("track_usage")}(
    p_owner uuid,
    p_kind text,
    p_amount numeric,
    p_thread_created boolean DEFAULT false
)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = {sp}
AS $$
DECLARE
    v_today date := (now() AT TIME ZONE 'utc')::date;
BEGIN
    INSERT INTO {self.usage} (owner_id, usage_date, items_created, amount_total,
                              threads_created, kinds_used)
    VALUES (
        p_owner,
        v_today,
        CASE WHEN p_thread_created THEN 0 ELSE 1 END,
        coalesce(p_amount, 0),
        CASE WHEN p_thread_created THEN 1 ELSE 0 END,
        CASE WHEN p_kind IS NULL THEN '{{}}'::jsonb ELSE jsonb_build_object(p_kind, 1) END
    )
    ON CONFLICT (owner_id, usage_date) DO UPDATE SET
        items_created = {self.prefix}_usage_daily.items_created + EXCLUDED.items_created,
        amount_total = {self.prefix}_usage_daily.amount_total + EXCLUDED.amount_total,
        threads_created = {self.prefix}_usage_daily.threads_created + EXCLUDED.threads_created,
        kinds_used = CASE
            WHEN p_kind IS NULL THEN {self.prefix}_usage_daily.kinds_used
            ELSE {self.prefix}_usage_daily.kinds_used || jsonb_build_object(
                p_kind,
                coalesce(({self.prefix}_usage_daily.kinds_used ->> p_kind)::integer, 0) + 1
            )
        END;

    UPDATE {self.accounts}
    SET usage_stats = jsonb_set(
            usage_stats,
            '{{total_items}}',
            to_jsonb(coalesce((usage_stats ->> 'total_items')::integer, 0) + 1)
        )
    WHERE id = p_owner;
END;
$$"""
        )
        s.add(
            f"COMMENT ON FUNCTION {self.fn('track_usage')}(uuid, text, numeric, boolean) IS "
            f"'Adds one event to {self.prefix}_usage_daily and the account counters'"
        )
        s.comment("A new container counts towards the owner's daily usage.")
        s.add(
            f"""
CREATE OR REPLACE FUNCTION {self.fn("handle_created")}()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = {sp}
AS $$
BEGIN
    PERFORM {self.fn("track_usage")}(NEW.owner_id, NULL, 0, true);
    RETURN NEW;
END;
$$"""
        )
        s.comment("Items written by the API may omit the owner.")
        s.add(
            f"""
CREATE OR REPLACE FUNCTION {self.fn("fill_defaults")}()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.owner_id IS NULL THEN
        SELECT t.owner_id INTO NEW.owner_id
        FROM {self.threads} AS t
        WHERE t.id = NEW.thread_id;
    END IF;
    IF NEW.amount IS NULL OR NEW.amount < 0 THEN
        NEW.amount := 0;
    END IF;
    RETURN NEW;
END;
$$"""
        )
        s.add(self.stats_function(self.stats))
        if self.audited:
            s.comment("Append-only change log.")
            s.add(
                f"""
CREATE OR REPLACE FUNCTION {self.fn("log_change")}()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO {self.audit} (table_name, operation, row_id, payload)
        VALUES (TG_TABLE_NAME, TG_OP, OLD.id, to_jsonb(OLD));
        RETURN OLD;
    END IF;
    INSERT INTO {self.audit} (table_name, operation, row_id, payload)
    VALUES (TG_TABLE_NAME, TG_OP, NEW.id, to_jsonb(NEW));
    RETURN NEW;
END;
$$"""
            )
        s.comment("Read helper used by the API.")
        s.add(
            f"""
CREATE OR REPLACE FUNCTION {self.fn("thread_total")}(p_thread uuid)
RETURNS numeric
LANGUAGE sql
STABLE
AS $$
    SELECT coalesce(sum(i.amount), 0) FROM {self.items} AS i WHERE i.thread_id = p_thread
$$"""
        )
        s.comment("RPC: the client pushes its offline history; every item is upserted.")
        s.add(
            f"""
CREATE OR REPLACE FUNCTION {self.fn("sync")}(p_owner uuid, p_payload jsonb)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = {sp}
AS $$
DECLARE
    v_thread jsonb;
    v_item jsonb;
    v_thread_id uuid;
    v_synced integer := 0;
BEGIN
    IF public.current_app_user() IS NOT NULL AND public.current_app_user() <> p_owner THEN
        RAISE EXCEPTION 'cannot sync data of another user' USING ERRCODE = '42501';
    END IF;
    FOR v_thread IN SELECT value FROM jsonb_array_elements(coalesce(p_payload, '[]'::jsonb))
    LOOP
        v_thread_id := (v_thread ->> 'id')::uuid;
        INSERT INTO {self.threads} (id, owner_id, title)
        VALUES (v_thread_id, p_owner, coalesce(v_thread ->> 'title', 'Untitled'))
        ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title
        WHERE {self.prefix}_{self.container_noun}.owner_id = p_owner;
        FOR v_item IN
            SELECT value FROM jsonb_array_elements(coalesce(v_thread -> 'items', '[]'::jsonb))
        LOOP
            INSERT INTO {self.items} (id, thread_id, owner_id, kind, body, quantity, amount)
            VALUES (
                (v_item ->> 'id')::uuid,
                v_thread_id,
                p_owner,
                v_item ->> 'kind',
                coalesce(v_item ->> 'body', ''),
                coalesce((v_item ->> 'quantity')::integer, 1),
                coalesce((v_item ->> 'amount')::numeric, 0)
            )
            ON CONFLICT (id) DO UPDATE SET
                body = EXCLUDED.body,
                quantity = EXCLUDED.quantity,
                amount = EXCLUDED.amount;
            v_synced := v_synced + 1;
        END LOOP;
    END LOOP;
    RETURN v_synced;
END;
$$"""
        )
        s.add(
            f"REVOKE EXECUTE ON FUNCTION {self.fn('track_usage')}(uuid, text, numeric, boolean) "
            "FROM PUBLIC"
        )
        s.add(f"GRANT EXECUTE ON FUNCTION {self.fn('sync')}(uuid, jsonb) TO app_user")
        s.add(f"GRANT EXECUTE ON FUNCTION {self.fn('thread_total')}(uuid) TO app_user, app_admin")
        return s

    def stats_function(self, shape: str) -> str:
        """The container statistics trigger function, in one of the shapes seen in the wild."""
        usage_condition = {
            "any_change": "TG_OP <> 'DELETE'",
            "insert_only": "TG_OP = 'INSERT'",
        }[self.usage_guard]
        track = f"""
    IF {usage_condition} THEN
        PERFORM {self.fn("track_usage")}(NEW.owner_id, NEW.kind, NEW.amount, false);
    END IF;"""
        if shape == "recompute":
            body = f"""
DECLARE
    v_thread uuid;
    v_count integer;
    v_total numeric;
    v_preview text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_thread := OLD.thread_id;
    ELSE
        v_thread := NEW.thread_id;
    END IF;

    SELECT count(*), coalesce(sum(i.amount), 0)
    INTO v_count, v_total
    FROM {self.items} AS i
    WHERE i.thread_id = v_thread;

    SELECT left(i.body, 120) INTO v_preview
    FROM {self.items} AS i
    WHERE i.thread_id = v_thread
    ORDER BY i.created_at DESC, i.id DESC
    LIMIT 1;

    UPDATE {self.threads}
    SET item_count = v_count,
        total_amount = v_total,
        last_preview = v_preview,
        last_activity = now()
    WHERE id = v_thread;
{track}
    RETURN COALESCE(NEW, OLD);
END;"""
        else:
            guard = (
                "\n    IF TG_OP = 'UPDATE' AND NEW.amount IS NOT DISTINCT FROM OLD.amount THEN"
                "\n        RETURN NEW;\n    END IF;"
                if shape == "delta_guarded"
                else ""
            )
            body = f"""
BEGIN{guard}
    IF TG_OP = 'INSERT' THEN
        UPDATE {self.threads}
        SET item_count = item_count + 1,
            total_amount = total_amount + NEW.amount,
            last_activity = now()
        WHERE id = NEW.thread_id;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE {self.threads}
        SET total_amount = total_amount + NEW.amount - OLD.amount,
            last_activity = now()
        WHERE id = NEW.thread_id;
    ELSE
        UPDATE {self.threads}
        SET item_count = item_count - 1,
            total_amount = total_amount - OLD.amount
        WHERE id = OLD.thread_id;
        RETURN OLD;
    END IF;
{track}
    RETURN NEW;
END;"""
        return f"""
CREATE OR REPLACE FUNCTION {self.fn("update_stats")}()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = {self.schema if self.schema == "public" else f"{self.schema}, public"}
AS $$
{body.strip()}
$$"""

    def item_trigger_sql(self, shape: str) -> str:
        name = f"{self.prefix}_on_item_change"
        on = f"ON {self.items}"
        fn = f"EXECUTE FUNCTION {self.fn('update_stats')}()"
        if shape == "update_of":
            return (
                f"CREATE TRIGGER {name}\n    AFTER INSERT OR DELETE OR UPDATE OF amount {on}\n"
                f"    FOR EACH ROW {fn}"
            )
        if shape == "when_distinct":
            return (
                f"CREATE TRIGGER {name}\n    AFTER UPDATE {on}\n    FOR EACH ROW\n"
                f"    WHEN (OLD.amount IS DISTINCT FROM NEW.amount)\n    {fn}"
            )
        return (
            f"CREATE TRIGGER {name}\n    AFTER INSERT OR UPDATE OR DELETE {on}\n"
            f"    FOR EACH ROW {fn}"
        )

    def triggers(self) -> Script:
        s = Script(f"{self.prefix}: triggers")
        for table, short in ((self.accounts, "accounts"), (self.threads, self.container_noun)):
            s.add(
                f"CREATE TRIGGER set_{self.prefix}_{short}_updated_at\n"
                f"    BEFORE UPDATE ON {table}\n"
                "    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at()"
            )
        s.add(
            f"CREATE TRIGGER {self.prefix}_on_created\n    AFTER INSERT ON {self.threads}\n"
            f"    FOR EACH ROW EXECUTE FUNCTION {self.fn('handle_created')}()"
        )
        s.add(
            f"CREATE TRIGGER {self.prefix}_fill_defaults\n    BEFORE INSERT ON {self.items}\n"
            f"    FOR EACH ROW EXECUTE FUNCTION {self.fn('fill_defaults')}()"
        )
        s.comment("Re-sent items (the sync RPC upserts them) take the UPDATE path here.")
        s.add(self.item_trigger_sql(self.item_trigger))
        if self.item_trigger == "when_distinct":
            s.add(
                f"CREATE TRIGGER {self.prefix}_on_item_insert_delete\n"
                f"    AFTER INSERT OR DELETE ON {self.items}\n"
                f"    FOR EACH ROW EXECUTE FUNCTION {self.fn('update_stats')}()"
            )
        if self.audited:
            s.add(
                f"CREATE TRIGGER {self.prefix}_audit\n"
                f"    AFTER INSERT OR UPDATE OR DELETE ON {self.threads}\n"
                f"    FOR EACH ROW EXECUTE FUNCTION {self.fn('log_change')}()"
            )
        return s

    def policies(self) -> Script:
        s = Script(f"{self.prefix}: row level security and grants")
        for table in (self.accounts, self.threads, self.items, self.usage):
            s.add(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        me = "public.current_app_user()"
        s.add(
            f'CREATE POLICY "Owners read their account"\n    ON {self.accounts} FOR SELECT '
            f"TO app_user\n    USING ({me} = id)"
        )
        s.add(
            f'CREATE POLICY "Owners manage their {self.container_noun}"\n'
            f"    ON {self.threads} FOR ALL TO app_user\n"
            f"    USING ({me} = owner_id)\n    WITH CHECK ({me} = owner_id)"
        )
        s.add(
            f'CREATE POLICY "Owners read their {self.item_noun}"\n'
            f"    ON {self.items} FOR SELECT TO app_user\n    USING ({me} = owner_id)"
        )
        s.add(
            f'CREATE POLICY "Owners write their {self.item_noun}"\n'
            f"    ON {self.items} FOR INSERT TO app_user\n    WITH CHECK (\n"
            f"        {me} = owner_id\n        AND EXISTS (\n"
            f"            SELECT 1 FROM {self.threads} AS t\n"
            f"            WHERE t.id = thread_id AND t.owner_id = {me}\n        )\n    )"
        )
        s.add(
            f'CREATE POLICY "Owners read their usage"\n    ON {self.usage} FOR SELECT '
            f"TO app_user\n    USING ({me} = owner_id)"
        )
        s.add(f"GRANT SELECT, UPDATE ON {self.accounts} TO app_user")
        s.add(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {self.threads}, {self.items} TO app_user")
        s.add(f"GRANT SELECT ON {self.usage} TO app_user")
        s.add(
            f"GRANT ALL ON {self.accounts}, {self.threads}, {self.items}, {self.usage} TO app_admin"
        )
        return s

    def seed(self) -> Script:
        s = Script(f"{self.prefix}: demo data for local development")
        rng = self.rng
        owners = rng.sample(self.user_ids, k=min(3, len(self.user_ids)))
        rows = ",\n".join(f"    ('{o}', '{_text(rng, 2).title()}')" for o in owners)
        s.add(f"INSERT INTO {self.accounts} (id, display_name)\nVALUES\n{rows}")
        for _ in range(rng.randint(2, 4)):
            thread = _uuid(rng)
            self.thread_ids.append(thread)
            owner = rng.choice(owners)
            s.add(
                f"INSERT INTO {self.threads} (id, owner_id, title)\n"
                f"VALUES ('{thread}', '{owner}', '{_text(rng, 3)}')"
            )
            rows = ",\n".join(
                f"    ('{_uuid(rng)}', '{thread}', '{rng.choice(self.kinds)}', "
                f"'{_text(rng, rng.randint(3, 9))}', {rng.randint(1, 5)}, {_money(rng)})"
                for _ in range(rng.randint(2, 6))
            )
            s.add(
                f"INSERT INTO {self.items} (id, thread_id, kind, body, quantity, amount)\n"
                f"VALUES\n{rows}"
            )
        return s

    def seed_rows(self, count: int) -> list[str]:
        """More item INSERTs, for padding a corpus to an exact statement count."""
        rng = self.rng
        statements = []
        for _ in range(count):
            thread = rng.choice(self.thread_ids)
            statements.append(
                f"INSERT INTO {self.items} (id, thread_id, kind, body, amount)\n"
                f"VALUES ('{_uuid(rng)}', '{thread}', '{rng.choice(self.kinds)}', "
                f"'{_text(rng, 4)}', {_money(rng)})"
            )
        return statements

    def add_column(self) -> Script:
        column = f"{self.rng.choice(WORDS)}_note"
        s = Script(f"{self.prefix}: a note on every {self.item_noun[:-1]}")
        s.add(f"ALTER TABLE {self.items} ADD COLUMN IF NOT EXISTS {column} text")
        s.add(f"COMMENT ON COLUMN {self.items}.{column} IS 'Free text shown in the side panel'")
        s.add(f"UPDATE {self.items} SET {column} = '' WHERE {column} IS NULL")
        s.add(f"ALTER TABLE {self.items} ALTER COLUMN {column} SET DEFAULT ''")
        s.add(
            f"CREATE INDEX IF NOT EXISTS {self.prefix}_{self.item_noun}_kind_idx "
            f"ON {self.items} (kind) WHERE {column} <> ''"
        )
        return s

    def rework_stats(self) -> Script:
        """A later fix: counters from deltas, counted only for real inserts."""
        s = Script(f"{self.prefix}: maintain counters from deltas; count usage on insert only")
        self.usage_guard = "insert_only"
        self.stats = "delta_guarded"
        s.add(self.stats_function(self.stats))
        s.add(f"DROP TRIGGER IF EXISTS {self.prefix}_on_item_change ON {self.items}")
        s.add(f"DROP TRIGGER IF EXISTS {self.prefix}_on_item_insert_delete ON {self.items}")
        self.item_trigger = "update_of"
        s.add(self.item_trigger_sql(self.item_trigger))
        return s

    def archive(self) -> Script:
        s = Script(f"{self.prefix}: archived flag and a partial index")
        s.add(
            f"ALTER TABLE {self.threads} ADD COLUMN archived_at timestamptz, "
            "ADD COLUMN archived_by uuid"
        )
        s.add(
            f"CREATE INDEX {self.prefix}_{self.container_noun}_live_idx "
            f"ON {self.threads} (owner_id) WHERE archived_at IS NULL"
        )
        s.add(f"ALTER TABLE {self.threads} RENAME COLUMN archived_by TO archived_by_user")
        s.add(f"COMMENT ON COLUMN {self.threads}.archived_at IS 'Hidden from lists when set'")
        return s


def _init(rng: random.Random, users: int) -> tuple[Script, list[str]]:
    s = Script("Shared objects: extensions, roles, users, helpers")
    s.add("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    s.add("CREATE ROLE app_user NOLOGIN")
    s.add("CREATE ROLE app_admin NOLOGIN")
    s.add(
        """
CREATE TABLE public.app_users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL UNIQUE,
    display_name text,
    created_at timestamptz NOT NULL DEFAULT now()
)"""
    )
    s.add("COMMENT ON TABLE public.app_users IS 'Accounts; every module keys its rows to them'")
    s.comment("Shared by every updated_at stamp trigger.")
    s.add(
        """
CREATE OR REPLACE FUNCTION public.set_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$"""
    )
    s.add(
        """
CREATE OR REPLACE FUNCTION public.current_app_user()
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
    SELECT nullif(current_setting('app.user_id', true), '')::uuid
$$"""
    )
    s.add("GRANT EXECUTE ON FUNCTION public.current_app_user() TO app_user, app_admin")
    s.add("GRANT SELECT ON public.app_users TO app_admin")
    ids = [_uuid(rng) for _ in range(users)]
    rows = ",\n".join(f"    ('{i}', '{_text(rng, 1)}{n}@example.com')" for n, i in enumerate(ids))
    s.add(f"INSERT INTO public.app_users (id, email)\nVALUES\n{rows}")
    return s, ids


def migration_history(seed: int = DEFAULT_SEED, modules: int = 42) -> Corpus:
    """A Supabase-style migrations folder: `<timestamp>_<what>.sql`, one module at a time,
    then later fixes and additions spread over the rest of the history."""
    rng = random.Random(seed)
    corpus = Corpus("migrations", seed, {"modules": modules})
    clock = datetime(2023, 1, 9, 9, 0, 0)

    def stamp() -> str:
        nonlocal clock
        clock += timedelta(minutes=rng.randint(5, 60 * 24 * 3))
        return clock.strftime("%Y%m%d%H%M%S")

    init, user_ids = _init(rng, users=12)
    corpus.add(f"{stamp()}_init.sql", init)
    later: list[tuple[str, Script]] = []
    for index in range(modules):
        module = Module(rng, index, user_ids)
        for what, script in (
            ("tables", module.tables()),
            ("functions", module.functions()),
            ("triggers", module.triggers()),
            ("policies", module.policies()),
            ("seed", module.seed()),
        ):
            corpus.add(f"{stamp()}_{module.prefix}_{what}.sql", script)
        later.append((f"{module.prefix}_add_note", module.add_column()))
        if rng.random() < 0.5:
            later.append((f"{module.prefix}_rework_stats", module.rework_stats()))
        if rng.random() < 0.4:
            later.append((f"{module.prefix}_archive", module.archive()))
        # Later migrations of earlier modules interleave with the next modules' creation.
        while later and rng.random() < 0.45:
            what, script = later.pop(rng.randrange(len(later)))
            corpus.add(f"{stamp()}_{what}.sql", script)
    rng.shuffle(later)
    for what, script in later:
        corpus.add(f"{stamp()}_{what}.sql", script)
    return corpus


def scale_series(seed: int = DEFAULT_SEED, statements: int = 1000) -> Corpus:
    """Exactly `statements` top-level statements of the migration mix, one file per module."""
    rng = random.Random(seed)
    corpus = Corpus("scale", seed, {"statements": statements})
    init, user_ids = _init(rng, users=24)
    corpus.add("00000_init.sql", init)
    index = 0
    last: Module | None = None
    while True:
        module = Module(rng, index, user_ids)
        scripts = [
            module.tables(),
            module.functions(),
            module.triggers(),
            module.policies(),
            module.seed(),
            module.add_column(),
        ]
        if index % 2:
            scripts.append(module.rework_stats())
        size = sum(s.count for s in scripts)
        # Keep room for at least one padding statement when the next module does not fit.
        if last is not None and corpus.statements + size > statements - 1:
            break
        if last is None and corpus.statements + size > statements:
            raise ValueError(f"{statements} statements cannot hold one module ({size})")
        whole = Script(f"module {module.prefix}")
        for script in scripts:
            whole.parts.extend(script.parts)
            whole.count += script.count
        corpus.add(f"{index + 1:05d}_{module.prefix}.sql", whole)
        last = module
        index += 1
    missing = statements - corpus.statements
    if missing > 0 and last is not None:
        pad = Script("more demo data")
        pad.extend(last.seed_rows(missing))
        corpus.add(f"{index + 1:05d}_seed.sql", pad)
    if corpus.statements != statements:
        raise AssertionError(f"generated {corpus.statements} statements, wanted {statements}")
    return corpus


# ---- the trigger-heavy schema ------------------------------------------------------------


def trigger_heavy(
    seed: int = DEFAULT_SEED,
    tables: int = 2000,
    triggers: int = 5000,
    group_size: int = 50,
    depth_guards: bool = True,
) -> Corpus:
    """Groups of `group_size` tables: one rollup table and a chain of tables.

    Every table has a BEFORE UPDATE stamp trigger. Every chain table has an AFTER
    INSERT/UPDATE/DELETE trigger that updates its parent (the next table in the chain);
    the last table of a group either upserts the group's rollup table or closes a cycle
    to the first chain table (unguarded, guarded by pg_trigger_depth(), or by a WHEN
    clause). Each rollup table's AFTER UPDATE trigger bumps the next group's rollup, so
    rollups chain across every group. The remaining triggers recompute statistics of a
    chain table (COUNT/SUM) and upsert them into the rollup. Chain tables also reference
    their parent with ON DELETE CASCADE.

    `depth_guards=False` closes every cycle without pg_trigger_depth() (the cascade
    engine's memo is then independent of the trigger stack).
    """
    if tables % group_size:
        raise ValueError("tables must be a multiple of group_size")
    groups = tables // group_size
    chain_tables = tables - groups
    extra = triggers - 2 * tables
    if not 0 <= extra <= chain_tables:
        raise ValueError(f"triggers must be between {2 * tables} and {2 * tables + chain_tables}")
    rng = random.Random(seed)
    corpus = Corpus(
        "triggers",
        seed,
        {
            "tables": tables,
            "triggers": triggers,
            "group_size": group_size,
            "depth_guards": int(depth_guards),
        },
    )
    chain = [(g, k) for g in range(groups) for k in range(1, group_size)]
    recomputed = set(rng.sample(chain, extra))
    shared = Script("shared: the updated_at stamp")
    shared.add(
        """
CREATE OR REPLACE FUNCTION public.set_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$"""
    )
    corpus.add("0000-shared.sql", shared)

    def name(g: int, k: int) -> str:
        return f"public.g{g:03d}_rollup" if k == 0 else f"public.g{g:03d}_n{k:02d}"

    def bare(g: int, k: int) -> str:
        return name(g, k).split(".", 1)[1]

    last = group_size - 1
    for g in range(groups):
        closing = rng.choice(("rollup", "rollup", "cycle", "cycle_depth", "cycle_when"))
        if not depth_guards and closing in {"cycle_depth", "cycle_when"}:
            closing = "cycle"
        ddl = Script(f"group {g}: tables")
        ddl.add(
            f"""
CREATE TABLE {name(g, 0)} (
    day date NOT NULL,
    bucket integer NOT NULL,
    events integer NOT NULL DEFAULT 0,
    amount numeric(16, 2) NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, bucket)
)"""
        )
        for k in range(last, 0, -1):  # parents first, so that the FKs resolve
            parent = (
                f"\n    parent_id uuid REFERENCES {name(g, k + 1)} (id) ON DELETE CASCADE,"
                if k < last
                else "\n    parent_id uuid,"
            )
            ddl.add(
                f"""
CREATE TABLE {name(g, k)} (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),{parent}
    bucket integer NOT NULL DEFAULT {k},
    child_count integer NOT NULL DEFAULT 0,
    amount numeric(14, 2) NOT NULL DEFAULT 0,
    note text,
    updated_at timestamptz NOT NULL DEFAULT now()
)"""
            )
            if k < last:
                ddl.add(f"CREATE INDEX {bare(g, k)}_parent_idx ON {name(g, k)} (parent_id)")
        corpus.add(f"g{g:03d}-1-tables.sql", ddl)

        fns = Script(f"group {g}: trigger functions")
        trg = Script(f"group {g}: triggers")
        for k in range(group_size):
            trg.add(
                f"CREATE TRIGGER {bare(g, k)}_stamp BEFORE UPDATE ON {name(g, k)}\n"
                "    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at()"
            )
        # the rollup chain across groups
        if g + 1 < groups:
            fns.add(
                f"""
CREATE FUNCTION {name(g, 0)}_forward()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO {name(g + 1, 0)} (day, bucket, events, amount)
    VALUES (NEW.day, NEW.bucket, 1, NEW.amount - OLD.amount)
    ON CONFLICT (day, bucket) DO UPDATE SET
        events = {bare(g + 1, 0)}.events + 1,
        amount = {bare(g + 1, 0)}.amount + EXCLUDED.amount;
    RETURN NULL;
END;
$$"""
            )
            trg.add(
                f"CREATE TRIGGER {bare(g, 0)}_forward AFTER UPDATE ON {name(g, 0)}\n"
                f"    FOR EACH ROW EXECUTE FUNCTION {name(g, 0)}_forward()"
            )
        else:
            fns.add(
                f"""
CREATE FUNCTION {name(g, 0)}_forward()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE NOTICE 'rollup % changed', NEW.bucket;
    RETURN NULL;
END;
$$"""
            )
            trg.add(
                f"CREATE TRIGGER {bare(g, 0)}_forward AFTER UPDATE ON {name(g, 0)}\n"
                f"    FOR EACH ROW EXECUTE FUNCTION {name(g, 0)}_forward()"
            )
        for k in range(1, group_size):
            fn = f"{name(g, k)}_propagate"
            when = ""
            if k < last:
                target = name(g, k + 1)
                write_new = (
                    f"UPDATE {target} SET child_count = child_count + 1 WHERE id = NEW.parent_id;"
                )
                write_upd = (
                    f"UPDATE {target} SET amount = amount + NEW.amount - OLD.amount "
                    "WHERE id = NEW.parent_id;"
                )
                write_old = (
                    f"UPDATE {target} SET child_count = child_count - 1 WHERE id = OLD.parent_id;"
                )
            elif closing == "rollup":
                upsert = (
                    f"INSERT INTO {name(g, 0)} (day, bucket, events, amount)\n"
                    "        VALUES (current_date, {bucket}, 1, {amount})\n"
                    "        ON CONFLICT (day, bucket) DO UPDATE SET\n"
                    f"            events = {bare(g, 0)}.events + 1,\n"
                    f"            amount = {bare(g, 0)}.amount + EXCLUDED.amount;"
                )
                write_new = upsert.format(bucket="NEW.bucket", amount="NEW.amount")
                write_upd = upsert.format(bucket="NEW.bucket", amount="NEW.amount - OLD.amount")
                write_old = upsert.format(bucket="OLD.bucket", amount="-OLD.amount")
            else:
                target = name(g, 1)  # close the cycle: back to the start of the chain
                write_new = f"UPDATE {target} SET child_count = child_count + 1 WHERE bucket = 1;"
                write_upd = (
                    f"UPDATE {target} SET amount = amount + NEW.amount - OLD.amount "
                    "WHERE bucket = 1;"
                )
                write_old = f"UPDATE {target} SET child_count = child_count - 1 WHERE bucket = 1;"
                if closing == "cycle_depth":
                    write_new = f"IF pg_trigger_depth() < 3 THEN\n        {write_new}\n    END IF;"
                    write_upd = f"IF pg_trigger_depth() < 3 THEN\n        {write_upd}\n    END IF;"
                if closing == "cycle_when":
                    when = "\n    WHEN (pg_trigger_depth() < 2)"
            fns.add(
                f"""
CREATE FUNCTION {fn}()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {write_old}
        RETURN OLD;
    ELSIF TG_OP = 'INSERT' THEN
        {write_new}
    ELSIF NEW.amount IS DISTINCT FROM OLD.amount THEN
        {write_upd}
    END IF;
    RETURN NEW;
END;
$$"""
            )
            events = "INSERT OR UPDATE OR DELETE" if not when else "INSERT OR UPDATE"
            trg.add(
                f"CREATE TRIGGER {bare(g, k)}_propagate AFTER {events} ON {name(g, k)}\n"
                f"    FOR EACH ROW{when} EXECUTE FUNCTION {fn}()"
            )
            if (g, k) in recomputed:
                fns.add(
                    f"""
CREATE FUNCTION {name(g, k)}_recompute()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_rows integer;
    v_total numeric;
BEGIN
    SELECT count(*), coalesce(sum(t.amount), 0)
    INTO v_rows, v_total
    FROM {name(g, k)} AS t;

    INSERT INTO {name(g, 0)} (day, bucket, events, amount)
    VALUES (current_date, {k}, v_rows, v_total)
    ON CONFLICT (day, bucket) DO UPDATE SET
        events = EXCLUDED.events,
        amount = EXCLUDED.amount;
    RETURN NULL;
END;
$$"""
                )
                trg.add(
                    f"CREATE TRIGGER {bare(g, k)}_recompute AFTER INSERT OR DELETE "
                    f"ON {name(g, k)}\n"
                    f"    FOR EACH ROW EXECUTE FUNCTION {name(g, k)}_recompute()"
                )
        corpus.add(f"g{g:03d}-2-functions.sql", fns)
        corpus.add(f"g{g:03d}-3-triggers.sql", trg)
    return corpus


# ---- presets and writing -----------------------------------------------------------------

SCALE_SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}


def build(name: str, seed: int = DEFAULT_SEED, small: bool = False) -> Corpus:
    """A named corpus: migrations, scale-1k, scale-10k, scale-100k or triggers.

    `small` gives the smallest variant of each (used by the tests and by CI).
    """
    if name == "migrations":
        return migration_history(seed, modules=4 if small else 42)
    if name.startswith("scale-"):
        return scale_series(seed, SCALE_SIZES[name.split("-", 1)[1]])
    if name == "triggers":
        if small:
            return trigger_heavy(seed, tables=100, triggers=250, group_size=25)
        return trigger_heavy(seed)
    raise ValueError(f"unknown corpus {name!r}")


CORPORA = ("migrations", "scale-1k", "scale-10k", "scale-100k", "triggers")


def write(corpus: Corpus, folder: Path) -> dict[str, object]:
    """Replace `folder` with the corpus files and its manifest; return the manifest."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for relative, text in corpus.files.items():
        (folder / relative).write_text(text, encoding="utf-8")
    manifest = corpus.manifest()
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(folder: Path) -> Mapping[str, object] | None:
    try:
        loaded = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "corpus")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--kind", choices=[*CORPORA, "scale", "all"], default="all", help="what to generate"
    )
    parser.add_argument("--statements", type=int, help="with --kind scale: statement count")
    parser.add_argument("--small", action="store_true", help="the smallest variant of each")
    args = parser.parse_args(argv)
    if args.kind == "scale":
        if not args.statements:
            parser.error("--kind scale needs --statements")
        corpus = scale_series(args.seed, args.statements)
        manifest = write(corpus, args.out / f"scale-{args.statements}")
        print(json.dumps(manifest))
        return 0
    names = CORPORA if args.kind == "all" else (args.kind,)
    for corpus_name in names:
        corpus = build(corpus_name, args.seed, args.small)
        manifest = write(corpus, args.out / corpus_name)
        print(
            f"{corpus_name}: {manifest['files']} files, {manifest['statements']} statements, "
            f"{manifest['bytes']} bytes",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
