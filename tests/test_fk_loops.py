"""FK actions that come back to a table they went through: trees of any depth.

A self-referencing `ON DELETE CASCADE` (replies to comments, sub-categories) deletes a
whole subtree with one DELETE: as many rows, and as many levels, as the data holds. The
first level of children is counted like any FK action's (`children` per parent, as
`verify` builds them); from the level where the chain comes back to a table it went
through before, the rows are 0..∞, the next round is cut and the loop is reported.
Actions that do not write the referenced key again (SET NULL, SET DEFAULT, an ON UPDATE
CASCADE of a column that is not itself referenced) touch the direct children once.
"""

from __future__ import annotations

from textwrap import dedent

from analyzer.cascade import Cascade, Node, TraceEntry, Tracer, totals_document
from analyzer.ddl import build_catalog
from analyzer.graph import build_model
from analyzer.source import SourceFile

LOG = """
CREATE TABLE public.events (id serial PRIMARY KEY, what text);
CREATE FUNCTION public.log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.events (what) VALUES (TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
"""


def tracer(tables: str, logged: tuple[str, ...]) -> Tracer:
    triggers = "".join(
        f"CREATE TRIGGER {t}_log AFTER UPDATE OR DELETE ON public.{t} "
        "FOR EACH ROW EXECUTE FUNCTION public.log_row();\n"
        for t in logged
    )
    text = dedent(tables) + LOG + triggers
    return Tracer(build_model(build_catalog([SourceFile.from_text("s.sql", text)])))


def bounds(cascade: Cascade) -> dict[str, tuple[int | None, int | None]]:
    """'table kind' and function -> (lo, hi); None is no upper bound."""
    low, high = (totals_document(cascade.totals(), b) for b in (0, 1))
    found: dict[str, tuple[int | None, int | None]] = {}
    lows, highs = low["row_writes"], high["row_writes"]
    assert isinstance(lows, dict) and isinstance(highs, dict)
    for table, kinds in highs.items():
        for kind, value in kinds.items():
            if value != 0:
                found[f"{table} {kind}"] = (lows.get(table, {}).get(kind, 0), value)
    calls_low, calls_high = low["function_calls"], high["function_calls"]
    assert isinstance(calls_low, dict) and isinstance(calls_high, dict)
    for name, value in calls_high.items():
        found[name] = (calls_low.get(name, 0), value)
    return found


def kinds(node: Node) -> list[str]:
    found = [node.kind]
    for child in node.children:
        found.extend(kinds(child))
    return found


TREE = """
CREATE TABLE public.comments (
    id bigint PRIMARY KEY,
    parent_id bigint REFERENCES public.comments (id) ON DELETE {action}
);
"""


def test_a_reply_tree_is_deleted_to_any_depth() -> None:
    cascade = tracer(TREE.format(action="CASCADE"), ("comments",)).trace(
        TraceEntry("public.comments", "delete")
    )
    # The row and its one child (as verify builds it) are certain; below, the data decides.
    assert bounds(cascade) == {
        "public.comments delete": (2, None),
        "public.events insert": (2, None),
        "public.log_row": (2, None),
    }
    assert [(c.frames, c.broken) for c in cascade.cycles] == [(("public.comments",), True)]
    # Followed one level past the loop, then cut: not unrolled a fixed number of times.
    assert kinds(cascade.tree).count("fk") == 2
    assert kinds(cascade.tree).count("cycle") == 1
    assert cascade.unknowns == []


def test_without_children_the_tree_is_the_row_alone() -> None:
    cascade = tracer(TREE.format(action="CASCADE"), ("comments",)).trace(
        TraceEntry("public.comments", "delete", children=0)
    )
    assert bounds(cascade) == {
        "public.comments delete": (1, 1),
        "public.events insert": (1, 1),
        "public.log_row": (1, 1),
    }


def test_set_null_on_a_self_reference_touches_the_direct_children_once() -> None:
    cascade = tracer(TREE.format(action="SET NULL"), ("comments",)).trace(
        TraceEntry("public.comments", "delete", children=2)
    )
    # The children's parent_id becomes NULL: their own id, which grandchildren
    # reference, does not change, so nothing goes further.
    assert bounds(cascade) == {
        "public.comments delete": (1, 1),
        "public.comments update": (2, 2),
        "public.events insert": (3, 3),
        "public.log_row": (3, 3),
    }
    assert cascade.cycles == []


def test_on_update_cascade_of_a_key_that_is_referenced_again_goes_down_the_tree() -> None:
    # Children carry the tenant of their parent: moving a root to another tenant moves
    # its whole subtree, level by level.
    tables = """
    CREATE TABLE public.folders (
        tenant_id int NOT NULL,
        id int NOT NULL,
        parent_id int,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, parent_id) REFERENCES public.folders (tenant_id, id)
            ON UPDATE CASCADE
    );
    """
    cascade = tracer(tables, ("folders",)).trace(
        TraceEntry("public.folders", "update", columns=("tenant_id",))
    )
    # Whether the new tenant differs is data: the children may not move at all.
    assert bounds(cascade)["public.folders update"] == (1, None)
    assert [c.frames for c in cascade.cycles] == [("public.folders",)]


def test_on_update_cascade_of_the_parent_key_alone_stops_at_the_children() -> None:
    tables = """
    CREATE TABLE public.folders (
        id int PRIMARY KEY,
        parent_id int REFERENCES public.folders (id) ON UPDATE CASCADE
    );
    """
    cascade = tracer(tables, ("folders",)).trace(
        TraceEntry("public.folders", "update", columns=("id",))
    )
    # Whether the new id differs is data (1..2); the children's parent_id is not
    # referenced, so their update goes no further.
    assert bounds(cascade)["public.folders update"] == (1, 2)
    assert cascade.cycles == []


TWO_TABLES = """
CREATE TABLE public.accounts (id int PRIMARY KEY, owner_id int);
CREATE TABLE public.people (
    id int PRIMARY KEY,
    account_id int NOT NULL REFERENCES public.accounts (id) ON DELETE CASCADE
);
ALTER TABLE public.accounts ADD FOREIGN KEY (owner_id) REFERENCES public.people (id)
    ON DELETE CASCADE;
"""


def test_a_loop_through_two_tables_is_cut_where_it_comes_back() -> None:
    cascade = tracer(TWO_TABLES, ("accounts", "people")).trace(
        TraceEntry("public.people", "delete", children=2)
    )
    # people -> 2 accounts (certain) -> their people: back at people, 0..∞.
    assert bounds(cascade) == {
        "public.people delete": (1, None),
        "public.accounts delete": (2, None),
        "public.events insert": (3, None),
        "public.log_row": (3, None),
    }
    assert [c.frames for c in cascade.cycles] == [("public.accounts", "public.people")]


def test_a_chain_that_does_not_come_back_stays_exact() -> None:
    tables = """
    CREATE TABLE public.threads (id int PRIMARY KEY);
    CREATE TABLE public.posts (
        id int PRIMARY KEY,
        thread_id int NOT NULL REFERENCES public.threads (id) ON DELETE CASCADE,
        parent_id int REFERENCES public.posts (id)
    );
    CREATE TABLE public.likes (
        post_id int NOT NULL REFERENCES public.posts (id) ON DELETE CASCADE
    );
    """
    # posts references itself without an action (NO ACTION): no loop to follow.
    cascade = tracer(tables, ("posts", "likes")).trace(
        TraceEntry("public.threads", "delete", children=2)
    )
    assert bounds(cascade) == {
        "public.threads delete": (1, 1),
        "public.posts delete": (2, 2),
        "public.likes delete": (4, 4),
        "public.events insert": (6, 6),
        "public.log_row": (6, 6),
    }
    assert cascade.cycles == []


POSTS = """
CREATE TABLE public.posts (id int PRIMARY KEY, comment_count int NOT NULL DEFAULT 0);
CREATE TABLE public.comments (
    id int PRIMARY KEY,
    post_id int NOT NULL REFERENCES public.posts (id) ON DELETE CASCADE,
    parent_id int REFERENCES public.comments (id) ON DELETE CASCADE
);
CREATE FUNCTION public.dec_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.posts SET comment_count = comment_count - 1 WHERE id = OLD.post_id;
    RETURN NULL;
END $$;
CREATE TRIGGER dec_count AFTER DELETE ON public.comments
    FOR EACH ROW EXECUTE FUNCTION public.dec_count();
"""


def test_a_reply_may_belong_to_the_post_being_deleted() -> None:
    cascade = tracer(POSTS, ()).trace(TraceEntry("public.posts", "delete"))
    # The post's comment finds its post gone (its post_id is the deleted row); the reply
    # to it may belong to the same post, or not: 0..1 counter updates, not a certain one.
    assert bounds(cascade) == {
        "public.posts delete": (1, 1),
        "public.comments delete": (2, None),
        "public.posts update": (0, None),
        "public.dec_count": (2, None),
    }
    # Deleting a comment alone: its post stays, its counter is updated for sure.
    single = tracer(POSTS, ()).trace(TraceEntry("public.comments", "delete", children=0))
    assert bounds(single)["public.posts update"] == (1, 1)
