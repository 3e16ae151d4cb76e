"""Synthesize the rows one entry needs on a real server, and the statement to measure.

`verify --table T --op OP` must run exactly the write the trace describes, on rows the
schema accepts. The workload reads the table's shape from the server it runs on (column
types and defaults, NOT NULL, keys, foreign keys, CHECK lists and bounds, enum labels,
domains), so what it writes satisfies the constraints PostgreSQL will check. It then
creates, in the open transaction and before anything is measured:

- the parent rows every foreign key needs, recursively;
- for update, delete and upsert conflict, the row itself (or the one a trigger already
  made, e.g. a profile created for a new user);
- `children` child rows per table that an ON DELETE / ON UPDATE action reaches, again
  recursively, so that FK cascades have something to cascade to.

Values are literals the server casts from text (`'…'::type`), so the setup and the
measured statement read like SQL a client would send, and repeat byte for byte. Every
generated value is fresh (a counter), so unique keys hold.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analyzer.catalog import unknown_column

if TYPE_CHECKING:
    import psycopg

OPERATIONS = ("insert", "update", "delete", "upsert")
# pg_constraint.confdeltype / confupdtype codes of the actions that write child rows.
_FK_ACTIONS = {"c": "cascade", "n": "set null", "d": "set default"}
_SIMPLE_IDENT = re.compile(r"[a-z_][a-z0-9_$]*")
_LENGTH = re.compile(r"\((\d+)\)$")
_PRECISION = re.compile(r"^numeric\((\d+),(\d+)\)$")
_ANY_LIST = re.compile(
    r"\(*\"?(\w+|VALUE)\"?\)*(?:::[\w ]+)?\s*=\s*ANY\s*\(+ARRAY\[(.*?)\]", re.I | re.S
)
_IN_LIST = re.compile(r"\"?(\w+)\"?\s+IN\s*\((.*?)\)", re.I | re.S)
_BOUND = re.compile(
    r"\(*\"?(\w+)\"?\)*(?:::[\w ]+)?\s*(>=|<=|>|<)\s*\(*'?(-?\d+)(?:\.\d+)?'?", re.I
)
_LIST_ITEM = re.compile(r"'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)")
_INTEGER_LIMITS = {"int2": 2**15 - 1, "int4": 2**31 - 1, "int8": 2**63 - 1}


class WorkloadError(Exception):
    """The workload cannot be built or set up on this schema."""


@dataclass(frozen=True)
class EntrySpec:
    """What to measure: one write to one table, in one scenario."""

    table: str  # schema-qualified, as the catalog names it
    operation: str  # insert | update | delete | upsert
    new_row: bool = False  # upsert: the row does not exist yet
    unchanged: bool = False  # update / upsert conflict writes the stored values
    columns: tuple[str, ...] | None = None  # SET columns; default: every non-key column
    children: int = 1  # rows per FK-action child table, per parent row


@dataclass(frozen=True)
class Workload:
    setup: tuple[str, ...]  # run before the measurement, in order
    sql: str  # the one statement measured
    set_columns: tuple[str, ...] | None  # the SET list of an update or upsert
    notes: tuple[str, ...] = ()
    # Child tables of FK actions whose rows per parent, after the setup, are not the
    # number asked for (triggers made them), with that number where it is one number.
    children_in: tuple[tuple[str, int], ...] = ()


# ----------------------------------------------------------------------- table shapes


@dataclass(frozen=True)
class ColumnShape:
    name: str
    type: str  # format_type(): usable in a cast
    base: str  # the type under a domain, without modifiers (typname)
    category: str  # pg_type.typcategory of the base type
    not_null: bool
    has_default: bool
    identity: str = ""  # "" | "a" (ALWAYS) | "d" (BY DEFAULT)
    generated: bool = False
    length: int | None = None  # character(n) / character varying(n)
    maximum: int | None = None
    minimum: int | None = None
    allowed: tuple[str, ...] = ()  # from CHECK (col IN (…)) / col = ANY (ARRAY[…]) or enum
    element: ColumnShape | None = None  # of an array

    @property
    def writable(self) -> bool:
        return not self.generated and self.identity != "a"

    @property
    def defaulted(self) -> bool:
        return self.has_default or bool(self.identity) or self.generated


@dataclass(frozen=True)
class ForeignKeyShape:
    name: str
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_update: str  # pg_constraint codes: a r c n d
    on_delete: str


@dataclass(frozen=True)
class TableShape:
    name: str
    relkind: str
    columns: tuple[ColumnShape, ...]
    primary_key: tuple[str, ...]
    unique_keys: tuple[tuple[str, ...], ...]  # primary key first
    foreign_keys: tuple[ForeignKeyShape, ...]  # outgoing
    referenced_by: tuple[ForeignKeyShape, ...]  # incoming
    has_insert_triggers: bool = False
    checks: tuple[str, ...] = ()  # CHECK constraints, as pg_get_constraintdef prints them

    def column(self, name: str) -> ColumnShape:
        for column in self.columns:
            if column.name == name:
                return column
        raise WorkloadError(
            unknown_column(self.name, [name], [c.name for c in self.columns]) or name
        )

    @property
    def row_key(self) -> tuple[str, ...]:
        """Columns that find one row: the primary key, or a unique key of NOT NULL columns."""
        if self.primary_key:
            return self.primary_key
        for key in self.unique_keys:
            if all(self.column(c).not_null for c in key):
                return key
        return ()

    def default_set_columns(self) -> tuple[str, ...]:
        """Every column an UPDATE can set, except the primary key."""
        return tuple(c.name for c in self.columns if c.writable and c.name not in self.primary_key)


_COLUMNS_QUERY = """
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull OR t.typnotnull, a.atthasdef, a.attidentity, a.attgenerated <> '',
       b.typname, b.typcategory,
       (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder)
          FROM pg_enum AS e WHERE e.enumtypid = b.oid),
       el.typname, el.typcategory,
       ARRAY(SELECT pg_get_constraintdef(d.oid) FROM pg_constraint AS d
              WHERE d.contypid = t.oid AND d.contype = 'c' ORDER BY d.conname)
FROM pg_attribute AS a
JOIN pg_type AS t ON t.oid = a.atttypid
JOIN pg_type AS b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type AS el ON el.oid = b.typelem AND b.typcategory = 'A'
WHERE a.attrelid = %(rel)s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_FOREIGN_KEYS_QUERY = """
SELECT con.conname, cn.nspname || '.' || cc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(n, i)
             JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.n
             ORDER BY k.i),
       rn.nspname || '.' || rc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(n, i)
             JOIN pg_attribute AS a ON a.attrelid = con.confrelid AND a.attnum = k.n
             ORDER BY k.i),
       con.confupdtype, con.confdeltype
FROM pg_constraint AS con
JOIN pg_class AS cc ON cc.oid = con.conrelid
JOIN pg_namespace AS cn ON cn.oid = cc.relnamespace
JOIN pg_class AS rc ON rc.oid = con.confrelid
JOIN pg_namespace AS rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0
  AND (con.conrelid = %(rel)s OR con.confrelid = %(rel)s)
ORDER BY 2, 1
"""

_UNIQUE_QUERY = """
SELECT i.indisprimary, i.indkey::text, i.indnkeyatts
FROM pg_index AS i
WHERE i.indrelid = %(rel)s AND i.indisunique AND i.indpred IS NULL
ORDER BY NOT i.indisprimary, i.indexrelid
"""

_CHECKS_QUERY = """
SELECT pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = %(rel)s AND contype = 'c' ORDER BY conname
"""

_INSERT_TRIGGERS_QUERY = """
SELECT EXISTS (SELECT 1 FROM pg_trigger
               WHERE tgrelid = %(rel)s AND NOT tgisinternal AND tgtype & 4 <> 0)
"""


def _split_name(name: str) -> tuple[str, str]:
    schema, _, relation = name.partition(".")
    return (schema, relation) if relation else ("public", schema)


def _check_facts(
    definitions: Iterable[str],
) -> tuple[dict[str, tuple[str, ...]], dict[str, int], dict[str, int]]:
    """Allowed value lists and integer bounds per column, from CHECK definitions.

    Reads the forms PostgreSQL prints (`(col = ANY (ARRAY['a'::text, …]))`, `(col > 0)`)
    and the IN form; anything else is left to the server to enforce.
    """
    allowed: dict[str, tuple[str, ...]] = {}
    minimum: dict[str, int] = {}
    maximum: dict[str, int] = {}
    for definition in definitions:
        if re.search(r"\bOR\b", definition, re.I):
            continue
        for pattern in (_ANY_LIST, _IN_LIST):
            for match in pattern.finditer(definition):
                items = tuple(
                    quoted.replace("''", "'") if quoted or not number else number
                    for quoted, number in _LIST_ITEM.findall(match.group(2))
                )
                if items:
                    allowed[match.group(1)] = items
        for column, operator, number in _BOUND.findall(definition):
            value = int(number)
            if operator in (">", ">="):
                low = value + 1 if operator == ">" else value
                minimum[column] = max(minimum.get(column, low), low)
            else:
                high = value - 1 if operator == "<" else value
                maximum[column] = min(maximum.get(column, high), high)
    return allowed, minimum, maximum


def _column_shape(row: Sequence[Any], checks: Sequence[str]) -> ColumnShape:
    (_, name, type_, not_null, has_default, identity, generated, base, category, labels) = row[:10]
    element_base, element_category, domain_checks = row[10:13]
    allowed, minimum, maximum = _check_facts(checks)
    own_allowed, own_min, own_max = _check_facts(
        d.replace("VALUE", f'"{name}"') for d in domain_checks
    )
    allowed.update(own_allowed)
    minimum.update(own_min)
    maximum.update(own_max)
    length = _LENGTH.search(type_) if category == "S" else None
    element = None
    if element_base:
        element = ColumnShape(
            name, element_base, element_base, element_category, not_null=True, has_default=False
        )
    return ColumnShape(
        name=name,
        type=type_,
        base=base,
        category=category,
        not_null=bool(not_null),
        has_default=bool(has_default),
        identity=identity or "",
        generated=bool(generated),
        length=int(length.group(1)) if length else None,
        minimum=minimum.get(name),
        maximum=maximum.get(name),
        allowed=allowed.get(name) or tuple(labels or ()),
        element=element,
    )


def read_shape(conn: psycopg.Connection[tuple[Any, ...]], table: str) -> TableShape:
    """The shape of one table as the server has it."""
    schema, relation = _split_name(table)
    found = conn.execute(
        "SELECT c.oid, c.relkind FROM pg_class AS c JOIN pg_namespace AS n"
        " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        [schema, relation],
    ).fetchone()
    if found is None:
        raise WorkloadError(f"table {table} does not exist on the server")
    oid, relkind = found
    params = {"rel": oid}
    checks = [row[0] for row in conn.execute(_CHECKS_QUERY, params).fetchall()]
    column_rows = conn.execute(_COLUMNS_QUERY, params).fetchall()
    columns = tuple(_column_shape(row, checks) for row in column_rows)
    by_number = {int(row[0]): row[1] for row in column_rows}
    unique: list[tuple[str, ...]] = []
    primary: tuple[str, ...] = ()
    for is_primary, key_text, key_count in conn.execute(_UNIQUE_QUERY, params).fetchall():
        numbers = [int(n) for n in key_text.split()][: int(key_count)]
        if 0 in numbers:  # an expression index
            continue
        key = tuple(by_number[n] for n in numbers)
        unique.append(key)
        if is_primary:
            primary = key
    outgoing: list[ForeignKeyShape] = []
    incoming: list[ForeignKeyShape] = []
    for name, child, child_columns, parent, parent_columns, on_update, on_delete in conn.execute(
        _FOREIGN_KEYS_QUERY, params
    ).fetchall():
        fk = ForeignKeyShape(
            name, child, tuple(child_columns), parent, tuple(parent_columns), on_update, on_delete
        )
        if child == f"{schema}.{relation}":
            outgoing.append(fk)
        if parent == f"{schema}.{relation}":
            incoming.append(fk)
    insert_triggers = conn.execute(_INSERT_TRIGGERS_QUERY, params).fetchone()
    return TableShape(
        name=f"{schema}.{relation}",
        relkind=relkind,
        columns=columns,
        primary_key=primary,
        unique_keys=tuple(unique),
        foreign_keys=tuple(outgoing),
        referenced_by=tuple(incoming),
        has_insert_triggers=bool(insert_triggers and insert_triggers[0]),
        checks=tuple(checks),
    )


# ---------------------------------------------------------------------------- values


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if number == 0:
            return text


def _integer(column: ColumnShape, number: int) -> int:
    """Value `number` (from 1) of the integers the column's type and CHECK bounds allow."""
    high: int | None = _INTEGER_LIMITS.get(column.base)
    precision = _PRECISION.match(column.type)
    if precision:
        high = 10 ** (int(precision.group(1)) - int(precision.group(2))) - 1
    if column.maximum is not None:
        high = column.maximum if high is None else min(high, column.maximum)
    low = column.minimum if column.minimum is not None else 1
    if high is None:
        return low + number - 1
    if high < low:
        raise WorkloadError(f"column {column.name}: no integer satisfies its CHECK bounds")
    return low + (number - 1) % (high - low + 1)


def value_text(column: ColumnShape, number: int) -> str:
    """The text of a fresh value for `column`: value `number` of a sequence that does not
    repeat (within what the type and the CHECK constraints allow)."""
    if column.allowed:
        return column.allowed[(number - 1) % len(column.allowed)]
    category, base = column.category, column.base
    if category == "B":
        return "true" if number % 2 else "false"
    if category == "N":
        return str(_integer(column, number))
    if category == "S":
        text = f"{column.name}-{number}"
        if column.length is not None and len(text) > column.length:
            text = _base36(number).rjust(column.length, "0")[-column.length :]
        return text
    start = datetime.datetime(2024, 1, 1)
    if base == "date":
        return (start.date() + datetime.timedelta(days=number)).isoformat()
    if base in ("timestamp", "timestamptz"):
        moment = (start + datetime.timedelta(minutes=number)).isoformat(sep=" ")
        return moment + ("+00" if base == "timestamptz" else "")
    if base in ("time", "timetz"):
        return f"{number // 60 % 24:02d}:{number % 60:02d}:00" + ("+00" if base == "timetz" else "")
    if category == "T":
        return f"{number} minutes"
    if base == "inet":
        return f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
    if base == "cidr":
        return f"10.{number >> 8 & 255}.{number & 255}.0/24"
    if base == "uuid":
        # The first group varies too (an odd multiplier is a bijection mod 2**32): triggers
        # derive names from a uuid's first characters (`substr(id::text, 1, 8)`).
        return f"{number * 2654435761 % 2**32:08x}-0000-4000-8000-{number:012x}"
    if base in ("json", "jsonb"):
        return f'{{"n": {number}}}'
    if base == "bytea":
        return f"\\x{number:08x}"
    if base == "xml":
        return f"<n>{number}</n>"
    if base == "tsvector":
        return f"n{number}"
    if base in ("macaddr", "macaddr8"):
        octets = [0x08, 0x00, 0x2B, number >> 16 & 255, number >> 8 & 255, number & 255]
        if base == "macaddr8":
            octets[3:3] = [0xFF, 0xFE]
        return ":".join(f"{octet:02x}" for octet in octets)
    if base == "point":
        return f"({number},{number})"
    if category == "A" and column.element is not None:
        element = value_text(column.element, number)
        return '{"' + element.replace("\\", "\\\\").replace('"', '\\"') + '"}'
    raise WorkloadError(
        f"cannot make up a value of type {column.type} for column {column.name}; "
        "write the workload yourself (--workload FILE)"
    )


def quote_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------------- builder


_CHECK_VIOLATION = "23514"


@dataclass
class _Stored:
    """A row as the server stores it: every column as text (None for NULL)."""

    table: str
    values: dict[str, str | None]
    where: str  # finds this row again


class ServerSchema:
    """What the workload reads from the server's catalogs, read once per table.

    Share one across workloads on databases that hold the same, unchanging schema.
    """

    def __init__(self) -> None:
        self.shapes: dict[str, TableShape] = {}
        self.reserved: frozenset[str] | None = None

    def shape(self, conn: psycopg.Connection[tuple[Any, ...]], table: str) -> TableShape:
        if table not in self.shapes:
            self.shapes[table] = read_shape(conn, table)
        return self.shapes[table]

    def reserved_words(self, conn: psycopg.Connection[tuple[Any, ...]]) -> frozenset[str]:
        """Keywords that an identifier must be quoted to use."""
        if self.reserved is None:
            rows = conn.execute(
                "SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')"
            ).fetchall()
            self.reserved = frozenset(row[0] for row in rows)
        return self.reserved


@dataclass
class _Builder:
    conn: psycopg.Connection[tuple[Any, ...]]
    children: int
    schema: ServerSchema
    setup: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    reserved: frozenset[str] = frozenset()
    families: list[tuple[ForeignKeyShape, dict[str, str | None]]] = field(default_factory=list)
    # The stored rows whose FK children are being made, by table: a child with a second
    # key into one of them (comments -> posts -> users and comments -> users, a diamond)
    # references that same row, as in real data.
    anchors: dict[str, _Stored] = field(default_factory=dict)
    inserted: set[tuple[str, str]] = field(default_factory=set)  # (table, where) of our rows

    def __post_init__(self) -> None:
        self.reserved = self.schema.reserved_words(self.conn)

    # ---- naming and literals

    def ident(self, name: str) -> str:
        if _SIMPLE_IDENT.fullmatch(name) and name not in self.reserved:
            return name
        return '"' + name.replace('"', '""') + '"'

    def relation(self, table: str) -> str:
        return ".".join(self.ident(part) for part in _split_name(table))

    def literal(self, column: ColumnShape, text: str | None) -> str:
        return "NULL" if text is None else f"{quote_text(text)}::{column.type}"

    def shape(self, table: str) -> TableShape:
        return self.schema.shape(self.conn, table)

    def fresh(self, column: ColumnShape) -> str:
        return value_text(column, next(self.counter))

    # ---- running setup

    def run(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        self.setup.append(sql)
        try:
            cursor = self.conn.execute(sql)
        except psycopg.Error as error:
            raise WorkloadError(
                f"the server rejected the workload's setup: {error.diag.message_primary or error}"
                f"\n  {sql}"
            ) from error
        return cursor.fetchall() if cursor.description else []

    def rejection(self, sql: str) -> tuple[str, str] | None:
        """(SQLSTATE, message) if the server rejects `sql`, tried in a savepoint and rolled
        back either way; None if it runs. Not recorded as setup."""
        import psycopg

        self.conn.execute("SAVEPOINT sqlripple_try")
        try:
            self.conn.execute(sql)
        except psycopg.Error as error:
            return error.sqlstate or "", error.diag.message_primary or str(error)
        finally:
            self.conn.execute("ROLLBACK TO SAVEPOINT sqlripple_try")
            self.conn.execute("RELEASE SAVEPOINT sqlripple_try")
        return None

    def satisfying(self, shape: TableShape, values: dict[str, str | None]) -> dict[str, str | None]:
        """`values`, or, when a CHECK constraint rejects them, the same row with a fresh
        value in every nullable column left out (a CHECK such as `(a AND b IS NULL) OR
        (NOT a AND b IS NOT NULL)` wants one); refused with a clear error otherwise.

        Only a table with CHECK constraints has its row tried first (a try may advance a
        sequence, which the notes report)."""
        if not shape.checks:
            return values
        problem = self.rejection(self.insert_sql(shape, values))
        if problem is None or problem[0] != _CHECK_VIOLATION:
            return values
        filled = dict(values)
        for column in shape.columns:
            if column.name not in filled and column.writable and not column.defaulted:
                filled[column.name] = self.fresh(column)
        if filled != values:
            retried = self.rejection(self.insert_sql(shape, filled))
            if retried is None or retried[0] != _CHECK_VIOLATION:
                return filled
            problem = retried
        raise WorkloadError(
            f"cannot make up a row of {shape.name} that its CHECK constraints accept "
            f"({problem[1]}); use --workload FILE"
        )

    def condition(self, shape: TableShape, values: Mapping[str, str | None]) -> str:
        return " AND ".join(
            f"{self.ident(c)} = {self.literal(shape.column(c), values[c])}" for c in values
        )

    def select(self, shape: TableShape, where: str) -> list[_Stored]:
        """The rows of `shape` matching `where`, read back as text (not recorded as setup)."""
        key = shape.row_key
        listed = ", ".join(f"{self.ident(c.name)}::text" for c in shape.columns)
        rows = self.conn.execute(
            f"SELECT ctid::text, {listed} FROM {self.relation(shape.name)} WHERE {where}"
            " ORDER BY ctid"
        ).fetchall()
        stored = []
        for ctid, *texts in rows:
            values = {c.name: text for c, text in zip(shape.columns, texts, strict=True)}
            if key and all(values[c] is not None for c in key):
                locator = self.condition(shape, {c: values[c] for c in key})
            else:
                locator = f"ctid = {quote_text(ctid)}::tid"
            stored.append(_Stored(shape.name, values, locator))
        return stored

    # ---- rows

    def plan_row(
        self, table: str, fixed: Mapping[str, str | None], path: tuple[str, ...]
    ) -> dict[str, str | None]:
        """Values for a new row: `fixed`, foreign keys pointing at parents that exist
        (created as needed), and a fresh value for every NOT NULL column without default."""
        shape = self.shape(table)
        values: dict[str, str | None] = dict(fixed)
        parents: list[_Stored] = []
        for fk in shape.foreign_keys:
            known = {
                rc: values[c]
                for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
                if c in values
            }
            if len(known) == len(fk.columns):
                if None not in known.values():
                    parents.append(self.parent(fk, known, (*path, table)))
                continue
            if fk.ref_table in (*path, table):
                required = any(shape.column(c).not_null for c in fk.columns if c not in values)
                anchor = self.anchors.get(fk.ref_table)
                # Not for a second key into the table of a key already set (a transfer's
                # receiver next to its sender): that row would reference one parent twice.
                twice = any(
                    other is not fk
                    and other.ref_table == fk.ref_table
                    and all(c in values for c in other.columns)
                    for other in shape.foreign_keys
                )
                if required and anchor is not None and not known and not twice:
                    parents.append(anchor)
                    for name, ref_name in zip(fk.columns, fk.ref_columns, strict=True):
                        values[name] = anchor.values[ref_name]
                    continue
                if required and anchor is not None and twice:
                    raise WorkloadError(
                        f"cannot make up a row of {table}: its NOT NULL foreign key "
                        f"{fk.name} needs a second row of {fk.ref_table} besides the one its "
                        "other key references; use --workload FILE"
                    )
                if required:
                    chain = " -> ".join(dict.fromkeys((*path, table)))
                    raise WorkloadError(
                        f"cannot make up a row of {table}: its NOT NULL foreign key "
                        f"{fk.name} needs a row of {fk.ref_table}, which the setup is "
                        f"making up on the way here ({chain}); use --workload FILE"
                    )
                continue
            parent = self.insert_row(fk.ref_table, known, (*path, table))
            parents.append(parent)
            for name, ref_name in zip(fk.columns, fk.ref_columns, strict=True):
                values[name] = parent.values[ref_name]
        keyed = {c for key in shape.unique_keys for c in key}
        for column in shape.columns:
            if column.name not in values and column.not_null and not column.defaulted:
                copied = (
                    self.copied_from_parent(column, parents) if column.name not in keyed else None
                )
                values[column.name] = copied if copied is not None else self.fresh(column)
        return values

    def copied_from_parent(self, column: ColumnShape, parents: Sequence[_Stored]) -> str | None:
        """A denormalised reference (`chat_messages.user_id` next to `session_id`) takes
        the value the parent row's foreign key column of the same name and type has, as
        real data would: triggers that use it then find the rows they look for."""
        for parent in parents:
            shape = self.shape(parent.table)
            references = {c for fk in shape.foreign_keys for c in fk.columns}
            own = next((c for c in shape.columns if c.name == column.name), None)
            if own is not None and own.type == column.type and own.name in references:
                return parent.values[column.name]
        return None

    def parent(
        self, fk: ForeignKeyShape, values: dict[str, str | None], path: tuple[str, ...]
    ) -> _Stored:
        """The row `fk` points at with `values`: the stored one, or a new one."""
        shape = self.shape(fk.ref_table)
        found = self.select(shape, self.condition(shape, values))
        return found[0] if found else self.insert_row(fk.ref_table, values, path)

    def existing(self, shape: TableShape, values: Mapping[str, str | None]) -> list[_Stored]:
        """Rows that a new row with `values` would collide with on a unique key."""
        found: list[_Stored] = []
        for key in shape.unique_keys:
            if all(values.get(c) is not None for c in key):
                for row in self.select(shape, self.condition(shape, {c: values[c] for c in key})):
                    if row.where not in {f.where for f in found}:
                        found.append(row)
        return found

    def insert_sql(self, shape: TableShape, values: Mapping[str, str | None]) -> str:
        columns = [c for c in shape.columns if c.name in values]
        if not columns:
            return f"INSERT INTO {self.relation(shape.name)} DEFAULT VALUES"
        overriding = " OVERRIDING SYSTEM VALUE" if any(c.identity == "a" for c in columns) else ""
        return (
            f"INSERT INTO {self.relation(shape.name)}"
            f" ({', '.join(self.ident(c.name) for c in columns)}){overriding}"
            f" VALUES ({', '.join(self.literal(c, values[c.name]) for c in columns)})"
        )

    def insert_row(
        self,
        table: str,
        fixed: Mapping[str, str | None],
        path: tuple[str, ...],
        *,
        companions: bool = True,
    ) -> _Stored:
        """A stored row with `fixed` values: an existing one when a trigger already made
        it (a unique key matches), else a new one, with its companion rows."""
        shape = self.shape(table)
        values = self.plan_row(table, fixed, path)
        existing = self.existing(shape, values)
        if existing:
            return existing[0]
        values = self.satisfying(shape, values)
        key = shape.row_key
        returning = ", ".join(f"{self.ident(c)}::text" for c in key) if key else "ctid::text"
        rows = self.run(f"{self.insert_sql(shape, values)} RETURNING {returning}")
        if not rows:
            raise WorkloadError(
                f"a BEFORE INSERT trigger on {table} skipped the row the workload needs; "
                "use --workload FILE"
            )
        if key:
            where = self.condition(shape, dict(zip(key, rows[0], strict=True)))
        else:
            where = f"ctid = {quote_text(rows[0][0])}::tid"
        stored = self.select(shape, where)
        if not stored:
            raise WorkloadError(f"the row just inserted into {table} is gone (a trigger?)")
        self.inserted.add((table, stored[0].where))
        if companions:
            self.add_companions(stored[0], (*path, table))
        return stored[0]

    def add_companions(self, row: _Stored, path: tuple[str, ...]) -> None:
        """Rows that exist one to one with `row` (a table whose foreign key to it is also
        a unique key: `wallets.account_id UNIQUE REFERENCES accounts`), as in real data,
        where the application creates them together: triggers that update "the
        account's wallet" then find it."""
        for fk in self.shape(row.table).referenced_by:
            child = self.shape(fk.table)
            if fk.table in path or not any(
                set(key) <= set(fk.columns) for key in child.unique_keys
            ):
                continue
            reference = {
                c: row.values[rc] for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
            }
            if None in reference.values() or self.select(child, self.condition(child, reference)):
                continue
            self.insert_row(fk.table, reference, path)

    def clear_blockers(self, row: _Stored, path: tuple[str, ...]) -> None:
        """Before `row` is deleted: remove the rows whose NO ACTION / RESTRICT foreign
        keys would stop the delete (as the application would have to), and do the same
        for the rows an ON DELETE CASCADE will delete with it."""
        for fk in self.shape(row.table).referenced_by:
            if fk.table in path and fk.table != row.table:
                continue
            child = self.shape(fk.table)
            reference = {
                c: row.values[rc] for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
            }
            if None in reference.values():
                continue
            for referencing in self.select(child, self.condition(child, reference)):
                if referencing.where == row.where and fk.table == row.table:
                    continue
                if fk.on_delete in ("a", "r"):
                    self.clear_blockers(referencing, (*path, fk.table))
                    self.run(f"DELETE FROM {self.relation(fk.table)} WHERE {referencing.where}")
                elif fk.on_delete == "c":
                    self.clear_blockers(referencing, (*path, fk.table))

    def children_of(
        self, row: _Stored, event: str, changed: frozenset[str], path: tuple[str, ...]
    ) -> None:
        """`children` rows in every table an FK action reaches from `row`, recursively,
        until the chain comes back to a table it went through before `row`'s: from there
        on a tree is as deep as the data, and the trace counts it 0..∞ (a self-referencing
        key gets one level of children)."""
        shape = self.shape(row.table)
        keys = sorted(
            shape.referenced_by,
            key=lambda fk: (not self.shape(fk.table).has_insert_triggers, fk.table, fk.name),
        )
        outer = self.anchors.get(row.table)
        self.anchors[row.table] = row
        try:
            self._children_by_keys(row, event, changed, path, keys)
        finally:
            if outer is None:
                del self.anchors[row.table]
            else:
                self.anchors[row.table] = outer

    def _children_by_keys(
        self,
        row: _Stored,
        event: str,
        changed: frozenset[str],
        path: tuple[str, ...],
        keys: Sequence[ForeignKeyShape],
    ) -> None:
        for fk in keys:
            action = fk.on_delete if event == "delete" else fk.on_update
            if action not in _FK_ACTIONS or fk.table in path[:-1]:
                continue
            if event == "update" and not changed & set(fk.ref_columns):
                continue
            reference = {
                c: row.values[rc] for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
            }
            if None in reference.values():
                continue
            child_shape = self.shape(fk.table)
            where = self.condition(child_shape, reference)
            rows = self.select(child_shape, where)
            made = dict(reference)
            if fk.table == row.table:
                # A reply belongs where what it answers belongs (the same post, the same
                # account): its other references are its parent's, not new parents.
                keyed = {c for key in child_shape.unique_keys for c in key}
                made.update(
                    (c, row.values[c])
                    for other in child_shape.foreign_keys
                    if other is not fk
                    for c in other.columns
                    if c not in keyed and c not in made and row.values.get(c) is not None
                )
            while len(rows) < self.children:
                new = self.insert_row(fk.table, made, (*path, fk.table))
                if new.where in {r.where for r in rows}:
                    self.notes.append(
                        f"{fk.table} holds at most {len(rows)} row(s) per {row.table} row"
                    )
                    break
                rows.append(new)
            self.families.append((fk, reference))
            child_event = "delete" if event == "delete" and action == "c" else "update"
            for child in rows:
                self.children_of(child, child_event, frozenset(fk.columns), (*path, fk.table))

    def check_families(self) -> tuple[tuple[str, int], ...]:
        """Triggers may add child rows after they were counted; say so when they did, and
        give each such child table's rows per parent, where that is one number."""
        counts: dict[str, set[int]] = {}
        for fk, reference in self.families:
            shape = self.shape(fk.table)
            found = self.select(shape, self.condition(shape, reference))
            count = len(found)
            counts.setdefault(fk.table, set()).add(count)
            # A self-reference's children made under the same parent row count here too.
            made_here = all((fk.table, row.where) in self.inserted for row in found)
            if count != self.children and not made_here:
                self.notes.append(
                    f"{count} row(s) of {fk.table} reference the {fk.ref_table} row "
                    f"({', '.join(fk.columns)}), not {self.children}: triggers made them"
                )
        return tuple(
            (table, next(iter(found)))
            for table, found in sorted(counts.items())
            if len(found) == 1 and self.children not in found
        )

    # ---- the measured statement

    def changed_value(self, row: _Stored, column: ColumnShape) -> str | None:
        stored = row.values[column.name]
        choices = column.allowed or (("true", "false") if column.category == "B" else ())
        if choices:
            others = [c for c in choices if c != stored]
            return others[0] if others else stored
        return self.fresh(column)

    def new_values(
        self, shape: TableShape, row: _Stored, columns: Sequence[str], unchanged: bool
    ) -> dict[str, str | None]:
        if unchanged:
            return {c: row.values[c] for c in columns}
        values: dict[str, str | None] = {}
        parents: list[_Stored] = []
        for fk in shape.foreign_keys:
            moved = [c for c in fk.columns if c in columns]
            if not moved:
                continue
            kept = {
                rc: row.values[c]
                for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
                if c not in columns and row.values[c] is not None
            }
            parent = self.insert_row(fk.ref_table, kept, (shape.name,))
            parents.append(parent)
            for name, ref_name in zip(fk.columns, fk.ref_columns, strict=True):
                if name in columns:
                    values[name] = parent.values[ref_name]
        keyed = {c for key in shape.unique_keys for c in key}
        for name in columns:
            if name in values:
                continue
            column = shape.column(name)
            copied = None if name in keyed else self.copied_from_parent(column, parents)
            values[name] = copied if copied is not None else self.changed_value(row, column)
        self.check_changed(shape, row, values)
        return values

    def check_changed(
        self, shape: TableShape, row: _Stored, values: Mapping[str, str | None]
    ) -> None:
        tests = ", ".join(
            f"{self.ident(c)} IS DISTINCT FROM {self.literal(shape.column(c), v)}"
            for c, v in values.items()
        )
        found = self.conn.execute(
            f"SELECT {tests} FROM {self.relation(shape.name)} WHERE {row.where}"
        ).fetchone()
        same = [c for c, distinct in zip(values, found or (), strict=False) if not distinct]
        if same:
            self.notes.append(f"no other allowed value for {', '.join(same)}: written unchanged")

    def build(self, spec: EntrySpec) -> Workload:
        shape = self.shape(spec.table)
        if shape.relkind == "v":
            # Its rows live in the tables its INSTEAD OF triggers (or rules) write: no row
            # can be made up for it here.
            raise WorkloadError(
                f"{spec.table} is a view: write it in a workload (--workload FILE) whose "
                "setup makes the rows it shows"
            )
        if shape.relkind not in ("r", "p"):
            raise WorkloadError(f"{spec.table} is not a table; use --workload FILE")
        if spec.operation not in OPERATIONS:
            raise WorkloadError(
                f"--op {spec.operation}: only {', '.join(OPERATIONS)}; use --workload FILE"
            )
        set_columns: tuple[str, ...] | None = None
        if spec.operation in ("update", "upsert"):
            set_columns = spec.columns or shape.default_set_columns()
            problem = unknown_column(spec.table, set_columns, [c.name for c in shape.columns])
            if problem:
                raise WorkloadError(problem)
            for name in set_columns:
                if not shape.column(name).writable:
                    raise WorkloadError(f"column {name} of {spec.table} cannot be written")
            if not set_columns:
                raise WorkloadError(f"{spec.table} has no column to update")
        if spec.operation == "upsert" and not shape.primary_key:
            raise WorkloadError(f"{spec.table} has no primary key to conflict on")
        table = self.relation(shape.name)
        if spec.operation == "insert" or (spec.operation == "upsert" and spec.new_row):
            values = self.plan_row(spec.table, {}, ())
            for clash in self.existing(shape, values):  # made by a parent's trigger
                self.run(f"DELETE FROM {table} WHERE {clash.where}")
            values = self.satisfying(shape, values)
            sql = self.insert_sql(shape, values)
            if spec.operation == "upsert":
                sql += self.conflict_clause(shape, set_columns or ())
            return self.finish(sql, set_columns)
        row = self.insert_row(spec.table, {}, (), companions=spec.operation != "delete")
        if spec.operation == "delete":
            self.children_of(row, "delete", frozenset(), (spec.table,))
            self.clear_blockers(row, (spec.table,))
            return self.finish(f"DELETE FROM {table} WHERE {row.where}", None)
        assert set_columns is not None
        new = self.new_values(shape, row, set_columns, spec.unchanged)
        changed = frozenset() if spec.unchanged else frozenset(set_columns)
        self.children_of(row, "update", changed, (spec.table,))
        if spec.operation == "update":

            def update(values: Mapping[str, str | None]) -> str:
                assignments = ", ".join(
                    f"{self.ident(c)} = {self.literal(shape.column(c), v)}"
                    for c, v in values.items()
                )
                return f"UPDATE {table} SET {assignments} WHERE {row.where}"

            new = self.accepted_change(shape, row, new, update)
            return self.finish(update(new), set_columns)

        def upsert(values: Mapping[str, str | None]) -> str:
            proposed = {
                c.name: values.get(c.name, row.values[c.name])
                for c in shape.columns
                if c.name in values
                or c.name in shape.primary_key
                or (c.writable and row.values[c.name] is not None)
            }
            return self.insert_sql(shape, proposed) + self.conflict_clause(shape, set_columns)

        new = self.accepted_change(shape, row, new, upsert)
        return self.finish(upsert(new), set_columns)

    def accepted_change(
        self,
        shape: TableShape,
        row: _Stored,
        new: dict[str, str | None],
        statement: Callable[[Mapping[str, str | None]], str],
    ) -> dict[str, str | None]:
        """The new values of an UPDATE (or upsert) that the table's CHECK constraints
        accept: `new`, or the same change with every nullable column that holds a value
        set to NULL instead, still a change (a CHECK such as `(personal AND slug IS NULL)
        OR (NOT personal AND slug IS NOT NULL)` wants one when the flag flips); refused
        with a clear error otherwise, so that a workload the server rejects is never
        reported as a wrong prediction. Tried in a savepoint only for a table with CHECK
        constraints."""
        if not shape.checks:
            return new
        problem = self.rejection(statement(new))

        def nullable(name: str) -> bool:
            return not shape.column(name).not_null

        if problem is None or problem[0] != _CHECK_VIOLATION:
            return new
        cleared = {
            c: None if v is not None and row.values[c] is not None and nullable(c) else v
            for c, v in new.items()
        }
        if cleared != new:
            retried = self.rejection(statement(cleared))
            if retried is None or retried[0] != _CHECK_VIOLATION:
                self.notes.append(
                    "set to NULL so that the CHECK constraints accept the change: "
                    + ", ".join(c for c in new if cleared[c] != new[c])
                )
                return cleared
            problem = retried
        raise WorkloadError(
            f"cannot make up new values for {', '.join(new)} of {shape.name} that its CHECK "
            f"constraints accept ({problem[1]}); use --workload FILE"
        )

    def conflict_clause(self, shape: TableShape, columns: Sequence[str]) -> str:
        target = ", ".join(self.ident(c) for c in shape.primary_key)
        assignments = ", ".join(f"{self.ident(c)} = EXCLUDED.{self.ident(c)}" for c in columns)
        return f" ON CONFLICT ({target}) DO UPDATE SET {assignments}"

    def finish(self, sql: str, set_columns: tuple[str, ...] | None) -> Workload:
        children_in = self.check_families()
        return Workload(tuple(self.setup), sql, set_columns, tuple(self.notes), children_in)


def build_workload(
    conn: psycopg.Connection[tuple[Any, ...]],
    spec: EntrySpec,
    schema: ServerSchema | None = None,
) -> Workload:
    """Run the setup `spec` needs on `conn` (in its open transaction) and return it with
    the statement to measure, which is not run."""
    if spec.children < 0:
        raise WorkloadError("children must be 0 or more")
    return _Builder(conn, spec.children, schema or ServerSchema()).build(spec)
