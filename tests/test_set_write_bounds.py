"""How many rows a set-based write touches: the upper bound of what it cascades into.

A write keyed by a unique key touches one row. A write whose WHERE does not fix a unique
key (or has no WHERE) touches every row it matches: nothing bounds that statically, so
its cascade's upper counts are UNBOUNDED (null in JSON, ∞ in text), and its lower counts
stay 0 (it may match nothing). Exceptions PostgreSQL guarantees: a VALUES list of k rows
inserts k; a statement that reads one relation alone, and picks at most one target row
per row of it (INSERT … SELECT from it; UPDATE … FROM / DELETE … USING it, joined on a
unique key of the target), touches at most as many rows as that relation holds; for a
transition table, the rows of the statement that fired the trigger. So does one that
joins it to relations whose unique keys it pins (tests/test_keyed_sources.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from analyzer.analysis import analyze
from analyzer.cascade import UNBOUNDED, Cascade, Node, Tally, TraceEntry, Tracer, bounded_sum
from analyzer.config import Config
from analyzer.effects import Write, analyze_bodies
from analyzer.graph import build_model
from analyzer.loader import load
from analyzer.pgserver import RowWrites, XactStats
from analyzer.report.trace import render_json, render_text
from analyzer.verify import Count, compare

SCHEMA = """
CREATE TABLE public.sessions (id bigint PRIMARY KEY, user_id bigint NOT NULL, n integer);
CREATE TABLE public.messages (id bigint PRIMARY KEY, session_id bigint NOT NULL, n integer,
                              kind text);
CREATE TABLE public.log (id bigserial PRIMARY KEY, note text);
CREATE FUNCTION public.log_it() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.log (note) VALUES ('x');
    RETURN NEW;
END $$;
CREATE TRIGGER messages_log AFTER UPDATE OR DELETE ON public.messages
    FOR EACH ROW EXECUTE FUNCTION public.log_it();
CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END $$;
"""
ROW_TRIGGER = """
CREATE TRIGGER sessions_f AFTER UPDATE ON public.sessions
    FOR EACH ROW EXECUTE FUNCTION public.f();
"""
STATEMENT_TRIGGER = """
CREATE TRIGGER sessions_f AFTER UPDATE ON public.sessions
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION public.f();
"""
MESSAGES = "public.messages"


def tracer(tmp_path: Path, body: str, trigger: str = ROW_TRIGGER) -> Tracer:
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA.replace("{body}", body) + trigger, encoding="utf-8")
    return Tracer(build_model(load([str(path)])))


def written(tmp_path: Path, body: str) -> Write:
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA.replace("{body}", body), encoding="utf-8")
    bodies = analyze_bodies(load([str(path)]))
    (effects,) = [b for key, b in bodies.functions.items() if key.startswith("public.f(")]
    (write,) = [e for e in effects.effects if isinstance(e, Write)]
    return write


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def counts(tracer: Tracer, rows: int = 1) -> dict[tuple[str, ...], tuple[int, float]]:
    entry = TraceEntry("public.sessions", "update", columns=("n",), rows=rows)
    return tracer.trace(entry).totals().counts


@pytest.mark.parametrize(
    "body",
    [
        "UPDATE public.messages SET n = n + 1 WHERE session_id = NEW.id;",  # not a key
        "UPDATE public.messages SET n = 0;",  # no WHERE: every row
        "DELETE FROM public.messages WHERE session_id = NEW.id AND kind = 'draft';",
        "UPDATE public.messages SET n = 1 WHERE id IN (SELECT id FROM public.messages);",
    ],
)
def test_a_set_write_has_no_upper_bound(tmp_path: Path, body: str) -> None:
    found = counts(tracer(tmp_path, body))
    kind = "delete" if body.startswith("DELETE") else "update"
    # It may match no row (lo 0) or any number of them, each cascading (hi unbounded).
    assert found[("write", MESSAGES, kind)] == (0, UNBOUNDED)
    assert found[("firing", "public.messages.messages_log")] == (0, UNBOUNDED)
    assert found[("write", "public.log", "insert")] == (0, UNBOUNDED)
    # The statement itself runs once per source row: its own counts stay exact.
    assert found[("firing", "public.sessions.sessions_f")] == (1, 1)
    assert found[("write", "public.sessions", "update")] == (1, 1)


def test_a_write_keyed_by_the_primary_key_touches_one_row_at_most(tmp_path: Path) -> None:
    found = counts(tracer(tmp_path, "UPDATE public.messages SET n = 1 WHERE id = NEW.id;"))
    # At most one; none if no message has that id (no foreign key says one does).
    assert found[("write", MESSAGES, "update")] == (0, 1)
    assert found[("write", "public.log", "insert")] == (0, 1)


def test_a_values_list_inserts_as_many_rows_as_it_lists(tmp_path: Path) -> None:
    body = "INSERT INTO public.messages (id, session_id) VALUES (1, NEW.id), (2, NEW.id), (3, 4);"
    assert written(tmp_path, body).max_rows == 3
    assert counts(tracer(tmp_path, body))[("write", MESSAGES, "insert")] == (0, 3)


BOUNDED_BY_TRANSITION = [
    # Joined on the target's primary key: one message at most per changed session row.
    "UPDATE public.messages AS m SET n = c.n FROM changed AS c WHERE m.id = c.id;",
    "DELETE FROM public.messages AS m USING changed AS c WHERE m.id = c.id;",
    "UPDATE public.messages AS m SET n = b.total FROM (SELECT c.id, sum(c.n) AS total "
    "FROM changed AS c GROUP BY c.id) AS b WHERE m.id = b.id;",
    "INSERT INTO public.messages (id, session_id) SELECT c.id, c.id FROM changed AS c;",
    # Through a relation pinned by its primary key: one session per changed row, and
    # the message picked by its primary key from the session.
    "UPDATE public.messages AS m SET n = 0 FROM changed AS c JOIN public.sessions AS s "
    "ON s.id = c.id WHERE m.id = s.user_id;",
]


@pytest.mark.parametrize("body", BOUNDED_BY_TRANSITION)
def test_a_write_from_the_transition_table_alone_is_bounded_by_the_statements_rows(
    tmp_path: Path, body: str
) -> None:
    assert written(tmp_path, body).rows_from == "changed"
    kind = body.split()[0].lower()
    for rows in (1, 7):
        found = counts(tracer(tmp_path, body, STATEMENT_TRIGGER), rows=rows)
        assert found[("firing", "public.sessions.sessions_f")] == (1, 1)  # once per statement
        assert found[("write", MESSAGES, kind)] == (0, rows)
        if kind != "insert":
            assert found[("firing", "public.messages.messages_log")] == (0, rows)
    cascade = tracer(tmp_path, body, STATEMENT_TRIGGER).trace(
        TraceEntry("public.sessions", "update", columns=("n",), rows=7)
    )
    (write,) = [n for n in walk(cascade.tree) if n.kind == "statement" and n.name == MESSAGES]
    assert write.multiplicity == "per affected row, at most 7"


def test_a_merge_from_the_transition_table_on_the_targets_key_is_bounded_by_its_rows(
    tmp_path: Path,
) -> None:
    """One action per source row at most, when ON pins the target's primary key."""
    body = (
        "MERGE INTO public.messages AS m USING changed AS c ON m.id = c.id "
        "WHEN MATCHED THEN UPDATE SET n = c.n;"
    )
    assert written(tmp_path, body).rows_from == "changed"
    found = counts(tracer(tmp_path, body, STATEMENT_TRIGGER), rows=7)
    assert found[("write", MESSAGES, "update")] == (0, 7)
    assert found[("firing", "public.messages.messages_log")] == (0, 7)
    fanning = body.replace("m.id = c.id", "m.session_id = c.id")
    found = counts(tracer(tmp_path, fanning, STATEMENT_TRIGGER), rows=7)
    assert found[("write", MESSAGES, "update")] == (0, UNBOUNDED)


@pytest.mark.parametrize(
    "body",
    [
        # Not a unique key of the target: one changed row may match many messages.
        "UPDATE public.messages AS m SET n = 0 FROM changed AS c WHERE m.session_id = c.id;",
        # Joined through a relation that fans out: many messages per changed row.
        "UPDATE public.messages AS m SET n = 0 FROM changed AS c JOIN public.messages AS x "
        "ON x.session_id = c.id WHERE m.id = x.id;",
        # The transition table twice, joined on no key: up to rows x rows pairs.
        "UPDATE public.messages AS m SET n = 0 FROM changed AS c, changed AS d "
        "WHERE m.id = c.id + d.id;",
        # A set-returning function yields any number of rows per changed row.
        "INSERT INTO public.messages (id, session_id) "
        "SELECT generate_series(c.id, c.id + c.n), c.id FROM changed AS c;",
        # A stored table, not the transition table.
        "INSERT INTO public.messages (id, session_id) SELECT s.id, s.id FROM public.sessions s;",
    ],
)
def test_a_write_from_the_transition_table_that_can_fan_out_is_unbounded(
    tmp_path: Path, body: str
) -> None:
    kind = body.split()[0].lower()
    found = counts(tracer(tmp_path, body, STATEMENT_TRIGGER), rows=5)
    assert found[("write", MESSAGES, kind)] == (0, UNBOUNDED)


def test_a_row_trigger_does_not_know_how_many_rows_its_transition_table_holds(
    tmp_path: Path,
) -> None:
    trigger = """
    CREATE TRIGGER sessions_f AFTER UPDATE ON public.sessions
        REFERENCING NEW TABLE AS changed
        FOR EACH ROW EXECUTE FUNCTION public.f();
    """
    found = counts(tracer(tmp_path, BOUNDED_BY_TRANSITION[0], trigger), rows=5)
    assert found[("write", MESSAGES, "update")] == (0, UNBOUNDED)


def test_unbounded_is_null_in_the_json_totals_and_infinite_in_text(tmp_path: Path) -> None:
    traced = tracer(tmp_path, "UPDATE public.messages SET n = 0 WHERE session_id = NEW.id;")
    cascade = traced.trace(TraceEntry("public.sessions", "update", columns=("n",)))
    document = json.loads(render_json(cascade))
    assert document["totals"]["row_writes"] == {
        "public.log": {"insert": None, "update": 0, "delete": 0, "upsert": 0},
        "public.messages": {"insert": 0, "update": None, "delete": 0, "upsert": 0},
        "public.sessions": {"insert": 0, "update": 1, "delete": 0, "upsert": 0},
    }
    assert document["totals"]["total_row_writes"] is None
    assert document["totals"]["trigger_firings"]["public.messages.messages_log"] is None
    assert document["totals_min"]["total_row_writes"] == 1
    assert document["totals_min"]["row_writes"] == {
        "public.sessions": {"insert": 0, "update": 1, "delete": 0, "upsert": 0}
    }


def test_bounded_sum() -> None:
    assert bounded_sum([1, 2, 3]) == 6
    assert bounded_sum([1, None, 3]) is None
    assert bounded_sum([]) == 0


def test_verify_accepts_any_server_count_above_the_minimum_when_unbounded() -> None:
    unbounded = Count("table", MESSAGES, "update", 0, None, 40)
    assert unbounded.agrees
    assert unbounded.predicted == "0..∞"
    assert not Count("table", MESSAGES, "update", 2, None, 1).agrees


def test_trace_text_shows_an_unbounded_count_as_infinite(tmp_path: Path) -> None:
    traced = tracer(tmp_path, "UPDATE public.messages SET n = 0 WHERE session_id = NEW.id;")
    cascade = traced.trace(TraceEntry("public.sessions", "update", columns=("n",)))
    console = Console(width=120, record=True, color_system=None)
    console.print(render_text(cascade))
    lines = [
        " ".join(line.replace("│", " ").split()) for line in console.export_text().splitlines()
    ]
    assert "update rows public.messages 0..∞" in lines
    assert "insert rows public.log 0..∞" in lines
    assert "update rows public.sessions 1" in lines
    assert "row writes total 1..∞" in lines
    assert any(
        "public.messages update (per affected row, no upper bound)" in line for line in lines
    )
    assert any(line.startswith("∞: no upper bound: a set-based write") for line in lines)


def test_write_amplification_counts_one_row_per_unbounded_write_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "schema.sql"
    body = "UPDATE public.messages SET n = 0 WHERE session_id = NEW.id;"
    path.write_text(SCHEMA.replace("{body}", body) + ROW_TRIGGER, encoding="utf-8")
    result = analyze([str(path)], Config(select=("write-amplification",)))
    messages = [
        f.message for f in result.findings if f.entry and f.entry.table.endswith("sessions")
    ]
    assert messages == [
        "one UPDATE of a public.sessions row costs 3 row writes per source row, counting "
        "one row where a count has no upper bound (a set-based write, a loop or an FK "
        "action down a tree of rows may touch any number) (public.log unbounded, "
        "public.messages unbounded, public.sessions 1) "
        "through a trigger chain 2 deep; per operation: UPDATE 3"
    ]


def test_verify_compares_an_unbounded_upsert_on_inserts_and_updates_together() -> None:
    written = Tally()
    written.bump(("write", "public.daily", "upsert"))
    written.bump(("call", "public.f"))
    rows = Tally()
    rows.add(written, certain=False, times=UNBOUNDED)
    predicted = Cascade(TraceEntry("public.t", "insert"), Tally(), rows, Node("row", "t"), [], [])
    server = XactStats({"public.f": 3}, {"public.daily": RowWrites(2, 1, 0)})
    counts, _ = compare(predicted, server, frozenset({"public.f"}))
    assert counts == (
        Count("function", "public.f", "calls", 0, None, 3),
        Count("table", "public.daily", "insert+update", 0, None, 3),
    )
    assert all(count.agrees for count in counts)


def test_a_trigger_cleanup_of_child_rows_is_no_amplification(tmp_path: Path) -> None:
    """`DELETE FROM tokens WHERE account_id = OLD.id` in a trigger is the cleanup an
    ON DELETE CASCADE does: counted like one child row, it stays under the threshold
    (an unbounded figure alone says nothing about amplification)."""
    path = tmp_path / "schema.sql"
    path.write_text(
        "CREATE TABLE accounts (id bigint PRIMARY KEY);\n"
        "CREATE TABLE tokens (id bigint PRIMARY KEY, account_id bigint NOT NULL);\n"
        "CREATE FUNCTION drop_tokens() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  DELETE FROM tokens WHERE account_id = OLD.id;\n  RETURN OLD;\nEND $$;\n"
        "CREATE TRIGGER drop_tokens AFTER DELETE ON accounts\n"
        "    FOR EACH ROW EXECUTE FUNCTION drop_tokens();\n",
        encoding="utf-8",
    )
    result = analyze([str(path)], Config(select=("write-amplification",)))
    assert result.findings == ()
