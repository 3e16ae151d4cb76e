"""The engine's bookkeeping: Tally's lazily summed (lo, hi) counts, memo keys, and the
per-node facts the rules share."""

from __future__ import annotations

from pathlib import Path

from analyzer.cascade import UNBOUNDED, Node, Tally, TraceEntry, Tracer
from analyzer.config import Config
from analyzer.graph import build_model
from analyzer.loader import load
from analyzer.rules import Context


def tally(**counts: tuple[int, int]) -> Tally:
    result = Tally()
    for name, (lo, hi) in counts.items():
        result.bump(("write", name, "insert"), lo, hi)
    return result


def test_parts_are_scaled_and_summed_through_pending_levels() -> None:
    leaf = tally(a=(1, 1), b=(0, 1))
    middle = Tally()
    middle.bump(("write", "a", "insert"))
    middle.add(leaf, times=3)  # (3, 3) and (0, 3)
    top = Tally()
    top.add(middle, certain=False, times=2)  # lo factor 0
    top.add(leaf)
    assert top.counts == {
        ("write", "a", "insert"): (1, 2 * (1 + 3) + 1),
        ("write", "b", "insert"): (0, 2 * 3 + 1),
    }
    # Reading does not change the parts it was summed from.
    assert middle.counts == {("write", "a", "insert"): (4, 4), ("write", "b", "insert"): (0, 3)}
    assert leaf.counts == {("write", "a", "insert"): (1, 1), ("write", "b", "insert"): (0, 1)}


def test_a_shared_part_counts_once_per_add() -> None:
    shared = tally(a=(1, 1))
    shared.settle()
    top = Tally()
    top.add(shared)
    top.add(shared, times=2)
    assert top.counts == {("write", "a", "insert"): (3, 3)}
    assert top.upper_total("write") == 3


def test_bumps_after_adds_and_empty_or_zero_parts() -> None:
    top = Tally()
    top.add(Tally())
    top.add(tally(a=(1, 1)), times=0)
    top.bump(("scan", "t"), 0, 1)
    assert top.counts == {("scan", "t"): (0, 1)}


def test_unbounded_parts() -> None:
    top = Tally()
    top.bump(("write", "t", "update"))
    top.add(tally(a=(1, 1)), certain=False, times=UNBOUNDED)
    assert top.counts == {
        ("write", "t", "update"): (1, 1),
        ("write", "a", "insert"): (0, UNBOUNDED),
    }
    assert top.upper_total("write") == UNBOUNDED


def test_hull_takes_the_smaller_lower_and_the_larger_upper_count() -> None:
    hull = Tally.hull(tally(a=(1, 1), b=(2, 2)), tally(a=(0, 3), c=(1, 1)))
    assert hull.counts == {
        ("write", "a", "insert"): (0, 3),
        ("write", "b", "insert"): (0, 2),
        ("write", "c", "insert"): (0, 1),
    }


def test_trigger_depth_on_a_shared_subtree_reached_at_two_depths(tmp_path: Path) -> None:
    """A -> C and A -> X -> B -> C: C's triggers count below B too. A walk in reversed
    pre-order (the old one) measured B before C: B 1 deep, A 2, instead of 3 and 3."""
    c = Node("trigger", "c", children=[Node("trigger", "c2")])
    b = Node("trigger", "b", children=[c])
    x = Node("function", "x", children=[b])
    a = Node("statement", "a", children=[c, x])
    (tmp_path / "empty.sql").write_text("", encoding="utf-8")
    catalog = load([str(tmp_path)])
    context = Context(catalog, build_model(catalog), Config())
    assert context.trigger_depth(a) == 3
    assert context.trigger_depth(b) == 3
    assert context.trigger_depth(x) == 3
    assert context.trigger_depth(c) == 2


FK_SCHEMA = """
CREATE TABLE public.sessions (id bigint PRIMARY KEY, n integer NOT NULL DEFAULT 0);
CREATE TABLE public.messages (id bigint PRIMARY KEY,
    session_id bigint NOT NULL REFERENCES public.sessions ON DELETE CASCADE);
CREATE TABLE public.log (id bigserial PRIMARY KEY, note text);
CREATE FUNCTION public.uncount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.sessions SET n = n - 1 WHERE id = OLD.session_id;
    RETURN OLD;
END $$;
CREATE FUNCTION public.log_it() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.log (note) VALUES ('gone');
    RETURN NULL;
END $$;
CREATE TRIGGER messages_uncount AFTER DELETE ON public.messages
    FOR EACH ROW EXECUTE FUNCTION public.uncount();
CREATE TRIGGER log_log AFTER INSERT ON public.log
    FOR EACH ROW EXECUTE FUNCTION public.log_it();
"""


def test_the_fk_deleted_parent_stays_in_the_memo_where_the_cascade_can_write_it(
    tmp_path: Path,
) -> None:
    """Deleting a session deletes its messages; their trigger's UPDATE of that session
    finds nothing (the RI action runs after the parent is gone). A message deleted on its
    own does update its session. One Tracer, both orders: the memo must not mix them."""
    (tmp_path / "schema.sql").write_text(FK_SCHEMA, encoding="utf-8")
    catalog = load([str(tmp_path)])
    update = ("write", "public.sessions", "update")
    for order in (("public.sessions", "public.messages"), ("public.messages", "public.sessions")):
        tracer = Tracer(build_model(catalog))
        found = {t: tracer.trace(TraceEntry(t, "delete")).totals().counts for t in order}
        assert update not in found["public.sessions"]
        assert found["public.sessions"][("write", "public.messages", "delete")] == (1, 1)
        assert found["public.messages"][update] == (1, 1)
