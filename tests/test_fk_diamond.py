"""FK diamonds: a child that two cascading keys tie to rows of one DELETE (comments ->
posts -> users and comments -> users). PostgreSQL deletes each row once: the second RI
action finds it gone. The lower bound counts one key's rows (the first in key order), the
upper bound both, as the two keys may reach different rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import integration_unavailable

from analyzer.cascade import TraceEntry, Tracer, totals_document
from analyzer.cli import cli
from analyzer.graph import build_model
from analyzer.loader import load
from analyzer.pgserver import find_pg_bindir

DIAMOND = """
CREATE TABLE users (id int PRIMARY KEY);
CREATE TABLE posts (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users ON DELETE CASCADE);
CREATE TABLE comments (id int PRIMARY KEY,
  post_id int NOT NULL REFERENCES posts ON DELETE CASCADE,
  user_id int NOT NULL REFERENCES users ON DELETE CASCADE);
CREATE TABLE likes (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users ON DELETE CASCADE);
CREATE TABLE comment_log (id serial PRIMARY KEY, comment_id int NOT NULL);
CREATE FUNCTION log_comment_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO comment_log (comment_id) VALUES (OLD.id);
  RETURN NULL;
END $$;
CREATE TRIGGER log_comment_delete AFTER DELETE ON comments
  FOR EACH ROW EXECUTE FUNCTION log_comment_delete();
"""


def _tracer(tmp_path: Path, text: str = DIAMOND) -> Tracer:
    schema = tmp_path / "schema.sql"
    schema.write_text(text, encoding="utf-8")
    return Tracer(build_model(load([str(schema)])))


def _bounds(tracer: Tracer, entry: TraceEntry) -> dict[str, tuple[Any, Any]]:
    cascade = tracer.trace(entry)
    lo = totals_document(cascade.totals(), 0)
    hi = totals_document(cascade.totals(), 1)
    found: dict[str, tuple[Any, Any]] = {}
    for table, kinds in hi["row_writes"].items():  # type: ignore[attr-defined]
        for kind, count in kinds.items():
            if count:
                low = lo["row_writes"].get(table, {}).get(kind, 0)  # type: ignore[attr-defined]
                found[f"{table} {kind}"] = (low, count)
    for name, count in hi["function_calls"].items():  # type: ignore[attr-defined]
        found[f"call {name}"] = (lo["function_calls"].get(name, 0), count)  # type: ignore[attr-defined]
    return found


def test_a_diamond_child_counts_one_path_for_certain(tmp_path: Path) -> None:
    tracer = _tracer(tmp_path)
    assert _bounds(tracer, TraceEntry("public.users", "delete")) == {
        "public.users delete": (1, 1),
        "public.posts delete": (1, 1),
        "public.likes delete": (1, 1),  # a different table: its own row, always
        "public.comments delete": (1, 2),
        "public.comment_log insert": (1, 2),
        "call public.log_comment_delete": (1, 2),
    }


def test_with_more_children_the_certain_path_is_the_one_through_posts(tmp_path: Path) -> None:
    tracer = _tracer(tmp_path)
    bounds = _bounds(tracer, TraceEntry("public.users", "delete", children=2))
    # 2 posts x 2 comments each for certain; the user's own 2 comments may be among them.
    assert bounds["public.comments delete"] == (4, 6)
    assert bounds["public.posts delete"] == (2, 2)
    assert bounds["public.likes delete"] == (2, 2)


def test_the_tree_says_which_key_may_reach_rows_already_deleted(tmp_path: Path) -> None:
    cascade = _tracer(tmp_path).trace(TraceEntry("public.users", "delete"))
    (row,) = [n for n in cascade.tree.children if n.kind == "row"]
    labels = {(n.name, n.detail, n.certain) for n in row.children if n.kind == "fk"}
    assert labels == {
        (
            "public.comments",
            "ON DELETE CASCADE (user_id); its rows may be ones another key of this cascade "
            "already deleted",
            False,
        ),
        ("public.likes", "ON DELETE CASCADE (user_id)", True),
        ("public.posts", "ON DELETE CASCADE (user_id)", True),
    }


def test_deleting_a_post_alone_is_no_diamond(tmp_path: Path) -> None:
    tracer = _tracer(tmp_path)
    # The users row is not deleted here: comments' other key ties it to nothing gone.
    tracer.trace(TraceEntry("public.users", "delete"))  # memo must not leak into the next
    assert _bounds(tracer, TraceEntry("public.posts", "delete")) == {
        "public.posts delete": (1, 1),
        "public.comments delete": (1, 1),
        "public.comment_log insert": (1, 1),
        "call public.log_comment_delete": (1, 1),
    }


def test_two_keys_to_the_same_parent_count_two_rows(tmp_path: Path) -> None:
    """A transfer references its sender and its receiver account: one row only if it
    references the same account twice, which real data does not (see
    test_trace_semantics: the trigger then updates the surviving parent)."""
    tracer = _tracer(
        tmp_path,
        "CREATE TABLE accounts (id int PRIMARY KEY);\n"
        "CREATE TABLE transfers (id int PRIMARY KEY,"
        " sender int NOT NULL REFERENCES accounts ON DELETE CASCADE,"
        " receiver int NOT NULL REFERENCES accounts ON DELETE CASCADE);\n",
    )
    assert _bounds(tracer, TraceEntry("public.accounts", "delete")) == {
        "public.accounts delete": (1, 1),
        "public.transfers delete": (2, 2),
    }


def test_a_second_key_without_cascade_is_no_diamond(tmp_path: Path) -> None:
    tracer = _tracer(
        tmp_path,
        DIAMOND.replace(
            "user_id int NOT NULL REFERENCES users ON DELETE CASCADE);\nCREATE TABLE likes",
            "user_id int NOT NULL REFERENCES users);\nCREATE TABLE likes",
        ),
    )
    bounds = _bounds(tracer, TraceEntry("public.users", "delete"))
    assert bounds["public.comments delete"] == (1, 1)
    assert bounds["public.comment_log insert"] == (1, 1)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.integration
def test_verify_builds_the_diamond_and_the_server_deletes_the_comment_once(
    pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    if find_pg_bindir() is None:
        integration_unavailable("PostgreSQL server binaries not found")
    (tmp_path / "schema.sql").write_text(DIAMOND, encoding="utf-8")
    code, out, err = _run(
        "verify", str(tmp_path), "--table", "users", "--op", "delete",
        "--dsn", pg_database("diamond"), "--format", "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), out
    (measurement,) = json.loads(out)["measurements"]
    server = measurement["server"]
    assert server["row_writes"]["public.comments"]["delete"] == 1
    assert server["row_writes"]["public.comment_log"]["insert"] == 1
    assert server["function_calls"] == {"public.log_comment_delete": 1}


@pytest.mark.integration
def test_a_real_cycle_of_not_null_keys_is_named_as_one(
    pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    if find_pg_bindir() is None:
        integration_unavailable("PostgreSQL server binaries not found")
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE a (id int PRIMARY KEY, b_id int NOT NULL);\n"
        "CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a);\n"
        "ALTER TABLE a ADD CONSTRAINT a_b_fkey FOREIGN KEY (b_id) REFERENCES b"
        " DEFERRABLE INITIALLY DEFERRED;\n",
        encoding="utf-8",
    )
    code, _, err = _run(
        "verify", str(tmp_path), "--table", "a", "--op", "insert", "--dsn", pg_database("cycle")
    )
    assert code == 2
    assert (
        "cannot make up a row of public.b: its NOT NULL foreign key b_a_id_fkey needs a row of "
        "public.a, which the setup is making up on the way here (public.a -> public.b)"
    ) in err


@pytest.mark.integration
def test_a_second_key_into_the_parents_table_asks_for_a_workload(
    pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    if find_pg_bindir() is None:
        integration_unavailable("PostgreSQL server binaries not found")
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE accounts (id int PRIMARY KEY);\n"
        "CREATE TABLE transfers (id int PRIMARY KEY,"
        " sender int NOT NULL REFERENCES accounts ON DELETE CASCADE,"
        " receiver int NOT NULL REFERENCES accounts ON DELETE CASCADE);\n",
        encoding="utf-8",
    )
    code, _, err = _run(
        "verify", str(tmp_path), "--table", "accounts", "--op", "delete",
        "--dsn", pg_database("transfers"),
    )  # fmt: skip
    assert code == 2
    assert (
        "cannot make up a row of public.transfers: its NOT NULL foreign key "
        "transfers_sender_fkey needs a second row of public.accounts besides the one its "
        "other key references; use --workload FILE"
    ) in err
