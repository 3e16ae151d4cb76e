"""A memoized sub-cascade carries what it crossed that is unknown into every trace that
reaches it, not only into the first: the caveat on a finding must not depend on which
entry the rules happened to trace first."""

from __future__ import annotations

from pathlib import Path

from analyzer.analysis import analyze
from analyzer.cascade import TraceEntry, Tracer
from analyzer.config import Config
from analyzer.graph import build_model
from analyzer.loader import load

SCHEMA = """CREATE TABLE shipments (id serial PRIMARY KEY, carrier text NOT NULL);
CREATE TABLE web_orders (id int PRIMARY KEY);
CREATE TABLE phone_orders (id int PRIMARY KEY);
CREATE FUNCTION log_by_carrier() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'INSERT INTO ' || quote_ident(NEW.carrier || '_log') || ' VALUES ($1)' USING NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER log_by_carrier AFTER INSERT ON shipments
    FOR EACH ROW EXECUTE FUNCTION log_by_carrier();
CREATE FUNCTION ship() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO shipments (carrier) VALUES ('post');
  INSERT INTO shipments (carrier) VALUES ('courier');
  INSERT INTO shipments (carrier) VALUES ('freight');
  RETURN NULL;
END $$;
CREATE TRIGGER ship_web AFTER INSERT ON web_orders FOR EACH ROW EXECUTE FUNCTION ship();
CREATE TRIGGER ship_phone AFTER INSERT ON phone_orders FOR EACH ROW EXECUTE FUNCTION ship();
"""


def test_every_trace_through_a_memoized_event_lists_its_unknowns(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    tracer = Tracer(build_model(load([str(tmp_path)])))
    first = tracer.trace(TraceEntry("public.web_orders", "insert"))
    second = tracer.trace(TraceEntry("public.phone_orders", "insert"))  # a memo hit below
    assert [(u.reason, u.name) for u in first.unknowns] == [("dynamic SQL", "EXECUTE")]
    assert [(u.reason, u.name) for u in second.unknowns] == [("dynamic SQL", "EXECUTE")]


def test_both_findings_say_they_cross_unknown_ground(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    result = analyze([str(tmp_path)], Config(select=("write-amplification",)))
    tables = sorted(f.entry.table for f in result.findings if f.entry)
    assert tables == ["public.phone_orders", "public.web_orders"]
    assert all("crosses unknown ground" in f.message for f in result.findings)
