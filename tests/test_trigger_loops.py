"""Trigger loops: the repeated firing happens, and a copy that comes back unchanged ends it.

When a trigger's writes lead back to a row event already being processed, PostgreSQL runs
the triggers again: the trace follows that second round under its own state; a trigger
that fires again in it is counted (fired, function called) and cut there. An UPDATE that
writes back the values its row already holds (picked by that row's key, every SET column
a copy of its own value) changes nothing, so change tests (WHEN or in the body) stop the
loop there.
"""

from __future__ import annotations

from textwrap import dedent

from analyzer.cascade import Cascade, Node, TraceEntry, Tracer, totals_document
from analyzer.ddl import build_catalog
from analyzer.graph import build_model
from analyzer.source import SourceFile

TABLES = """
CREATE TABLE public.pages (id bigint PRIMARY KEY, body text NOT NULL DEFAULT '');
CREATE TABLE public.page_index (
    page_id bigint PRIMARY KEY REFERENCES public.pages (id),
    body text NOT NULL DEFAULT ''
);
"""


def loop(to_index: str, to_page: str, when: str = "") -> Tracer:
    """pages -> page_index (`to_index` is the SET value) -> pages (`to_page`)."""
    text = TABLES + dedent(f"""
        CREATE FUNCTION public.index_page() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.body IS DISTINCT FROM OLD.body THEN
                UPDATE public.page_index SET body = {to_index} WHERE page_id = NEW.id;
            END IF;
            RETURN NULL;
        END;
        $$;
        CREATE FUNCTION public.copy_back() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.body IS DISTINCT FROM OLD.body THEN
                UPDATE public.pages SET body = {to_page} WHERE id = NEW.page_id;
            END IF;
            RETURN NULL;
        END;
        $$;
        CREATE TRIGGER pages_index AFTER UPDATE ON public.pages
            FOR EACH ROW {when} EXECUTE FUNCTION public.index_page();
        CREATE TRIGGER page_index_copy_back AFTER UPDATE ON public.page_index
            FOR EACH ROW EXECUTE FUNCTION public.copy_back();
    """)
    return Tracer(build_model(build_catalog([SourceFile.from_text("s.sql", text)])))


def bounds(cascade: Cascade) -> dict[str, tuple[int, int]]:
    low, high = (totals_document(cascade.totals(), b) for b in (0, 1))
    found: dict[str, tuple[int, int]] = {}
    for part in ("function_calls", "row_writes"):
        lows, highs = low[part], high[part]
        assert isinstance(lows, dict) and isinstance(highs, dict)
        for name, value in highs.items():
            if isinstance(value, dict):
                found[f"{name} update"] = (lows.get(name, {}).get("update", 0), value["update"])
            else:
                found[name] = (lows.get(name, 0), value)
    return found


def details(node: Node) -> list[str]:
    found = [f"{node.kind} {node.name} {node.detail}"]
    for child in node.children:
        found.extend(details(child))
    return found


def writes_back(cascade: Cascade) -> list[str]:
    return [
        line.split()[1]
        for line in details(cascade.tree)
        if line.startswith("statement") and line.endswith("writes back the values it copied")
    ]


PAGE_UPDATE = TraceEntry("public.pages", "update", columns=("body",))


def test_a_plain_copy_coming_back_runs_the_first_function_again_and_stops() -> None:
    cascade = loop("NEW.body", "NEW.body").trace(PAGE_UPDATE)
    # As on the server: index_page() runs twice, the second time for the copy coming
    # back, whose body it finds unchanged; copy_back() runs once. The index row exists
    # only if someone made it (0..1); the page row is the one being updated.
    assert bounds(cascade) == {
        "public.index_page": (1, 2),
        "public.copy_back": (0, 1),
        "public.pages update": (1, 2),
        "public.page_index update": (0, 1),
    }
    assert writes_back(cascade) == ["public.pages"]
    assert [(c.frames, c.broken) for c in cascade.cycles] == [
        (("public.pages.pages_index", "public.page_index.page_index_copy_back"), True)
    ]


def test_a_when_clause_stops_the_copy_coming_back_before_the_trigger_fires() -> None:
    when = "WHEN (OLD.body IS DISTINCT FROM NEW.body)"
    cascade = loop("NEW.body", "NEW.body", when).trace(PAGE_UPDATE)
    assert bounds(cascade)["public.index_page"] == (0, 1)
    assert bounds(cascade)["public.pages update"] == (1, 2)
    # The loop is still reported, with what breaks it.
    assert len(cascade.cycles) == 1
    assert f"{when[:4]} ({when[6:-1]}) on public.pages.pages_index" in cascade.cycles[0].guards


def test_a_value_changed_on_the_way_may_go_round_again_and_is_cut_there() -> None:
    cascade = loop("btrim(NEW.body)", "NEW.body").trace(PAGE_UPDATE)
    # btrim may change the text (' a ' -> 'a'): the copy coming back may change the page,
    # and index_page() then updates the index again, whose copy_back() runs a second time
    # (as on the server); that firing is counted and cut.
    assert bounds(cascade) == {
        "public.index_page": (1, 2),
        "public.copy_back": (0, 2),
        "public.pages update": (1, 2),
        "public.page_index update": (0, 2),
    }
    assert writes_back(cascade) == []
    cuts = [line.split()[1] for line in details(cascade.tree) if line.startswith("cycle")]
    assert cuts == ["public.page_index.page_index_copy_back"]


def test_another_value_coming_back_is_not_a_fixed_point() -> None:
    # The index holds the page's id, not its body: copied back, the page's body changes.
    cascade = loop("NEW.id::text", "NEW.body").trace(PAGE_UPDATE)
    assert writes_back(cascade) == []
    assert bounds(cascade)["public.copy_back"] == (0, 2)
