"""How many times a statement inside a PL/pgSQL loop runs, and what that multiplies.

PostgreSQL runs a loop's body 0..N times: N is the array's length (FOREACH), the query's
rows (FOR … IN query / EXECUTE / cursor), as long as the condition holds (WHILE), or
until an EXIT or RETURN (bare LOOP: at least once). Only `FOR i IN a..b [BY s]` with
constant bounds runs a known number of times. Each write, aggregate scan and call in the
body, and every row trigger it fires, is counted that many times; nested loops multiply.
A statement after an EXIT/CONTINUE/RETURN that may leave the iteration may not run at all;
what follows the loop runs as often as the loop is reached.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.analysis import analyze
from analyzer.cascade import UNBOUNDED, TraceEntry, Tracer
from analyzer.config import Config
from analyzer.effects import CallEffect, Iterations, Read, Write, analyze_bodies
from analyzer.graph import build_model
from analyzer.loader import load

SCHEMA = """
CREATE TABLE public.posts (id bigint PRIMARY KEY, tags text[] NOT NULL DEFAULT '{}',
                           n integer NOT NULL DEFAULT 0);
CREATE TABLE public.post_tags (post_id bigint, tag text);
CREATE TABLE public.audit (id bigserial PRIMARY KEY, note text);
CREATE TABLE public.stats (id bigint PRIMARY KEY, total bigint);
CREATE FUNCTION public.audit_it() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.audit (note) VALUES ('tag');
    RETURN NULL;
END $$;
CREATE TRIGGER post_tags_audit AFTER INSERT ON public.post_tags
    FOR EACH ROW EXECUTE FUNCTION public.audit_it();
CREATE FUNCTION public.note(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.audit (note) VALUES (t);
END $$;
CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tag text;
    r record;
    i integer;
    total bigint;
BEGIN
    {body}
    RETURN NULL;
END $$;
CREATE TRIGGER posts_f AFTER INSERT ON public.posts
    FOR EACH ROW EXECUTE FUNCTION public.f();
"""
TAGS = ("write", "public.post_tags", "insert")
AUDIT = ("write", "public.audit", "insert")
FIRES = ("firing", "public.post_tags.post_tags_audit")
INSERT_TAG = "INSERT INTO public.post_tags VALUES (NEW.id, tag);"


def schema(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA.replace("{body}", body), encoding="utf-8")
    return path


def counts(tmp_path: Path, body: str) -> dict[tuple[str, ...], tuple[int, float]]:
    tracer = Tracer(build_model(load([str(schema(tmp_path, body))])))
    return tracer.trace(TraceEntry("public.posts", "insert")).totals().counts


def body_iterations(tmp_path: Path, body: str) -> list[tuple[str, Iterations]]:
    """(what, iterations) of each write, read and call of public.f(), in body order."""
    bodies = analyze_bodies(load([str(schema(tmp_path, body))]))
    (effects,) = [b for key, b in bodies.functions.items() if key.startswith("public.f(")]
    found: list[tuple[str, Iterations]] = []
    for effect in effects.effects:
        if isinstance(effect, Write):
            found.append((f"{effect.kind} {effect.table}", effect.iterations))
        elif isinstance(effect, Read):
            found.append((f"read {effect.table}", effect.iterations))
        elif isinstance(effect, CallEffect):
            found.append((f"call {effect.display_name}", effect.iterations))
    return found


@pytest.mark.parametrize(
    ("loop", "per"),
    [
        (f"FOREACH tag IN ARRAY NEW.tags LOOP {INSERT_TAG} END LOOP;", "tag in NEW.tags"),
        (
            "FOR r IN SELECT unnest(NEW.tags) AS t LOOP "
            "INSERT INTO public.post_tags VALUES (NEW.id, r.t); END LOOP;",
            "row of SELECT unnest(NEW.tags) AS t",
        ),
        (
            "FOR r IN EXECUTE 'SELECT unnest($1) AS t' USING NEW.tags LOOP "
            "INSERT INTO public.post_tags VALUES (NEW.id, r.t); END LOOP;",
            "row of EXECUTE 'SELECT unnest($1) AS t'",
        ),
        (
            f"i := 1; WHILE i <= cardinality(NEW.tags) LOOP {INSERT_TAG} i := i + 1; END LOOP;",
            "iteration of WHILE i <= cardinality(NEW.tags)",
        ),
        (
            "FOR i IN 1..cardinality(NEW.tags) LOOP "
            "INSERT INTO public.post_tags VALUES (NEW.id, NEW.tags[i]); END LOOP;",
            "i in 1..cardinality(NEW.tags)",
        ),
    ],
)
def test_a_loop_over_data_runs_its_body_zero_or_more_times(
    tmp_path: Path, loop: str, per: str
) -> None:
    (write,) = [it for what, it in body_iterations(tmp_path, loop) if what.startswith("insert")]
    assert write == Iterations(0, None, per)
    found = counts(tmp_path, loop)
    # Not exactly once: none for an empty array or query, no upper bound otherwise; the
    # row trigger each inserted row fires, and its own write, follow.
    assert found[TAGS] == (0, UNBOUNDED)
    assert found[FIRES] == (0, UNBOUNDED)
    assert found[AUDIT] == (0, UNBOUNDED)
    assert found[("firing", "public.posts.posts_f")] == (1, 1)  # the loop's own trigger


@pytest.mark.parametrize(
    ("header", "times"),
    [
        ("FOR i IN 1..3", 3),
        ("FOR i IN 0..0", 1),
        ("FOR i IN 3..1", 0),  # empty: the body never runs
        ("FOR i IN REVERSE 3..1", 3),
        ("FOR i IN REVERSE 1..3", 0),
        ("FOR i IN 1..10 BY 3", 4),  # 1, 4, 7, 10
        ("FOR i IN -2..2 BY 2", 3),  # -2, 0, 2
        ("FOR i IN REVERSE 10..1 BY 4", 3),  # 10, 6, 2
    ],
)
def test_a_for_loop_with_constant_bounds_runs_exactly_that_many_times(
    tmp_path: Path, header: str, times: int
) -> None:
    body = f"{header} LOOP INSERT INTO public.post_tags VALUES (NEW.id, 'x'); END LOOP;"
    found = counts(tmp_path, body)
    if times == 0:
        assert TAGS not in found
        assert FIRES not in found
        return
    assert found[TAGS] == (times, times)
    assert found[FIRES] == (times, times)
    assert found[AUDIT] == (times, times)


def test_nested_loops_multiply(tmp_path: Path) -> None:
    body = """
    FOR i IN 1..2 LOOP
        FOR r IN 1..3 LOOP
            PERFORM public.note('x');
        END LOOP;
        FOREACH tag IN ARRAY NEW.tags LOOP
            INSERT INTO public.post_tags VALUES (NEW.id, tag);
        END LOOP;
    END LOOP;"""
    assert body_iterations(tmp_path, body) == [
        ("call public.note", Iterations(6, 6, "r in 1..3, i in 1..2")),
        ("insert public.post_tags", Iterations(0, None, "tag in NEW.tags, i in 1..2")),
    ]
    found = counts(tmp_path, body)
    assert found[("call", "public.note")] == (6, 6)
    # 6 audit rows from the calls, any number from the tag rows' trigger.
    assert found[AUDIT] == (6, UNBOUNDED)


def test_a_bare_loop_runs_what_precedes_its_exit_at_least_once(tmp_path: Path) -> None:
    body = """
    LOOP
        PERFORM public.note('before');
        EXIT WHEN random() < 0.5;
        INSERT INTO public.post_tags VALUES (NEW.id, 'after');
    END LOOP;
    INSERT INTO public.stats VALUES (NEW.id, 0);"""
    found = body_iterations(tmp_path, body)
    assert [(what, (it.lo, it.hi)) for what, it in found] == [
        ("call public.note", (1, None)),
        ("insert public.post_tags", (0, None)),
        ("insert public.stats", (1, 1)),  # after the loop: as often as the loop is reached
    ]
    totals = counts(tmp_path, body)
    assert totals[("call", "public.note")] == (1, UNBOUNDED)
    assert totals[TAGS] == (0, UNBOUNDED)
    assert totals[("write", "public.stats", "insert")] == (1, 1)


def test_exit_continue_and_return_cut_only_the_loops_they_leave(tmp_path: Path) -> None:
    body = """
    <<outer>>
    FOR i IN 1..2 LOOP
        LOOP
            PERFORM public.note('inner');
            EXIT;
        END LOOP;
        INSERT INTO public.stats VALUES (i, 0);
        CONTINUE outer WHEN NEW.n > 0;
        INSERT INTO public.post_tags VALUES (NEW.id, 'kept');
        FOR r IN 1..3 LOOP
            IF NEW.n < 0 THEN
                RETURN NULL;
            END IF;
            PERFORM public.note('after return');
        END LOOP;
    END LOOP;
    INSERT INTO public.audit (note) VALUES ('after the loop');"""
    found = body_iterations(tmp_path, body)
    assert [(what, (it.lo, it.hi)) for what, it in found] == [
        # Before the inner EXIT: at least once per outer round; the EXIT leaves only
        # the inner loop, so the outer round goes on. The RETURN further down may end
        # the outer loop in its first round: at least once, not twice.
        ("call public.note", (1, None)),
        ("insert public.stats", (1, 2)),
        # After CONTINUE outer WHEN …: the round may end before it.
        ("insert public.post_tags", (0, 2)),
        ("call public.note", (0, 6)),
        # Control still reaches what follows the loop (when RETURN does not run).
        ("insert public.audit", (1, 1)),
    ]


def test_an_exit_may_end_a_counted_loop_in_its_first_round(tmp_path: Path) -> None:
    """The retry idiom: FOR 1..3 tries an insert and EXITs when it succeeds; its handler
    writes a fallback. PostgreSQL runs the insert once when it succeeds at once."""
    body = """
    FOR i IN 1..3 LOOP
        BEGIN
            INSERT INTO public.post_tags VALUES (NEW.id, 'try');
            EXIT;
        EXCEPTION WHEN unique_violation THEN
            PERFORM public.note('taken');
        END;
    END LOOP;"""
    assert [(what, (it.lo, it.hi)) for what, it in body_iterations(tmp_path, body)] == [
        ("insert public.post_tags", (1, 3)),
        ("call public.note", (0, 3)),
    ]
    # Look-alike: CONTINUE ends a round, not the loop: what precedes it runs every round.
    body = """
    FOR i IN 1..3 LOOP
        INSERT INTO public.post_tags VALUES (NEW.id, 'try');
        CONTINUE WHEN i > 1;
        PERFORM public.note('first');
    END LOOP;"""
    assert [(what, (it.lo, it.hi)) for what, it in body_iterations(tmp_path, body)] == [
        ("insert public.post_tags", (3, 3)),
        ("call public.note", (0, 3)),
    ]


def test_a_loop_that_looks_like_one_is_not_one(tmp_path: Path) -> None:
    """Look-alike: LOOP in a string, a loop's name in a column, a set-returning query
    outside any loop: each statement runs once."""
    body = """
    INSERT INTO public.audit (note) VALUES ('FOREACH tag IN ARRAY NEW.tags LOOP');
    INSERT INTO public.post_tags SELECT NEW.id, 'loop' LIMIT 1;
    PERFORM public.note('END LOOP');"""
    found = body_iterations(tmp_path, body)
    assert all(it == Iterations() for _, it in found)
    assert len(found) == 3
    totals = counts(tmp_path, body)
    assert totals[("call", "public.note")] == (1, 1)


def test_an_aggregate_in_a_loop_scans_once_per_round(tmp_path: Path) -> None:
    body = """
    FOR i IN 1..3 LOOP
        SELECT count(*) INTO total FROM public.post_tags WHERE post_id = NEW.id;
    END LOOP;
    FOREACH tag IN ARRAY NEW.tags LOOP
        SELECT sum(total) INTO total FROM public.stats;
    END LOOP;"""
    found = counts(tmp_path, body)
    assert found[("scan", "public.post_tags")] == (3, 3)
    assert found[("scan", "public.stats")] == (0, UNBOUNDED)


def test_the_trace_says_how_often_a_statement_in_a_loop_runs(tmp_path: Path) -> None:
    tracer = Tracer(
        build_model(
            load(
                [
                    str(
                        schema(
                            tmp_path, f"FOREACH tag IN ARRAY NEW.tags LOOP {INSERT_TAG} END LOOP;"
                        )
                    )
                ]
            )
        )
    )
    tree = tracer.trace(TraceEntry("public.posts", "insert")).tree
    details: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        details.append(node.detail)
        stack.extend(node.children)
    assert "insert [in a loop: 0..∞ times (once per tag in NEW.tags)]" in details


def messages(tmp_path: Path, body: str, rule: str) -> list[str]:
    result = analyze([str(schema(tmp_path, body))], Config(select=(rule,)))
    return [finding.message for finding in result.findings]


def test_write_amplification_names_the_loop_behind_an_unbounded_count(tmp_path: Path) -> None:
    body = f"FOREACH tag IN ARRAY NEW.tags LOOP {INSERT_TAG} END LOOP;"
    assert messages(tmp_path, body, "write-amplification") == [
        "one INSERT of a public.posts row costs 3 row writes per source row, counting one"
        " row where a count has no upper bound (a set-based write, a loop or an FK action"
        " down a tree of rows may touch any number) (public.audit unbounded,"
        " public.post_tags unbounded, public.posts 1) through"
        " a trigger chain 2 deep; per operation: INSERT 3; in loops that run once per tag in"
        " NEW.tags"
    ]


def test_write_amplification_counts_a_constant_loop_exactly(tmp_path: Path) -> None:
    body = "FOR i IN 1..2 LOOP INSERT INTO public.post_tags VALUES (NEW.id, 'x'); END LOOP;"
    assert messages(tmp_path, body, "write-amplification") == [
        "one INSERT of a public.posts row costs 5 row writes per source row (public.audit 2,"
        " public.post_tags 2, public.posts 1) through a trigger chain 2 deep; per operation:"
        " INSERT 5; in loops that run once per i in 1..2"
    ]
    # Look-alike: the same two rows written by two statements, no loop, no loop named.
    body = (
        "INSERT INTO public.post_tags VALUES (NEW.id, 'x');"
        " INSERT INTO public.post_tags VALUES (NEW.id, 'y');"
    )
    assert messages(tmp_path, body, "write-amplification") == [
        "one INSERT of a public.posts row costs 5 row writes per source row (public.audit 2,"
        " public.post_tags 2, public.posts 1) through a trigger chain 2 deep; per operation:"
        " INSERT 5"
    ]


def test_aggregate_recompute_says_how_often_a_looped_scan_runs(tmp_path: Path) -> None:
    body = """
    FOREACH tag IN ARRAY NEW.tags LOOP
        SELECT count(*) INTO total FROM public.post_tags;
    END LOOP;"""
    assert messages(tmp_path, body, "aggregate-recompute") == [
        "COUNT over every row of public.post_tags runs 0..∞ times (once per tag in NEW.tags)"
        " for every public.posts row inserted: O(n) per row, O(n²) for a bulk write"
    ]


def test_an_execute_folded_per_firing_keeps_its_loops_rounds(tmp_path: Path) -> None:
    body = """
    FOR i IN 1..2 LOOP
        EXECUTE format('INSERT INTO public.%I (note) VALUES (%L)', 'audit', TG_TABLE_NAME);
    END LOOP;"""
    found = counts(tmp_path, body)
    assert found[AUDIT] == (2, 2)


def test_an_error_raised_in_a_loop_that_may_not_go_round_is_not_certain(
    tmp_path: Path,
) -> None:
    def errors(body: str) -> list[tuple[int, float]]:
        return [n for key, n in counts(tmp_path, body).items() if key[0] == "error"]

    raising = "RAISE EXCEPTION 'tag % is banned', tag;"
    assert errors(f"FOREACH tag IN ARRAY NEW.tags LOOP {raising} END LOOP;") == [(0, 1)]
    # Look-alike: a loop that certainly goes round raises certainly, and once.
    assert errors(f"FOR i IN 1..3 LOOP tag := 'x'; {raising} END LOOP;") == [(1, 1)]


def test_a_while_condition_is_tested_once_more_than_the_body_runs(tmp_path: Path) -> None:
    body = """
    WHILE (SELECT count(*) FROM public.post_tags WHERE post_id = NEW.id) < 3 LOOP
        INSERT INTO public.post_tags VALUES (NEW.id, 'filler');
    END LOOP;"""
    found = counts(tmp_path, body)
    assert found[("scan", "public.post_tags")] == (1, UNBOUNDED)
    assert found[TAGS] == (0, UNBOUNDED)
