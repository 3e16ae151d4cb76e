"""The audit-trigger idiom: skip the write when `hstore(NEW.*) - hstore(OLD.*)` is empty.

An UPDATE that changes nothing leaves the difference empty, so the skip certainly runs
and the audit row is not written; when something changed it depends on which columns
(some may be ignored). The difference is often built in record fields first
(`audit_row.changed := hstore(NEW.*) - audit_row.before`), so a condition reads a record
field as the value assigned to it earlier in the same branch.
"""

from __future__ import annotations

import pytest
import sqlglot

from analyzer.cascade import TraceEntry, Tracer, totals_document
from analyzer.catalog import Catalog
from analyzer.config import Config
from analyzer.ddl import build_catalog
from analyzer.graph import Model, build_model
from analyzer.guards import FiringContext, guard_of
from analyzer.rules import Context, load_rules, run_rules
from analyzer.source import SourceFile

UNCHANGED = FiringContext(op="UPDATE", changed_columns=frozenset())
CHANGED = FiringContext(op="UPDATE", changed_columns=frozenset({"note"}))


def truth(condition: str, context: FiringContext) -> bool | None:
    tree = sqlglot.parse_one(f"SELECT {condition}", read="postgres").expressions[0]
    return guard_of(tree, condition).evaluate(context.decide)


@pytest.mark.parametrize(
    ("condition", "unchanged", "changed"),
    [
        ("hstore(NEW.*) - hstore(OLD.*) = hstore('')", True, None),
        ("hstore(NEW) - hstore(OLD) = ''::hstore", True, None),
        ("'' = (hstore(NEW.*) - hstore(OLD.*))", True, None),
        ("hstore(NEW.*) - hstore(OLD.*) <> hstore('')", False, None),
        ("(hstore(NEW.*) - (hstore(OLD.*) - ignored)) - ignored = hstore('')", True, None),
        # look-alikes: the ignored keys stay in the difference, or the rows are swapped
        ("hstore(NEW.*) - (hstore(OLD.*) - ignored) = hstore('')", None, None),
        ("hstore(OLD.*) - hstore(NEW.*) - hstore(OLD.*) = hstore('')", None, None),
        ("hstore(NEW.*) - hstore(OLD.*) = hstore('a', 'b')", None, None),
    ],
)
def test_an_empty_row_difference_holds_for_an_unchanged_row(
    condition: str, unchanged: bool | None, changed: bool | None
) -> None:
    assert (truth(condition, UNCHANGED), truth(condition, CHANGED)) == (unchanged, changed)


AUDIT = """
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE TABLE public.orders (id int PRIMARY KEY, note text);
CREATE TABLE public.audit_log (id serial PRIMARY KEY, before hstore, changed hstore);
CREATE FUNCTION public.audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry public.audit_log;
    ignored text[] = ARRAY[]::text[];
BEGIN
    IF TG_ARGV[0] IS NOT NULL THEN
        ignored = TG_ARGV[0]::text[];
    END IF;
    IF TG_OP = 'UPDATE' THEN
        entry.before = hstore(OLD.*) - ignored;
        entry.changed = (hstore(NEW.*) - entry.before) - ignored;
        {skip}
    ELSIF TG_OP = 'DELETE' THEN
        entry.before = hstore(OLD.*) - ignored;
    END IF;
    INSERT INTO public.audit_log (before, changed) VALUES (entry.before, entry.changed);
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_change AFTER UPDATE OR DELETE ON public.orders
    FOR EACH ROW EXECUTE FUNCTION public.audit_change();
"""
SKIP = "IF entry.changed = hstore('') THEN RETURN NULL; END IF;"


def catalog_of(skip: str) -> tuple[Catalog, Model]:
    catalog = build_catalog([SourceFile.from_text("a.sql", AUDIT.format(skip=skip))])
    return catalog, build_model(catalog)


@pytest.mark.parametrize(
    ("skip", "inserts"),
    [
        (SKIP, (0, 0)),
        # look-alikes: no skip, a skip tested before the difference is made, or one that
        # reads a field assigned in another branch
        ("", (1, 1)),
        ("IF entry.before = hstore('') THEN RETURN NULL; END IF;", (0, 1)),
    ],
)
def test_an_unchanged_update_skips_the_audit_row(skip: str, inserts: tuple[int, int]) -> None:
    _, model = catalog_of(skip)
    totals = Tracer(model).trace(TraceEntry("public.orders", "update", unchanged=True)).totals()
    low, high = (totals_document(totals, bound)["row_writes"] for bound in (0, 1))
    assert isinstance(low, dict) and isinstance(high, dict)
    found = (
        low.get("public.audit_log", {}).get("insert", 0),
        high.get("public.audit_log", {}).get("insert", 0),
    )
    assert found == inserts


@pytest.mark.parametrize(("skip", "codes"), [(SKIP, []), ("", ["RP105"])])
def test_noop_update_trigger_rule_sees_the_skip(skip: str, codes: list[str]) -> None:
    catalog, model = catalog_of(skip)
    classes = [c for c in load_rules(Config())[0] if c.code == "RP105"]
    findings, _ = run_rules(classes, Context(catalog, model, Config()))
    assert [f.code for f in findings] == codes


def test_a_field_is_not_read_as_a_value_assigned_after_the_one_it_holds() -> None:
    """`a.x := a.y; a.y := '';` then `IF a.x = ''`: a.x holds the old a.y, not ''."""
    function = AUDIT.format(skip="").replace(
        "        entry.changed = (hstore(NEW.*) - entry.before) - ignored;\n",
        "        entry.changed = entry.before;\n"
        "        entry.before = hstore('');\n"
        "        IF entry.changed = hstore('') THEN RETURN NULL; END IF;\n",
    )
    catalog = build_catalog([SourceFile.from_text("a.sql", function)])
    totals = (
        Tracer(build_model(catalog))
        .trace(TraceEntry("public.orders", "update", unchanged=True))
        .totals()
    )
    high = totals_document(totals, 1)["row_writes"]
    assert isinstance(high, dict)
    assert high["public.audit_log"]["insert"] == 1
