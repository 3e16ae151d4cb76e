"""Functions that exist without any DDL: PostgreSQL built-ins and well-known extensions.

Calls to these are not unresolved references. The list covers what schemas call in
practice; `known_objects` in the configuration adds more.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from importlib import resources


def _pg_catalog_names(listing: str) -> frozenset[str]:
    """The names of one kind of pg_catalog object, read from a list shipped with the
    package."""
    text = resources.files("analyzer.data").joinpath(listing).read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


# The system catalogs and views (pg_class, pg_roles, pg_stat_activity, …): an unqualified
# name resolves to them before the search_path, unless the path places pg_catalog itself.
PG_CATALOG_RELATIONS = _pg_catalog_names("pg_catalog_relations.txt")


def relation_search_order(search_path: Iterable[str], *, session: bool = True) -> list[str]:
    """The schemas an unqualified relation name is looked up in, in order: pg_temp (the
    session's temporary tables), then pg_catalog, each first unless the path lists it.
    `session=False` for code that runs later, in another session: the temporary tables
    a migration made are gone by then, unless the path names pg_temp."""
    path = [s for s in search_path if s and s != "$user"]
    implicit = ("pg_temp", "pg_catalog") if session else ("pg_catalog",)
    return [s for s in implicit if s not in path] + path


def system_relation(schema: str, name: str) -> bool:
    return schema == "pg_catalog" and name in PG_CATALOG_RELATIONS


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

BUILTIN_FUNCTIONS = _pg_catalog_names("pg_catalog_functions.txt") | EXTENSION_FUNCTIONS

# SQL syntax that reads like a call: the row constructor, quantified comparisons
# (`x <> ALL (array)`, `= SOME (…)`) and the SQL/JSON constructors. Never a function.
# pg_catalog functions that return a set of rows (pg_proc.proretset): a view calling one
# in its select list is not automatically updatable, and a query calling one yields any
# number of rows.
SET_RETURNING_FUNCTIONS = frozenset(
    {
        "unnest",
        "generate_series",
        "generate_subscripts",
        "json_array_elements",
        "json_array_elements_text",
        "jsonb_array_elements",
        "jsonb_array_elements_text",
        "json_each",
        "json_each_text",
        "jsonb_each",
        "jsonb_each_text",
        "json_object_keys",
        "jsonb_object_keys",
        "json_populate_recordset",
        "jsonb_populate_recordset",
        "json_to_recordset",
        "jsonb_to_recordset",
        "jsonb_path_query",
        "jsonb_path_query_tz",
        "regexp_matches",
        "regexp_split_to_table",
        "string_to_table",
        "ts_stat",
        "ts_debug",
        "ts_parse",
        "ts_token_type",
        "aclexplode",
        "txid_snapshot_xip",
        "pg_snapshot_xip",
    }
)


SQL_SYNTAX_CALLS = frozenset(
    {"row", "any", "some", "all", "json_array", "json_object", "json_arrayagg"}
    | {"json_objectagg", "json_exists", "json_query", "json_value", "json_scalar"}
    | {"json_serialize", "json_table"}
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Functions of extensions that only compute values: they read their arguments (at most
# the catalog or statistics) and write no table of the schema. A call to one is known
# ground once the input creates the extension. Extensions whose functions may run SQL or
# write (dblink, pg_cron, postgres_fdw…) are deliberately not listed.
EXTENSION_FUNCTION_NAMES: dict[str, frozenset[str]] = {
    "hstore": _words(
        "hstore akeys avals skeys svals each exist exists_any exists_all defined delete"
        " fetchval hstore_to_array hstore_to_matrix hstore_to_json hstore_to_json_loose"
        " hstore_to_jsonb hstore_to_jsonb_loose slice slice_array populate_record isexists"
        " isdefined tconvert hs_concat hs_contains hs_contained"
    ),
    "pgcrypto": _words(
        "digest hmac crypt gen_salt encrypt decrypt encrypt_iv decrypt_iv gen_random_bytes"
        " gen_random_uuid pgp_sym_encrypt pgp_sym_encrypt_bytea pgp_sym_decrypt"
        " pgp_sym_decrypt_bytea pgp_pub_encrypt pgp_pub_encrypt_bytea pgp_pub_decrypt"
        " pgp_pub_decrypt_bytea pgp_key_id armor dearmor pgp_armor_headers"
    ),
    "uuid-ossp": _words(
        "uuid_generate_v1 uuid_generate_v1mc uuid_generate_v3 uuid_generate_v4"
        " uuid_generate_v5 uuid_nil uuid_ns_dns uuid_ns_url uuid_ns_oid uuid_ns_x500"
    ),
    "pg_trgm": _words(
        "similarity show_trgm word_similarity strict_word_similarity similarity_dist"
        " word_similarity_dist_op strict_word_similarity_dist_op show_limit set_limit"
    ),
    "citext": _words("citext"),
    "unaccent": _words("unaccent"),
    "fuzzystrmatch": _words(
        "soundex difference levenshtein levenshtein_less_equal metaphone dmetaphone"
        " dmetaphone_alt daitch_mokotoff"
    ),
    "ltree": _words(
        "ltree subltree subpath nlevel index text2ltree ltree2text lca lquery ltxtquery"
    ),
    "intarray": _words("icount sort sort_asc sort_desc uniq idx subarray intset"),
    "cube": _words(
        "cube cube_dim cube_ll_coord cube_ur_coord cube_distance cube_union cube_inter"
        " cube_size cube_subset cube_enlarge cube_is_point cube_contains cube_contained"
    ),
    "earthdistance": _words(
        "earth ll_to_earth earth_distance earth_box latitude longitude gc_to_sec sec_to_gc"
    ),
    "tablefunc": _words("crosstab normal_rand connectby"),
    "pgjwt": _words("sign verify url_encode url_decode algorithm_sign try_cast_double"),
    "vector": _words(
        "vector vector_dims l2_distance cosine_distance inner_product l1_distance vector_norm"
        " l2_normalize binary_quantize subvector hamming_distance jaccard_distance halfvec"
        " sparsevec"
    ),
    "postgis": _words("geometry geography box2d box3d geometrytype postgis_full_version"),
}
# PostGIS has hundreds of ST_ functions; every one computes a value. (AddGeometryColumn,
# Populate_Geometry_Columns and PostGIS_Extensions_Upgrade alter tables or extensions:
# no ST_ prefix, so they stay unresolved.)
EXTENSION_FUNCTION_PREFIXES: dict[str, tuple[str, ...]] = {
    "postgis": ("st_",),
}


_EXTENSION_BY_FUNCTION = {
    name: extension for extension, names in EXTENSION_FUNCTION_NAMES.items() for name in names
}


def extension_of(name: str) -> str | None:
    """The known extension that provides the function `name` (unqualified), if any."""
    if name in _EXTENSION_BY_FUNCTION:
        return _EXTENSION_BY_FUNCTION[name]
    for extension, prefixes in EXTENSION_FUNCTION_PREFIXES.items():
        if name.startswith(prefixes):
            return extension
    return None


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
        # pg_cron: rows in cron.job, no change to the schema's own tables.
        "cron.schedule",
        "cron.schedule_in_database",
        "cron.unschedule",
        # Database webhooks: queue an HTTP request through pg_net, no write to the schema.
        "supabase_functions.http_request",
    }
)

SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})


def is_builtin(parts: tuple[str, ...], extensions: Collection[str] = ()) -> bool:
    """A function that exists without DDL in the input: PostgreSQL's own, a well-known
    one, or one of an extension in `extensions` (those the input creates), in any schema."""
    if extensions and extension_of(parts[-1]) in extensions:
        return True
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
