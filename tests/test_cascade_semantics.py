"""The cascade engine against PostgreSQL's trigger semantics, one rule per fixture.

Every `fixtures/sem-*/` folder is a small schema built to show one rule of
postgres-trigger-semantics.md, with a `trace.toml` whose counts were measured on a real
PostgreSQL 15 (tests/test_fixtures_load.py re-measures them). For each entry we assert

- that the statement measured is the entry we trace (`entry_from_sql` reads it back),
- our exact totals: the upper bound (`totals`) and the lower bound (`totals_min`),
- that the server's counts lie within [lo, hi], and equal them where lo == hi,
- the rule itself (which triggers appear in the tree, in which order, where it stops).

`expected_trigger_firings` in trace.toml is derived from the measured function calls (each
trigger in these fixtures runs its own function; the built-in
suppress_redundant_updates_trigger() is not counted by the server and was read off the
rows written); `test_firings_agree_with_function_calls` keeps that derivation honest. A
handful of integration tests ask the server what the statistics views cannot show: that
each folder loads on its own, firing order, and the unguarded recursion's error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import pytest

from analyzer.cascade import Cascade, Node, TraceEntry, Tracer, bounded_sum, totals_document
from analyzer.catalog import Catalog
from analyzer.entry_sql import entry_from_sql
from analyzer.graph import build_model
from analyzer.guards import ChangeAtom, Guard
from analyzer.loader import load
from analyzer.pgserver import load_sql_files, load_sql_text, sql_files

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEM_FOLDERS = sorted(path.parent.name for path in FIXTURES.glob("sem-*/trace.toml"))
KINDS = ("insert", "update", "delete", "upsert")


# ------------------------------------------------------------------------ helpers


@cache
def catalog_of(folder: str) -> Catalog:
    return load([str(FIXTURES / folder)])


@cache
def tracer_of(folder: str) -> Tracer:
    return Tracer(build_model(catalog_of(folder)))


@cache
def trace_entries(folder: str) -> dict[str, dict[str, Any]]:
    document = tomllib.loads((FIXTURES / folder / "trace.toml").read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in document["entry"]}


def trace(folder: str, entry: TraceEntry) -> Cascade:
    return tracer_of(folder).trace(entry)


def totals(
    firings: dict[str, int | None] | None = None,
    calls: dict[str, int | None] | None = None,
    writes: dict[str, dict[str, int | None]] | None = None,
    scans: int | None = 0,
) -> dict[str, Any]:
    """The DESIGN.md totals document, written compactly (row kinds default to 0; None is
    a count with no upper bound)."""
    row_writes = {
        table: {kind: kinds.get(kind, 0) for kind in KINDS}
        for table, kinds in sorted((writes or {}).items())
    }
    return {
        "trigger_firings": dict(sorted((firings or {}).items())),
        "function_calls": dict(sorted((calls or {}).items())),
        "row_writes": row_writes,
        "aggregate_scans": scans,
        "total_row_writes": bounded_sum(
            bounded_sum(kinds.values()) for kinds in row_writes.values()
        ),
    }


@dataclass(frozen=True)
class Case:
    folder: str
    name: str  # the trace.toml entry
    entry: TraceEntry
    upper: dict[str, Any]
    lower: dict[str, Any] | None = None  # None: the prediction is exact (lower == upper)
    # Known engine bugs: {"upper" | "lower" | "server": reason}; the test is xfail(strict).
    bugs: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.folder}:{self.name}"

    @property
    def expected_lower(self) -> dict[str, Any]:
        return self.upper if self.lower is None else self.lower


PRODUCT = "public.products"
POSTS = "public.posts"
COMMENTS = "public.comments"
CART = "public.cart_items"
PREFERENCES = "public.agent_preferences"
PREFERENCE_FORM = ("notify_by_email", "signature")
LOOP_POSTS = "public.posts"
ORDERS = "public.orders"
PAGE_HITS = "public.page_hits"

PAGE_VIEWS = "public.page_views"


def _page_view(bound: int) -> dict[str, Any]:
    """sem-found: the page view, with each counter's insert and update counted 0..1, and
    the insert-if-missing of the first view 0..1."""
    either = {"insert": bound, "update": bound}
    counters = ("public.daily_visits", "public.page_stats", "public.visitors") if bound else ()
    first = {"public.first_views": {"insert": 1}} if bound else {}
    return {
        **totals(
            {
                "public.page_views.page_views_count": 1,
                "public.page_views.page_views_count_daily": 1,
                "public.page_views.page_views_record_first": 1,
                "public.page_views.page_views_remember_visitor": 1,
            },
            {
                "public.count_page_view": 1,
                "public.count_daily_visit": 1,
                "public.record_first_view": 1,
                "public.remember_visitor": 1,
            },
            {PAGE_VIEWS: {"insert": 1}, **dict.fromkeys(counters, either), **first},
        ),
        "total_row_writes": 4 + bound,
    }


CASES = [
    # 1. UPDATE OF col: fires when col is in the SET list, changed or not; not otherwise.
    Case(
        "sem-update-of",
        "price-set-to-same-value",
        TraceEntry(PRODUCT, "update", unchanged=True, columns=("price_cents",)),
        totals(
            {"public.products.products_touch": 1, "public.products.products_price_history": 1},
            {"public.touch_product": 1, "public.record_price_change": 1},
            {PRODUCT: {"update": 1}, "public.price_history": {"insert": 1}},
        ),
    ),
    Case(
        "sem-update-of",
        "rename-only",
        TraceEntry(PRODUCT, "update", columns=("name",)),
        totals(
            {"public.products.products_touch": 1},
            {"public.touch_product": 1},
            {PRODUCT: {"update": 1}},
        ),
    ),
    Case(
        "sem-update-of",
        "price-and-stock-change",
        TraceEntry(PRODUCT, "update", columns=("price_cents", "stock")),
        totals(
            {
                "public.products.products_touch": 1,
                "public.products.products_price_history": 1,
                "public.products.products_restock": 1,
            },
            {
                "public.touch_product": 1,
                "public.record_price_change": 1,
                "public.request_restock": 1,
            },
            {
                PRODUCT: {"update": 1},
                "public.price_history": {"insert": 1},
                "public.restock_requests": {"insert": 1},  # IF NEW.stock <= NEW.reorder_level
            },
        ),
        totals(
            {
                "public.products.products_touch": 1,
                "public.products.products_price_history": 1,
                "public.products.products_restock": 1,
            },
            {
                "public.touch_product": 1,
                "public.record_price_change": 1,
                "public.request_restock": 1,
            },
            {PRODUCT: {"update": 1}, "public.price_history": {"insert": 1}},
        ),
    ),
    # 2. WHEN (OLD.* IS DISTINCT FROM NEW.*): no firing when nothing changes.
    Case(
        "sem-when-distinct",
        "post-autosave-unchanged",
        TraceEntry(POSTS, "update", unchanged=True, columns=("title", "body")),
        totals(writes={POSTS: {"update": 1}}),
    ),
    Case(
        "sem-when-distinct",
        "post-edit",
        TraceEntry(POSTS, "update", columns=("title", "body")),
        totals(
            {"public.posts.posts_revision": 1},
            {"public.record_post_revision": 1},
            {POSTS: {"update": 1}, "public.post_revisions": {"insert": 1}},
        ),
        # Without --unchanged, whether a SET column really changes is data: undecidable.
        totals(writes={POSTS: {"update": 1}}),
    ),
    Case(
        "sem-when-distinct",
        "post-import-resend-unchanged",
        TraceEntry(POSTS, "upsert", unchanged=True, columns=("slug", "title", "body", "published")),
        totals(writes={POSTS: {"update": 1}}),
    ),
    Case(
        "sem-when-distinct",
        "post-import-resend-changed",
        TraceEntry(POSTS, "upsert", columns=("slug", "title", "body", "published")),
        totals(
            {"public.posts.posts_revision": 1},
            {"public.record_post_revision": 1},
            {POSTS: {"update": 1}, "public.post_revisions": {"insert": 1}},
        ),
        totals(writes={POSTS: {"update": 1}}),
    ),
    # The same re-send through an upsert whose DO UPDATE has a WHERE clause: when the
    # WHERE is false the conflict path updates nothing and fires no UPDATE trigger.
    Case(
        "sem-when-distinct",
        "post-import-resend-guarded-upsert",
        TraceEntry(
            POSTS,
            "upsert",
            unchanged=True,
            columns=("slug", "title", "body", "published"),
            conflict_guard=Guard.of(ChangeAtom(("slug", "title", "body", "published"), True)),
        ),
        totals(),
    ),
    Case(
        "sem-when-distinct",
        "comment-save-unchanged",
        TraceEntry(COMMENTS, "update", unchanged=True, columns=("body",)),
        totals(writes={COMMENTS: {"update": 1}}),
    ),
    Case(
        "sem-when-distinct",
        "comment-edit",
        TraceEntry(COMMENTS, "update", columns=("body",)),
        totals(
            {"public.comments.comments_mark_edited": 1},
            {"public.mark_comment_edited": 1},
            {COMMENTS: {"update": 1}},
        ),
        totals(writes={COMMENTS: {"update": 1}}),
    ),
    # 3. A BEFORE row trigger returning NULL skips the row and every later trigger.
    Case(
        "sem-before-null",
        "ticket-delete-becomes-soft-delete",
        TraceEntry("public.tickets", "delete"),
        totals(
            {
                "public.tickets.a_log_delete_request": 1,
                "public.tickets.b_soft_delete": 1,
                "public.tickets.tickets_touch": 1,
                "public.tickets.tickets_updated_audit": 1,
            },
            {
                "public.log_ticket_delete_request": 1,
                "public.soft_delete_ticket": 1,
                "public.touch_ticket": 1,
                "public.audit_ticket_updated": 1,
            },
            {"public.tickets": {"update": 1}, "public.ticket_events": {"insert": 2}},
        ),
    ),
    # The built-in suppress_redundant_updates_trigger() returns NULL for a no-op update.
    Case(
        "sem-before-null",
        "preferences-resave-unchanged",
        TraceEntry(PREFERENCES, "update", unchanged=True, columns=PREFERENCE_FORM),
        totals({"public.agent_preferences.a_skip_noop_saves": 1}),
    ),
    Case(
        "sem-before-null",
        "preferences-change",
        TraceEntry(PREFERENCES, "update", columns=PREFERENCE_FORM),
        totals(
            {
                "public.agent_preferences.a_skip_noop_saves": 1,
                "public.agent_preferences.b_touch_preferences": 1,
                "public.agent_preferences.agent_preferences_audit": 1,
            },
            {"public.touch_agent_preferences": 1, "public.log_preference_change": 1},
            {PREFERENCES: {"update": 1}, "public.preference_changes": {"insert": 1}},
        ),
        # Whether the submitted values differ from the stored ones is data.
        totals({"public.agent_preferences.a_skip_noop_saves": 1}),
    ),
    # 4. A statement-level AFTER trigger with a transition table fires once per statement.
    *(
        Case(
            "sem-transition-table",
            name,
            TraceEntry("public.readings", "insert", rows=100),
            totals(
                {
                    "public.readings.readings_clamp": 100,
                    "public.readings.readings_overheat": 100,
                    "public.readings.readings_rollup": 1,
                },
                {
                    "public.clamp_reading": 100,
                    "public.raise_overheat_alert": 100,
                    "public.roll_up_device_readings": 1,
                },
                {
                    "public.readings": {"insert": 100},
                    "public.temperature_alerts": {"insert": 100},  # IF NEW.celsius > 90
                    # UPDATE … FROM (a GROUP BY over new_readings) WHERE d.id = …: one
                    # devices row at most per row of the 100-row transition table.
                    "public.devices": {"update": 100},
                },
                # count(*), max(…) over the transition table reads the statement's own
                # rows, not a stored table: no aggregate scan.
            ),
            totals(
                {
                    "public.readings.readings_clamp": 100,
                    "public.readings.readings_overheat": 100,
                    "public.readings.readings_rollup": 1,
                },
                {
                    "public.clamp_reading": 100,
                    "public.raise_overheat_alert": 100,
                    "public.roll_up_device_readings": 1,
                },
                {"public.readings": {"insert": 100}},
            ),
        )
        for name in ("batch-upload-100-readings", "gateway-upload-100-readings-4-devices")
    ),
    # 5. FK actions fire the child table's row triggers, once per child row.
    Case(
        "sem-fk-actions",
        "order-delete-cascades-to-lines",
        TraceEntry("public.orders", "delete", children=3),
        totals(
            {"public.order_items.order_items_release_stock": 3},
            {"public.release_reserved_stock": 3},
            {
                "public.orders": {"delete": 1},
                "public.order_items": {"delete": 3},
                "public.inventory": {"update": 3},
            },
        ),
    ),
    Case(
        "sem-fk-actions",
        "sku-renamed-on-every-line",
        TraceEntry("public.inventory", "update", columns=("sku",), children=2),
        totals(
            {"public.order_items.order_items_sku_renamed": 2},
            {"public.note_line_sku_change": 2},
            {
                "public.inventory": {"update": 1},
                "public.order_items": {"update": 2},
                "public.order_audit": {"insert": 2},
            },
        ),
        # Whether the new SKU differs from the stored one is data: the action may not run.
        totals(writes={"public.inventory": {"update": 1}}),
    ),
    Case(
        "sem-fk-actions",
        "restock-keeps-the-sku",
        TraceEntry("public.inventory", "update", columns=("on_hand",)),
        totals(writes={"public.inventory": {"update": 1}}),
    ),
    Case(
        "sem-fk-actions",
        "customer-erasure-sets-orders-null",
        TraceEntry("public.customers", "delete", children=2),
        totals(
            {"public.orders.orders_touch": 2, "public.orders.orders_audit": 2},
            {"public.touch_order": 2, "public.audit_order_change": 2},
            {
                "public.customers": {"delete": 1},
                "public.orders": {"update": 2},
                "public.order_audit": {"insert": 2},
            },
        ),
    ),
    # A self-referencing ON DELETE CASCADE: the first level of replies is certain (two, as
    # measured), the levels below are data (the server went two more down).
    Case(
        "sem-fk-trees",
        "comment-deleted-with-its-reply-tree",
        TraceEntry("public.comments", "delete", children=2),
        totals(
            {"public.comments.comments_archive": None},
            {"public.archive_comment": None},
            {"public.comments": {"delete": None}, "public.comment_archive": {"insert": None}},
        ),
        totals(
            {"public.comments.comments_archive": 3},
            {"public.archive_comment": 3},
            {"public.comments": {"delete": 3}, "public.comment_archive": {"insert": 3}},
        ),
    ),
    # ON DELETE SET NULL on a self-reference: the direct children only, exactly.
    Case(
        "sem-fk-trees",
        "category-deleted-lifts-its-subcategories",
        TraceEntry("public.categories", "delete", children=2),
        totals(
            {"public.categories.categories_moved": 2, "public.categories.categories_touch": 2},
            {"public.record_category_move": 2, "public.touch_category": 2},
            {
                "public.categories": {"delete": 1, "update": 2},
                "public.category_moves": {"insert": 2},
            },
        ),
    ),
    # An automatically updatable view: its writes are the base table's, its own statement
    # trigger stays silent. Whether owner (assignee) changes is data: WHEN decides.
    Case(
        "sem-updatable-views",
        "ticket-reassigned-through-the-view",
        TraceEntry("public.open_tickets", "update", columns=("owner",)),
        totals(
            {
                "public.tickets.tickets_touch": 1,
                "public.tickets.tickets_assigned": 1,
                "public.tickets.tickets_written": 1,
            },
            {"public.touch_ticket": 1, "public.record_assignment": 1, "public.record_statement": 1},
            {"public.tickets": {"update": 1}, "public.ticket_events": {"insert": 2}},
        ),
        totals(
            {"public.tickets.tickets_touch": 1, "public.tickets.tickets_written": 1},
            {"public.touch_ticket": 1, "public.record_statement": 1},
            {"public.tickets": {"update": 1}, "public.ticket_events": {"insert": 1}},
        ),
    ),
    Case(
        "sem-updatable-views",
        "ticket-opened-through-the-view",
        TraceEntry("public.open_tickets", "insert"),
        totals(
            {"public.tickets.tickets_written": 1},
            {"public.record_statement": 1},
            {"public.tickets": {"insert": 1}, "public.ticket_events": {"insert": 1}},
        ),
    ),
    # 6. Two-table recursion stopped by pg_trigger_depth() < 2. The wallet's copy finds
    # its account for sure (legacy_wallets.account_id is a NOT NULL foreign key to it);
    # the account's copy finds a wallet only if the account has one, which nothing in
    # the schema guarantees (the measured workload made one).
    *(
        Case(
            "sem-recursion",
            name,
            TraceEntry(table, "update", columns=("balance_cents",)),
            totals(
                {
                    "public.ledger_accounts.ledger_accounts_copy_balance": 1,
                    "public.legacy_wallets.legacy_wallets_copy_balance": 1,
                },
                {"public.copy_balance_to_wallet": 1, "public.copy_balance_to_account": 1},
                {"public.ledger_accounts": {"update": 1}, "public.legacy_wallets": {"update": 1}},
            ),
            lower,
        )
        for name, table, lower in (
            (
                "ledger-posting-copied-to-wallet",
                "public.ledger_accounts",
                totals(
                    {"public.ledger_accounts.ledger_accounts_copy_balance": 1},
                    {"public.copy_balance_to_wallet": 1},
                    {"public.ledger_accounts": {"update": 1}},
                ),
            ),
            ("legacy-client-writes-wallet", "public.legacy_wallets", None),
        )
    ),
    # 7. ON CONFLICT DO NOTHING on an existing row: BEFORE INSERT (and the INSERT
    # statement trigger), nothing else.
    Case(
        "sem-do-nothing",
        "signup-again-existing-subscriber",
        TraceEntry("public.subscribers", "upsert", do_nothing=True),
        totals(
            {
                "public.subscribers.subscribers_normalize": 1,
                "public.subscribers.subscribers_signup_batch": 1,
            },
            {"public.normalize_subscriber_email": 1, "public.log_signup_batch": 1},
            {"public.signup_batches": {"insert": 1}},
        ),
    ),
    Case(
        "sem-do-nothing",
        "signup-new-subscriber",
        TraceEntry("public.subscribers", "upsert", new_row=True, do_nothing=True),
        totals(
            {
                "public.subscribers.subscribers_normalize": 1,
                "public.subscribers.subscribers_confirm": 1,
                "public.subscribers.subscribers_signup_batch": 1,
            },
            {
                "public.normalize_subscriber_email": 1,
                "public.queue_confirmation_email": 1,
                "public.log_signup_batch": 1,
            },
            {
                "public.subscribers": {"insert": 1},
                "public.outbound_emails": {"insert": 1},
                "public.signup_batches": {"insert": 1},
            },
        ),
    ),
    # 8. Upsert: conflict path and new-row path; INSERT and UPDATE statement triggers.
    Case(
        "sem-upsert-paths",
        "add-to-cart-line-exists",
        TraceEntry(CART, "upsert", columns=("quantity",)),
        totals(
            {
                "public.cart_items.cart_items_price": 1,
                "public.cart_items.cart_items_touch": 1,
                "public.cart_items.cart_items_quantity_changed": 1,
                "public.cart_items.cart_items_insert_statement": 1,
                "public.cart_items.cart_items_update_statement": 1,
            },
            {
                "public.price_cart_item": 1,
                "public.touch_cart_item": 1,
                "public.record_item_quantity_changed": 1,
                "public.log_cart_insert_statement": 1,
                "public.log_cart_update_statement": 1,
            },
            {
                CART: {"update": 1},
                "public.cart_events": {"insert": 1},
                "public.cart_statement_log": {"insert": 2},
            },
        ),
    ),
    Case(
        "sem-upsert-paths",
        "add-to-cart-new-line",
        TraceEntry(CART, "upsert", new_row=True, columns=("quantity",)),
        totals(
            {
                "public.cart_items.cart_items_price": 1,
                "public.cart_items.cart_items_added": 1,
                "public.cart_items.cart_items_insert_statement": 1,
                "public.cart_items.cart_items_update_statement": 1,
            },
            {
                "public.price_cart_item": 1,
                "public.record_item_added": 1,
                "public.log_cart_insert_statement": 1,
                "public.log_cart_update_statement": 1,
            },
            {
                CART: {"insert": 1},
                "public.cart_events": {"insert": 1},
                "public.cart_statement_log": {"insert": 2},
            },
        ),
    ),
    # 9. Same-timing triggers fire in name order (the order is asserted further down).
    Case(
        "sem-trigger-order",
        "new-shipment",
        TraceEntry("public.shipments", "insert"),
        totals(
            {
                "public.shipments.shipments_100_quote_rate": 1,
                "public.shipments.shipments_10_normalize_postcode": 1,
                "public.shipments.shipments_20_weigh": 1,
                "public.shipments.shipments_book_carrier": 1,
                "public.shipments.shipments_print_label": 1,
            },
            {
                "public.normalize_postcode": 1,
                "public.weigh_parcel": 1,
                "public.quote_rate": 1,
                "public.log_carrier_booked": 1,
                "public.log_label_printed": 1,
            },
            {"public.shipments": {"insert": 1}, "public.shipment_log": {"insert": 2}},
        ),
    ),
    # 10. Disabled (and replica-only) triggers do not fire; ENABLE ALWAYS ones do.
    Case(
        "sem-disabled",
        "salary-raise",
        TraceEntry("public.employees", "update", columns=("salary_cents",)),
        totals(
            {
                "public.employees.employees_touch": 1,
                "public.employees.employees_salary_band": 1,
                "public.employees.employees_audit": 1,
            },
            {
                "public.touch_employee": 1,
                "public.check_salary_band": 1,
                "public.audit_employee_change": 1,
            },
            {"public.employees": {"update": 1}, "public.hr_audit": {"insert": 1}},
        ),
    ),
    Case(
        "sem-disabled",
        "cost-center-renumbered",
        TraceEntry("public.departments", "update", columns=("cost_center",)),
        totals(writes={"public.departments": {"update": 1}}),
    ),
    # 11. A statement in a PL/pgSQL loop runs once per round: FOREACH over an array and
    # FOR over a query's rows go round 0..n times (no upper bound, and none at least),
    # FOR 1..3 exactly three times, a LOOP … EXIT WHEN FOUND at least once; each row the
    # looped write makes fires its row triggers as many times.
    *(
        Case(
            "sem-loops",
            name,
            TraceEntry(LOOP_POSTS, "insert"),
            totals(
                {
                    "public.posts.posts_explode_tags": 1,
                    "public.post_tags.post_tags_count_use": None,
                },
                {"public.explode_post_tags": 1, "public.count_tag_use": None},
                {
                    LOOP_POSTS: {"insert": 1},
                    "public.post_tags": {"insert": None},
                    "public.tag_usage": {"upsert": None},
                },
            ),
            totals(
                {"public.posts.posts_explode_tags": 1},
                {"public.explode_post_tags": 1},
                {LOOP_POSTS: {"insert": 1}},
            ),
        )
        for name in ("post-with-three-tags", "post-without-tags")
    ),
    Case(
        "sem-loops",
        "order-with-two-items",
        TraceEntry(ORDERS, "insert"),
        totals(
            {
                "public.orders.orders_assign_invoice_number": 1,
                "public.orders.orders_explode_items": 1,
                "public.orders.orders_schedule_reminders": 1,
                "public.order_lines.order_lines_reserve_stock": None,
            },
            {
                "public.assign_invoice_number": 1,
                "public.explode_order_items": 1,
                "public.schedule_reminders": 1,
                "public.reserve_stock": None,
            },
            {
                ORDERS: {"insert": 1},
                "public.invoice_numbers": {"insert": None},  # LOOP until an insert lands
                "public.order_lines": {"insert": None},  # one per jsonb array element
                "public.reminders": {"insert": 3},  # FOR 1..3
                "public.stock": {"update": None},
            },
            scans=0,  # max(number) is one probe of invoice_numbers' primary key
        ),
        totals(
            {
                "public.orders.orders_assign_invoice_number": 1,
                "public.orders.orders_explode_items": 1,
                "public.orders.orders_schedule_reminders": 1,
            },
            {
                "public.assign_invoice_number": 1,
                "public.explode_order_items": 1,
                "public.schedule_reminders": 1,
            },
            # The invoice insert may hit a taken number (DO NOTHING) and not count.
            {ORDERS: {"insert": 1}, "public.reminders": {"insert": 3}},
            scans=0,
        ),
    ),
    # 12. Source and join rows pinned by a unique key bound the rows a write touches:
    # INSERT … SELECT from the cart picked by its primary key and UPDATE … FROM it joined
    # to the customer's primary key touch one row at most (none if the cart were gone);
    # an aggregate without GROUP BY yields exactly one row, even over no lines.
    *(
        Case(
            "sem-keyed-sources",
            name,
            TraceEntry(ORDERS, "insert"),
            totals(
                {"public.orders.orders_invoice": 1},
                {"public.invoice_order": 1},
                {
                    ORDERS: {"insert": 1},
                    "public.invoices": {"insert": 1},
                    "public.customers": {"update": 1},
                    "public.order_stats": {"insert": 1},
                },
                scans=1,
            ),
            # The invoice for certain: orders.cart_id is a NOT NULL foreign key to the
            # cart's primary key, checked before this AFTER trigger runs; the customer's
            # credit goes through a second row (the cart's customer_id), not followed.
            totals(
                {"public.orders.orders_invoice": 1},
                {"public.invoice_order": 1},
                {
                    ORDERS: {"insert": 1},
                    "public.invoices": {"insert": 1},
                    "public.order_stats": {"insert": 1},
                },
                scans=1,
            ),
        )
        for name in ("order-placed-from-cart", "order-placed-from-empty-cart")
    ),
    # A MERGE from one source row (a SELECT without FROM) whose ON clause names the
    # target's primary key runs one arm on one row at most: an insert or an update.
    *(
        Case(
            "sem-keyed-sources",
            name,
            TraceEntry(PAGE_HITS, "insert"),
            {
                **totals(
                    {"public.page_hits.page_hits_count": 1},
                    {"public.count_page_hit": 1},
                    {PAGE_HITS: {"insert": 1}, "public.page_totals": {"insert": 1, "update": 1}},
                ),
                "total_row_writes": 2,  # the arms are alternatives
            },
            # Which arm runs is data, but one of them does: one page_totals write.
            {
                **totals(
                    {"public.page_hits.page_hits_count": 1},
                    {"public.count_page_hit": 1},
                    {PAGE_HITS: {"insert": 1}},
                ),
                "total_row_writes": 2,
            },
        )
        for name in ("first-hit-on-page", "repeat-hit-on-page")
    ),
    # A statement-level trigger's UPDATE … FROM its transition table, joined to carts
    # and customers by their primary keys: one customer at most per new line.
    Case(
        "sem-keyed-sources",
        "lines-added-to-three-carts",
        TraceEntry("public.cart_lines", "insert", rows=3),
        totals(
            {"public.cart_lines.cart_lines_mark_active": 1},
            {"public.mark_customers_active": 1},
            {"public.cart_lines": {"insert": 3}, "public.customers": {"update": 3}},
        ),
        totals(
            {"public.cart_lines.cart_lines_mark_active": 1},
            {"public.mark_customers_active": 1},
            {"public.cart_lines": {"insert": 3}},
        ),
    ),
    # DELETE … USING a tag picked by its unique name: taggings.tag_id is no key, so
    # every tagging of the tag goes (three on the server); nothing bounds that.
    Case(
        "sem-keyed-sources",
        "retire-tag-on-three-articles",
        TraceEntry("public.retired_tags", "insert"),
        totals(
            {"public.retired_tags.retired_tags_untag": 1},
            {"public.retire_tag": 1},
            {"public.retired_tags": {"insert": 1}, "public.taggings": {"delete": None}},
        ),
        totals(
            {"public.retired_tags.retired_tags_untag": 1},
            {"public.retire_tag": 1},
            {"public.retired_tags": {"insert": 1}},
        ),
    ),
    # 13. FOUND (and a ROW_COUNT read right after the write) tells whether the UPDATE
    # before it touched a row: UPDATE; IF NOT FOUND THEN INSERT runs one of the two, never
    # both. Each counter gets one write of either kind. INSERT … SELECT … WHERE NOT EXISTS
    # may insert nothing: the page view costs 4 or 5.
    *(
        Case(
            "sem-found",
            name,
            TraceEntry(PAGE_VIEWS, "insert"),
            _page_view(1),
            _page_view(0),
        )
        for name in ("first-view-of-a-new-page", "repeat-view-of-a-known-page")
    ),
]


def _params(which: str) -> list[Any]:
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=case.bugs[which])]
            if which in case.bugs
            else [],
        )
        for case in CASES
    ]


def test_every_measured_entry_has_a_case() -> None:
    measured = {f"{folder}:{name}" for folder in SEM_FOLDERS for name in trace_entries(folder)}
    assert measured == {case.id for case in CASES}
    assert len(SEM_FOLDERS) == 15


@pytest.mark.parametrize("folder", SEM_FOLDERS)
def test_fixture_is_understood_completely(folder: str) -> None:
    catalog = catalog_of(folder)
    assert list(catalog.diagnostics) == []
    model = build_model(catalog)
    assert not model.bodies.diagnostics
    assert all(not body.incomplete for body in model.bodies.functions.values())


# ------------------------------------------------------------------ the generic checks


@pytest.mark.parametrize("case", _params("entry"))
def test_entry_is_the_measured_statement(case: Case) -> None:
    """The statement measured on the server reads back as the entry we trace."""
    measured = trace_entries(case.folder)[case.name]
    entry = entry_from_sql(
        catalog_of(case.folder),
        measured["sql"],
        unchanged=measured["unchanged"],
        new_row=measured["scenario"].startswith("new-row"),
        rows=case.entry.rows,
    )
    assert isinstance(entry, TraceEntry)
    children = measured.get("child_rows", {})
    assert replace(entry, children=sum(children.values()) or 1) == case.entry
    assert (measured["table"], measured["op"], measured["scenario"]) == (
        case.entry.table,
        case.entry.operation,
        case.entry.scenario,
    )
    assert tuple(measured.get("columns", ())) == (case.entry.columns or ())


@pytest.mark.parametrize("case", _params("upper"))
def test_upper_bound(case: Case) -> None:
    assert totals_document(trace(case.folder, case.entry).totals(), 1) == case.upper


@pytest.mark.parametrize("case", _params("lower"))
def test_lower_bound(case: Case) -> None:
    assert totals_document(trace(case.folder, case.entry).totals(), 0) == case.expected_lower


@pytest.mark.parametrize("case", _params("server"))
def test_server_counts_lie_within_the_bounds(case: Case) -> None:
    """What PostgreSQL did is within [totals_min, totals]; equal where those agree."""
    tally = trace(case.folder, case.entry).totals()
    low, high = totals_document(tally, 0), totals_document(tally, 1)
    measured = trace_entries(case.folder)[case.name]
    outside = []

    def check(what: str, value: int, lo: int, hi: int | None) -> None:
        # hi None: no upper bound (a loop's rounds, a set-based write's rows).
        if value < lo or (hi is not None and value > hi):
            outside.append(f"{what}: server {value}, predicted {lo}..{hi}")

    firings = measured["expected_trigger_firings"]
    for name in sorted(set(firings) | set(high["trigger_firings"])):
        check(
            f"firings {name}",
            firings.get(name, 0),
            low["trigger_firings"].get(name, 0),
            high["trigger_firings"].get(name, 0),
        )
    calls = measured["function_calls"]
    for name in sorted(set(calls) | set(high["function_calls"])):
        check(
            f"calls {name}",
            calls.get(name, 0),
            low["function_calls"].get(name, 0),
            high["function_calls"].get(name, 0),
        )
    writes = measured["row_writes"]
    zero = dict.fromkeys(KINDS, 0)
    for table in sorted(set(writes) | set(high["row_writes"])):
        server = {**zero, **writes.get(table, {})}
        lo = low["row_writes"].get(table, zero)
        hi = high["row_writes"].get(table, zero)
        # An upsert whose target may or may not exist is either an insert or an update.
        for kind in ("insert", "update"):
            check(f"{kind} {table}", server[kind], lo[kind], bounded_sum([hi[kind], hi["upsert"]]))
        check(f"delete {table}", server["delete"], lo["delete"], hi["delete"])
        check(
            f"writes {table}",
            server["insert"] + server["update"],
            lo["insert"] + lo["update"] + lo["upsert"],
            bounded_sum([hi["insert"], hi["update"], hi["upsert"]]),
        )
    check(
        "total row writes",
        measured["total_row_writes"],
        low["total_row_writes"],
        high["total_row_writes"],
    )
    assert not outside, f"{case.id}:\n  " + "\n  ".join(outside)


@pytest.mark.parametrize(
    ("folder", "name"),
    [(folder, name) for folder in SEM_FOLDERS for name in trace_entries(folder)],
)
def test_firings_agree_with_function_calls(folder: str, name: str) -> None:
    """expected_trigger_firings is what the measured function calls imply."""
    catalog = catalog_of(folder)
    measured = trace_entries(folder)[name]
    firings: dict[str, int] = measured["expected_trigger_firings"]
    trigger_functions = {f.name for f in catalog.functions.values() if f.returns_trigger}
    by_function: dict[str, int] = {}
    for key, count in firings.items():
        function = catalog.triggers[key].function
        if function.rsplit(".", 1)[-1] == "suppress_redundant_updates_trigger":
            continue  # a built-in: pg_stat_user_functions does not count it
        by_function[function] = by_function.get(function, 0) + count
    calls = {f: n for f, n in measured["function_calls"].items() if f in trigger_functions}
    assert by_function == calls


# ------------------------------------------------------------------- the rules themselves


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _row_node(cascade: Cascade) -> Node:
    (row,) = [n for n in cascade.tree.children if n.kind == "row"]
    return row


def _fired(cascade: Cascade) -> list[str]:
    return [n.name for n in _walk(cascade.tree) if n.kind == "trigger"]


def test_update_of_fires_for_a_column_in_the_set_list_only() -> None:
    folder = "sem-update-of"
    history = "public.products.products_price_history"
    same = trace(folder, TraceEntry(PRODUCT, "update", unchanged=True, columns=("price_cents",)))
    assert history in _fired(same)
    renamed = trace(folder, TraceEntry(PRODUCT, "update", columns=("name",)))
    assert history not in _fired(renamed)
    assert "public.products.products_restock" not in _fired(renamed)
    # No SET list given: every column is set, so every UPDATE OF trigger may fire.
    everything = trace(folder, TraceEntry(PRODUCT, "update"))
    assert {history, "public.products.products_restock"} <= set(_fired(everything))


@pytest.mark.parametrize(
    ("entry", "trigger"),
    [
        (
            TraceEntry(POSTS, "upsert", unchanged=True, columns=("title", "body")),
            "public.posts.posts_revision",
        ),
        (
            TraceEntry(POSTS, "update", unchanged=True, columns=("title",)),
            "public.posts.posts_revision",
        ),
        (
            TraceEntry(COMMENTS, "update", unchanged=True, columns=("body",)),
            "public.comments.comments_mark_edited",
        ),
    ],
    ids=["upsert-resend", "update", "one-column-when"],
)
def test_when_distinct_skips_unchanged_writes(entry: TraceEntry, trigger: str) -> None:
    unchanged = trace("sem-when-distinct", entry)
    assert trigger not in _fired(unchanged)
    # A real change fires it; without --unchanged whether the values differ is data.
    changed = trace("sem-when-distinct", replace(entry, unchanged=False))
    assert changed.totals().counts[("firing", trigger)] == (0, 1)


def test_before_trigger_returning_null_stops_the_row() -> None:
    cascade = trace("sem-before-null", TraceEntry("public.tickets", "delete"))
    row = _row_node(cascade)
    assert [(n.kind, n.name) for n in row.children] == [
        ("trigger", "public.tickets.a_log_delete_request"),
        ("trigger", "public.tickets.b_soft_delete"),
        ("stop", "public.tickets.b_soft_delete"),
    ]
    fired = _fired(cascade)
    assert "public.tickets.c_release_assignee" not in fired
    assert "public.tickets.tickets_deleted_audit" not in fired
    # The soft delete's own UPDATE still runs, with its triggers.
    assert "public.tickets.tickets_updated_audit" in fired
    counts = cascade.totals().counts
    assert ("write", "public.tickets", "delete") not in counts
    assert ("write", "public.agents", "update") not in counts


def test_statement_trigger_fires_once_per_statement_row_trigger_once_per_row() -> None:
    cascade = trace("sem-transition-table", TraceEntry("public.readings", "insert", rows=100))
    statement_level = [n.name for n in cascade.tree.children if n.kind == "trigger"]
    assert statement_level == ["public.readings.readings_rollup"]
    for rows in (1, 100):
        counts = cascade.totals(rows).counts
        assert counts[("firing", "public.readings.readings_rollup")] == (1, 1)
        assert counts[("firing", "public.readings.readings_clamp")] == (rows, rows)
        assert counts[("firing", "public.readings.readings_overheat")] == (rows, rows)


def test_fk_actions_fire_the_child_triggers_per_child_row() -> None:
    folder = "sem-fk-actions"
    for children in (1, 3, 1000):
        cascade = trace(folder, TraceEntry("public.orders", "delete", children=children))
        counts = cascade.totals().counts
        release = ("firing", "public.order_items.order_items_release_stock")
        assert counts[release] == (children, children)
        assert counts[("write", "public.order_items", "delete")] == (children, children)
    erased = trace(folder, TraceEntry("public.customers", "delete", children=2))
    (fk,) = [n for n in _walk(erased.tree) if n.kind == "fk"]
    assert (fk.name, fk.detail) == ("public.orders", "ON DELETE SET NULL (customer_id)")
    # SET NULL writes customer_id only: the UPDATE OF status trigger stays silent.
    assert "public.orders.orders_status_notify" not in _fired(erased)
    assert "public.orders.orders_audit" in _fired(erased)


def test_depth_guard_ends_the_two_table_recursion() -> None:
    cascade = trace(
        "sem-recursion", TraceEntry("public.ledger_accounts", "update", columns=("balance_cents",))
    )
    assert [c for c in cascade.cycles if not c.broken] == []
    assert _fired(cascade) == [
        "public.ledger_accounts.ledger_accounts_copy_balance",
        "public.legacy_wallets.legacy_wallets_copy_balance",
    ]


def test_unguarded_recursion_is_a_cycle_nothing_breaks() -> None:
    cascade = trace(
        "sem-recursion", TraceEntry("public.warehouse_stock", "update", columns=("units",))
    )
    assert [(c.frames, c.guards, c.broken) for c in cascade.cycles] == [
        (
            (
                "public.warehouse_stock.warehouse_stock_copy",
                "public.storefront_stock.storefront_stock_copy",
            ),
            (),
            False,
        )
    ]


def test_update_of_that_the_loop_itself_sets_does_not_break_it() -> None:
    cascade = trace(
        "sem-recursion", TraceEntry("public.crm_contacts", "update", columns=("email",))
    )
    assert [(c.frames, c.broken) for c in cascade.cycles] == [
        (
            (
                "public.crm_contacts.crm_contacts_copy_email",
                "public.billing_contacts.billing_contacts_copy_email",
            ),
            False,
        )
    ]


def test_do_nothing_on_an_existing_row_runs_before_insert_only() -> None:
    cascade = trace("sem-do-nothing", TraceEntry("public.subscribers", "upsert", do_nothing=True))
    row = _row_node(cascade)
    assert [(n.kind, n.name) for n in row.children] == [
        ("trigger", "public.subscribers.subscribers_normalize"),
        ("stop", "public.subscribers"),
    ]
    statement_level = [n.name for n in cascade.tree.children if n.kind == "trigger"]
    assert statement_level == ["public.subscribers.subscribers_signup_batch"]
    assert not any(
        key[0] == "write" and key[1] == "public.subscribers" for key in cascade.totals().counts
    )


def _row_steps(cascade: Cascade) -> list[tuple[str, str]]:
    return [
        (n.kind, n.detail if n.kind == "write" else n.name) for n in _row_node(cascade).children
    ]


def test_upsert_conflict_and_new_row_paths() -> None:
    conflict = trace("sem-upsert-paths", TraceEntry(CART, "upsert", columns=("quantity",)))
    assert _row_steps(conflict) == [
        ("trigger", "public.cart_items.cart_items_price"),  # BEFORE INSERT
        ("trigger", "public.cart_items.cart_items_touch"),  # BEFORE UPDATE
        ("write", "update"),
        ("trigger", "public.cart_items.cart_items_quantity_changed"),  # AFTER UPDATE
    ]
    new_row = trace(
        "sem-upsert-paths", TraceEntry(CART, "upsert", new_row=True, columns=("quantity",))
    )
    assert _row_steps(new_row) == [
        ("trigger", "public.cart_items.cart_items_price"),
        ("write", "insert"),
        ("trigger", "public.cart_items.cart_items_added"),
    ]
    for cascade in (conflict, new_row):
        statement_level = [n.name for n in cascade.tree.children if n.kind == "trigger"]
        assert statement_level == [
            "public.cart_items.cart_items_insert_statement",
            "public.cart_items.cart_items_update_statement",
        ]


# What the server did (see test_server_fires_in_name_order): byte order of the names.
BEFORE_ORDER = [
    "shipments_100_quote_rate",
    "shipments_10_normalize_postcode",
    "shipments_20_weigh",
]
AFTER_ORDER = ["shipments_book_carrier", "shipments_print_label"]


def test_same_timing_triggers_fire_in_name_order() -> None:
    cascade = trace("sem-trigger-order", TraceEntry("public.shipments", "insert"))
    steps = [(n.kind, n.name.rsplit(".", 1)[-1]) for n in _row_node(cascade).children]
    assert steps == [
        *(("trigger", name) for name in BEFORE_ORDER),
        ("write", "shipments"),
        *(("trigger", name) for name in AFTER_ORDER),
    ]


def test_disabled_and_replica_triggers_do_not_fire() -> None:
    catalog = catalog_of("sem-disabled")
    states = {key.rsplit(".", 1)[-1]: t.enabled for key, t in catalog.triggers.items()}
    assert states == {
        "employees_touch": "origin",
        "employees_salary_band": "always",
        "employees_audit": "origin",
        "employees_payroll_sync": "disabled",
        "employees_replicated": "replica",
        "departments_audit": "disabled",
        "departments_touch_employees": "disabled",
    }
    raise_ = trace(
        "sem-disabled", TraceEntry("public.employees", "update", columns=("salary_cents",))
    )
    assert _fired(raise_) == [
        "public.employees.employees_salary_band",
        "public.employees.employees_touch",
        "public.employees.employees_audit",
    ]
    renumbered = trace("sem-disabled", TraceEntry("public.departments", "update"))
    assert _fired(renumbered) == []


# ---------------------------------------------------------- what only the server can show


@pytest.fixture(scope="session")
def semantics_database(pg_database: Callable[[str], str]) -> Callable[[str], str]:
    """One database per sem-* fixture folder, loaded once; returns the conninfo."""
    loaded: dict[str, str] = {}

    def load_folder(folder: str) -> str:
        if folder not in loaded:
            conninfo = pg_database(f"sem_{folder}")
            with psycopg.connect(conninfo, autocommit=True) as conn:
                load_sql_files(conn, sql_files(FIXTURES / folder))
            loaded[folder] = conninfo
        return loaded[folder]

    return load_folder


@pytest.mark.integration
@pytest.mark.parametrize("folder", SEM_FOLDERS)
def test_loads_without_a_prelude(folder: str, semantics_database: Callable[[str], str]) -> None:
    with psycopg.connect(semantics_database(folder)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
            " AND tgrelid::regclass::text NOT LIKE 'auth.%'"
        ).fetchone()
    assert row is not None
    assert row[0] == len(catalog_of(folder).triggers)


@pytest.mark.integration
def test_server_fires_in_name_order(semantics_database: Callable[[str], str]) -> None:
    measured = trace_entries("sem-trigger-order")["new-shipment"]
    with psycopg.connect(semantics_database("sem-trigger-order")) as conn:
        load_sql_text(conn, measured["setup"], "setup")
        conn.execute(measured["sql"])
        pipeline, rate = conn.execute("SELECT pipeline, rate_cents FROM shipments").fetchone()
        logged = [r[0] for r in conn.execute("SELECT step FROM shipment_log ORDER BY id")]
        conn.rollback()
    assert pipeline == BEFORE_ORDER
    assert logged == AFTER_ORDER
    assert rate == 450  # quoted before weighing: no billable weight yet


@pytest.mark.integration
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE public.warehouse_stock SET units = 7 WHERE sku = 'KETTLE-1'",
        "UPDATE public.crm_contacts SET email = 'ada@new.example' WHERE id = 1",
    ],
    ids=["stock", "update-of-email"],
)
def test_server_recurses_without_a_guard(
    sql: str, semantics_database: Callable[[str], str]
) -> None:
    with psycopg.connect(semantics_database("sem-recursion")) as conn:
        conn.execute(
            "INSERT INTO public.warehouse_stock VALUES ('KETTLE-1', 3);"
            "INSERT INTO public.storefront_stock VALUES ('KETTLE-1', 3);"
            "INSERT INTO public.crm_contacts VALUES (1, 'ada@example.com');"
            "INSERT INTO public.billing_contacts VALUES (1, 'ada@example.com')"
        )
        with pytest.raises(psycopg.errors.StatementTooComplex, match="stack depth limit"):
            conn.execute(sql)
        conn.rollback()
