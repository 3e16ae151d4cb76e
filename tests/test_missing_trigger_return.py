"""RP202 on BEFORE row triggers that return NULL: the routing idiom is not a lost row."""

from __future__ import annotations

from pathlib import Path

from analyzer import analyze

TABLES = """CREATE TABLE measurement (city_id int NOT NULL, logdate date NOT NULL, peak int);
CREATE TABLE measurement_feb (CHECK (logdate >= DATE '2006-02-01')) INHERITS (measurement);
CREATE TABLE measurement_mar (CHECK (logdate >= DATE '2006-03-01')) INHERITS (measurement);
CREATE TABLE measurement_log (city_id int, at timestamptz);
"""
TRIGGER = """CREATE TRIGGER route BEFORE INSERT ON measurement
    FOR EACH ROW EXECUTE FUNCTION route();
"""


def rp202(tmp_path: Path, body: str) -> list[tuple[int, str]]:
    path = tmp_path / "schema.sql"
    path.write_text(
        TABLES
        + "CREATE FUNCTION route() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        + body
        + "\nEND $$;\n"
        + TRIGGER,
        encoding="utf-8",
    )
    result = analyze([str(path)])
    return [(f.location.line, f.message) for f in result.findings if f.code == "RP202"]


ROUTER = """  IF NEW.logdate >= DATE '2006-02-01' AND NEW.logdate < DATE '2006-03-01' THEN
    INSERT INTO measurement_feb VALUES (NEW.*);
  ELSIF NEW.logdate >= DATE '2006-03-01' AND NEW.logdate < DATE '2006-04-01' THEN
    {second}
  ELSE
    RAISE EXCEPTION 'Date out of range.';
  END IF;
  RETURN NULL;"""


def test_the_manuals_partition_router_is_not_reported(tmp_path: Path) -> None:
    second = "INSERT INTO measurement_mar VALUES (NEW.*);"
    assert rp202(tmp_path, ROUTER.format(second=second)) == []


def test_a_router_arm_that_stores_nothing_loses_the_row(tmp_path: Path) -> None:
    second = "INSERT INTO measurement_log VALUES (NEW.city_id, now());"
    assert rp202(tmp_path, ROUTER.format(second=second)) == [
        (
            14,
            "public.route returns NULL whenever it does not raise an error: as a BEFORE row"
            " trigger (public.measurement.route) that silently skips the row",
        )
    ]


def test_routing_on_some_paths_only(tmp_path: Path) -> None:
    body = """  IF NEW.peak > 0 THEN
    INSERT INTO measurement_feb SELECT (NEW).*;
  END IF;
  RETURN NULL;"""
    assert rp202(tmp_path, body) == [
        (
            10,
            "public.route returns NULL: as a BEFORE row trigger (public.measurement.route)"
            " that silently skips the row",
        )
    ]


def test_routing_then_returning_null_in_the_same_branch(tmp_path: Path) -> None:
    body = """  IF NEW.peak > 0 THEN
    INSERT INTO measurement_feb (city_id, logdate, peak)
    VALUES (NEW.city_id, NEW.logdate, NEW.peak);
    RETURN NULL;
  END IF;
  IF NEW.peak < -50 THEN
    RETURN NULL;
  END IF;
  RETURN NEW;"""
    assert rp202(tmp_path, body) == [
        (
            13,
            "public.route returns NULL when NEW.peak < -50 AND NOT (NEW.peak > 0): as a BEFORE"
            " row trigger (public.measurement.route) that silently skips the row",
        )
    ]
