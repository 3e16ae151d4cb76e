"""Differential test: `verify` agrees with `trace` on every fixture, for every entry.

For every fixture folder and every table that has triggers or is the parent of an FK
action, each write the catalog allows is run on a real PostgreSQL server and compared
with the trace: insert; update (changed and unchanged); delete; and, where the table has
a primary key, upsert on the conflict path (changed and unchanged) and the new-row path.
The entries come from the catalog, not from a hand-picked list.

One server serves the whole session (tests/conftest.py): each fixture's schema is
loaded once into a database of its own, and every measurement rolls back what it did.
The trace.toml entries of each fixture are verified too, as workload files.

A disagreement the analyzer is responsible for is listed in KNOWN_DISAGREEMENTS with its
cause, as a strict xfail: it fails the run as soon as it is fixed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from analyzer.catalog import Catalog
from analyzer.loader import load
from analyzer.pgserver import prelude_path
from analyzer.source import SourceFile
from analyzer.verify import Measurement, Verifier, VerifyError
from analyzer.workload import EntrySpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE_DIRS = sorted({path.parent for path in FIXTURES.glob("*/*.sql")})
FK_ACTIONS = {"cascade", "set null", "set default"}

Loaded = tuple[Verifier, "psycopg.Connection[Any]"]


def _each(prefix: str, *scenarios: str) -> list[str]:
    return [f"{prefix}:{scenario}" for scenario in scenarios]


UPDATES = (
    "update-changed",
    "update-unchanged",
    "upsert-conflict-changed",
    "upsert-conflict-unchanged",
)
EXISTING_ROW = (*UPDATES, "delete")

# Why the server and the trace disagree, per case. Every cause lies in the analyzer
# (cascade.py / effects.py), not in verify: each case is a strict xfail, so the run
# fails once the cause is fixed and the entry can come off this list.
KNOWN_DISAGREEMENTS: dict[str, str] = {}

# Entries the server cannot set up at all: the table cannot hold a row, because every
# insert into it fails or is skipped. Not a disagreement: verify refuses them (exit 2)
# and says why.
IMPOSSIBLE: dict[str, str] = {
    **dict.fromkeys(
        _each("rules-missing-trigger-return:public.shop_orders", *EXISTING_ROW),
        "every insert into shop_orders fails (apply_coupon_use() ends without RETURN)",
    ),
    **dict.fromkeys(
        [
            *_each("rules-trigger-recursion:public.restock_requests", *EXISTING_ROW),
            *_each("rules-trigger-recursion:public.stock_reservations", *EXISTING_ROW),
        ],
        "every insert recurses until the stack runs out "
        "(restock_requests -> stock_reservations -> stock_levels -> restock_requests)",
    ),
    **dict.fromkeys(
        _each("rules-missing-trigger-return:public.page_views", *UPDATES[:2], "delete"),
        "page_views never holds a row: route_page_view() stores every inserted row in a "
        "child table and returns NULL",
    ),
    **dict.fromkeys(
        _each("rules-missing-trigger-return:public.forum_flags", *EXISTING_ROW),
        "forum_flags never holds a row: reflag() returns NULL for every insert",
    ),
}


def prelude_for(folder: Path) -> str | None:
    """The Supabase prelude for schemas that use its auth schema."""
    uses_auth = any(
        re.search(r"\bauth\.\w", path.read_text(encoding="utf-8")) for path in folder.glob("*.sql")
    )
    return "supabase" if uses_auth else None


def catalog_for(folder: Path) -> Catalog:
    prelude = prelude_for(folder)
    return load([*([str(prelude_path(prelude))] if prelude else []), str(folder)])


def entries(catalog: Catalog) -> list[tuple[str, EntrySpec]]:
    """Every (table, write) worth verifying, named `table:scenario`."""
    found: list[tuple[str, EntrySpec]] = []
    for table in catalog.tables.values():
        if table.relkind not in {"table", "partitioned"}:
            continue
        actions = [
            fk
            for fk in catalog.referencing_keys(table.name)
            if fk.on_delete in FK_ACTIONS or fk.on_update in FK_ACTIONS
        ]
        if not catalog.triggers_on(table.name) and not actions:
            continue
        name = table.name
        settable = [c for c in table.columns if not c.generated and c.name not in table.primary_key]
        specs = [("insert", EntrySpec(name, "insert"))]
        if settable:
            specs += [
                ("update-changed", EntrySpec(name, "update")),
                ("update-unchanged", EntrySpec(name, "update", unchanged=True)),
            ]
        specs.append(("delete", EntrySpec(name, "delete")))
        if table.primary_key and settable:
            specs += [
                ("upsert-conflict-changed", EntrySpec(name, "upsert")),
                ("upsert-conflict-unchanged", EntrySpec(name, "upsert", unchanged=True)),
                ("upsert-new-row", EntrySpec(name, "upsert", new_row=True)),
            ]
        found.extend((f"{name}:{label}", spec) for label, spec in specs)
    return found


def _cases() -> list[object]:
    cases: list[object] = []
    for folder in FIXTURE_DIRS:
        for name, spec in entries(catalog_for(folder)):
            case_id = f"{folder.name}:{name}"
            marks: list[pytest.MarkDecorator] = []
            if case_id in KNOWN_DISAGREEMENTS:
                reason = KNOWN_DISAGREEMENTS[case_id]
                marks.append(pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason))
            cases.append(
                pytest.param(folder, spec, IMPOSSIBLE.get(case_id), id=case_id, marks=marks)
            )
    return cases


CASES = _cases()


def explain(measurement: Measurement) -> str:
    lines = [measurement.label, *measurement.setup, measurement.sql]
    lines += [
        f"  {d.subject} {d.name} {d.metric}: predicted {d.low}..{d.high}, server {d.server}"
        f" ({d.reason})"
        for d in measurement.differences
    ]
    lines += [f"  note: {note}" for note in measurement.notes]
    return "\n".join(lines)


@pytest.fixture(scope="session")
def loaded(pg_database: Callable[[str], str]) -> Iterator[Callable[[Path], Loaded]]:
    """Per fixture folder: its Verifier, and a connection to a database that holds the
    schema (loaded once); every measurement rolls back what it did."""
    prepared: dict[Path, Loaded] = {}

    def get(folder: Path) -> Loaded:
        if folder not in prepared:
            verifier = Verifier([str(folder)], prelude_for(folder))
            conn = psycopg.connect(pg_database(f"verify_{folder.name}"), autocommit=True)
            verifier.load_schema(conn, single_transaction=False)
            # Endless trigger recursion ends in "stack depth limit exceeded"; with the
            # default 2MB of stack the server takes a second to get there, with 500kB 30 ms.
            conn.execute("SET max_stack_depth = '500kB'")
            prepared[folder] = (verifier, conn)
        return prepared[folder]

    yield get
    for _, conn in prepared.values():
        conn.close()


def test_every_fixture_yields_entries() -> None:
    assert FIXTURE_DIRS, "no fixture folders found"
    for folder in FIXTURE_DIRS:
        assert entries(catalog_for(folder)), f"{folder.name}: no table with triggers"


@pytest.mark.integration
@pytest.mark.parametrize(("folder", "spec", "impossible"), CASES)
def test_verify_agrees_with_trace(
    folder: Path, spec: EntrySpec, impossible: str | None, loaded: Callable[[Path], Loaded]
) -> None:
    verifier, conn = loaded(folder)
    if impossible:
        setup_failed = "the server rejected the workload's setup|skipped the row the workload"
        with pytest.raises(VerifyError, match=setup_failed):
            verifier.measure(conn, spec=spec)
        return
    (measurement,) = verifier.measure(conn, spec=spec)
    assert measurement.agrees, explain(measurement)


# ------------------------------------------------------------- trace.toml workloads

TRACE_FILES = sorted(FIXTURES.glob("*/trace.toml"))
TRACE_ENTRIES = [
    (path.parent, entry)
    for path in TRACE_FILES
    for entry in tomllib.loads(path.read_text(encoding="utf-8"))["entry"]
]
# Entries whose server counts the trace gets wrong, with the cause (a strict xfail each).
KNOWN_TRACE_DISAGREEMENTS: dict[str, str] = {}


def workload_text(entry: dict[str, Any]) -> str:
    """A trace.toml entry as a workload file: its setup, then its measured statement."""
    options = []
    if str(entry.get("scenario", "")).startswith("new-row"):
        options.append("new-row")
    if entry.get("unchanged"):
        options.append("unchanged")
    if entry.get("child_rows"):
        options.append(f"children={max(entry['child_rows'].values())}")
    marker = " ".join(["-- sqlripple: measure", *options])
    return f"{entry.get('setup', '')}\n{marker}\n{entry['sql'].strip()};\n"


def _trace_cases() -> list[object]:
    cases: list[object] = []
    for folder, entry in TRACE_ENTRIES:
        case_id = f"{folder.name}:{entry['name']}"
        marks = [
            pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)
            for reason in [KNOWN_TRACE_DISAGREEMENTS.get(case_id)]
            if reason
        ]
        cases.append(pytest.param(folder, entry, id=case_id, marks=marks))
    return cases


@pytest.mark.integration
@pytest.mark.parametrize(("folder", "entry"), _trace_cases())
def test_trace_toml_workloads_measure_the_recorded_truth_and_agree(
    folder: Path, entry: dict[str, Any], loaded: Callable[[Path], Loaded]
) -> None:
    """`verify --workload` on each hand-written trace.toml entry measures exactly what
    the file records, and agrees with the trace."""
    verifier, conn = loaded(folder)
    source = SourceFile.from_text(f"{folder.name}/trace.toml:{entry['name']}", workload_text(entry))
    (measurement,) = verifier.measure(conn, workload=source)
    assert measurement.rows == entry["rows"]
    assert dict(measurement.stats.function_calls) == entry["function_calls"]
    assert {
        table: writes.as_dict() for table, writes in measurement.stats.row_writes.items()
    } == entry["row_writes"]
    assert measurement.agrees, explain(measurement)
