"""A BEFORE trigger that derives a column from other NEW columns (NEW.tags :=
parse(NEW.post)), on INSERT and UPDATE alike, hands back the stored value while those
columns keep theirs: a WHEN (NEW.tags IS DISTINCT FROM OLD.tags) test then stops the AFTER
trigger. A timestamp, a value that reads itself or an UPDATE-only derivation is a change."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.cascade import TraceEntry, Tracer
from analyzer.graph import build_model
from analyzer.loader import load

TWEETS = """
CREATE TABLE tweets (id int PRIMARY KEY, post text NOT NULL, tags text[] NOT NULL DEFAULT '{}',
  words int, edited_at timestamptz, title text, slug text);
CREATE TABLE tag_log (id serial PRIMARY KEY, tweet_id int NOT NULL, what text);
CREATE FUNCTION parse_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tags := coalesce(regexp_match(NEW.post, '#[a-z]+'), '{}');
  NEW.words := NEW.words + 1;
  NEW.edited_at := now();
  RETURN NEW;
END $$;
CREATE FUNCTION slugify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.slug := lower(regexp_replace(NEW.title, '[^a-z]+', '-', 'g'));
  RETURN NEW;
END $$;
CREATE FUNCTION log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tag_log (tweet_id, what) VALUES (NEW.id, TG_ARGV[0]);
  RETURN NULL;
END $$;
CREATE TRIGGER parse_tags BEFORE INSERT OR UPDATE ON tweets
  FOR EACH ROW EXECUTE FUNCTION parse_tags();
CREATE TRIGGER slugify BEFORE UPDATE ON tweets FOR EACH ROW EXECUTE FUNCTION slugify();
CREATE TRIGGER on_tags AFTER UPDATE ON tweets
  FOR EACH ROW WHEN (NEW.tags IS DISTINCT FROM OLD.tags) EXECUTE FUNCTION log_change('tags');
CREATE TRIGGER on_words AFTER UPDATE ON tweets
  FOR EACH ROW WHEN (NEW.words IS DISTINCT FROM OLD.words) EXECUTE FUNCTION log_change('words');
CREATE TRIGGER on_edit AFTER UPDATE ON tweets
  FOR EACH ROW WHEN (NEW.edited_at IS DISTINCT FROM OLD.edited_at)
  EXECUTE FUNCTION log_change('edit');
CREATE TRIGGER on_slug AFTER UPDATE ON tweets
  FOR EACH ROW WHEN (NEW.slug IS DISTINCT FROM OLD.slug) EXECUTE FUNCTION log_change('slug');
"""


@pytest.fixture(scope="module")
def tracer(tmp_path_factory: pytest.TempPathFactory) -> Tracer:
    schema: Path = tmp_path_factory.mktemp("derived") / "schema.sql"
    schema.write_text(TWEETS, encoding="utf-8")
    return Tracer(build_model(load([str(schema)])))


def _firings(tracer: Tracer, entry: TraceEntry) -> dict[str, tuple[int, float]]:
    counts = tracer.trace(entry).totals().counts
    return {
        key[1].rsplit(".", 1)[1]: count
        for key, count in counts.items()
        if key[0] == "firing" and key[1].rsplit(".", 1)[1].startswith("on_")
    }


def test_a_resent_row_keeps_the_derived_column(tracer: Tracer) -> None:
    assert _firings(tracer, TraceEntry("public.tweets", "update", unchanged=True)) == {
        # tags derives from post alone: unchanged, its WHEN stops on_tags.
        "on_words": (1, 1),  # NEW.words + 1 reads itself: a change
        "on_edit": (1, 1),  # now(): a change
        "on_slug": (1, 1),  # derived on UPDATE only: the stored slug may be anything
    }


def test_a_changed_source_may_or_may_not_change_the_derived_column(tracer: Tracer) -> None:
    firings = _firings(tracer, TraceEntry("public.tweets", "update", columns=("post",)))
    assert firings["on_tags"] == (0, 1)
    assert firings["on_words"] == (1, 1)


def test_setting_the_derived_column_itself_is_overwritten(tracer: Tracer) -> None:
    # UPDATE tweets SET tags = …: the BEFORE trigger puts the value derived from the
    # unchanged post back, which is the stored one.
    firings = _firings(tracer, TraceEntry("public.tweets", "update", columns=("tags",)))
    assert "on_tags" not in firings
