"""Shared test fixtures: a throwaway PostgreSQL server for integration tests."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from typing import NoReturn

import pytest

from analyzer.pgserver import PgServerUnavailable, Server, throwaway_server

REQUIRE_INTEGRATION = os.environ.get("SQLRIPPLE_REQUIRE_INTEGRATION") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: needs external binaries (PostgreSQL, Chromium); skipped when they "
        "are missing unless SQLRIPPLE_REQUIRE_INTEGRATION=1",
    )


@pytest.fixture(autouse=True)
def _no_result_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs in tests analyse for real (several patch the engine) and never leave a
    .sqlripple_cache behind; the cache's own tests turn it back on."""
    monkeypatch.setenv("SQLRIPPLE_NO_CACHE", "1")


def integration_unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when the run requires integration tests."""
    if REQUIRE_INTEGRATION:
        pytest.fail(f"{reason} (SQLRIPPLE_REQUIRE_INTEGRATION=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """One throwaway PostgreSQL server for the whole test session."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(throwaway_server())
        except PgServerUnavailable as error:
            integration_unavailable(f"PostgreSQL not available: {error}")
        yield server


@pytest.fixture(scope="session")
def pg_database(pg_server: Server) -> Callable[[str], str]:
    """Create a fresh, uniquely named database; returns its conninfo."""
    counter = itertools.count(1)

    def create(label: str) -> str:
        name = "".join(c if c.isalnum() else "_" for c in label.lower())[:40]
        name = f"t{next(counter)}_{name}"
        with pg_server.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return pg_server.conninfo(name)

    return create
