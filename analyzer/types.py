"""PostgreSQL type names normalised the way the server spells them in signatures."""

from __future__ import annotations

import re

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
    "varchar": "character varying",
    "char varying": "character varying",
    "char": "character",
    "bpchar": "character",
    "timestamptz": "timestamp with time zone",
    "timestamp without time zone": "timestamp",
    "timetz": "time with time zone",
    "time without time zone": "time",
    "varbit": "bit varying",
}
_TYPMOD = re.compile(r"\s*\([^()]*\)")


def normalize_type(text: str) -> str:
    """`VARCHAR(20)` -> `character varying`; `public.Foo` kept; arrays keep `[]`."""
    compact = " ".join(text.split())
    array = ""
    while compact.endswith("[]"):
        array += "[]"
        compact = compact[:-2].rstrip()
    if compact.lower().endswith(" array"):
        array += "[]"
        compact = compact[:-6]
    compact = _TYPMOD.sub("", compact)
    if '"' not in compact:
        compact = compact.lower()
    compact = compact.replace('"', "")
    if compact.startswith("pg_catalog."):
        compact = compact[len("pg_catalog.") :]
    return _ALIASES.get(compact, compact) + array
