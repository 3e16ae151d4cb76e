"""Input files: discovery, migration order, decoding and locations."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from analyzer.config import Config
from analyzer.findings import Diagnostic
from analyzer.loader import load
from analyzer.source import SourceFile, decode, discover, natural_key, read_sources


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def write(path: str, text: str = "SELECT 1;\n") -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def shown(paths: list[str], **options: object) -> list[str]:
    found, _ = discover(paths, **options)  # type: ignore[arg-type]
    return [name for name, _ in found]


# ---- order --------------------------------------------------------------------------------


def test_numbers_sort_by_value() -> None:
    names = ["10_c.sql", "2_b.sql", "1_a.sql", "001_z.sql", "20_a.sql"]
    assert sorted(names, key=natural_key) == [
        "1_a.sql",
        "001_z.sql",
        "2_b.sql",
        "10_c.sql",
        "20_a.sql",
    ]


def test_timestamps_sort_in_time_order() -> None:
    names = ["20240101120000_b.sql", "20231231235959_a.sql", "20240101115959_c.sql"]
    assert sorted(names, key=natural_key) == [
        "20231231235959_a.sql",
        "20240101115959_c.sql",
        "20240101120000_b.sql",
    ]


def test_diesel_folders_sort_by_their_timestamp() -> None:
    write("m/2020-12-02-152437_users/up.sql")
    write("m/2020-12-02-152437_users/down.sql")
    write("m/2020-11-30-090000_init/up.sql")
    write("m/2021-01-10-000000_posts/up.sql")
    assert shown(["m"]) == [
        "m/2020-11-30-090000_init/up.sql",
        "m/2020-12-02-152437_users/up.sql",
        "m/2021-01-10-000000_posts/up.sql",
    ]


def test_flyway_versions_compare_part_by_part_and_repeatables_run_last() -> None:
    names = [
        "R__views.sql",
        "V2__b.sql",
        "V1_1__a2.sql",
        "V10__d.sql",
        "V1__a.sql",
        "V1.2__a3.sql",
    ]
    assert sorted(names, key=natural_key) == [
        "V1__a.sql",
        "V1_1__a2.sql",
        "V1.2__a3.sql",
        "V2__b.sql",
        "V10__d.sql",
        "R__views.sql",
    ]


def test_ties_break_on_the_path_so_order_never_depends_on_the_file_system() -> None:
    assert sorted(["2_a.sql", "02_a.sql"], key=natural_key) == ["02_a.sql", "2_a.sql"]
    assert sorted(["a.sql", "A.sql"], key=natural_key) == ["A.sql", "a.sql"]


def test_directories_are_walked_recursively_in_natural_order() -> None:
    write("db/10_later/1.sql")
    write("db/2_early/2.sql")
    write("db/2_early/10.sql")
    write("db/notes.txt")
    assert shown(["db"]) == ["db/2_early/2.sql", "db/2_early/10.sql", "db/10_later/1.sql"]


def test_arguments_keep_their_order_and_files_are_read_once() -> None:
    write("b.sql")
    write("a/1.sql")
    assert shown(["b.sql", "a", "b.sql", "a/1.sql"]) == ["b.sql", "a/1.sql"]


# ---- down migrations ----------------------------------------------------------------------


def test_down_migrations_are_excluded_by_default() -> None:
    write("m/1_init.up.sql")
    write("m/1_init.down.sql")
    write("m/2020-01-01-000000_x/up.sql")
    write("m/2020-01-01-000000_x/down.sql")
    write("m/down/3_drop.sql")
    write("m/V1__init.sql")
    write("m/U1__init.sql")
    assert shown(["m"]) == ["m/1_init.up.sql", "m/2020-01-01-000000_x/up.sql", "m/V1__init.sql"]


def test_include_overrides_the_default_exclusion_and_adds_other_names() -> None:
    write("m/1_init.up.sql")
    write("m/1_init.down.sql")
    write("m/2_seed.psql")
    assert shown(["m"], include=("*.down.sql", "*.psql")) == [
        "m/1_init.down.sql",
        "m/1_init.up.sql",
        "m/2_seed.psql",
    ]


def test_exclude_replaces_the_defaults() -> None:
    write("m/1_init.down.sql")
    write("m/2_data.sql")
    write("m/seed/3.sql")
    assert shown(["m"], exclude=()) == ["m/1_init.down.sql", "m/2_data.sql", "m/seed/3.sql"]
    assert shown(["m"], exclude=("seed/*",)) == ["m/1_init.down.sql", "m/2_data.sql"]


def test_a_file_named_on_the_command_line_is_read_even_if_it_looks_like_a_down_migration() -> None:
    write("1_x.down.sql")
    assert shown(["1_x.down.sql"]) == ["1_x.down.sql"]


def test_dbmate_goose_and_sql_migrate_down_sections_are_not_applied() -> None:
    write(
        "m/1_dbmate.sql",
        "-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down\nDROP TABLE a;\n",
    )
    write(
        "m/2_goose.sql",
        "-- +goose Up\nCREATE TABLE b (id int);\n-- +goose Down\nDROP TABLE b;\n"
        "-- +goose Up\nCREATE TABLE c (id int);\n",
    )
    write(
        "m/3_sql_migrate.sql",
        "-- +migrate Up\nCREATE TABLE d (id int);\n-- +migrate StatementBegin\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
        "-- +migrate StatementEnd\n\n-- +migrate Down\nDROP FUNCTION f();\nDROP TABLE d;\n",
    )
    catalog = load(["m"])
    assert sorted(catalog.tables) == ["public.a", "public.b", "public.c", "public.d"]
    assert str(catalog.tables["public.c"].location) == "m/2_goose.sql:6:1"
    assert sorted(catalog.functions) == ["public.f()"]
    assert catalog.diagnostics == ()


# ---- decoding -----------------------------------------------------------------------------


def test_bom_is_dropped_and_columns_start_after_it() -> None:
    Path("bom.sql").write_bytes(b"\xef\xbb\xbfCREATE TABLE t (id int);\n")
    catalog = load(["bom.sql"])
    assert catalog.diagnostics == ()
    assert str(catalog.tables["public.t"].location) == "bom.sql:1:1"
    assert catalog.files[0].text.startswith("CREATE")


def test_invalid_utf8_is_read_as_latin1_with_a_diagnostic_at_the_bad_byte() -> None:
    Path("l1.sql").write_bytes(
        "-- é ok\n".encode() + b"CREATE TABLE caf\xe9 (id int);\nCREATE TABLE t (id int);\n"
    )
    catalog = load(["l1.sql"])
    assert catalog.diagnostics == (
        Diagnostic("l1.sql", 2, 17, "invalid UTF-8: file decoded as latin-1"),
    )
    assert sorted(catalog.tables) == ["public.café", "public.t"]
    assert catalog.summary.unanalyzed_statements == 0


def test_latin1_fallback_column_counts_characters() -> None:
    source, diagnostics = decode("x.sql", "é".encode() + b"\xff\n")
    assert diagnostics == [Diagnostic("x.sql", 1, 2, "invalid UTF-8: file decoded as latin-1")]
    assert source is not None and source.text == "Ã©ÿ\n"


def test_nul_byte_skips_the_file_with_a_diagnostic_and_counts_it() -> None:
    Path("1_bad.sql").write_bytes(b"CREATE TABLE a (id int);\nSELECT '\x00';\n")
    write("2_good.sql", "CREATE TABLE b (id int);\n")
    catalog = load(["1_bad.sql", "2_good.sql"])
    assert catalog.diagnostics == (Diagnostic("1_bad.sql", 2, 9, "NUL byte in file: file skipped"),)
    assert sorted(catalog.tables) == ["public.b"]
    assert catalog.summary.files == 1
    assert catalog.summary.statements == 2
    assert catalog.summary.unanalyzed_statements == 1


def test_crlf_files_have_exact_columns() -> None:
    Path("crlf.sql").write_bytes(
        b"CREATE TABLE t (\r\n    id int,\r\n    n int\r\n);\r\n"
        b"  CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\r\nSELECT 1\r\n$$;\r\n"
    )
    catalog = load(["crlf.sql"])
    table = catalog.tables["public.t"]
    assert (table.location.line, table.location.column) == (1, 1)
    assert (table.location.end_line, table.location.end_column) == (4, 2)
    column = table.column("n")
    assert column is not None and column.location is not None
    assert (column.location.line, column.location.column) == (3, 5)
    assert (column.location.end_line, column.location.end_column) == (3, 9)
    function = catalog.functions["public.f()"]
    assert str(function.location) == "crlf.sql:5:3"
    assert function.body == "\r\nSELECT 1\r\n"
    assert function.body_location is not None
    assert (function.body_location.line, function.body_location.column) == (5, 53)


def test_empty_file_has_no_statements_and_no_diagnostics() -> None:
    write("empty.sql", "")
    catalog = load(["empty.sql"])
    assert (catalog.summary.files, catalog.summary.statements, catalog.diagnostics) == (1, 0, ())


# ---- problems with paths ------------------------------------------------------------------


def test_directory_without_sql_is_a_diagnostic() -> None:
    write("docs/readme.md")
    catalog = load(["docs"])
    assert catalog.diagnostics == (Diagnostic("docs", 1, 1, "directory contains no .sql files"),)
    assert catalog.summary.files == 0


def test_missing_path_is_a_diagnostic() -> None:
    assert load(["nope.sql"]).diagnostics == (
        Diagnostic("nope.sql", 1, 1, "no such file or directory"),
    )


def test_symlink_loop_is_reported_once_and_files_are_read_once() -> None:
    write("m/1_a.sql", "CREATE TABLE a (id int);\n")
    os.symlink(".", "m/loop")
    found, diagnostics = discover(["m"])
    assert [name for name, _ in found] == ["m/1_a.sql"]
    assert diagnostics == [
        Diagnostic("m/loop", 1, 1, "directory already visited (symlink loop): skipped")
    ]


def test_symlinked_file_keeps_its_own_path() -> None:
    write("shared/base.sql", "CREATE TABLE a (id int);\n")
    Path("m").mkdir()
    os.symlink("../shared/base.sql", "m/1_base.sql")
    catalog = load(["m"])
    assert str(catalog.tables["public.a"].location) == "m/1_base.sql:1:1"


def test_a_directory_named_like_a_sql_file_is_walked_not_read() -> None:
    write("m/1_x.sql/inner.sql", "CREATE TABLE inner_t (id int);\n")
    write("m/2_y.sql", "CREATE TABLE y (id int);\n")
    catalog = load(["m"])
    assert sorted(catalog.tables) == ["public.inner_t", "public.y"]
    assert catalog.diagnostics == ()


def test_unreadable_file_is_a_diagnostic_and_the_rest_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write("1_locked.sql", "CREATE TABLE a (id int);\n")
    write("2_open.sql", "CREATE TABLE b (id int);\n")
    original = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "1_locked.sql":
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    catalog = load(["1_locked.sql", "2_open.sql"])
    assert catalog.diagnostics == (
        Diagnostic("1_locked.sql", 1, 1, "cannot read file: Permission denied: file skipped"),
    )
    assert sorted(catalog.tables) == ["public.b"]
    assert (catalog.summary.statements, catalog.summary.unanalyzed_statements) == (2, 1)


def test_stdin_is_read_as_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.TextIOWrapper(io.BytesIO(b"CREATE TABLE s (id int);\n"))
    monkeypatch.setattr(sys, "stdin", stream)
    catalog = load(["-"])
    assert str(catalog.tables["public.s"].location) == "<stdin>:1:1"


def test_paths_are_shown_relative_to_the_current_directory(tmp_path: Path) -> None:
    write("m/1.sql")
    sources = read_sources([str(tmp_path / "m")])
    assert [f.path for f in sources.files] == ["m/1.sql"]


def test_config_search_path_is_the_default_for_every_file() -> None:
    write("0.sql", "CREATE TABLE before_app (id int);\nCREATE SCHEMA app;\n")
    write("1.sql", "CREATE TABLE a (id int);\nSET search_path = other;\nCREATE TABLE b (id int);\n")
    write("2.sql", "CREATE TABLE c (id int);\n")
    catalog = load(["0.sql", "1.sql", "2.sql"], Config(search_path=("app", "public")))
    # new objects go to the first schema of the path that exists, as in PostgreSQL
    assert sorted(catalog.tables) == ["app.a", "app.c", "other.b", "public.before_app"]


def test_position_of_an_offset() -> None:
    source = SourceFile.from_text("p.sql", "ab\ncd\r\nef")
    assert [source.position(i) for i in (0, 2, 3, 5, 7, 8)] == [
        (1, 1),
        (1, 3),
        (2, 1),
        (2, 3),
        (3, 1),
        (3, 2),
    ]
