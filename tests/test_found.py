"""FOUND and GET DIAGNOSTICS … ROW_COUNT: which statement they report on, and the
alternatives they make. PL/pgSQL ("Obtaining the Result Status"): INSERT, UPDATE,
DELETE, MERGE and SELECT INTO set FOUND by the rows they processed; PERFORM, FETCH, MOVE,
RETURN QUERY and FOR loops set it too; EXECUTE, assignments and utility statements leave
it alone. An UPDATE followed by IF NOT FOUND THEN INSERT does one of the two writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analyzer.analysis import analyze
from analyzer.cascade import TraceEntry, Tracer, totals_document
from analyzer.config import Config
from analyzer.effects import BodyEffects, Write, analyze_bodies
from analyzer.graph import build_model
from analyzer.guards import FoundAtom, Guard, OpaqueAtom
from analyzer.loader import load

TABLES = """
CREATE TABLE views (id bigserial PRIMARY KEY, page text NOT NULL);
CREATE TABLE stats (page text PRIMARY KEY, n int NOT NULL, locked boolean NOT NULL DEFAULT false);
CREATE TABLE log (id bigserial PRIMARY KEY, note text);
"""


def trigger(statements: str, declare: str = "") -> str:
    return (
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"{declare}BEGIN\n{statements}\nRETURN NULL;\nEND $$;\n"
        "CREATE TRIGGER t AFTER INSERT ON views FOR EACH ROW EXECUTE FUNCTION f();\n"
    )


def write_schema(tmp_path: Path, sql: str) -> Path:
    path = tmp_path / "schema.sql"
    path.write_text(TABLES + sql, encoding="utf-8")
    return path


def body_of(tmp_path: Path, sql: str) -> BodyEffects:
    bodies = analyze_bodies(load([str(write_schema(tmp_path, sql))]))
    (body,) = [b for key, b in bodies.functions.items() if key.startswith("public.f(")]
    return body


def guard_of_write(body: BodyEffects, table: str, kind: str) -> Guard:
    (write,) = [
        e for e in body.effects if isinstance(e, Write) and e.table == table and e.kind == kind
    ]
    return write.guard


def position(body: BodyEffects, table: str, kind: str) -> int:
    (index,) = [
        i
        for i, e in enumerate(body.effects)
        if isinstance(e, Write) and e.table == table and e.kind == kind
    ]
    return index


def bounds(tmp_path: Path, sql: str) -> dict[str, Any]:
    """(lo, hi) per 'table kind' written and the total, for one insert into views."""
    cascade = Tracer(build_model(load([str(write_schema(tmp_path, sql))]))).trace(
        TraceEntry("public.views", "insert")
    )
    low, high = totals_document(cascade.totals(), 0), totals_document(cascade.totals(), 1)
    found: dict[str, Any] = {}
    for table, kinds in high["row_writes"].items():  # type: ignore[union-attr]
        for kind, hi in kinds.items():
            lo = low["row_writes"].get(table, {}).get(kind, 0)  # type: ignore[union-attr]
            if (lo, hi) != (0, 0):
                found[f"{table} {kind}"] = (lo, hi)
    found["total"] = (low["total_row_writes"], high["total_row_writes"])
    return found


UPSERT_BY_HAND = trigger(
    "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
    "IF NOT FOUND THEN INSERT INTO stats (page, n) VALUES (NEW.page, 1); END IF;"
)


# ------------------------------------------------------------------ which statement


def test_not_found_after_an_update_names_that_update(tmp_path: Path) -> None:
    body = body_of(tmp_path, UPSERT_BY_HAND)
    update = position(body, "public.stats", "update")
    assert guard_of_write(body, "public.stats", "insert") == Guard.of(FoundAtom(update, False))
    assert str(guard_of_write(body, "public.stats", "insert")) == "NOT FOUND"


def test_execute_and_assignments_leave_found_alone(tmp_path: Path) -> None:
    body = body_of(
        tmp_path,
        trigger(
            "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
            "EXECUTE 'SELECT 1';\n"
            "v := 2;\n"
            "IF NOT FOUND THEN INSERT INTO stats (page, n) VALUES (NEW.page, 1); END IF;",
            "DECLARE v int;\n",
        ),
    )
    update = position(body, "public.stats", "update")
    assert guard_of_write(body, "public.stats", "insert") == Guard.of(FoundAtom(update, False))


def test_select_into_and_perform_set_found_themselves(tmp_path: Path) -> None:
    for setter in ("SELECT n INTO v FROM stats WHERE page = NEW.page;", "PERFORM 1 FROM log;"):
        body = body_of(
            tmp_path,
            trigger(
                "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
                f"{setter}\n"
                "IF NOT FOUND THEN INSERT INTO log (note) VALUES ('x'); END IF;",
                "DECLARE v int;\n",
            ),
        )
        (atom,) = guard_of_write(body, "public.log", "insert").atoms()
        assert isinstance(atom, FoundAtom) and atom.setter < 0 and not atom.found


def test_found_after_arms_that_set_it_differently_is_not_known(tmp_path: Path) -> None:
    body = body_of(
        tmp_path,
        trigger(
            "IF NEW.page = '/' THEN UPDATE stats SET n = n + 1 WHERE page = NEW.page; END IF;\n"
            "IF NOT FOUND THEN INSERT INTO log (note) VALUES ('x'); END IF;"
        ),
    )
    assert guard_of_write(body, "public.log", "insert") == Guard.of(OpaqueAtom("FOUND", True))


def test_a_local_variable_named_found_is_not_plpgsql_found(tmp_path: Path) -> None:
    body = body_of(
        tmp_path,
        trigger(
            "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
            "IF NOT found THEN INSERT INTO log (note) VALUES ('x'); END IF;",
            "DECLARE found boolean := true;\n",
        ),
    )
    assert guard_of_write(body, "public.log", "insert") == Guard.of(OpaqueAtom("found", True))


def test_row_count_read_right_after_the_write_is_its_found(tmp_path: Path) -> None:
    body = body_of(
        tmp_path,
        trigger(
            "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
            "GET DIAGNOSTICS k = ROW_COUNT;\n"
            "IF k = 0 THEN INSERT INTO stats (page, n) VALUES (NEW.page, 1); END IF;\n"
            "IF k > 0 THEN INSERT INTO log (note) VALUES ('x'); END IF;",
            "DECLARE k int;\n",
        ),
    )
    update = position(body, "public.stats", "update")
    assert guard_of_write(body, "public.stats", "insert") == Guard.of(FoundAtom(update, False))
    assert guard_of_write(body, "public.log", "insert") == Guard.of(FoundAtom(update, True))


def test_row_count_read_later_is_not_followed(tmp_path: Path) -> None:
    # An IF condition in between may run a query of its own, which sets the row count.
    body = body_of(
        tmp_path,
        trigger(
            "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
            "IF NEW.page = '/' THEN INSERT INTO log (note) VALUES ('home'); END IF;\n"
            "GET DIAGNOSTICS k = ROW_COUNT;\n"
            "IF k = 0 THEN INSERT INTO stats (page, n) VALUES (NEW.page, 1); END IF;",
            "DECLARE k int;\n",
        ),
    )
    (atom,) = guard_of_write(body, "public.stats", "insert").atoms()
    assert isinstance(atom, OpaqueAtom)


def test_found_of_two_statements_do_not_contradict(tmp_path: Path) -> None:
    # NOT FOUND of the first UPDATE and FOUND of the second can both hold.
    body = body_of(
        tmp_path,
        trigger(
            "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
            "IF NOT FOUND THEN\n"
            "  UPDATE stats SET n = n + 1 WHERE page = '/';\n"
            "  IF FOUND THEN INSERT INTO log (note) VALUES ('fallback'); END IF;\n"
            "END IF;"
        ),
    )
    guard = guard_of_write(body, "public.log", "insert")
    assert not guard.is_never and len(guard.atoms()) == 2


# ------------------------------------------------------------------ what runs


def test_update_or_insert_is_one_write_not_two(tmp_path: Path) -> None:
    assert bounds(tmp_path, UPSERT_BY_HAND) == {
        "public.stats insert": (0, 1),
        "public.stats update": (0, 1),
        "public.views insert": (1, 1),
        "total": (2, 2),
    }


def test_if_found_else_and_return_when_found(tmp_path: Path) -> None:
    assert bounds(
        tmp_path,
        trigger(
            "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
            "IF FOUND THEN INSERT INTO log (note) VALUES ('again');\n"
            "ELSE INSERT INTO stats (page, n) VALUES (NEW.page, 1); END IF;"
        ),
    ) == {
        "public.log insert": (0, 1),
        "public.stats insert": (0, 1),
        "public.stats update": (0, 1),
        "public.views insert": (1, 1),
        "total": (2, 3),
    }
    assert bounds(
        tmp_path,
        trigger(
            "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
            "IF FOUND THEN RETURN NULL; END IF;\n"
            "INSERT INTO stats (page, n) VALUES (NEW.page, 1);"
        ),
    )["total"] == (2, 2)


def test_a_failed_lookup_raises_only_when_nothing_was_found(tmp_path: Path) -> None:
    schema = write_schema(
        tmp_path,
        trigger(
            "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
            "IF NOT FOUND THEN RAISE EXCEPTION 'unknown page %', NEW.page; END IF;"
        ),
    )
    cascade = Tracer(build_model(load([str(schema)]))).trace(TraceEntry("public.views", "insert"))
    assert cascade.fails == "possibly"


def test_look_alike_two_updates_in_a_row_still_add_up(tmp_path: Path) -> None:
    # Without a FOUND test, the second write is no alternative to the first.
    assert bounds(
        tmp_path,
        trigger(
            "UPDATE stats SET n = n + 1 WHERE page = NEW.page;\n"
            "IF NEW.page <> '/' THEN INSERT INTO stats (page, n) VALUES (NEW.page, 1); END IF;"
        ),
    )["total"] == (1, 3)


def test_a_before_trigger_that_skips_the_row_leaves_found_false(tmp_path: Path) -> None:
    # A locked row reaches stats' BEFORE UPDATE trigger, which logs it and skips it:
    # FOUND is false, so the INSERT runs after the log row. The server's worst case is
    # 3 writes (view, log, insert), more than either write alone would allow. The bounds
    # stay loose (the skipped row's log and update are not known to exclude each other,
    # nor is the update certain once FOUND is true) but they hold the server's 2 and 3.
    skipping = (
        "CREATE FUNCTION skip_locked() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN IF OLD.locked THEN INSERT INTO log (note) VALUES ('locked'); RETURN NULL;\n"
        "END IF; RETURN NEW; END $$;\n"
        "CREATE TRIGGER s BEFORE UPDATE ON stats FOR EACH ROW EXECUTE FUNCTION skip_locked();\n"
    )
    found = bounds(tmp_path, skipping + UPSERT_BY_HAND)
    assert found == {
        "public.log insert": (0, 1),
        "public.stats insert": (0, 1),
        "public.stats update": (0, 1),
        "public.views insert": (1, 1),
        "total": (1, 4),
    }


def test_rp102_no_longer_adds_the_alternatives(tmp_path: Path) -> None:
    schema = write_schema(tmp_path, UPSERT_BY_HAND)
    result = analyze([str(schema)], Config())
    assert [f.rule for f in result.findings if f.rule == "write-amplification"] == []


def test_do_nothing_then_update_when_nothing_was_inserted(tmp_path: Path) -> None:
    # FOUND after ON CONFLICT DO NOTHING: the row was new (inserted) or conflicted.
    assert bounds(
        tmp_path,
        trigger(
            "INSERT INTO stats (page, n) VALUES (NEW.page, 1) ON CONFLICT DO NOTHING;\n"
            "IF NOT FOUND THEN UPDATE stats SET n = n + 1 WHERE page = NEW.page; END IF;"
        ),
    ) == {
        "public.stats insert": (0, 1),
        "public.stats update": (0, 1),
        "public.views insert": (1, 1),
        # Not found: the conflicting row exists, so the UPDATE certainly finds it.
        "total": (2, 2),
    }


def test_an_insert_a_before_trigger_may_skip_can_leave_found_false(tmp_path: Path) -> None:
    skipping = (
        "CREATE FUNCTION skip_locked() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN IF NEW.locked THEN RETURN NULL; END IF; RETURN NEW; END $$;\n"
        "CREATE TRIGGER s BEFORE INSERT ON stats FOR EACH ROW EXECUTE FUNCTION skip_locked();\n"
    )
    found = bounds(
        tmp_path,
        skipping
        + trigger(
            "INSERT INTO stats (page, n, locked) VALUES (NEW.page, 1, NEW.page = '/');\n"
            "IF NOT FOUND THEN INSERT INTO log (note) VALUES ('skipped'); END IF;"
        ),
    )
    # Skipped: FOUND is false and the log row is written (the server's 2 = view + log).
    # The bound stays loose: the skipped row's cascade is not told apart from a written one.
    assert found["public.log insert"] == (0, 1)
    assert found["total"] == (1, 3)
