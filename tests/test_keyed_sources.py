"""Writes whose rows PostgreSQL bounds through a unique key of a source or join relation.

`INSERT … SELECT … FROM t WHERE t.pk = NEW.x` inserts at most one row; `UPDATE u … FROM t
WHERE t.pk = NEW.x AND u.pk = t.fk` updates at most one; a MERGE whose source is one row
and whose ON clause pins the target's key takes one action at most. Look-alikes that
PostgreSQL does not bound (a join on a column that is not a key, a partial unique index,
a key with a column left free, an OR, GROUP BY, a set-returning function, a volatile
value) stay unbounded. Lower bounds stay 0 unless the query yields a row for certain.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.analysis import analyze
from analyzer.cascade import ALL_WRITES, UNBOUNDED, TraceEntry, Tracer
from analyzer.config import Config
from analyzer.effects import Write, analyze_bodies
from analyzer.graph import build_model
from analyzer.loader import load

SCHEMA = """
CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL UNIQUE,
                        orders_count integer NOT NULL DEFAULT 0);
CREATE TABLE carts (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
                    total numeric NOT NULL, status text NOT NULL DEFAULT 'open');
CREATE UNIQUE INDEX carts_one_open ON carts (customer_id) WHERE status = 'open';
CREATE TABLE cart_items (cart_id bigint NOT NULL, sku text NOT NULL, qty integer NOT NULL,
                         PRIMARY KEY (cart_id, sku));
CREATE TABLE invoices (id bigserial PRIMARY KEY, customer_id bigint NOT NULL,
                       amount numeric NOT NULL);
CREATE TABLE tags (id bigint PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE taggings (id bigserial PRIMARY KEY, tag_id bigint NOT NULL, item_id bigint);
CREATE TABLE page_totals (page text PRIMARY KEY, n bigint NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, cart_id bigint NOT NULL, page text, tag text);
CREATE FUNCTION on_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END $$;
CREATE TRIGGER on_order AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION on_order();
"""
INVOICE = "INSERT INTO invoices (customer_id, amount) "
MERGE_PAGE = (
    "MERGE INTO page_totals t USING {source} ON t.page = s.page "
    "WHEN MATCHED THEN UPDATE SET n = t.n + 1 "
    "WHEN NOT MATCHED THEN INSERT (page, n) VALUES (s.page, 1);"
)


def write_counts(tmp_path: Path, body: str, schema: str = SCHEMA) -> dict[str, tuple[int, float]]:
    """(lo, hi) row writes per 'table kind' for one inserted order."""
    path = tmp_path / "schema.sql"
    path.write_text(schema.replace("{body}", body), encoding="utf-8")
    cascade = Tracer(build_model(load([str(path)]))).trace(TraceEntry("public.orders", "insert"))
    return {
        f"{key[1]} {key[2]}": value
        for key, value in cascade.totals().counts.items()
        if key[0] == "write" and key[1] != "public.orders"
    }


def written(tmp_path: Path, body: str) -> Write:
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA.replace("{body}", body), encoding="utf-8")
    bodies = analyze_bodies(load([str(path)]))
    (effects,) = [b for key, b in bodies.functions.items() if key.startswith("public.on_order(")]
    (write,) = [e for e in effects.effects if isinstance(e, Write)]
    return write


BOUNDED = [
    # The source row is pinned by the primary key.
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c WHERE c.id = NEW.cart_id;",
        {"public.invoices insert": (0, 1)},
    ),
    # … by a UNIQUE constraint that is not the primary key.
    (
        INVOICE + "SELECT u.id, 0 FROM customers u WHERE u.email = NEW.tag;",
        {"public.invoices insert": (0, 1)},
    ),
    # A chain: the cart by its key, then the customer by the cart's column.
    (
        INVOICE + "SELECT u.id, c.total FROM carts c JOIN customers u ON u.id = c.customer_id "
        "WHERE c.id = NEW.cart_id;",
        {"public.invoices insert": (0, 1)},
    ),
    # Unqualified columns that belong to one relation; a cast on the value side.
    (
        INVOICE + "SELECT customer_id, total FROM carts WHERE id = NEW.cart_id::bigint;",
        {"public.invoices insert": (0, 1)},
    ),
    # A variable the body declares is one value for the whole statement.
    (
        "DECLARE cart_ref bigint := NEW.cart_id; BEGIN "
        + INVOICE
        + "SELECT c.customer_id, c.total FROM carts c WHERE c.id = cart_ref; END;",
        {"public.invoices insert": (0, 1)},
    ),
    # A scalar subquery that reads nothing of the outer query runs once: one value.
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c "
        "WHERE c.id = (SELECT o.cart_id FROM orders o WHERE o.id = NEW.id);",
        {"public.invoices insert": (0, 1)},
    ),
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c "
        "WHERE c.id = (SELECT cart_id FROM orders WHERE id = NEW.id);",
        {"public.invoices insert": (0, 1)},
    ),
    # A WITH query's rows, read by the statement.
    (
        "WITH picked AS (SELECT c.customer_id, c.total FROM carts c WHERE c.id = NEW.cart_id) "
        + INVOICE
        + "SELECT p.customer_id, p.total FROM picked p;",
        {"public.invoices insert": (0, 1)},
    ),
    # An aggregate without GROUP BY yields exactly one row, matched or not.
    (
        INVOICE + "SELECT NEW.id, sum(i.qty) FROM cart_items i WHERE i.cart_id = NEW.cart_id;",
        {"public.invoices insert": (1, 1)},
    ),
    # With HAVING the one row may be dropped.
    (
        INVOICE + "SELECT NEW.id, count(*) FROM cart_items i HAVING count(*) > 2;",
        {"public.invoices insert": (0, 1)},
    ),
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c LIMIT 2;",
        {"public.invoices insert": (0, 2)},
    ),
    # A SELECT without FROM but with WHERE: one row or none.
    (INVOICE + "SELECT NEW.id, 1 WHERE NEW.page IS NOT NULL;", {"public.invoices insert": (0, 1)}),
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c WHERE c.id = NEW.cart_id "
        "UNION ALL SELECT NEW.id, 0;",
        # At most the sum; at least none, as the engine carries a certain lower count
        # only for a single row.
        {"public.invoices insert": (0, 2)},
    ),
    # GROUP BY (or DISTINCT ON) a column the WHERE clause fixes: one group.
    (
        INVOICE + "SELECT c.customer_id, sum(c.total) FROM carts c "
        "WHERE c.customer_id = NEW.id GROUP BY c.customer_id;",
        {"public.invoices insert": (0, 1)},
    ),
    (
        INVOICE
        + "SELECT customer_id, sum(total) FROM carts WHERE customer_id = NEW.id GROUP BY 1;",
        {"public.invoices insert": (0, 1)},
    ),
    (
        INVOICE + "SELECT DISTINCT ON (c.customer_id) c.customer_id, c.total FROM carts c "
        "WHERE c.customer_id = NEW.id ORDER BY c.customer_id, c.total DESC;",
        {"public.invoices insert": (0, 1)},
    ),
    (
        INVOICE + "SELECT DISTINCT NEW.id, 0 FROM carts c WHERE c.status = 'open';",
        {"public.invoices insert": (0, 1)},
    ),
    # … which makes a derived table of one row that pins the target.
    (
        "UPDATE customers u SET orders_count = s.n FROM (SELECT c.customer_id, count(*) AS n "
        "FROM carts c WHERE c.customer_id = NEW.id GROUP BY c.customer_id) s "
        "WHERE u.id = s.customer_id;",
        {"public.customers update": (0, 1)},
    ),
    # A series over integer literals, an ARRAY[…] list: as many rows as they hold.
    (
        "INSERT INTO taggings (tag_id, item_id) SELECT g, NEW.id FROM generate_series(1, 3) AS g;",
        {"public.taggings insert": (0, 3)},
    ),
    (
        "INSERT INTO taggings (tag_id, item_id) SELECT t.id, NEW.id "
        "FROM unnest(ARRAY['a', 'b']) AS u(name) JOIN tags t ON t.name = u.name;",
        {"public.taggings insert": (0, 2)},
    ),
    # UPDATE … FROM: the join row is unique and pins the target's key.
    (
        "UPDATE customers u SET orders_count = u.orders_count + 1 FROM carts c "
        "WHERE c.id = NEW.cart_id AND u.id = c.customer_id;",
        {"public.customers update": (0, 1)},
    ),
    # The target pinned by the trigger's row: joined rows do not multiply it.
    (
        "UPDATE customers u SET orders_count = 0 FROM carts c "
        "WHERE u.id = NEW.id AND c.customer_id = u.id;",
        {"public.customers update": (0, 1)},
    ),
    # DELETE … USING: a composite key, one column from the join, one from NEW.
    (
        "DELETE FROM cart_items i USING carts c "
        "WHERE c.id = NEW.cart_id AND i.cart_id = c.id AND i.sku = NEW.tag;",
        {"public.cart_items delete": (0, 1)},
    ),
    # MERGE: one source row (no FROM), the target's key in ON: one arm, one row.
    (
        MERGE_PAGE.format(source="(SELECT NEW.page AS page) s"),
        {"public.page_totals insert": (0, 1), "public.page_totals update": (0, 1)},
    ),
    # … two source rows (VALUES): two actions at most.
    (
        MERGE_PAGE.format(source="(VALUES (NEW.page), ('home')) s(page)"),
        {"public.page_totals insert": (0, 2), "public.page_totals update": (0, 2)},
    ),
]


@pytest.mark.parametrize(("body", "expected"), BOUNDED)
def test_a_write_whose_source_rows_a_key_pins_is_bounded(
    tmp_path: Path, body: str, expected: dict[str, tuple[int, float]]
) -> None:
    assert write_counts(tmp_path, body) == expected


UNBOUNDED_LOOKALIKES = [
    # tags.name is unique, but a tag has many taggings: tag_id is no key of taggings.
    (
        "DELETE FROM taggings t USING tags g WHERE g.name = NEW.tag AND t.tag_id = g.id;",
        "public.taggings delete",
    ),
    # A partial unique index is unique among some rows only.
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c "
        "WHERE c.customer_id = NEW.id AND c.status = 'open';",
        "public.invoices insert",
    ),
    # One column of the composite key left free.
    (
        "DELETE FROM cart_items i USING carts c WHERE c.id = NEW.cart_id AND i.cart_id = c.id;",
        "public.cart_items delete",
    ),
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c "
        "WHERE c.id = NEW.cart_id OR c.total > 100;",
        "public.invoices insert",
    ),
    (
        INVOICE + "SELECT c.customer_id, sum(c.total) FROM carts c GROUP BY c.customer_id;",
        "public.invoices insert",
    ),
    # ROLLUP adds a grand total row to the group.
    (
        INVOICE + "SELECT c.customer_id, sum(c.total) FROM carts c "
        "WHERE c.customer_id = NEW.id GROUP BY ROLLUP (c.customer_id);",
        "public.invoices insert",
    ),
    # An output name for an expression of a column the WHERE clause does not fix.
    (
        INVOICE + "SELECT NEW.id, count(*) AS n FROM carts c "
        "WHERE c.customer_id = NEW.id GROUP BY c.status;",
        "public.invoices insert",
    ),
    (
        "INSERT INTO page_totals (page, n) SELECT lower(c.status) AS page, count(*) "
        "FROM carts c GROUP BY page;",
        "public.page_totals insert",
    ),
    # A series whose length is data.
    (
        "INSERT INTO taggings (tag_id, item_id) SELECT g, NEW.id "
        "FROM generate_series(1, NEW.id) g;",
        "public.taggings insert",
    ),
    (
        "INSERT INTO taggings (tag_id, item_id) SELECT 1, x::bigint "
        "FROM unnest(ARRAY[ARRAY[1, 2], ARRAY[3, 4]]) AS x;",
        "public.taggings insert",
    ),
    (
        "INSERT INTO taggings (tag_id, item_id) SELECT t.id, NEW.id "
        "FROM unnest(string_to_array(NEW.tag, ',')) AS u(name) JOIN tags t ON t.name = u.name;",
        "public.taggings insert",
    ),
    (
        INVOICE + "SELECT DISTINCT NEW.id, c.total FROM carts c WHERE c.status = 'open';",
        "public.invoices insert",
    ),
    # An aggregate over a window (FILTER or not) keeps every row.
    (
        INVOICE + "SELECT c.customer_id, count(*) FILTER (WHERE c.total > 0) OVER () FROM carts c;",
        "public.invoices insert",
    ),
    # A set-returning function turns one row into any number.
    (
        "INSERT INTO taggings (tag_id, item_id) SELECT unnest(ARRAY[1, 2, 3]), NEW.id;",
        "public.taggings insert",
    ),
    (
        INVOICE + "SELECT c.customer_id, jsonb_array_elements_text('[1, 2]')::numeric "
        "FROM carts c WHERE c.id = NEW.cart_id;",
        "public.invoices insert",
    ),
    # A name that is neither a variable nor a column the schema shows may be a column
    # the input does not create, varying along the rows.
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c WHERE c.id = cart_ref;",
        "public.invoices insert",
    ),
    # A subquery that reads the outer row has a value per row.
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c "
        "WHERE c.id = (SELECT max(i.cart_id) FROM cart_items i WHERE i.sku = c.status);",
        "public.invoices insert",
    ),
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c "
        "WHERE c.id = (SELECT max(cart_id) FROM cart_items WHERE qty = total);",
        "public.invoices insert",
    ),
    # A recursive WITH query named like a table hides it: its rows grow every round.
    (
        "WITH RECURSIVE carts AS (SELECT 1::bigint AS id UNION ALL "
        "SELECT id + 1 FROM carts WHERE id < 5) "
        + INVOICE
        + "SELECT 1, 0 FROM carts c WHERE c.id = NEW.cart_id;",
        "public.invoices insert",
    ),
    # A volatile value is computed again for every row it is compared with.
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c "
        "WHERE c.id = (random() * 10)::bigint;",
        "public.invoices insert",
    ),
    # The target's key fixed by a relation nothing bounds.
    (
        "UPDATE customers u SET orders_count = 0 FROM carts c "
        "WHERE u.id = c.customer_id AND c.total > 0;",
        "public.customers update",
    ),
    # A RIGHT JOIN keeps every row of its right side.
    (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c RIGHT JOIN customers u "
        "ON u.id = c.customer_id WHERE c.id = NEW.cart_id;",
        "public.invoices insert",
    ),
    # MERGE whose ON clause is not on a key of the target.
    (
        "MERGE INTO taggings t USING (SELECT NEW.id AS item) s ON t.item_id = s.item "
        "WHEN MATCHED THEN DELETE;",
        "public.taggings delete",
    ),
    # MERGE from a whole table.
    (MERGE_PAGE.format(source="orders s"), "public.page_totals insert"),
    # MERGE that acts on target rows no source row matches (PostgreSQL 17).
    (
        "MERGE INTO page_totals t USING (SELECT NEW.page AS page) s ON t.page = s.page "
        "WHEN NOT MATCHED BY SOURCE THEN DELETE;",
        "public.page_totals delete",
    ),
]


@pytest.mark.parametrize(("body", "key"), UNBOUNDED_LOOKALIKES)
def test_a_lookalike_postgres_does_not_bound_stays_unbounded(
    tmp_path: Path, body: str, key: str
) -> None:
    assert write_counts(tmp_path, body)[key] == (0, UNBOUNDED)


def total_writes(tmp_path: Path, body: str) -> tuple[int, float]:
    """(lo, hi) row writes below the order's own insert."""
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA.replace("{body}", body), encoding="utf-8")
    cascade = Tracer(build_model(load([str(path)]))).trace(TraceEntry("public.orders", "insert"))
    lo, hi = cascade.totals().counts[ALL_WRITES]
    return lo - 1, hi - 1


@pytest.mark.parametrize(
    ("arms", "expected"),
    [
        # One source row, both arms unconditional: one action, an insert or an update.
        (
            "WHEN MATCHED THEN UPDATE SET n = t.n + 1 "
            "WHEN NOT MATCHED THEN INSERT (page, n) VALUES (s.page, 1)",
            (1, 1),
        ),
        (
            "WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT (page, n) VALUES (s.page, 1)",
            (1, 1),
        ),
        # No arm for a matched row: the row may be left alone.
        ("WHEN NOT MATCHED THEN INSERT (page, n) VALUES (s.page, 1)", (0, 1)),
        # A conditional arm only, or a DO NOTHING arm that may be taken.
        (
            "WHEN MATCHED AND t.n < 10 THEN UPDATE SET n = t.n + 1 "
            "WHEN NOT MATCHED THEN INSERT (page, n) VALUES (s.page, 1)",
            (0, 1),
        ),
        (
            "WHEN MATCHED AND t.n > 100 THEN DO NOTHING "
            "WHEN MATCHED THEN UPDATE SET n = t.n + 1 "
            "WHEN NOT MATCHED THEN INSERT (page, n) VALUES (s.page, 1)",
            (0, 1),
        ),
    ],
)
def test_a_merge_from_one_source_row_acts_once_when_every_row_has_an_arm(
    tmp_path: Path, arms: str, expected: tuple[int, float]
) -> None:
    body = (
        "MERGE INTO page_totals t USING (SELECT NEW.page AS page) s ON t.page = s.page "
        + arms
        + ";"
    )
    assert total_writes(tmp_path, body) == expected


FK_SCHEMA = SCHEMA.replace(
    "cart_id bigint NOT NULL, page text", "cart_id bigint NOT NULL REFERENCES carts, page text"
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # orders.cart_id is a NOT NULL foreign key to carts.id: the cart is there.
        (
            INVOICE + "SELECT c.customer_id, c.total FROM carts c WHERE c.id = NEW.cart_id;",
            (1, 1),
        ),
        (
            "DECLARE cart_ref bigint := NEW.cart_id; BEGIN "
            + INVOICE
            + "SELECT c.customer_id, c.total FROM carts c WHERE c.id = cart_ref; END;",
            (1, 1),
        ),
        # Another condition may drop the row.
        (
            INVOICE + "SELECT c.customer_id, c.total FROM carts c "
            "WHERE c.id = NEW.cart_id AND c.status = 'open';",
            (0, 1),
        ),
        # No foreign key says a cart has that id.
        (
            INVOICE + "SELECT c.customer_id, c.total FROM carts c WHERE c.id = NEW.id;",
            (0, 1),
        ),
        # The customer is a second row away: not followed.
        (
            INVOICE + "SELECT u.id, c.total FROM carts c JOIN customers u "
            "ON u.id = c.customer_id WHERE c.id = NEW.cart_id;",
            (0, 1),
        ),
    ],
)
def test_a_row_a_foreign_key_guarantees_is_inserted_for_certain(
    tmp_path: Path, body: str, expected: tuple[int, float]
) -> None:
    found = write_counts(tmp_path, body, FK_SCHEMA)
    assert found["public.invoices insert"] == expected


def test_a_table_with_inheritance_children_is_not_pinned_by_its_key(tmp_path: Path) -> None:
    """A child's rows are read with the parent's and are not covered by its key; with
    ONLY the parent's rows alone are read."""
    schema = SCHEMA + "CREATE TABLE old_carts () INHERITS (carts);\n"
    body = INVOICE + "SELECT c.customer_id, c.total FROM carts c WHERE c.id = NEW.cart_id;"
    assert write_counts(tmp_path, body, schema)["public.invoices insert"] == (0, UNBOUNDED)
    only = body.replace("FROM carts", "FROM ONLY carts")
    assert write_counts(tmp_path, only, schema)["public.invoices insert"] == (0, 1)


def test_the_bound_is_recorded_on_the_write(tmp_path: Path) -> None:
    update = written(
        tmp_path,
        "UPDATE customers u SET orders_count = 1 FROM carts c "
        "WHERE c.id = NEW.cart_id AND u.id = c.customer_id;",
    )
    assert (update.keyed_by, update.max_rows) == ("set", 1)
    aggregate = written(tmp_path, INVOICE + "SELECT NEW.id, count(*) FROM cart_items;")
    assert (aggregate.keyed_by, aggregate.max_rows) == ("row", 1)
    unbounded = written(tmp_path, INVOICE + "SELECT c.customer_id, 1 FROM carts c;")
    assert (unbounded.keyed_by, unbounded.max_rows) == ("set", None)


def test_write_amplification_counts_the_keyed_writes_as_one_row_each(tmp_path: Path) -> None:
    body = (
        INVOICE + "SELECT c.customer_id, c.total FROM carts c WHERE c.id = NEW.cart_id;\n"
        "UPDATE customers u SET orders_count = u.orders_count + 1 FROM carts c "
        "WHERE c.id = NEW.cart_id AND u.id = c.customer_id;"
    )
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA.replace("{body}", body), encoding="utf-8")
    result = analyze([str(path)], Config(select=("write-amplification",)))
    assert [f.message for f in result.findings] == [
        "one INSERT of a public.orders row costs 3 row writes per source row "
        "(public.customers 1, public.invoices 1, public.orders 1) through a trigger chain "
        "1 deep; per operation: INSERT 3"
    ]
