"""PostgreSQL type names normalised the way the server spells them in signatures."""

from __future__ import annotations

import re
import sys

_ALIASES = {
    "int": "integer",
    "int4": "integer",
    "serial": "integer",
    "serial4": "integer",
    "int8": "bigint",
    "bigserial": "bigint",
    "serial8": "bigint",
    "int2": "smallint",
    "smallserial": "smallint",
    "serial2": "smallint",
    "bool": "boolean",
    "float8": "double precision",
    "float": "double precision",
    "float4": "real",
    "decimal": "numeric",
    "dec": "numeric",
    "varchar": "character varying",
    "char varying": "character varying",
    "national character varying": "character varying",
    "national char varying": "character varying",
    "nchar varying": "character varying",
    "char": "character",
    "bpchar": "character",
    "nchar": "character",
    "national character": "character",
    "national char": "character",
    "timestamptz": "timestamp with time zone",
    "timestamp without time zone": "timestamp",
    "timetz": "time with time zone",
    "time without time zone": "time",
    "varbit": "bit varying",
}
# Serial types: the column type, plus an owned sequence as its default and NOT NULL.
SERIAL_TYPES = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"})
_INTERVAL_FIELDS = re.compile(r"^interval\s+(?:year|month|day|hour|minute|second)\b.*$")
_PART = re.compile(r'"(?:[^"]|"")*"|[^".\s]+(?:\s+[^".\s]+)*')


def _fold_parts(text: str) -> list[str]:
    """Dot-separated name parts: quoted parts keep case, unquoted ones fold to lower case."""
    parts: list[str] = []
    for match in _PART.finditer(text):
        part = match.group()
        if part.startswith('"'):
            parts.append(part[1:-1].replace('""', '"'))
        else:
            parts.append(" ".join(part.lower().split()))
    return parts


def normalize_type(text: str) -> str:
    """`VARCHAR(20)` -> `character varying`; `public.Foo` kept; arrays end in one `[]`.

    Type modifiers (lengths, precisions, interval fields) are not part of a function's
    signature, so they are dropped, except where they choose the type: `float(p)` is
    `real` up to 24 bits of precision.
    """
    compact = " ".join(text.split())
    array = False
    while True:
        stripped = re.sub(r"\s*\[\s*\d*\s*\]$", "", compact)
        if stripped == compact:
            break
        array, compact = True, stripped
    if re.search(r"\s+array$", compact, re.I):
        array, compact = True, re.sub(r"\s+array$", "", compact, flags=re.I)
    float_precision = re.fullmatch(r"(?i)float\s*\(\s*(\d+)\s*\)", compact)
    if float_precision:
        compact = "real" if int(float_precision.group(1)) <= 24 else "double precision"
    compact = re.sub(r"\s*\([^()]*\)", "", compact)
    if compact.strip() == '"char"':
        name = '"char"'  # the one-byte internal type, not character(1)
    else:
        parts = _fold_parts(compact)
        if len(parts) > 1 and parts[0] == "pg_catalog":
            parts = parts[1:]
        name = ".".join(parts)
        if _INTERVAL_FIELDS.match(name):
            name = "interval"
        name = _ALIASES.get(name, name)
    # Interned: tens of thousands of columns and arguments share a few dozen type names.
    return sys.intern(name + ("[]" if array else ""))
