"""Time sqlglot's PostgreSQL tokenizer and parser on every statement of a corpus.

    python -m bench.tokenize_speed CORPUS_DIR

Prints JSON: statements, characters, tokenise and parse CPU seconds, and whether the
compiled sqlglotc overlay is active. run.py runs it with the project's interpreter (which
has sqlglotc) and, when bench/corpus/.sqlglot-pure exists (`python -m bench
--install-tools`), with an interpreter that has pure-Python sqlglot only, to measure what
the compiled extension buys.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import SqlglotError
from sqlglot.tokens import SQLGLOTC_INSTALLED

from analyzer.parse import split_statements
from analyzer.source import read_sources


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command"
    sources = read_sources(args)
    texts = [s.text for f in sources.files for s in split_statements(f)[0]]
    dialect = Postgres()
    start = time.process_time()
    tokens = []
    for text in texts:
        try:
            tokens.append(dialect.tokenize(text))
        except SqlglotError:
            tokens.append([])
    tokenise_s = time.process_time() - start
    start = time.process_time()
    failed = 0
    for text, found in zip(texts, tokens, strict=True):
        try:
            dialect.parser().parse(found, text)
        except (SqlglotError, RecursionError):
            failed += 1
    parse_s = time.process_time() - start
    result = {
        "sqlglotc": SQLGLOTC_INSTALLED,
        "statements": len(texts),
        "characters": sum(len(t) for t in texts),
        "tokens": sum(len(t) for t in tokens),
        "tokenise_cpu_s": tokenise_s,
        "parse_cpu_s": parse_s,
        "parse_failures": failed,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
