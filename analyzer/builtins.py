"""Functions that exist without any DDL: PostgreSQL built-ins and well-known extensions.

Calls to these are not unresolved references. The list covers what schemas call in
practice; `known_objects` in the configuration adds more.
"""

from __future__ import annotations

_BUILTIN_NAMES = """
    abs age array_agg array_append array_cat array_length array_lower array_position
    array_positions array_prepend array_remove array_replace array_to_json array_to_string
    array_upper avg bit_and bit_or bool_and bool_or btrim cardinality cbrt ceil ceiling
    char_length character_length chr clock_timestamp coalesce concat concat_ws convert_from
    convert_to count current_database current_date current_schema current_schemas
    current_setting current_time current_timestamp current_user date_bin date_part date_trunc
    decode digest encode every exists exp extract floor format format_type gen_random_bytes
    gen_random_uuid generate_series generate_subscripts get_byte greatest has_table_privilege
    hmac initcap isfinite json_agg json_array_elements json_array_elements_text
    json_array_length json_build_array json_build_object json_each json_each_text
    json_extract_path json_extract_path_text json_object json_object_agg json_object_keys
    json_populate_record json_populate_recordset json_strip_nulls json_to_record
    json_to_recordset json_typeof jsonb_agg jsonb_array_elements jsonb_array_elements_text
    jsonb_array_length jsonb_build_array jsonb_build_object jsonb_each jsonb_each_text
    jsonb_extract_path jsonb_extract_path_text jsonb_insert jsonb_object jsonb_object_agg
    jsonb_object_keys jsonb_path_exists jsonb_path_query jsonb_populate_record
    jsonb_populate_recordset jsonb_pretty jsonb_set jsonb_set_lax jsonb_strip_nulls
    jsonb_to_record jsonb_to_recordset jsonb_typeof justify_days justify_hours justify_interval
    lag lead least left length ln localtime localtimestamp log lower lpad ltrim make_date
    make_interval make_time make_timestamp make_timestamptz max md5 min mod now nullif
    num_nonnulls num_nulls octet_length overlay pg_advisory_lock pg_advisory_unlock
    pg_advisory_xact_lock pg_backend_pid pg_notify pg_sleep pg_trigger_depth
    pg_try_advisory_lock pg_try_advisory_xact_lock position power quote_ident quote_literal
    quote_nullable random rank regexp_match regexp_matches regexp_replace regexp_split_to_array
    regexp_split_to_table repeat replace reverse right round row row_number row_to_json rpad
    rtrim session_user set_config setseed sign split_part sqrt starts_with statement_timestamp
    stddev string_agg string_to_array strpos substr substring sum timeofday to_char to_date
    to_hex to_json to_jsonb to_number to_regclass to_timestamp to_tsquery to_tsvector
    transaction_timestamp translate trim trunc txid_current unnest upper uuid_generate_v4
    uuid_generate_v1 variance websearch_to_tsquery plainto_tsquery ts_rank setweight
    nextval currval setval lastval pg_column_size pg_size_pretty array_fill width_bucket
    suppress_redundant_updates_trigger tsvector_update_trigger
"""
BUILTIN_FUNCTIONS = frozenset(_BUILTIN_NAMES.split())

# Schema-qualified functions every Supabase project has (schema "auth", extensions).
WELL_KNOWN_QUALIFIED = frozenset(
    {
        "auth.uid",
        "auth.role",
        "auth.jwt",
        "auth.email",
        "extensions.uuid_generate_v4",
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
