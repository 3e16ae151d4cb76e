"""What the analysis cannot follow is counted and located, never skipped in silence."""

from __future__ import annotations

from pathlib import Path

from analyzer import analyze
from analyzer.analysis import Result
from analyzer.cascade import TraceEntry, Tracer, totals_document

TABLES = """CREATE TABLE accounts (id int PRIMARY KEY, name text);
CREATE TABLE accounts_archive (id int, name text);
"""


def run(tmp_path: Path, sql: str) -> tuple[Result, str]:
    path = tmp_path / "schema.sql"
    path.write_text(TABLES + sql, encoding="utf-8")
    return analyze([str(path)]), str(path)


def located(result: Result) -> list[tuple[int, str]]:
    return [(d.line, d.message) for d in result.diagnostics]


def unknowns(result: Result, table: str, operation: str) -> list[tuple[str, str]]:
    cascade = Tracer(result.model).trace(TraceEntry(table, operation))
    return [(u.reason, u.name) for u in cascade.unknowns]


# ---- rewrite rules ------------------------------------------------------------------


def test_a_rule_that_writes_is_counted_and_crosses_unknown_ground(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        "CREATE RULE archive AS ON DELETE TO accounts\n"
        "  DO ALSO INSERT INTO accounts_archive VALUES (OLD.id, OLD.name);\n",
    )
    assert located(result) == [
        (
            3,
            "rule archive rewrites every DELETE on public.accounts (DO ALSO INSERT INTO"
            " accounts_archive VALUES (OLD.id, OLD.name)): rewrite rules are not followed, so"
            " cascades through this table are not fully analysed",
        )
    ]
    assert result.catalog.unanalyzed_statements == 1
    assert unknowns(result, "public.accounts", "delete") == [
        ("rewrite rule not followed", "public.accounts.archive")
    ]
    assert unknowns(result, "public.accounts", "insert") == []


def test_instead_nothing_is_a_rewrite_too(tmp_path: Path) -> None:
    result, _ = run(tmp_path, "CREATE RULE keep AS ON DELETE TO accounts DO INSTEAD NOTHING;\n")
    assert [line for line, _ in located(result)] == [3]
    assert result.catalog.unanalyzed_statements == 1


def test_rules_without_data_effects_are_not_reported(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        "CREATE RULE ping AS ON UPDATE TO accounts DO ALSO NOTIFY accounts_changed;\n"
        "CREATE TABLE shown (id int);\n"
        'CREATE RULE "_RETURN" AS ON SELECT TO shown DO INSTEAD SELECT 1 AS id;\n',
    )
    assert located(result) == []
    assert result.catalog.unanalyzed_statements == 0
    assert unknowns(result, "public.accounts", "update") == []


def test_disabled_rule_is_not_unknown_ground(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        "CREATE RULE archive AS ON DELETE TO accounts\n"
        "  DO ALSO INSERT INTO accounts_archive VALUES (OLD.id, OLD.name);\n"
        "ALTER TABLE accounts DISABLE RULE archive;\n",
    )
    assert unknowns(result, "public.accounts", "delete") == []


# ---- routines run at load time ------------------------------------------------------

AUDIT = """CREATE TABLE change_log (tbl text, op text);
CREATE FUNCTION log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_log VALUES (TG_TABLE_NAME, TG_OP);
  RETURN NULL;
END $$;
CREATE FUNCTION enable_audit_impl(tbl regclass, per_row boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE q text;
BEGIN
  {body}
END $$;
CREATE FUNCTION enable_audit(tbl regclass) RETURNS void LANGUAGE sql AS $$
  SELECT enable_audit_impl($1, true);
$$;
SELECT enable_audit('accounts');
"""


def test_a_sql_wrapper_is_followed_to_the_ddl_it_runs(tmp_path: Path) -> None:
    body = (
        "EXECUTE format('CREATE TRIGGER audit_row AFTER INSERT ON %s FOR EACH ROW "
        "EXECUTE FUNCTION log_change()', tbl);"
    )
    result, _ = run(tmp_path, AUDIT.format(body=body))
    assert located(result) == []
    assert list(result.catalog.triggers) == ["public.accounts.audit_row"]
    trace = Tracer(result.model).trace(TraceEntry("public.accounts", "insert"))
    assert totals_document(trace.row_totals, 1)["row_writes"] == {
        "public.accounts": {"insert": 1, "update": 0, "delete": 0, "upsert": 0},
        "public.change_log": {"insert": 1, "update": 0, "delete": 0, "upsert": 0},
    }


def test_ddl_a_wrapped_routine_builds_at_run_time_is_counted(tmp_path: Path) -> None:
    body = (
        "q := 'CREATE TRIGGER audit_row AFTER INSERT ON ' || tbl::text || ' FOR EACH ROW'"
        " || CASE WHEN per_row THEN '' ELSE ' STATEMENT' END"
        " || ' EXECUTE FUNCTION log_change()'; EXECUTE q;"
    )
    result, _ = run(tmp_path, AUDIT.format(body=body))
    assert located(result) == [(13, "DDL in dynamic SQL not known statically: EXECUTE q")]
    assert result.catalog.unanalyzed_statements == 1


def test_a_call_that_cannot_be_followed_is_counted(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        "SELECT create_hypertable('accounts', 'id');\n"
        "CREATE FUNCTION py() RETURNS void LANGUAGE plpython3u AS $$ pass $$;\n"
        "SELECT py();\n"
        "SELECT setval('accounts_id_seq', 1);\n"
        "SELECT cron.schedule('nightly', '0 3 * * *', 'VACUUM');\n",
    )
    assert located(result) == [
        (
            3,
            "public.create_hypertable() is not defined in the analysed files: the schema"
            " changes this call may make are not analysed",
        ),
        (
            5,
            "public.py() runs LANGUAGE plpython3u code: the schema changes this call may make"
            " are not analysed",
        ),
    ]
    assert result.catalog.unanalyzed_statements == 2


# ---- DO blocks ----------------------------------------------------------------------


def test_statements_without_data_effects_in_a_do_block_are_accepted(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path,
        "DO $$\nBEGIN\n"
        "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') THEN\n"
        "    CREATE ROLE app NOLOGIN;\n"
        "  END IF;\n"
        "  GRANT SELECT ON accounts TO app;\n"
        "  COMMENT ON TABLE accounts IS 'customers';\n"
        "END $$;\n",
    )
    assert located(result) == []
    assert (result.catalog.unanalyzed_statements, result.unanalyzed_functions) == (0, 0)


def test_a_do_block_statement_not_understood_is_reported_once_and_counted(
    tmp_path: Path,
) -> None:
    result, _ = run(
        tmp_path,
        "DO $$\nBEGIN\n  REFRESH MATERIALIZED VIEW CONCURRENTLY accounts_summary;\nEND $$;\n",
    )
    assert located(result) == [(5, "could not parse SQL: sqlglot does not support this statement")]
    assert result.unanalyzed_functions == 1


def test_a_condition_not_understood_makes_the_body_incomplete(tmp_path: Path) -> None:
    # pg_trgm's <% operator: the condition may call anything, so the body is not complete.
    result, _ = run(
        tmp_path,
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "  IF NEW.name <% 'acme' THEN INSERT INTO accounts_archive VALUES (NEW.id); END IF;\n"
        "  RETURN NULL;\nEND $$;\n",
    )
    assert [line for line, _ in located(result)] == [5]
    assert located(result)[0][1].startswith("could not parse SQL")
    assert result.unanalyzed_functions == 1
