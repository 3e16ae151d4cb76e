"""The catalog, statement kind by statement kind: every field, locations included."""

from __future__ import annotations

from textwrap import dedent

import pytest

from analyzer.catalog import (
    AnonymousBlock,
    Argument,
    Catalog,
    Column,
    EventTrigger,
    ForeignKey,
    Function,
    Rule,
    Table,
    Trigger,
)
from analyzer.ddl import build_catalog, fold_constant
from analyzer.findings import Location
from analyzer.source import SourceFile


def build(*texts: str, search_path: tuple[str, ...] = ("public",)) -> Catalog:
    files = [SourceFile.from_text(f"m/{i + 1}.sql", dedent(t)) for i, t in enumerate(texts)]
    return build_catalog(files, search_path)


def loc(line: int, column: int, end_line: int, end_column: int, path: str = "m/1.sql") -> Location:
    return Location(path, line, column, end_line, end_column)


def messages(catalog: Catalog) -> list[str]:
    return [str(d) for d in catalog.diagnostics]


# ---- CREATE TABLE -----------------------------------------------------------------------


def test_create_table_columns_keys_and_locations() -> None:
    catalog = build(
        """\
        CREATE TABLE orgs (id int PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS public."Accounts" (
            "Id" bigserial PRIMARY KEY,
            Email varchar(320) NOT NULL UNIQUE,
            org_id integer REFERENCES orgs ON DELETE SET NULL ON UPDATE CASCADE,
            score double precision DEFAULT 0.5 CHECK (score >= 0),
            tags text[] COLLATE "C",
            CONSTRAINT acc_org FOREIGN KEY (org_id) REFERENCES orgs (id) MATCH FULL
                ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
            UNIQUE (org_id, email),
            CHECK (score < 100)
        );
        """
    )
    assert messages(catalog) == []
    fk_column = loc(5, 5, 5, 71)
    assert catalog.tables["public.Accounts"] == Table(
        name="public.Accounts",
        columns=(
            Column(
                "Id",
                "bigint",
                not_null=True,
                default="nextval('\"Accounts_Id_seq\"'::regclass)",
                location=loc(3, 5, 3, 30),
            ),
            Column("email", "character varying", not_null=True, location=loc(4, 5, 4, 38)),
            Column("org_id", "integer", location=fk_column),
            Column("score", "double precision", default="0.5", location=loc(6, 5, 6, 57)),
            Column("tags", "text[]", location=loc(7, 5, 7, 27)),
        ),
        location=loc(2, 1, 12, 2),
        relkind="table",
        primary_key=("Id",),
        unique=(("email",), ("org_id", "email")),
        foreign_keys=(
            ForeignKey(
                "Accounts_org_id_fkey",
                "public.Accounts",
                ("org_id",),
                "public.orgs",
                ("id",),
                "set null",
                "cascade",
                fk_column,
            ),
            ForeignKey(
                "acc_org",
                "public.Accounts",
                ("org_id",),
                "public.orgs",
                ("id",),
                "cascade",
                "no action",
                loc(8, 5, 9, 55),
                deferrable=True,
            ),
        ),
        checks=("score >= 0", "score < 100"),
    )


def test_unquoted_names_fold_and_quoted_names_keep_case() -> None:
    catalog = build('CREATE TABLE Foo (A int, "B" int);\nCREATE TABLE "Foo" ("x" int);\n')
    assert sorted(catalog.tables) == ["public.Foo", "public.foo"]
    assert [c.name for c in catalog.tables["public.foo"].columns] == ["a", "B"]


def test_long_identifiers_are_truncated_to_63_bytes() -> None:
    name = "t" * 70
    catalog = build(f"CREATE TABLE {name} (id int);")
    assert list(catalog.tables) == ["public." + "t" * 63]


def test_create_table_if_not_exists_keeps_the_first_definition_silently() -> None:
    catalog = build("CREATE TABLE t (a int);\nCREATE TABLE IF NOT EXISTS t (b int);\n")
    assert [c.name for c in catalog.tables["public.t"].columns] == ["a"]
    assert catalog.tables["public.t"].location == loc(1, 1, 1, 23)
    assert messages(catalog) == []


def test_create_of_an_existing_table_is_a_diagnostic_and_keeps_the_first() -> None:
    catalog = build("CREATE TABLE t (a int);\n\n  CREATE TABLE t (b int);\n")
    assert [c.name for c in catalog.tables["public.t"].columns] == ["a"]
    assert messages(catalog) == [
        "m/1.sql:3:3: relation public.t already exists: statement has no effect"
    ]


@pytest.mark.parametrize(
    ("clause", "action"),
    [
        ("", "no action"),
        ("NO ACTION", "no action"),
        ("RESTRICT", "restrict"),
        ("CASCADE", "cascade"),
        ("SET NULL", "set null"),
        ("SET NULL (parent_id)", "set null"),
        ("SET DEFAULT", "set default"),
    ],
)
def test_foreign_key_actions(clause: str, action: str) -> None:
    on_delete = f" ON DELETE {clause}" if clause else ""
    on_update = f" ON UPDATE {clause.split(' (')[0]}" if clause else ""
    catalog = build(
        "CREATE TABLE p (id int PRIMARY KEY);\n"
        "CREATE TABLE c (parent_id int,\n"
        f"  FOREIGN KEY (parent_id) REFERENCES p{on_delete}{on_update});\n"
    )
    (key,) = catalog.tables["public.c"].foreign_keys
    assert (key.name, key.ref_columns, key.on_delete, key.on_update) == (
        "c_parent_id_fkey",
        ("id",),
        action,
        action,
    )


def test_constraint_names_follow_postgresql_rules() -> None:
    catalog = build(
        """\
        CREATE TABLE p (id int PRIMARY KEY, a int, b int, UNIQUE (a, b), UNIQUE (a, b));
        CREATE TABLE c (
            x int REFERENCES p, y int REFERENCES p,
            CHECK (x > 0), CHECK (x > y), z int CHECK (z <> 0)
        );
        CREATE TABLE a_table_name_that_is_really_quite_long_for_postgres_names (
            a_column_name_that_is_also_rather_long_indeed int PRIMARY KEY
                REFERENCES p
        );
        ALTER TABLE p DROP CONSTRAINT p_a_b_key;
        ALTER TABLE c DROP CONSTRAINT c_x_check, DROP CONSTRAINT c_check;
        ALTER TABLE c DROP CONSTRAINT c_z_check, DROP CONSTRAINT c_y_fkey;
        ALTER TABLE a_table_name_that_is_really_quite_long_for_postgres_names
            DROP CONSTRAINT a_table_name_that_is_really_q_a_column_name_that_is_also_r_fkey;
        ALTER TABLE a_table_name_that_is_really_quite_long_for_postgres_names
            DROP CONSTRAINT a_table_name_that_is_really_quite_long_for_postgres_names_pkey;
        """
    )
    assert messages(catalog) == []
    assert catalog.tables["public.p"].unique == ()
    c = catalog.tables["public.c"]
    assert [k.name for k in c.foreign_keys] == ["c_x_fkey"]
    assert c.checks == ()
    long = catalog.tables["public.a_table_name_that_is_really_quite_long_for_postgres_names"]
    assert (long.primary_key, long.foreign_keys) == ((), ())


def test_foreign_key_without_columns_uses_the_primary_key_of_its_target() -> None:
    catalog = build(
        "CREATE TABLE p (a int, b int, PRIMARY KEY (a, b));\n"
        "CREATE TABLE c (a int, b int, FOREIGN KEY (a, b) REFERENCES p);\n"
        "CREATE TABLE tree (id int PRIMARY KEY, parent int REFERENCES tree);\n"
    )
    assert catalog.tables["public.c"].foreign_keys[0].ref_columns == ("a", "b")
    assert catalog.tables["public.tree"].foreign_keys[0].ref_columns == ("id",)
    assert [c.not_null for c in catalog.tables["public.p"].columns] == [True, True]


def test_generated_and_identity_columns() -> None:
    catalog = build(
        """\
        CREATE TABLE t (
            a int GENERATED ALWAYS AS IDENTITY,
            b bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 10 INCREMENT BY 2),
            c numeric GENERATED ALWAYS AS (a * 2 + b) STORED,
            d smallserial
        );
        """
    )
    a, b, c, d = catalog.tables["public.t"].columns
    assert (a.identity, a.not_null, a.generated) == ("always", True, False)
    assert (b.identity, b.not_null, b.generated) == ("by default", True, False)
    assert (c.generated, c.generation_expression, c.not_null, c.identity) == (
        True,
        "a * 2 + b",
        False,
        None,
    )
    assert (d.type, d.not_null, d.default) == ("smallint", True, "nextval('t_d_seq'::regclass)")


def test_partitioned_table_and_partitions() -> None:
    catalog = build(
        """\
        CREATE TABLE accounts (id int PRIMARY KEY);
        CREATE TABLE events (
            id bigint, at timestamptz NOT NULL, account_id int REFERENCES accounts,
            PRIMARY KEY (id, at)
        ) PARTITION BY RANGE (at);
        CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
        CREATE TRIGGER stamp BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION f();
        CREATE TRIGGER audit AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION f();
        CREATE TABLE events_2024 PARTITION OF events (at DEFAULT now())
            FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE events_default PARTITION OF events DEFAULT PARTITION BY HASH (id);
        """
    )
    assert messages(catalog) == []
    parent = catalog.tables["public.events"]
    assert (parent.relkind, parent.partition_of) == ("partitioned", None)
    part = catalog.tables["public.events_2024"]
    assert part.relkind == "table"
    assert part.partition_of == "public.events"
    assert [(c.name, c.type, c.not_null, c.default) for c in part.columns] == [
        ("id", "bigint", True, None),
        ("at", "timestamp with time zone", True, "now()"),
        ("account_id", "integer", False, None),
    ]
    assert part.primary_key == ("id", "at")
    assert part.foreign_keys == (
        ForeignKey(
            "events_account_id_fkey",
            "public.events_2024",
            ("account_id",),
            "public.accounts",
            ("id",),
            location=loc(3, 41, 3, 74),
        ),
    )
    assert catalog.tables["public.events_default"].relkind == "partitioned"
    clones = {k: (t.inherited_from, t.location.line) for k, t in catalog.triggers.items()}
    assert clones == {
        "public.events.audit": (None, 8),
        "public.events.stamp": (None, 7),
        "public.events_2024.stamp": ("public.events.stamp", 7),
        "public.events_default.stamp": ("public.events.stamp", 7),
    }


def test_inherits_puts_parent_columns_first_and_merges_by_name() -> None:
    catalog = build(
        """\
        CREATE TABLE a (id int NOT NULL, created timestamptz, CHECK (id > 0));
        CREATE TABLE b (id int, note text);
        CREATE TABLE c (extra text, note text DEFAULT 'n', PRIMARY KEY (extra)) INHERITS (a, b);
        """
    )
    c = catalog.tables["public.c"]
    assert [(x.name, x.not_null, x.default) for x in c.columns] == [
        ("id", True, None),
        ("created", False, None),
        ("note", False, "'n'"),
        ("extra", True, None),
    ]
    assert (c.inherits, c.checks, c.primary_key) == (
        ("public.a", "public.b"),
        ("id > 0",),
        ("extra",),
    )


def test_like_copies_columns_and_what_its_options_include() -> None:
    catalog = build(
        """\
        CREATE TABLE src (id int PRIMARY KEY, n int NOT NULL DEFAULT 1 CHECK (n > 0));
        CREATE TABLE plain (LIKE src);
        CREATE TABLE full_copy (LIKE src INCLUDING ALL EXCLUDING INDEXES, extra text);
        """
    )
    plain = catalog.tables["public.plain"]
    assert [(c.name, c.not_null, c.default) for c in plain.columns] == [
        ("id", True, None),
        ("n", True, None),
    ]
    assert (plain.primary_key, plain.checks) == ((), ())
    full_copy = catalog.tables["public.full_copy"]
    assert [(c.name, c.default) for c in full_copy.columns] == [
        ("id", None),
        ("n", "1"),
        ("extra", None),
    ]
    assert (full_copy.primary_key, full_copy.checks) == ((), ("n > 0",))


def test_temporary_and_unlogged_tables() -> None:
    catalog = build("CREATE TEMP TABLE scratch (id int);\nCREATE UNLOGGED TABLE u (id int);")
    assert sorted(catalog.tables) == ["pg_temp.scratch", "public.u"]


def test_create_table_as_takes_names_from_the_query() -> None:
    catalog = build(
        """\
        CREATE TABLE t (id int, name text);
        CREATE TABLE copy1 AS SELECT id, name AS label, 1 AS one, now() FROM t;
        CREATE TABLE copy2 (a, b) AS SELECT * FROM t WITH NO DATA;
        """
    )
    assert [(c.name, c.type) for c in catalog.tables["public.copy1"].columns] == [
        ("id", "integer"),
        ("label", "text"),
        ("one", "unknown"),
        ("current_timestamp", "unknown"),
    ]
    assert [(c.name, c.type) for c in catalog.tables["public.copy2"].columns] == [
        ("a", "integer"),
        ("b", "text"),
    ]


# ---- views ------------------------------------------------------------------------------


def test_views_and_materialized_views_are_relations() -> None:
    catalog = build(
        """\
        CREATE TABLE t (id int, name text);
        CREATE VIEW v AS SELECT t.*, upper(name) AS shout, name::varchar AS cast_name FROM t;
        CREATE MATERIALIZED VIEW IF NOT EXISTS mv (a, b) AS SELECT id, name FROM t WITH DATA;
        CREATE OR REPLACE VIEW checked WITH (security_barrier) AS
            SELECT id FROM t WITH LOCAL CHECK OPTION;
        """
    )
    view = catalog.tables["public.v"]
    assert (view.relkind, view.location) == ("view", loc(2, 1, 2, 85))
    assert [(c.name, c.type) for c in view.columns] == [
        ("id", "integer"),
        ("name", "text"),
        ("shout", "unknown"),
        ("cast_name", "character varying"),
    ]
    matview = catalog.tables["public.mv"]
    assert matview.relkind == "materialized view"
    assert [(c.name, c.type) for c in matview.columns] == [("a", "integer"), ("b", "text")]
    assert [c.name for c in catalog.tables["public.checked"].columns] == ["id"]


def test_create_or_replace_view_keeps_its_triggers_and_moves_its_location() -> None:
    catalog = build(
        """\
        CREATE TABLE t (id int);
        CREATE VIEW v AS SELECT id FROM t;
        CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
        CREATE TRIGGER ins INSTEAD OF INSERT ON v FOR EACH ROW EXECUTE FUNCTION f();
        CREATE OR REPLACE VIEW v AS SELECT id, id + 1 AS next FROM t;
        CREATE VIEW v AS SELECT 1;
        CREATE OR REPLACE VIEW t AS SELECT 1;
        """
    )
    assert list(catalog.triggers) == ["public.v.ins"]
    assert catalog.tables["public.v"].location.line == 5
    assert [c.name for c in catalog.tables["public.v"].columns] == ["id", "next"]
    assert messages(catalog) == [
        "m/1.sql:6:1: relation public.v already exists: statement has no effect",
        "m/1.sql:7:1: public.t is not a view: statement has no effect",
    ]


# ---- ALTER TABLE -------------------------------------------------------------------------

TRIGGER_FUNCTION = (
    "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n"
)


def test_alter_table_add_drop_and_rename_columns() -> None:
    catalog = build(
        """\
        CREATE TABLE t (id int PRIMARY KEY, a int, b int, UNIQUE (a, b));
        ALTER TABLE t ADD COLUMN c text DEFAULT 'x' NOT NULL, ADD d int REFERENCES t;
        ALTER TABLE t ADD COLUMN IF NOT EXISTS c int;
        ALTER TABLE ONLY t DROP COLUMN b, DROP COLUMN IF EXISTS zz;
        ALTER TABLE t RENAME COLUMN a TO alpha;
        ALTER TABLE t RENAME d TO parent;
        ALTER TABLE t ALTER COLUMN c DROP NOT NULL, ALTER c SET DEFAULT 'y',
            ALTER COLUMN alpha SET DATA TYPE bigint USING alpha::bigint, ALTER alpha SET NOT NULL;
        """
    )
    assert messages(catalog) == []
    t = catalog.tables["public.t"]
    assert [(c.name, c.type, c.not_null, c.default, c.location) for c in t.columns] == [
        ("id", "integer", True, None, loc(1, 17, 1, 34)),
        ("alpha", "bigint", True, None, loc(1, 37, 1, 41)),
        ("c", "text", False, "'y'", loc(2, 26, 2, 52)),
        ("parent", "integer", False, None, loc(2, 59, 2, 76)),
    ]
    assert (t.primary_key, t.unique) == (("id",), ())
    assert [(k.name, k.columns, k.ref_columns) for k in t.foreign_keys] == [
        ("t_d_fkey", ("parent",), ("id",))
    ]


def test_alter_table_add_constraints() -> None:
    catalog = build(
        """\
        CREATE TABLE p (id int, code text);
        CREATE TABLE c (id int, p_id int, code text);
        ALTER TABLE p ADD PRIMARY KEY (id);
        ALTER TABLE p ADD CONSTRAINT p_code UNIQUE (code);
        ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p ON DELETE CASCADE
            NOT VALID;
        ALTER TABLE c ADD FOREIGN KEY (code) REFERENCES p (code) ON UPDATE SET NULL;
        ALTER TABLE c ADD CHECK (id > 0);
        CREATE UNIQUE INDEX c_id_idx ON c (id);
        ALTER TABLE c ADD CONSTRAINT c_pkey PRIMARY KEY USING INDEX c_id_idx;
        ALTER TABLE p ADD PRIMARY KEY (code);
        """
    )
    p, c = catalog.tables["public.p"], catalog.tables["public.c"]
    assert (p.primary_key, p.unique, c.primary_key, c.checks) == (
        ("id",),
        (("code",),),
        ("id",),
        ("id > 0",),
    )
    assert [
        (k.name, k.columns, k.ref_columns, k.on_delete, k.on_update, k.location)
        for k in c.foreign_keys
    ] == [
        ("c_p", ("p_id",), ("id",), "cascade", "no action", loc(5, 19, 6, 13)),
        ("c_code_fkey", ("code",), ("code",), "no action", "set null", loc(7, 19, 7, 75)),
    ]
    assert messages(catalog) == [
        "m/1.sql:11:19: multiple primary keys are not allowed: statement has no effect"
    ]


def test_a_failing_action_undoes_the_whole_alter_table() -> None:
    catalog = build(
        "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int, RENAME COLUMN nope TO x;\n"
    )
    assert [c.name for c in catalog.tables["public.t"].columns] == ["a"]
    assert messages(catalog) == [
        'm/1.sql:2:33: column "nope" of relation public.t does not exist: statement has no effect'
    ]


def test_alter_of_an_unknown_table() -> None:
    catalog = build("ALTER TABLE IF EXISTS nope ADD COLUMN a int;\nALTER TABLE nope ADD a int;")
    assert messages(catalog) == [
        "m/1.sql:2:13: ALTER TABLE of unknown table public.nope: statement has no effect"
    ]


def test_rename_table_carries_triggers_foreign_keys_and_rules() -> None:
    catalog = build(
        "CREATE TABLE p (id int PRIMARY KEY);\n"
        "CREATE TABLE c (p_id int REFERENCES p);\n"
        + TRIGGER_FUNCTION
        + "CREATE TRIGGER tr AFTER INSERT ON p FOR EACH ROW EXECUTE FUNCTION f();\n"
        "CREATE RULE r AS ON DELETE TO p DO INSTEAD NOTHING;\n"
        "ALTER TABLE p RENAME TO parent;\n"
        "CREATE SCHEMA archive;\n"
        "ALTER TABLE c SET SCHEMA archive;\n"
    )
    assert sorted(catalog.tables) == ["archive.c", "public.parent"]
    assert list(catalog.triggers) == ["public.parent.tr"]
    assert catalog.triggers["public.parent.tr"].table == "public.parent"
    assert list(catalog.rules) == ["public.parent.r"]
    (key,) = catalog.tables["archive.c"].foreign_keys
    assert (key.name, key.table, key.ref_table) == ("c_p_id_fkey", "archive.c", "public.parent")


@pytest.mark.parametrize(
    ("action", "states"),
    [
        ("DISABLE TRIGGER a", {"a": "disabled", "b": "origin", "k": "origin"}),
        ("ENABLE REPLICA TRIGGER a", {"a": "replica", "b": "origin", "k": "origin"}),
        ("ENABLE ALWAYS TRIGGER b", {"a": "origin", "b": "always", "k": "origin"}),
        ("DISABLE TRIGGER USER", {"a": "disabled", "b": "disabled", "k": "disabled"}),
        ("DISABLE TRIGGER ALL", {"a": "disabled", "b": "disabled", "k": "disabled"}),
        (
            "DISABLE TRIGGER ALL, ENABLE TRIGGER b",
            {"a": "disabled", "b": "origin", "k": "disabled"},
        ),
    ],
)
def test_enable_and_disable_trigger(action: str, states: dict[str, str]) -> None:
    catalog = build(
        "CREATE TABLE t (id int);\n"
        + TRIGGER_FUNCTION
        + "CREATE TRIGGER a BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "CREATE TRIGGER b AFTER UPDATE ON t EXECUTE FUNCTION f();\n"
        "CREATE CONSTRAINT TRIGGER k AFTER DELETE ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        f"ALTER TABLE t {action};\n"
    )
    assert {t.name: t.enabled for t in catalog.triggers.values()} == states
    internal = "disabled" if "TRIGGER ALL" in action else "origin"
    assert catalog.tables["public.t"].internal_triggers == internal


def test_disable_of_an_unknown_trigger_is_a_diagnostic() -> None:
    catalog = build("CREATE TABLE t (id int);\nALTER TABLE t DISABLE TRIGGER nope;")
    assert messages(catalog) == [
        'm/1.sql:2:31: trigger "nope" for table public.t does not exist: statement has no effect'
    ]


def test_attach_and_detach_partition() -> None:
    catalog = build(
        "CREATE TABLE p (id int PRIMARY KEY, v int) PARTITION BY LIST (id);\n"
        "CREATE TABLE p1 (id int, v int);\n"
        + TRIGGER_FUNCTION
        + "CREATE TRIGGER row_t AFTER UPDATE ON p FOR EACH ROW EXECUTE FUNCTION f();\n"
        "ALTER TABLE p ATTACH PARTITION p1 FOR VALUES IN (1);\n"
        "ALTER TABLE p DISABLE TRIGGER row_t;\n"
        "ALTER TRIGGER row_t ON p RENAME TO renamed;\n"
    )
    assert catalog.tables["public.p1"].partition_of == "public.p"
    assert catalog.tables["public.p1"].primary_key == ("id",)
    assert {k: (t.enabled, t.inherited_from) for k, t in catalog.triggers.items()} == {
        "public.p.renamed": ("disabled", None),
        "public.p1.renamed": ("disabled", "public.p.renamed"),
    }
    detached = build(
        "CREATE TABLE p (id int) PARTITION BY LIST (id);\n"
        "CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);\n"
        + TRIGGER_FUNCTION
        + "CREATE TRIGGER row_t AFTER UPDATE ON p FOR EACH ROW EXECUTE FUNCTION f();\n"
        "ALTER TABLE p DETACH PARTITION p1;\n"
    )
    assert detached.tables["public.p1"].partition_of is None
    assert list(detached.triggers) == ["public.p.row_t"]


# ---- DROP TABLE / VIEW -------------------------------------------------------------------


def test_drop_table_removes_its_triggers_and_rules() -> None:
    catalog = build(
        "CREATE TABLE t (id int);\nCREATE TABLE u (id int);\n"
        + TRIGGER_FUNCTION
        + "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "CREATE TRIGGER keep AFTER INSERT ON u FOR EACH ROW EXECUTE FUNCTION f();\n"
        "CREATE RULE r AS ON UPDATE TO t DO ALSO NOTIFY t;\n"
        "DROP TABLE t;\nDROP TABLE IF EXISTS t;\n"
    )
    assert (sorted(catalog.tables), list(catalog.triggers), list(catalog.rules)) == (
        ["public.u"],
        ["public.u.keep"],
        [],
    )
    assert messages(catalog) == []


def test_drop_table_referenced_by_a_foreign_key_needs_cascade() -> None:
    text = (
        "CREATE TABLE p (id int PRIMARY KEY);\n"
        "CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p);\n"
        "CREATE TABLE gc (c_id int REFERENCES c);\n"
    )
    refused = build(text + "DROP TABLE p;\n")
    assert sorted(refused.tables) == ["public.c", "public.gc", "public.p"]
    assert messages(refused) == [
        'm/1.sql:4:1: cannot drop public.p: foreign key "c_p_id_fkey" of public.c depends on it '
        "(use CASCADE): statement has no effect"
    ]
    cascaded = build(text + "DROP TABLE p CASCADE;\n")
    assert sorted(cascaded.tables) == ["public.c", "public.gc"]
    assert cascaded.tables["public.c"].foreign_keys == ()
    both = build(text + "DROP TABLE gc, c, p;\n")
    assert sorted(both.tables) == []


def test_drop_table_checks_the_kind_of_relation() -> None:
    catalog = build(
        "CREATE TABLE t (id int);\nCREATE VIEW v AS SELECT 1 AS one;\n"
        "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one;\n"
        "DROP TABLE v;\nDROP VIEW t;\nDROP VIEW v;\nDROP MATERIALIZED VIEW mv;\n"
        "DROP TABLE nope, t;\n"
    )
    assert sorted(catalog.tables) == []
    assert messages(catalog) == [
        "m/1.sql:4:12: public.v is not a table: statement has no effect",
        "m/1.sql:5:11: public.t is not a view: statement has no effect",
        "m/1.sql:8:12: DROP of unknown relation public.nope",
    ]


def test_dropping_a_partitioned_table_drops_its_partitions() -> None:
    catalog = build(
        "CREATE TABLE p (id int) PARTITION BY LIST (id);\n"
        "CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);\n"
        "CREATE TABLE kid () INHERITS (p1);\n"
        "DROP TABLE p;\n"
    )
    assert "needs" not in " ".join(messages(catalog))
    assert sorted(catalog.tables) == ["public.kid", "public.p", "public.p1"]
    assert messages(catalog) == [
        "m/1.sql:4:1: cannot drop public.p1: table public.kid inherits from it (use CASCADE): "
        "statement has no effect"
    ]
    cascaded = build(
        "CREATE TABLE p (id int) PARTITION BY LIST (id);\n"
        "CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);\n"
        "CREATE TABLE other (id int);\n"
        "DROP TABLE p;\n"
    )
    assert sorted(cascaded.tables) == ["public.other"]


# ---- CREATE FUNCTION / PROCEDURE ---------------------------------------------------------


def test_function_with_every_argument_form() -> None:
    catalog = build(
        """\
        CREATE SCHEMA app;
        CREATE TABLE users (id bigint);
        CREATE FUNCTION app.f(
            a int,
            OUT c int,
            INOUT d numeric(10, 2),
            double precision,
            "Quoted" timestamp with time zone,
            u users.id%TYPE,
            IN b text DEFAULT 'x',
            VARIADIC e text[] = ARRAY[]::text[]
        ) LANGUAGE plpgsql AS $fn$ BEGIN c := 1; END $fn$;
        """
    )
    function = catalog.functions[
        "app.f(integer,numeric,double precision,timestamp with time zone,bigint,text,text[])"
    ]
    assert function == Function(
        name="app.f",
        arguments=(
            Argument("a", "integer"),
            Argument("c", "integer", "out"),
            Argument("d", "numeric", "inout"),
            Argument(None, "double precision"),
            Argument("Quoted", "timestamp with time zone"),
            Argument("u", "bigint"),
            Argument("b", "text", "in", "'x'"),
            Argument("e", "text[]", "variadic", "ARRAY[]::text[]"),
        ),
        returns="record",
        language="plpgsql",
        body=" BEGIN c := 1; END ",
        location=loc(3, 1, 12, 50),
        body_location=loc(12, 27, 12, 45),
        search_path_at_creation=("public",),
    )
    assert function.required_arity == 5


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            "a int DEFAULT 1, b int",
            "input parameters after one with a default value must also have defaults",
        ),
        ("VARIADIC a int[], b int", "VARIADIC parameter must be the last input parameter"),
        ("a int, a text", 'parameter name "a" used more than once'),
        ("a int, INOUT a int", 'parameter name "a" used more than once'),
        ("OUT a int, OUT b int", "function result type must be record because of OUT parameters"),
    ],
)
def test_invalid_parameter_lists_are_refused(arguments: str, message: str) -> None:
    catalog = build(f"CREATE FUNCTION f({arguments}) RETURNS int LANGUAGE sql AS 'select 1';")
    assert dict(catalog.functions) == {}
    assert messages(catalog) == [f"m/1.sql:1:1: {message}: statement has no effect"]


@pytest.mark.parametrize(
    ("returns_clause", "returns", "table"),
    [
        ("RETURNS trigger", "trigger", ()),
        ("RETURNS event_trigger", "event_trigger", ()),
        ("RETURNS void", "void", ()),
        ("RETURNS SETOF public.t", "setof public.t", ()),
        ("RETURNS int4[]", "integer[]", ()),
        ("RETURNS character varying(10)", "character varying", ()),
        (
            "RETURNS TABLE (id int, name text)",
            "table",
            (Argument("id", "integer", "table"), Argument("name", "text", "table")),
        ),
    ],
)
def test_returns_forms(returns_clause: str, returns: str, table: tuple[Argument, ...]) -> None:
    catalog = build(f"CREATE FUNCTION f() {returns_clause} LANGUAGE sql AS 'select 1';")
    function = catalog.functions["public.f()"]
    assert (function.returns, function.returns_table) == (returns, table)


def test_procedures_and_out_parameters_decide_the_result_type() -> None:
    catalog = build(
        """\
        CREATE FUNCTION one_out(a int, OUT a text) LANGUAGE sql AS 'select ''x''';
        CREATE FUNCTION two_out(OUT a int, OUT b text) LANGUAGE sql AS 'select 1, ''x''';
        CREATE PROCEDURE p(a int) LANGUAGE sql AS 'select 1';
        CREATE PROCEDURE q(a int, OUT b int) LANGUAGE plpgsql AS $$ BEGIN b := a; END $$;
        """
    )
    assert {k: (f.returns, f.is_procedure) for k, f in catalog.functions.items()} == {
        "public.one_out(integer)": ("text", False),
        "public.two_out()": ("record", False),
        "public.p(integer)": ("void", True),
        "public.q(integer)": ("record", True),
    }


@pytest.mark.parametrize(
    ("definition", "body", "line", "column"),
    [
        ("AS $$SELECT 1$$", "SELECT 1", 1, 51),
        ("AS $body$SELECT '$$'$body$", "SELECT '$$'", 1, 55),
        ("AS 'SELECT ''it''''s'''", "SELECT 'it''s'", 1, 50),
        ("AS E'SELECT \\'a\\nb\\''", "SELECT 'a\nb'", 1, 51),
        ("AS\n  $q$\nSELECT 1\n$q$", "\nSELECT 1\n", 2, 6),
        ("RETURN 1 + 1", "RETURN 1 + 1", 1, 46),
        (
            "BEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND",
            "BEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND",
            1,
            46,
        ),
    ],
)
def test_body_forms_and_the_location_of_their_first_character(
    definition: str, body: str, line: int, column: int
) -> None:
    catalog = build(f"CREATE FUNCTION f() RETURNS int LANGUAGE sql {definition};\n")
    function = catalog.functions["public.f()"]
    assert function.body == body
    assert function.body_location is not None
    assert (function.body_location.line, function.body_location.column) == (line, column)
    assert messages(catalog) == []


def test_body_location_spans_the_body_exactly() -> None:
    catalog = build("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nAS $x$\n  SELECT 1;\n$x$;\n")
    assert catalog.functions["public.f()"].body_location == loc(2, 7, 3, 12)


@pytest.mark.parametrize(
    ("options", "search_path"),
    [
        ("SET search_path = a, b", ("a", "b")),
        ("SET search_path TO 'a, b'", ("a, b",)),
        ("SET search_path TO 'a', 'b'", ("a", "b")),
        (
            'SET search_path = "$user", Public, "Mixed", pg_temp',
            ("$user", "public", "Mixed", "pg_temp"),
        ),
        ("SET search_path = ''", ()),
        ("SET search_path FROM CURRENT", ("app", "public")),
        ("SET search_path TO DEFAULT", None),
        ("SET search_path = a RESET search_path", None),
        ("SET work_mem = '64MB'", None),
    ],
)
def test_set_search_path_in_every_form(options: str, search_path: tuple[str, ...] | None) -> None:
    catalog = build(
        f"CREATE SCHEMA app;\nSET search_path = app, public;\n"
        f"CREATE FUNCTION f() RETURNS int {options} LANGUAGE sql AS 'select 1';\n"
    )
    function = catalog.functions["app.f()"]
    assert function.search_path == search_path
    assert function.search_path_at_creation == ("app", "public")


def test_set_search_path_before_as_is_kept() -> None:
    """sqlglot drops a SET clause that sits before AS."""
    catalog = build(
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER\n"
        "SET search_path = public, extensions\n"
        "AS $$BEGIN RETURN NEW; END$$;\n"
    )
    function = catalog.functions["public.f()"]
    assert (function.security_definer, function.search_path) == (True, ("public", "extensions"))


def test_security_volatility_and_strictness() -> None:
    catalog = build(
        """\
        CREATE FUNCTION a() RETURNS int LANGUAGE sql SECURITY DEFINER STABLE STRICT AS 'select 1';
        CREATE FUNCTION b() RETURNS int LANGUAGE sql EXTERNAL SECURITY INVOKER IMMUTABLE
            RETURNS NULL ON NULL INPUT PARALLEL SAFE COST 5 LEAKPROOF AS 'select 1';
        CREATE FUNCTION c() RETURNS int LANGUAGE 'sql' CALLED ON NULL INPUT AS 'select 1';
        CREATE FUNCTION d(int) RETURNS int AS 'module', 'symbol' LANGUAGE c WINDOW;
        """
    )
    assert {
        k: (f.security_definer, f.volatility, f.strict, f.language)
        for k, f in catalog.functions.items()
    } == {
        "public.a()": (True, "stable", True, "sql"),
        "public.b()": (False, "immutable", True, "sql"),
        "public.c()": (False, "volatile", False, "sql"),
        "public.d(integer)": (False, "volatile", False, "c"),
    }


def test_create_or_replace_function_moves_the_location_and_create_twice_is_refused() -> None:
    catalog = build(
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'select 1';\n",
        "CREATE OR REPLACE FUNCTION f(a integer) RETURNS int LANGUAGE sql AS 'select 2';\n"
        "CREATE FUNCTION f(int4) RETURNS int LANGUAGE sql AS 'select 3';\n"
        "CREATE OR REPLACE FUNCTION f(int) RETURNS bigint LANGUAGE sql AS 'select 4';\n"
        "CREATE OR REPLACE PROCEDURE f(int) LANGUAGE sql AS 'select 5';\n"
        "CREATE FUNCTION f(bigint) RETURNS int LANGUAGE sql AS 'select 6';\n",
    )
    assert sorted(catalog.functions) == ["public.f(bigint)", "public.f(integer)"]
    replaced = catalog.functions["public.f(integer)"]
    assert (replaced.body, replaced.location) == ("select 2", loc(1, 1, 1, 79, "m/2.sql"))
    assert messages(catalog) == [
        "m/2.sql:2:1: function public.f(integer) already exists: statement has no effect",
        "m/2.sql:3:1: cannot change return type of existing function public.f(integer): "
        "statement has no effect",
        "m/2.sql:4:1: public.f(integer) is a function: cannot change its kind: "
        "statement has no effect",
    ]


# ---- ALTER / DROP FUNCTION --------------------------------------------------------------


def test_alter_function_rename_and_set_schema_carry_their_triggers() -> None:
    catalog = build(
        "CREATE TABLE t (id int);\n"
        + TRIGGER_FUNCTION
        + "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "ALTER FUNCTION f RENAME TO g;\n"
        "CREATE SCHEMA util;\n"
        "ALTER FUNCTION g() SET SCHEMA util;\n"
    )
    assert list(catalog.functions) == ["util.g()"]
    assert catalog.triggers["public.t.tr"].function == "util.g"


def test_alter_function_options() -> None:
    catalog = build(
        """\
        CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'select 1';
        ALTER FUNCTION f(integer) SECURITY DEFINER SET search_path = pg_catalog, public STABLE;
        ALTER ROUTINE f STRICT;
        CREATE FUNCTION g() RETURNS int LANGUAGE sql SET search_path = a AS 'select 1';
        ALTER FUNCTION g() RESET search_path;
        CREATE FUNCTION h() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'select 1';
        ALTER FUNCTION h() SECURITY INVOKER SET search_path TO 'x' RESTRICT;
        ALTER FUNCTION nope() STABLE;
        """
    )
    assert {
        k: (f.security_definer, f.search_path, f.volatility, f.strict)
        for k, f in catalog.functions.items()
    } == {
        "public.f(integer)": (True, ("pg_catalog", "public"), "stable", True),
        "public.g()": (False, None, "volatile", False),
        "public.h()": (False, ("x",), "volatile", False),
    }
    assert messages(catalog) == [
        "m/1.sql:8:16: ALTER of unknown function public.nope(): statement has no effect"
    ]


def test_drop_function_with_and_without_a_signature() -> None:
    catalog = build(
        """\
        CREATE FUNCTION a() RETURNS int LANGUAGE sql AS 'select 1';
        CREATE FUNCTION b(int) RETURNS int LANGUAGE sql AS 'select 1';
        CREATE FUNCTION b(text) RETURNS int LANGUAGE sql AS 'select 1';
        CREATE FUNCTION c(x int, OUT y int) LANGUAGE sql AS 'select 1';
        DROP FUNCTION a;
        DROP FUNCTION b;
        DROP FUNCTION b(character varying);
        DROP FUNCTION IF EXISTS b(varchar);
        DROP FUNCTION b(IN int4);
        DROP FUNCTION c(x integer, OUT y int);
        """
    )
    assert list(catalog.functions) == ["public.b(text)"]
    assert messages(catalog) == [
        "m/1.sql:6:15: function name public.b is not unique: give the argument list: "
        "statement has no effect",
        "m/1.sql:7:15: DROP of unknown function public.b(character varying)",
    ]


def test_multi_object_drop_function_drops_each_and_cascade_drops_their_triggers() -> None:
    """sqlglot parses `DROP FUNCTION a(), b()` as a drop of `a` only."""
    text = (
        "CREATE TABLE t (id int);\n"
        "CREATE FUNCTION a() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n"
        "CREATE FUNCTION b() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n"
        "CREATE TRIGGER ta BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION a();\n"
        "CREATE TRIGGER tb AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION b();\n"
    )
    refused = build(text + "DROP FUNCTION a(), b();\n")
    assert sorted(refused.functions) == ["public.a()", "public.b()"]
    assert messages(refused) == [
        "m/1.sql:6:15: cannot drop function public.a(): public.t.ta depends on it (use CASCADE): "
        "statement has no effect"
    ]
    dropped = build(text + "DROP FUNCTION a(), b() CASCADE;\n")
    assert (dict(dropped.functions), dict(dropped.triggers), messages(dropped)) == ({}, {}, [])
    plain = build(
        "CREATE FUNCTION a() RETURNS int LANGUAGE sql AS 'select 1';\n"
        "CREATE FUNCTION b() RETURNS int LANGUAGE sql AS 'select 1';\n"
        "DROP FUNCTION a(), b();\n"
    )
    assert dict(plain.functions) == {}


# ---- CREATE TRIGGER ----------------------------------------------------------------------


def test_trigger_with_every_clause() -> None:
    catalog = build(
        "CREATE TABLE t (id int, a int, b int);\n"
        + TRIGGER_FUNCTION
        + dedent(
            """\
            CREATE TRIGGER every_clause
                BEFORE UPDATE OF a, b OR INSERT ON public.t
                FOR EACH ROW
                WHEN (NEW.a IS NOT NULL)
                EXECUTE FUNCTION f(Foo, "Bar", 007, 1.50, 'it''s');
            """
        )
    )
    trigger = catalog.triggers["public.t.every_clause"]
    assert trigger.when_expression is not None
    assert trigger.when_expression.sql(dialect="postgres") == "NEW.a IS NOT NULL"
    assert trigger == Trigger(
        name="every_clause",
        table="public.t",
        timing="before",
        events=("update", "insert"),
        level="row",
        function="public.f",
        location=loc(3, 1, 7, 55),
        update_columns=("a", "b"),
        when="NEW.a IS NOT NULL",
        arguments=("foo", "Bar", "7", "1.50", "it's"),
    )


def test_statement_constraint_and_transition_table_triggers() -> None:
    catalog = build(
        "CREATE TABLE t (id int);\nCREATE TABLE other (id int);\n"
        + TRIGGER_FUNCTION
        + dedent(
            """\
            CREATE TRIGGER trunc AFTER TRUNCATE ON t EXECUTE PROCEDURE f();
            CREATE CONSTRAINT TRIGGER con AFTER INSERT OR UPDATE ON t FROM other
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION f();
            CREATE CONSTRAINT TRIGGER con2 AFTER DELETE ON t NOT DEFERRABLE INITIALLY IMMEDIATE
                FOR EACH ROW EXECUTE FUNCTION f();
            CREATE TRIGGER batch AFTER UPDATE ON t
                REFERENCING OLD TABLE AS old_rows NEW TABLE new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION f();
            """
        )
    )
    summary = {
        k: (
            t.timing,
            t.events,
            t.level,
            t.constraint,
            t.deferrable,
            t.initially_deferred,
            t.referencing,
        )
        for k, t in catalog.triggers.items()
    }
    assert summary == {
        "public.t.batch": (
            "after",
            ("update",),
            "statement",
            False,
            False,
            False,
            (("old", "old_rows"), ("new", "new_rows")),
        ),
        "public.t.con": ("after", ("insert", "update"), "row", True, True, True, ()),
        "public.t.con2": ("after", ("delete",), "row", True, False, False, ()),
        "public.t.trunc": ("after", ("truncate",), "statement", False, False, False, ()),
    }


def test_instead_of_trigger_on_a_view() -> None:
    catalog = build(
        "CREATE TABLE t (id int);\nCREATE VIEW v AS SELECT id FROM t;\n"
        + TRIGGER_FUNCTION
        + "CREATE TRIGGER ins INSTEAD OF INSERT OR UPDATE OR DELETE ON v\n"
        "  FOR EACH ROW EXECUTE FUNCTION f();\n"
        "CREATE TRIGGER stmt BEFORE UPDATE ON v EXECUTE FUNCTION f();\n"
    )
    assert {k: (t.timing, t.level) for k, t in catalog.triggers.items()} == {
        "public.v.ins": ("instead of", "row"),
        "public.v.stmt": ("before", "statement"),
    }


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            "INSTEAD OF INSERT ON t FOR EACH ROW",
            "public.t is a table: INSTEAD OF triggers are for views",
        ),
        ("INSTEAD OF INSERT ON v", "INSTEAD OF triggers must be FOR EACH ROW"),
        (
            "INSTEAD OF UPDATE OF id ON v FOR EACH ROW",
            "INSTEAD OF triggers cannot have column lists",
        ),
        (
            "BEFORE INSERT ON v FOR EACH ROW",
            "public.v is a view: it cannot have row-level BEFORE or AFTER triggers",
        ),
        ("AFTER INSERT ON mv", "public.mv is a materialized view: it cannot have triggers"),
        ("AFTER TRUNCATE ON t FOR EACH ROW", "TRUNCATE FOR EACH ROW triggers are not supported"),
        (
            "BEFORE INSERT ON t REFERENCING NEW TABLE AS n",
            "transition tables need an AFTER trigger",
        ),
        (
            "AFTER UPDATE OF id ON t REFERENCING NEW TABLE AS n",
            "transition tables cannot be used with a column list",
        ),
        ("AFTER UPDATE OF nope ON t", 'column "nope" of relation public.t does not exist'),
        ("AFTER INSERT OR INSERT ON t", "duplicate trigger events specified"),
        (
            "AFTER INSERT ON t FOR EACH ROW WHEN (OLD.id > 0)",
            "INSERT trigger's WHEN condition cannot reference OLD values",
        ),
        (
            "AFTER DELETE ON t FOR EACH ROW WHEN (NEW IS NULL)",
            "DELETE trigger's WHEN condition cannot reference NEW values",
        ),
        (
            "AFTER UPDATE ON t WHEN (NEW.id > 0)",
            "statement trigger's WHEN condition cannot reference column values",
        ),
    ],
)
def test_triggers_postgresql_refuses(definition: str, message: str) -> None:
    catalog = build(
        "CREATE TABLE t (id int);\nCREATE VIEW v AS SELECT id FROM t;\n"
        "CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;\n"
        + TRIGGER_FUNCTION
        + f"CREATE TRIGGER bad {definition} EXECUTE FUNCTION f();\n"
    )
    assert dict(catalog.triggers) == {}
    ((_, line, _, text),) = [(d.path, d.line, d.column, d.message) for d in catalog.diagnostics]
    assert (line, text) == (5, f"{message}: statement has no effect")


def test_create_or_replace_trigger_replaces_and_resets_its_state() -> None:
    catalog = build(
        "CREATE TABLE t (id int);\n" + TRIGGER_FUNCTION,
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "ALTER TABLE t DISABLE TRIGGER tr;\n",
        "CREATE OR REPLACE TRIGGER tr AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f('x');\n"
        "CREATE TRIGGER tr AFTER DELETE ON t EXECUTE FUNCTION f();\n",
    )
    trigger = catalog.triggers["public.t.tr"]
    assert (trigger.timing, trigger.events, trigger.arguments, trigger.enabled) == (
        "after",
        ("update",),
        ("x",),
        "origin",
    )
    assert trigger.location == loc(1, 1, 1, 84, "m/3.sql")
    assert messages(catalog) == [
        "m/3.sql:2:1: trigger tr on public.t already exists: statement has no effect"
    ]


def test_trigger_function_resolution() -> None:
    catalog = build(
        """\
        CREATE SCHEMA app;
        CREATE TABLE app.t (id int);
        SET search_path = app, public;
        CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
        CREATE TRIGGER a BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();
        CREATE TRIGGER b BEFORE UPDATE ON t FOR EACH ROW
            EXECUTE FUNCTION suppress_redundant_updates_trigger();
        CREATE TRIGGER c BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION other.g();
        CREATE TRIGGER d BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION unknown_fn();
        """
    )
    assert {t.name: t.function for t in catalog.triggers.values()} == {
        "a": "app.f",
        "b": "pg_catalog.suppress_redundant_updates_trigger",
        "c": "other.g",
        "d": "app.unknown_fn",
    }


def test_trigger_on_an_unknown_table_is_kept_with_a_diagnostic() -> None:
    catalog = build(
        TRIGGER_FUNCTION
        + "CREATE TRIGGER tr AFTER INSERT ON billing.invoices FOR EACH ROW EXECUTE FUNCTION f();"
    )
    assert list(catalog.triggers) == ["billing.invoices.tr"]
    assert messages(catalog) == ["m/1.sql:2:35: trigger tr on unknown table billing.invoices"]


def test_trigger_on_a_platform_table_is_kept_without_a_diagnostic() -> None:
    catalog = build(
        TRIGGER_FUNCTION
        + "CREATE TRIGGER tr AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION f();"
    )
    assert list(catalog.triggers) == ["auth.users.tr"]
    assert messages(catalog) == []


def test_drop_and_rename_trigger() -> None:
    catalog = build(
        "CREATE TABLE t (id int);\n"
        + TRIGGER_FUNCTION
        + "CREATE TRIGGER a AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "CREATE TRIGGER b AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "DROP TRIGGER a ON t;\n"
        "DROP TRIGGER IF EXISTS a ON t CASCADE;\n"
        "DROP TRIGGER a ON public.t;\n"
        "ALTER TRIGGER b ON t RENAME TO c;\n"
        "ALTER TRIGGER nope ON t RENAME TO d;\n"
    )
    assert list(catalog.triggers) == ["public.t.c"]
    assert catalog.triggers["public.t.c"].location.line == 4
    assert messages(catalog) == [
        "m/1.sql:7:14: DROP of unknown trigger public.t.a",
        "m/1.sql:9:15: ALTER of unknown trigger public.t.nope: statement has no effect",
    ]


# ---- RULE, EVENT TRIGGER -----------------------------------------------------------------


def test_create_rule_is_recorded_with_its_actions() -> None:
    catalog = build(
        """\
        CREATE TABLE t (id int);
        CREATE TABLE log (id int);
        CREATE RULE log_it AS ON INSERT TO t WHERE NEW.id > 0
            DO ALSO (INSERT INTO log VALUES (NEW.id); NOTIFY t);
        CREATE RULE nothing AS ON DELETE TO t DO INSTEAD NOTHING;
        CREATE OR REPLACE RULE one AS ON UPDATE TO t DO UPDATE log SET id = NEW.id;
        ALTER TABLE t DISABLE RULE one;
        """
    )
    assert dict(catalog.rules) == {
        "public.t.log_it": Rule(
            "log_it",
            "public.t",
            "insert",
            False,
            "(INSERT INTO log VALUES (NEW.id); NOTIFY t)",
            loc(3, 1, 4, 56),
            action_statements=("INSERT INTO log VALUES (NEW.id)", "NOTIFY t"),
            condition="NEW.id > 0",
        ),
        "public.t.nothing": Rule(
            "nothing", "public.t", "delete", True, "NOTHING", loc(5, 1, 5, 57)
        ),
        "public.t.one": Rule(
            "one",
            "public.t",
            "update",
            False,
            "UPDATE log SET id = NEW.id",
            loc(6, 1, 6, 75),
            action_statements=("UPDATE log SET id = NEW.id",),
            enabled="disabled",
        ),
    }


def test_create_event_trigger_is_recorded() -> None:
    catalog = build(
        """\
        CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
        CREATE EVENT TRIGGER audit_ddl ON ddl_command_end
            WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
            EXECUTE FUNCTION on_ddl();
        ALTER EVENT TRIGGER audit_ddl ENABLE ALWAYS;
        """
    )
    assert dict(catalog.event_triggers) == {
        "audit_ddl": EventTrigger(
            "audit_ddl",
            "ddl_command_end",
            "public.on_ddl",
            loc(2, 1, 4, 30),
            tags=("CREATE TABLE", "ALTER TABLE"),
            enabled="always",
        )
    }


# ---- DO blocks and routines run at top level ----------------------------------------------


def test_do_block_is_kept_as_an_anonymous_body() -> None:
    catalog = build(
        "DO $do$\nBEGIN\n  RAISE NOTICE 'hi';\nEND\n$do$;\nDO LANGUAGE plperl 'print 1';\n"
    )
    assert catalog.anonymous_blocks == (
        AnonymousBlock(
            "plpgsql", "\nBEGIN\n  RAISE NOTICE 'hi';\nEND\n", loc(1, 1, 5, 5), loc(1, 8, 4, 4)
        ),
        AnonymousBlock("plperl", "print 1", loc(6, 1, 6, 29), loc(6, 21, 6, 27)),
    )


def test_ddl_guarded_in_a_do_block_applies_with_the_inner_location() -> None:
    catalog = build(
        "CREATE TABLE comment (id int);\n"
        + TRIGGER_FUNCTION
        + dedent(
            """\
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'on_comment') THEN
                    CREATE TRIGGER on_comment AFTER INSERT ON comment
                        FOR EACH ROW EXECUTE FUNCTION f();
                END IF;
                BEGIN
                    CREATE TABLE extra (id int);
                EXCEPTION WHEN duplicate_table THEN
                    CREATE TABLE never_created (id int);
                END;
            END $$;
            """
        )
    )
    trigger = catalog.triggers["public.comment.on_comment"]
    assert trigger.location == loc(6, 9, 7, 45)
    assert catalog.tables["public.extra"].location == loc(10, 9, 10, 35)
    assert "public.never_created" not in catalog.tables
    assert (messages(catalog), catalog.summary.unanalyzed_statements) == ([], 0)


def test_guarded_ddl_that_would_collide_is_silent() -> None:
    catalog = build(
        "CREATE TABLE t (id int);\n"
        + TRIGGER_FUNCTION
        + "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "DO $$ BEGIN\n"
        "  IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgname = 'tr') THEN\n"
        "    CREATE TRIGGER tr BEFORE DELETE ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "  END IF;\n"
        "  DROP TRIGGER gone ON t;\n"
        "  CREATE TRIGGER bad INSTEAD OF INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "END $$;\n"
    )
    assert catalog.triggers["public.t.tr"].timing == "after"
    assert messages(catalog) == [
        "m/1.sql:9:43: public.t is a table: INSTEAD OF triggers are for views: "
        "statement has no effect"
    ]


@pytest.mark.parametrize(
    ("execute", "trigger", "column"),
    [
        (
            "EXECUTE 'CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()'",
            "tr",
            12,
        ),
        (
            "EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I"
            " FOR EACH ROW EXECUTE FUNCTION f()', 'Tr', 't')",
            "Tr",
            19,
        ),
        (
            "EXECUTE format('CREATE TRIGGER %2$s AFTER INSERT ON %1$s"
            " FOR EACH ROW EXECUTE FUNCTION f()', 't', 'x' || 'y')",
            "xy",
            19,
        ),
        (
            "EXECUTE 'CREATE TRIGGER ' || quote_ident(v_name)"
            " || ' AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()'",
            "from_var",
            12,
        ),
        (
            "EXECUTE replace('CREATE TRIGGER @ AFTER INSERT ON t"
            " FOR EACH ROW EXECUTE FUNCTION f()', '@', 'rep')",
            "rep",
            20,
        ),
        (
            "EXECUTE concat('CREATE TRIGGER c', NULL,"
            " ' AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()')",
            "c",
            19,
        ),
        (
            "EXECUTE format($f$CREATE TRIGGER %s AFTER INSERT ON t"
            " FOR EACH ROW EXECUTE FUNCTION %s()$f$, lower('UP'), 'f')",
            "up",
            21,
        ),
    ],
)
def test_ddl_in_constant_execute_strings_applies(execute: str, trigger: str, column: int) -> None:
    catalog = build(
        "CREATE TABLE t (id int);\n"
        + TRIGGER_FUNCTION
        + "DO $$\nDECLARE\n  v_name text := 'from_var';\nBEGIN\n"
        + f"  {execute};\n"
        + "END $$;\n"
    )
    assert list(catalog.triggers) == [f"public.t.{trigger}"]
    assert catalog.triggers[f"public.t.{trigger}"].location.line == 7
    assert catalog.triggers[f"public.t.{trigger}"].location.column == column
    assert messages(catalog) == []


def test_ddl_assembled_over_several_assignments_applies_in_order() -> None:
    """`q := q || '…'` in straight-line code, then format(): the text PostgreSQL runs."""
    catalog = build(
        "CREATE TABLE t (id int);\n"
        + TRIGGER_FUNCTION
        + "CREATE FUNCTION observe(p_table text) RETURNS void LANGUAGE plpgsql AS $$\n"
        "DECLARE\n  q text = '';\nBEGIN\n"
        "  q = q || 'CREATE TRIGGER \"observe_%s\" ';\n"
        "  q = q || 'AFTER INSERT ON %I ';\n"
        "  q = q || 'FOR EACH ROW EXECUTE FUNCTION f()';\n"
        "  q = format(q, p_table, p_table);\n"
        "  EXECUTE q;\n"
        "END $$;\n"
        "SELECT observe('t');\n"
    )
    assert list(catalog.triggers) == ["public.t.observe_t"]
    assert messages(catalog) == []


AUDIT_HELPER = (
    "CREATE TABLE t (id int);\n"
    + TRIGGER_FUNCTION
    + "CREATE FUNCTION track(target regclass, rows_too boolean, skipped text[])\n"
    "RETURNS void LANGUAGE plpgsql AS $$\n"
    "DECLARE\n  events text = 'INSERT OR UPDATE OR DELETE OR TRUNCATE';\n"
    "  snip text = '';\nBEGIN\n"
    "  IF rows_too THEN\n"
    "    IF array_length(skipped, 1) > 0 THEN\n"
    "      snip = ', ' || quote_literal(skipped);\n"
    "    END IF;\n"
    "    EXECUTE 'CREATE TRIGGER track_row AFTER INSERT OR UPDATE OR DELETE ON ' || target\n"
    "      || ' FOR EACH ROW EXECUTE FUNCTION f(' || quote_literal('x') || snip || ')';\n"
    "    events = 'TRUNCATE';\n"
    "  END IF;\n"
    "  EXECUTE 'CREATE TRIGGER track_stm AFTER ' || events || ' ON ' || target\n"
    "    || ' FOR EACH STATEMENT EXECUTE FUNCTION f()';\n"
    "END $$;\n"
)


@pytest.mark.parametrize(
    ("call", "triggers"),
    [
        # the branches the arguments choose, as PostgreSQL runs them
        (
            "SELECT track('t', BOOLEAN 't', ARRAY[]::text[]);",
            {"public.t.track_row": ("f", ("x",)), "public.t.track_stm": ("f", ())},
        ),
        (
            "SELECT track('t', true, ARRAY['note', 'seen at']);",
            {
                "public.t.track_row": ("f", ("x", '{note,"seen at"}')),
                "public.t.track_stm": ("f", ()),
            },
        ),
        ("SELECT track('t', false, NULL);", {"public.t.track_stm": ("f", ())}),
    ],
)
def test_if_conditions_over_known_arguments_choose_the_branch(
    call: str, triggers: dict[str, tuple[str, tuple[str, ...]]]
) -> None:
    catalog = build(AUDIT_HELPER + call + "\n")
    assert {
        key: (t.function.split(".")[-1], tuple(a.strip("'") for a in t.arguments))
        for key, t in catalog.triggers.items()
    } == triggers
    events = {key: t.events for key, t in catalog.triggers.items()}
    rows_too = "public.t.track_row" in triggers
    assert events["public.t.track_stm"] == (
        ("truncate",) if rows_too else ("insert", "update", "delete", "truncate")
    )
    assert messages(catalog) == []


@pytest.mark.parametrize(("direction", "triggers"), [("true", ["public.t.watch"]), ("false", [])])
def test_a_flag_compared_with_a_boolean_chooses_the_branch(
    direction: str, triggers: list[str]
) -> None:
    catalog = build(
        "CREATE TABLE t (id int);\n"
        + TRIGGER_FUNCTION
        + "CREATE FUNCTION watch(p_table text, p_on boolean) RETURNS void\n"
        "LANGUAGE plpgsql AS $$\nDECLARE q text = '';\nBEGIN\n"
        "  IF p_on = true THEN\n"
        "    q = format('CREATE TRIGGER watch AFTER INSERT ON %I FOR EACH ROW "
        "EXECUTE FUNCTION f()', p_table);\n"
        "  ELSE\n    q = format('DROP TRIGGER IF EXISTS watch ON %I', p_table);\n  END IF;\n"
        "  EXECUTE q;\nEND $$;\n"
        f"SELECT watch('t', {direction});\n"
    )
    assert list(catalog.triggers) == triggers
    assert messages(catalog) == []


def test_an_undecided_condition_runs_every_branch() -> None:
    catalog = build(AUDIT_HELPER + "SELECT track('t', random() > 0.5, NULL);\n")
    assert list(catalog.triggers) == ["public.t.track_row"]
    assert [m.split(": EXECUTE")[0] for m in messages(catalog)] == [
        "m/1.sql:17:11: DDL in dynamic SQL not known statically"
    ]


def test_a_variable_assigned_in_a_branch_is_unknown_after_it() -> None:
    catalog = build(
        "CREATE TABLE t (id int);\n"
        + TRIGGER_FUNCTION
        + "DO $$\nDECLARE\n  events text = 'INSERT';\nBEGIN\n"
        "  IF random() > 0.5 THEN\n    events = 'UPDATE';\n  END IF;\n"
        "  EXECUTE 'CREATE TRIGGER x AFTER ' || events\n"
        "    || ' ON t FOR EACH ROW EXECUTE FUNCTION f()';\n"
        "END $$;\n"
    )
    assert list(catalog.triggers) == []
    assert [m.split(": EXECUTE")[0] for m in messages(catalog)] == [
        "m/1.sql:10:11: DDL in dynamic SQL not known statically"
    ]


@pytest.mark.parametrize(
    "execute",
    [
        "EXECUTE format('CREATE TRIGGER x AFTER INSERT ON %I"
        " FOR EACH ROW EXECUTE FUNCTION f()', r.tablename)",
        "EXECUTE v_sql",
        "EXECUTE 'DROP ' || v_kind || ' x'",
        "EXECUTE 'CREATE TRIGGER ' || v_changing || ' AFTER INSERT ON t EXECUTE FUNCTION f()'",
    ],
)
def test_ddl_in_dynamic_sql_that_does_not_fold_is_reported(execute: str) -> None:
    catalog = build(
        "CREATE TABLE t (id int);\n"
        "DO $$\nDECLARE\n  v_sql text;\n  v_kind text;\n  v_changing text := 'a';\nBEGIN\n"
        "  FOR r IN SELECT tablename FROM pg_tables LOOP\n"
        "    v_changing := v_changing || 'b';\n"  # 'ab', 'abb', …: unknown in the loop
        f"    {execute};\n"
        "  END LOOP;\nEND $$;\n"
    )
    query = execute.removeprefix("EXECUTE ")
    excerpt = query if len(query) <= 60 else query[:59] + "…"
    assert messages(catalog) == [
        f"m/1.sql:10:13: DDL in dynamic SQL not known statically: EXECUTE {excerpt}"
    ]
    assert catalog.summary.unanalyzed_statements == 1
    assert dict(catalog.triggers) == {}


def test_dynamic_sql_that_cannot_change_the_catalog_is_not_reported() -> None:
    catalog = build(
        "DO $$ BEGIN\n"
        "  FOR r IN SELECT tablename FROM pg_tables LOOP\n"
        "    EXECUTE format('GRANT SELECT ON %I TO web', r.tablename);\n"
        "    EXECUTE 'CREATE INDEX ON ' || r.tablename || ' (id)';\n"
        "    EXECUTE format('UPDATE %I SET n = 0', r.tablename);\n"
        "  END LOOP;\nEND $$;\n"
    )
    assert (messages(catalog), catalog.summary.unanalyzed_statements) == ([], 0)


def test_procedure_called_with_constants_runs_its_ddl() -> None:
    catalog = build(
        "CREATE TABLE comment (id int);\nCREATE TABLE post (id int);\n" + TRIGGER_FUNCTION,
        dedent(
            """\
            CREATE PROCEDURE create_triggers(tbl text, cond text, fn text DEFAULT 'f')
            LANGUAGE plpgsql AS $p$
            BEGIN
                EXECUTE format(
                    'CREATE TRIGGER %s_audit AFTER UPDATE ON %I FOR EACH ROW'
                    ' WHEN (%s) EXECUTE FUNCTION %I()',
                    tbl, tbl, cond, fn);
            END $p$;
            CALL create_triggers('comment', $$ OLD.id IS DISTINCT FROM NEW.id $$);
            CALL public.create_triggers(cond => 'true', tbl => 'post');
            SELECT create_triggers('comment', 'false');
            """
        ),
    )
    assert {k: (t.when, str(t.location)) for k, t in catalog.triggers.items()} == {
        "public.comment.comment_audit": ("OLD.id IS DISTINCT FROM NEW.id", "m/2.sql:5:10"),
        "public.post.post_audit": ("true", "m/2.sql:5:10"),
    }
    assert messages(catalog) == []


def test_function_called_by_select_runs_its_ddl_and_recursion_stops() -> None:
    catalog = build(
        "CREATE TABLE t (id int);\n"
        + TRIGGER_FUNCTION
        + dedent(
            """\
            CREATE FUNCTION add_audit(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                EXECUTE 'CREATE TRIGGER audit AFTER INSERT ON ' || tbl
                    || ' FOR EACH ROW EXECUTE FUNCTION f()';
                PERFORM add_audit(tbl);
            END $$;
            SELECT add_audit('t');
            SELECT add_audit(some_column) FROM somewhere;
            """
        )
    )
    assert list(catalog.triggers) == ["public.t.audit"]
    assert messages(catalog) == []


# ---- SET search_path ---------------------------------------------------------------------


def test_search_path_applies_to_later_statements_of_the_same_file_only() -> None:
    catalog = build(
        """\
        CREATE SCHEMA app;
        CREATE TABLE first (id int);
        SET search_path TO app, public;
        CREATE TABLE second (id int);
        CREATE TABLE third (f int REFERENCES first);
        RESET search_path;
        CREATE TABLE fourth (id int);
        SET SCHEMA 'app';
        CREATE TABLE fifth (id int);
        """,
        "CREATE TABLE sixth (id int);\n",
    )
    assert sorted(catalog.tables) == [
        "app.fifth",
        "app.second",
        "app.third",
        "public.first",
        "public.fourth",
        "public.sixth",
    ]
    assert catalog.tables["app.third"].foreign_keys[0].ref_table == "public.first"


def test_pg_dump_set_config_and_empty_search_path() -> None:
    catalog = build(
        """\
        \\restrict abc
        SELECT pg_catalog.set_config('search_path', '', false);
        CREATE TABLE public.t (id integer);
        CREATE TABLE u (id integer);
        SELECT set_config('search_path', 'app, "Mixed"', false);
        CREATE SCHEMA app;
        CREATE TABLE v (id int);
        \\unrestrict abc
        """
    )
    assert sorted(catalog.tables) == ["app.v", "public.t"]
    assert messages(catalog) == [
        "m/1.sql:4:14: no schema has been selected to create in (search_path is empty): "
        "statement has no effect"
    ]


# ---- the rest of the object kinds ---------------------------------------------------------


def test_rules_and_event_triggers_can_be_renamed_disabled_and_dropped() -> None:
    catalog = build(
        """\
        CREATE TABLE t (id int);
        CREATE RULE a AS ON INSERT TO t DO INSTEAD NOTHING;
        CREATE RULE b AS ON DELETE TO t DO INSTEAD NOTHING;
        ALTER RULE a ON t RENAME TO renamed;
        DROP RULE b ON t;
        DROP RULE IF EXISTS b ON t;
        CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
        CREATE EVENT TRIGGER e1 ON ddl_command_start EXECUTE PROCEDURE on_ddl();
        CREATE EVENT TRIGGER e2 ON sql_drop EXECUTE FUNCTION on_ddl();
        ALTER EVENT TRIGGER e1 RENAME TO first;
        ALTER EVENT TRIGGER first DISABLE;
        DROP EVENT TRIGGER e2;
        DROP FUNCTION on_ddl();
        """
    )
    assert list(catalog.rules) == ["public.t.renamed"]
    assert {k: (e.name, e.event, e.enabled) for k, e in catalog.event_triggers.items()} == {
        "first": ("first", "ddl_command_start", "disabled")
    }
    assert messages(catalog) == [
        "m/1.sql:2:1: rule a rewrites every INSERT on public.t (DO INSTEAD NOTHING): rewrite "
        "rules are not followed, so cascades through this table are not fully analysed",
        "m/1.sql:3:1: rule b rewrites every DELETE on public.t (DO INSTEAD NOTHING): rewrite "
        "rules are not followed, so cascades through this table are not fully analysed",
        "m/1.sql:13:15: cannot drop function public.on_ddl(): event trigger first depends on it "
        "(use CASCADE): statement has no effect",
    ]
    assert catalog.unanalyzed_statements == 2


def test_pg_dump_return_rule_turns_a_table_into_a_view() -> None:
    catalog = build(
        'CREATE TABLE public.v (id integer);\nCREATE RULE "_RETURN" AS ON SELECT TO public.v\n'
        "    DO INSTEAD SELECT 1 AS id;\n"
    )
    assert catalog.tables["public.v"].relkind == "view"


def test_alter_view_rename_and_set_schema() -> None:
    catalog = build(
        "CREATE VIEW v AS SELECT 1 AS one;\nCREATE MATERIALIZED VIEW m AS SELECT 1 AS one;\n"
        "ALTER VIEW v RENAME TO w;\nCREATE SCHEMA s;\nALTER MATERIALIZED VIEW m SET SCHEMA s;\n"
        "ALTER VIEW IF EXISTS nope RENAME TO x;\nALTER VIEW w RENAME COLUMN one TO uno;\n"
    )
    assert {k: [c.name for c in t.columns] for k, t in catalog.tables.items()} == {
        "public.w": ["uno"],
        "s.m": ["one"],
    }
    assert messages(catalog) == []


def test_drop_schema_needs_cascade_when_it_holds_objects() -> None:
    text = (
        "CREATE SCHEMA s;\nCREATE TABLE s.t (id int);\n"
        "CREATE TABLE keep (t_id int REFERENCES s.t);\n"
        "CREATE FUNCTION s.f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n"
        "CREATE TRIGGER tr BEFORE INSERT ON keep FOR EACH ROW EXECUTE FUNCTION s.f();\n"
    )
    refused = build(text + "DROP SCHEMA s;\n")
    assert sorted(refused.tables) == ["public.keep", "s.t"]
    assert messages(refused) == [
        "m/1.sql:6:1: cannot drop schema s because other objects depend on it (use CASCADE): "
        "statement has no effect"
    ]
    dropped = build(text + "DROP SCHEMA IF EXISTS s CASCADE;\n")
    assert (sorted(dropped.tables), dict(dropped.functions), dict(dropped.triggers)) == (
        ["public.keep"],
        {},
        {},
    )
    assert dropped.tables["public.keep"].foreign_keys == ()


def test_drop_column_takes_its_constraints_and_needs_cascade_for_outside_users() -> None:
    text = (
        "CREATE TABLE p (id int, code text, PRIMARY KEY (id, code), CHECK (code <> ''));\n"
        "CREATE TABLE c (id int, code text, FOREIGN KEY (id, code) REFERENCES p);\n"
        + TRIGGER_FUNCTION
        + "CREATE TRIGGER tr AFTER UPDATE OF code ON p FOR EACH ROW EXECUTE FUNCTION f();\n"
    )
    refused = build(text + "ALTER TABLE p DROP COLUMN code;\n")
    assert messages(refused) == [
        'm/1.sql:5:27: cannot drop column "code" of public.p: foreign key "c_id_code_fkey" of '
        "public.c depends on it (use CASCADE): statement has no effect"
    ]
    dropped = build(text + "ALTER TABLE p DROP COLUMN code CASCADE;\n")
    p = dropped.tables["public.p"]
    assert ([c.name for c in p.columns], p.primary_key, p.checks) == (["id"], (), ())
    assert (dropped.tables["public.c"].foreign_keys, dict(dropped.triggers)) == ((), {})


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        ("ARRAY[]::text[]", "{}"),
        ("ARRAY['a', 'b c', NULL]", '{a,"b c",NULL}'),
        ("quote_literal(ARRAY['updated_at'])", "'{updated_at}'"),
        ("'on: ' || true", "on: true"),
    ],
)
def test_arrays_and_booleans_fold_to_their_text_form(expression: str, text: str) -> None:
    value = fold_constant(SourceFile.from_text("x.sql", expression), 0, expression, {})
    assert (value.known, value.text) == (True, text)
