"""Fuzz targets: the statement splitter and the PL/pgSQL body parser.

Bounded by SQLRIPPLE_FUZZ_SECONDS (default 20, split between the targets): each target
runs hypothesis in rounds until its share of the time is used, and records how many
inputs it tried and for how long in the `fuzz_runs` property of the test report
(`pytest -rA` or the JUnit XML shows it). Set SQLRIPPLE_FUZZ_SECONDS=600 for a long run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.parse import split_statements
from analyzer.plpgsql import parse_plpgsql
from analyzer.source import SourceFile

BUDGET = float(os.environ.get("SQLRIPPLE_FUZZ_SECONDS", "20"))
TARGETS = 2

# Pieces that reach the splitter's and the parser's corner cases: quotes of every kind,
# dollar tags, comments (nested), psql meta-commands, COPY data, BEGIN ATOMIC, CRLF.
PIECES = st.sampled_from(
    [
        ";", "'", "''", '"', '""', "E'", "\\'", "\\\\", "$$", "$a$", "$a", "$1", "a$b",
        "--", "\n", "\r\n", "/*", "*/", "/* /* */", "(", ")", "[", "]", ",", ".", "::",
        "BEGIN", "ATOMIC", "END", "CASE", "IF", "THEN", "ELSE", "ELSIF", "END IF", "LOOP",
        "END LOOP", "WHILE", "FOR", "IN", "..", "REVERSE", "FOREACH", "SLICE", "EXIT",
        "CONTINUE", "RETURN", "NEXT", "QUERY", "EXECUTE", "USING", "INTO", "STRICT",
        "RAISE", "EXCEPTION", "WHEN", "OTHERS", "DECLARE", "<<l>>", "l", ":=", "=",
        "PERFORM", "GET", "DIAGNOSTICS", "OPEN", "FETCH", "CLOSE", "CURSOR", "NULL",
        "CREATE", "FUNCTION", "PROCEDURE", "TRIGGER", "RULE", "AS", "DO", "LANGUAGE",
        "plpgsql", "sql", "COPY", "FROM", "stdin", "\\.", "\\gset", "\\i x", "\\\\",
        "INSERT", "UPDATE", "DELETE", "SET", "SELECT", "t", "x", "NEW.x", "OLD.*", "1",
        "'a;b'", "$$;$$", "U&'\\0041'", "B'01'", "X'1f'", "\t", " ", "\ufeff", "é", "\x00",
        "\x1b[31m",
    ]
)  # fmt: skip
TEXT = st.one_of(
    st.lists(PIECES, max_size=80).map(" ".join),
    st.lists(PIECES, max_size=80).map("".join),
    st.text(max_size=300),
)


def _fuzz(
    record_property: Callable[[str, object], None],
    name: str,
    check: Callable[[str], None],
) -> None:
    """Run `check` on generated text in rounds until this target's time is used."""
    deadline = time.monotonic() + BUDGET / TARGETS
    tried = 0
    started = time.monotonic()

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(TEXT)
    def round_(text: str) -> None:
        nonlocal tried
        tried += 1
        check(text)

    while True:
        round_()
        if time.monotonic() >= deadline:
            break
    summary = f"{name}: {tried} inputs in {time.monotonic() - started:.1f} s"
    record_property("fuzz_runs", summary)
    print(summary)  # shown by pytest -rA


def _check_split(text: str) -> None:
    source = SourceFile.from_text("f.sql", text)
    statements, diagnostics, lost = split_statements(source)
    assert lost >= 0
    previous_end = -1
    for statement in statements:
        assert 0 <= statement.start <= statement.end <= len(text)
        assert statement.start > previous_end  # in order, never overlapping
        previous_end = statement.end
        assert statement.location.line >= 1 and statement.location.column >= 1
    lines = text.count("\n") + 1
    for diagnostic in diagnostics:
        assert diagnostic.path == "f.sql"
        assert 1 <= diagnostic.line <= lines and diagnostic.column >= 1


def _check_plpgsql(text: str) -> None:
    function = parse_plpgsql(text, path="f.sql", line=3, column=5, offset=40)
    lines = text.count("\n")
    if function.incomplete:
        assert function.diagnostics
    for diagnostic in function.diagnostics:
        assert diagnostic.path == "f.sql"
        assert 3 <= diagnostic.line <= 3 + lines and diagnostic.column >= 1
        assert not diagnostic.message.startswith("internal error"), diagnostic
    for statement in function.statements():
        assert 3 <= statement.line <= 3 + lines


def test_fuzz_statement_splitter(record_property: Callable[[str, object], None]) -> None:
    _fuzz(record_property, "split_statements", _check_split)


def test_fuzz_plpgsql_parser(record_property: Callable[[str, object], None]) -> None:
    _fuzz(record_property, "parse_plpgsql", _check_plpgsql)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00",
        "$",
        "$$",
        "$a$ $b$",
        "'",
        "/*",
        "/* /* */",
        "\\",
        "E'\\",
        "BEGIN ATOMIC",
        "COPY t FROM stdin;\n",
        "\ufeff;",
    ],
)
def test_splitter_corner_cases(text: str) -> None:
    _check_split(text)
    _check_plpgsql(text)
