"""Functions that exist without any DDL: PostgreSQL built-ins and well-known extensions.

Calls to these are not unresolved references. The list covers what schemas call in
practice; `known_objects` in the configuration adds more.
"""

from __future__ import annotations

from importlib import resources


def _pg_catalog_functions() -> frozenset[str]:
    """Every function name in pg_catalog, read from the list shipped with the package."""
    text = (
        resources.files("analyzer.data")
        .joinpath("pg_catalog_functions.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


# Functions of widely installed extensions, callable unqualified once installed.
EXTENSION_FUNCTIONS = frozenset(
    {
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuid_nil",
        "gen_random_bytes",
        "gen_salt",
        "crypt",
        "digest",
        "hmac",
        "pgp_sym_encrypt",
        "pgp_sym_decrypt",
        "similarity",
        "word_similarity",
        "unaccent",
        "moddatetime",
        "citext",
        "earth_distance",
        "ll_to_earth",
    }
)

BUILTIN_FUNCTIONS = _pg_catalog_functions() | EXTENSION_FUNCTIONS

# Schema-qualified functions every Supabase project has (schema "auth", extensions).
WELL_KNOWN_QUALIFIED = frozenset(
    {
        "auth.uid",
        "auth.role",
        "auth.jwt",
        "auth.email",
        "extensions.uuid_generate_v4",
        "extensions.moddatetime",
        "extensions.gen_random_uuid",
        "extensions.digest",
        "extensions.hmac",
        "extensions.gen_random_bytes",
        "net.http_post",
        "net.http_get",
    }
)

SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})


def is_builtin(parts: tuple[str, ...]) -> bool:
    if len(parts) > 1:
        schema = parts[-2]
        if schema in SYSTEM_SCHEMAS:
            return True
        return ".".join(parts[-2:]) in WELL_KNOWN_QUALIFIED
    return parts[-1] in BUILTIN_FUNCTIONS


# Tables every Supabase project has; triggers on them and writes to them are expected.
WELL_KNOWN_TABLES = frozenset(
    {
        "auth.users",
        "auth.identities",
        "auth.sessions",
        "auth.refresh_tokens",
        "storage.objects",
        "storage.buckets",
    }
)
