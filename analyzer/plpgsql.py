"""PL/pgSQL function bodies → statement trees.

`parse_plpgsql` reads the text between a function's dollar quotes (or a DO block's) and
returns a tree of frozen statement nodes that mirrors PostgreSQL's own PL/pgSQL parser:
the node kinds are pglast's `PLpgSQL_stmt_*` names without the prefix, each node's `line`
is the file line PostgreSQL reports for it, and NULL statements leave no node. Every piece
of embedded SQL (conditions, assigned values, queries, whole statements) is kept as a
`Fragment`: its text, where it sits in the file, and sqlglot's tree of it.

The parser never raises. A structural error (a missing END IF, an unterminated string,
text that cannot start a statement) stops the parse with a diagnostic at the offending
token; the statements read so far stay in the tree and `incomplete` is set. Embedded SQL
that sqlglot cannot parse only costs that fragment its tree (None plus a diagnostic).
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar, cast

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError
from sqlglot.generators.postgres import PostgresGenerator
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokenizer_core import Token, TokenType

from analyzer.findings import Diagnostic, Location
from analyzer.tokens import IDENT_PART, IDENT_START

MAX_NESTING = 100
"""Deeper nesting of blocks, IFs, CASEs and loops is reported, not analysed."""


# --------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Fragment:
    """A piece of embedded SQL: a condition, a value, a query or a whole statement.

    `text` is the SQL as PostgreSQL runs it: for a statement with an INTO clause the
    clause is blanked out with spaces (as PostgreSQL does), so offsets still line up;
    for PERFORM it is the text after the keyword (PostgreSQL runs `SELECT <text>`, and
    `tree` is that SELECT). `offset` is the character offset of `text` in the file.
    `tree` is sqlglot's parse (postgres dialect): a value or condition is parsed as
    `SELECT <text>` and unwrapped to the bare expression when nothing else is selected
    (`x := count(*) FROM t` keeps the whole SELECT); None when sqlglot could not parse it.
    """

    text: str
    location: Location
    offset: int
    tree: exp.Expr | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Into:
    """`INTO [STRICT] target, …` of SELECT, RETURNING, EXECUTE or FETCH."""

    targets: tuple[str, ...]
    strict: bool
    location: Location


@dataclass(frozen=True)
class Declaration:
    """One entry of a DECLARE section.

    `type` is the declared type as written (`refcursor` for a bound cursor, None for an
    alias); `default` the initial value; `alias_for` the aliased name (`$1`);
    `cursor_query` and `cursor_args` the query and argument list of a bound cursor.
    """

    name: str
    type: str | None
    location: Location
    line: int
    constant: bool = False
    not_null: bool = False
    default: Fragment | None = None
    alias_for: str | None = None
    cursor_query: Fragment | None = None
    cursor_args: str | None = None


@dataclass(frozen=True, kw_only=True)
class Statement:
    """Base of every statement node.

    `kind` is pglast's node name without `PLpgSQL_stmt_`; `location` spans the whole
    statement (label and DECLARE section included, final `;` included); `line` is the
    file line PostgreSQL gives the statement: its keyword's, i.e. BEGIN's for a block and
    LOOP's, WHILE's or FOR's after a label.
    """

    kind: ClassVar[str] = ""
    location: Location
    line: int

    @property
    def pglast_kind(self) -> str:
        return "PLpgSQL_stmt_" + self.kind

    def bodies(self) -> tuple[tuple[Statement, ...], ...]:
        """The nested statement lists, in source order (empty for simple statements)."""
        return ()


@dataclass(frozen=True)
class Handler:
    """`WHEN cond [OR cond …] THEN body` of an EXCEPTION section.

    Conditions are lower-cased names (`unique_violation`, `others`) or, for
    `SQLSTATE '23505'`, the code itself.
    """

    conditions: tuple[str, ...]
    body: tuple[Statement, ...]
    location: Location
    line: int


@dataclass(frozen=True, kw_only=True)
class Block(Statement):
    kind: ClassVar[str] = "block"
    label: str | None = None
    declarations: tuple[Declaration, ...] = ()
    body: tuple[Statement, ...] = ()
    handlers: tuple[Handler, ...] = ()

    def bodies(self) -> tuple[tuple[Statement, ...], ...]:
        return (self.body, *(h.body for h in self.handlers))


@dataclass(frozen=True)
class IfBranch:
    """`IF`/`ELSIF condition THEN body`; `line` is the IF's or ELSIF's."""

    condition: Fragment
    body: tuple[Statement, ...]
    line: int


@dataclass(frozen=True, kw_only=True)
class If(Statement):
    kind: ClassVar[str] = "if"
    branches: tuple[IfBranch, ...]
    else_body: tuple[Statement, ...] | None = None

    def bodies(self) -> tuple[tuple[Statement, ...], ...]:
        return (*(b.body for b in self.branches), self.else_body or ())


@dataclass(frozen=True)
class CaseWhen:
    """`WHEN values THEN body` of a CASE statement.

    `values` is the text after WHEN (a comma list for a simple CASE; its tree is the
    single value or an `exp.Tuple`). `condition` is the test as one expression: for a
    searched CASE the WHEN expression itself, for a simple CASE `subject = value` or
    `subject IN (values)` (what PostgreSQL evaluates); None when either part did not parse.
    """

    values: Fragment
    condition: exp.Expr | None = field(compare=False, repr=False)
    body: tuple[Statement, ...] = ()
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class Case(Statement):
    kind: ClassVar[str] = "case"
    subject: Fragment | None
    whens: tuple[CaseWhen, ...]
    else_body: tuple[Statement, ...] | None = None

    def bodies(self) -> tuple[tuple[Statement, ...], ...]:
        return (*(w.body for w in self.whens), self.else_body or ())


@dataclass(frozen=True, kw_only=True)
class Loop(Statement):
    kind: ClassVar[str] = "loop"
    label: str | None = None
    body: tuple[Statement, ...] = ()

    def bodies(self) -> tuple[tuple[Statement, ...], ...]:
        return (self.body,)


@dataclass(frozen=True, kw_only=True)
class While(Loop):
    kind: ClassVar[str] = "while"
    condition: Fragment


@dataclass(frozen=True, kw_only=True)
class ForRange(Loop):
    """`FOR variable IN [REVERSE] lower..upper [BY step] LOOP`."""

    kind: ClassVar[str] = "fori"
    variable: str
    lower: Fragment
    upper: Fragment
    step: Fragment | None = None
    reverse: bool = False


@dataclass(frozen=True, kw_only=True)
class ForQuery(Loop):
    """`FOR targets IN query LOOP`."""

    kind: ClassVar[str] = "fors"
    targets: tuple[str, ...]
    query: Fragment


@dataclass(frozen=True, kw_only=True)
class ForCursor(Loop):
    """`FOR record IN bound_cursor [(args)] LOOP`."""

    kind: ClassVar[str] = "forc"
    targets: tuple[str, ...]
    cursor: str
    args: Fragment | None = None


@dataclass(frozen=True, kw_only=True)
class ForDynamic(Loop):
    """`FOR targets IN EXECUTE query [USING …] LOOP`."""

    kind: ClassVar[str] = "dynfors"
    targets: tuple[str, ...]
    query: Fragment
    using: tuple[Fragment, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ForEach(Loop):
    """`FOREACH targets [SLICE n] IN ARRAY array LOOP`."""

    kind: ClassVar[str] = "foreach_a"
    targets: tuple[str, ...]
    array: Fragment
    slice: int = 0


@dataclass(frozen=True, kw_only=True)
class Exit(Statement):
    """EXIT (`is_exit`) or CONTINUE, with an optional label and WHEN condition."""

    kind: ClassVar[str] = "exit"
    is_exit: bool
    label: str | None = None
    condition: Fragment | None = None


@dataclass(frozen=True, kw_only=True)
class Return(Statement):
    kind: ClassVar[str] = "return"
    value: Fragment | None = None


@dataclass(frozen=True, kw_only=True)
class ReturnNext(Statement):
    kind: ClassVar[str] = "return_next"
    value: Fragment | None = None


@dataclass(frozen=True, kw_only=True)
class ReturnQuery(Statement):
    """`RETURN QUERY query` (`query`) or `RETURN QUERY EXECUTE expr [USING …]` (`dynquery`)."""

    kind: ClassVar[str] = "return_query"
    query: Fragment | None = None
    dynquery: Fragment | None = None
    using: tuple[Fragment, ...] = ()


@dataclass(frozen=True)
class RaiseOption:
    """`USING name = value` of RAISE; `name` upper-cased (MESSAGE, ERRCODE, HINT, …)."""

    name: str
    value: Fragment


@dataclass(frozen=True, kw_only=True)
class Raise(Statement):
    """RAISE. `level` upper-cased (EXCEPTION by default); `condition` a condition name
    or SQLSTATE code; `message` the format string's value. A bare `RAISE;` re-raises:
    no condition, message or options."""

    kind: ClassVar[str] = "raise"
    level: str = "EXCEPTION"
    condition: str | None = None
    message: str | None = None
    params: tuple[Fragment, ...] = ()
    options: tuple[RaiseOption, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Assert(Statement):
    kind: ClassVar[str] = "assert"
    condition: Fragment
    message: Fragment | None = None


@dataclass(frozen=True, kw_only=True)
class Assign(Statement):
    """`target := value` or `target = value`; `target` as written (`NEW.col`, `a[i]`)."""

    kind: ClassVar[str] = "assign"
    target: str
    value: Fragment


@dataclass(frozen=True, kw_only=True)
class ExecSql(Statement):
    """A plain SQL statement (SELECT … INTO, INSERT/UPDATE/DELETE/MERGE, WITH, …)."""

    kind: ClassVar[str] = "execsql"
    sql: Fragment
    into: Into | None = None


@dataclass(frozen=True, kw_only=True)
class DynExecute(Statement):
    """`EXECUTE query [INTO [STRICT] targets] [USING …]`; `query` is the string expression."""

    kind: ClassVar[str] = "dynexecute"
    query: Fragment
    into: Into | None = None
    using: tuple[Fragment, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Perform(Statement):
    kind: ClassVar[str] = "perform"
    query: Fragment


@dataclass(frozen=True)
class DiagItem:
    """`target = ITEM` of GET DIAGNOSTICS; `item` upper-cased (ROW_COUNT, MESSAGE_TEXT, …)."""

    target: str
    item: str


@dataclass(frozen=True, kw_only=True)
class GetDiagnostics(Statement):
    kind: ClassVar[str] = "getdiag"
    stacked: bool
    items: tuple[DiagItem, ...]


@dataclass(frozen=True, kw_only=True)
class Open(Statement):
    """OPEN cursor: `FOR query` (`query`), `FOR EXECUTE expr [USING …]` (`dynquery`) or a
    bound cursor with optional `(args)`."""

    kind: ClassVar[str] = "open"
    cursor: str
    query: Fragment | None = None
    dynquery: Fragment | None = None
    args: Fragment | None = None
    using: tuple[Fragment, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Fetch(Statement):
    """FETCH (with `into`) or MOVE (`is_move`); `direction` as written, "" when omitted."""

    kind: ClassVar[str] = "fetch"
    cursor: str
    direction: str = ""
    into: Into | None = None
    is_move: bool = False


@dataclass(frozen=True, kw_only=True)
class Close(Statement):
    kind: ClassVar[str] = "close"
    cursor: str


@dataclass(frozen=True, kw_only=True)
class Call(Statement):
    """CALL (`is_call`) or DO; `call` is the text after the keyword (`proc(args)`)."""

    kind: ClassVar[str] = "call"
    call: Fragment
    is_call: bool = True


@dataclass(frozen=True, kw_only=True)
class Commit(Statement):
    kind: ClassVar[str] = "commit"
    chain: bool = False


@dataclass(frozen=True, kw_only=True)
class Rollback(Statement):
    kind: ClassVar[str] = "rollback"
    chain: bool = False


@dataclass(frozen=True)
class PlFunction:
    """A parsed body: its outermost block (None when not even BEGIN could be read)."""

    path: str
    block: Block | None
    diagnostics: tuple[Diagnostic, ...]
    incomplete: bool
    options: tuple[str, ...] = ()

    def statements(self) -> Iterator[Statement]:
        """Every statement, the outermost block first, depth-first in source order."""
        return walk(() if self.block is None else (self.block,))


def walk(statements: Iterable[Statement]) -> Iterator[Statement]:
    """Every statement of `statements` and everything nested in them, in source order."""
    stack = list(statements)
    stack.reverse()
    while stack:
        statement = stack.pop()
        yield statement
        for body in reversed(statement.bodies()):
            stack.extend(reversed(body))


# --------------------------------------------------------------------------- tokens


class _BodyTokenizer(Postgres.Tokenizer):
    # sqlglot reads the rest of a statement that starts with EXECUTE, FETCH, DECLARE, …
    # as one string; PL/pgSQL needs those words tokenised like any other.
    COMMANDS: ClassVar[set[TokenType]] = set()


_SQLGLOT_LOG = logging.getLogger("sqlglot")


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """sqlglot logs a warning when it falls back to an opaque Command; analysis must not
    print, and we report such fragments as diagnostics instead. (Subclassing the parser
    to silence it breaks with sqlglot's compiled extension, sqlglotc.)"""
    disabled = _SQLGLOT_LOG.disabled
    _SQLGLOT_LOG.disabled = True
    try:
        yield
    finally:
        _SQLGLOT_LOG.disabled = disabled


_DIALECT = Postgres()
_REUSED = threading.local()
_Reusable = TypeVar("_Reusable", Postgres.Tokenizer, PostgresParser, PostgresGenerator)


def _reused(kind: type[_Reusable]) -> _Reusable:
    """This thread's instance of a sqlglot tokenizer, parser or generator class: building
    one costs more than reading a short fragment, and each `tokenize`, `parse` or
    `generate` starts afresh."""
    instances: dict[type, object] = _REUSED.__dict__.setdefault("instances", {})
    instance = instances.get(kind)
    if instance is None:
        instance = instances[kind] = kind(dialect=_DIALECT)
    return cast(_Reusable, instance)


def render(node: exp.Expr) -> str:
    """`node` as PostgreSQL text, as `node.sql(dialect="postgres")` writes it.

    Without that call's deep copy of the tree, which was most of its cost (rendering write
    statements was a quarter of analysing function bodies): the PostgreSQL generator
    rewrites only syntax that other dialects parse into (SEMI/ANTI joins, QUALIFY,
    intervals in quarters, a MySQL AUTO_INCREMENT …), so a tree read from PostgreSQL text
    comes out unchanged. `tests/test_plpgsql.py` checks that on every fixture's bodies.
    """
    return _reused(PostgresGenerator).generate(node, copy=False)


_STRING_TYPES = frozenset(
    {
        TokenType.STRING,
        TokenType.BYTE_STRING,
        TokenType.NATIONAL_STRING,
        TokenType.RAW_STRING,
        TokenType.HEREDOC_STRING,
        TokenType.BIT_STRING,
        TokenType.HEX_STRING,
        TokenType.UNICODE_STRING,
    }
)
_WORD = re.compile(f"{IDENT_START}{IDENT_PART}*\\Z")
_WORDS = re.compile(r"\S+")


@dataclass(slots=True)  # not frozen: building a frozen one costs a setattr call per field
class _Tok:
    kind: str  # word, ident (quoted), string, number, op
    text: str  # as written
    upper: str  # upper-cased for words, `text` otherwise
    value: str  # a string's contents, a quoted identifier without its quotes
    start: int
    end: int  # inclusive


def _convert(body: str, raw: list[Token]) -> list[_Tok]:
    toks: list[_Tok] = []
    for token in raw:
        token_type, start, end, value = token.token_type, token.start, token.end, token.text
        text = body[start : end + 1]
        if token_type in _STRING_TYPES:
            toks.append(_Tok("string", text, text, value, start, end))
        elif token_type == TokenType.IDENTIFIER:
            toks.append(_Tok("ident", text, text, value, start, end))
        elif token_type == TokenType.NUMBER:
            toks.append(_Tok("number", text, text, value, start, end))
        elif _WORD.match(text):
            toks.append(_Tok("word", text, text.upper(), text, start, end))
        elif " " in text.strip() or "\n" in text or "\t" in text:
            # sqlglot's multi-word keywords (ORDER BY, DOUBLE PRECISION, …)
            for m in _WORDS.finditer(text):
                word = m.group()
                kind = "word" if _WORD.match(word) else "op"
                upper = word.upper() if kind == "word" else word
                toks.append(_Tok(kind, word, upper, word, start + m.start(), start + m.end() - 1))
        else:
            toks.append(_Tok("op", text, text, text, start, end))
    return _join_operators(toks)


def _join_operators(toks: list[_Tok]) -> list[_Tok]:
    """Make `..`, `<<` and `>>` single tokens, as PostgreSQL's lexer does."""
    out: list[_Tok] = []
    for tok in toks:
        prev = out[-1] if out else None
        if prev is not None and prev.end + 1 == tok.start and tok.kind == "op":
            pair = prev.text + tok.text
            if prev.kind == "op" and pair in ("..", "<<", ">>"):
                out[-1] = _Tok("op", pair, pair, pair, prev.start, tok.end)
                continue
            if prev.kind == "number" and tok.text == "." and prev.text.endswith("."):
                # `1..10` reads as the number `1.` then `.`
                digits = prev.text[:-1]
                out[-1] = _Tok("number", digits, digits, digits, prev.start, prev.end - 1)
                out.append(_Tok("op", "..", "..", "..", prev.end, tok.end))
                continue
        out.append(tok)
    return out


def _skip_space_and_comments(text: str, pos: int) -> int:
    """The first offset at or after `pos` that is not blank or inside a complete comment."""
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
        elif text.startswith("--", pos):
            newline = text.find("\n", pos)
            pos = len(text) if newline < 0 else newline + 1
        elif text.startswith("/*", pos):
            depth, scan = 1, pos + 2
            while depth and scan < len(text):
                if text.startswith("/*", scan):
                    depth, scan = depth + 1, scan + 2
                elif text.startswith("*/", scan):
                    depth, scan = depth - 1, scan + 2
                else:
                    scan += 1
            if depth:
                return pos
            pos = scan
        else:
            return pos
    return pos


def _describe_bad_token(text: str, pos: int) -> str:
    rest = text[pos : pos + 3]
    if rest.startswith("/*"):
        return "unterminated /* comment"
    if rest.startswith("$"):
        return "unterminated dollar-quoted string"
    if rest.startswith('"') or rest.upper().startswith('U&"'):
        return "unterminated quoted identifier"
    if "'" in rest[:3]:
        return "unterminated string literal"
    return "could not read the text here"


# --------------------------------------------------------------------------- sql


_TOKEN_REPR = re.compile(
    r"<Token token_type: [^,]*, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, "
    r"comments: \[.*?\]>"
)


# Statements that touch neither rows nor triggers: roles, privileges, comments,
# notifications, maintenance, extensions (the catalog reads CREATE EXTENSION itself).
# sqlglot reads few of them; none is an unknown effect.
_NO_DATA_EFFECT = re.compile(
    r"(?is)\s*(?:grant|revoke|comment\s+on|security\s+label|notify|listen|unlisten|analyze"
    r"|analyse|vacuum|checkpoint|discard|reindex|cluster|alter\s+default\s+privileges"
    r"|(?:create|alter|drop)\s+(?:role|user|group)|reassign\s+owned"
    r"|create\s+extension"
    r"|(?:create|alter|drop)\s+(?:publication|subscription|statistics|collation"
    r"|text\s+search))\b"
)


def has_no_data_effect(text: str) -> bool:
    """A statement that writes no row and changes no trigger (GRANT, CREATE ROLE, …)."""
    return _NO_DATA_EFFECT.match(text) is not None or (
        created_temporary_table(text) is not None and _FILLED_BY_QUERY.search(text) is None
    )


# CREATE TEMP TABLE name …: the table lives in the session's pg_temp schema, which comes
# first on the search path for the rest of the session.
_CREATE_TEMPORARY_TABLE = re.compile(
    r"(?is)\s*create\s+(?:(?:global|local)\s+)?temp(?:orary)?\s+(?:unlogged\s+)?table\s+"
    r'(?:if\s+not\s+exists\s+)?(?:pg_temp\s*\.\s*)?("(?:[^"]|"")+"|[a-z_][\w$]*)(?!\s*\.)'
)
# CREATE TABLE … AS query: filled with the query's rows (GENERATED … AS (expr) is no query).
_FILLED_BY_QUERY = re.compile(r"(?is)\bas\s*\(?\s*(?:select|with|values|table|execute)\b")


def created_temporary_table(text: str) -> str | None:
    """The name (as PostgreSQL folds it) of the temporary table `text` creates, if it is
    a CREATE TEMP TABLE statement."""
    found = _CREATE_TEMPORARY_TABLE.match(text)
    if found is None:
        return None
    name = found.group(1)
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()


def _parse_sql(text: str, mode: str) -> tuple[exp.Expr | None, str, int]:
    """sqlglot's tree of `text`, or None with a message and the offending offset in `text`.

    mode: `query` (a statement), `expr` (PostgreSQL evaluates `SELECT <text>`),
    `perform` (the same, keeping the SELECT) or `exprlist` (comma-separated values).
    """
    prefix = "" if mode == "query" else "SELECT "
    sql = prefix + text
    try:
        tokens = _reused(Postgres.Tokenizer).tokenize(sql)
        trees = _reused(PostgresParser).parse(tokens, sql)
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        description = _TOKEN_REPR.sub(
            lambda m: f'"{m.group(1)}"', str(first.get("description") or error)
        )
        offset = _error_offset(sql, first) - len(prefix)
        return (
            None,
            f"could not parse SQL: {description.splitlines()[0]}",
            max(0, min(offset, len(text) - 1)),
        )
    except RecursionError:
        return None, "could not parse SQL: nested too deeply", 0
    except Exception as error:  # sqlglot raises assorted errors on odd input
        return (
            None,
            f"could not parse SQL: {type(error).__name__}: {(str(error) or '?').splitlines()[0]}",
            0,
        )
    if len(trees) != 1 or trees[0] is None:
        return None, "could not parse SQL: expected one statement", 0
    tree = trees[0]
    # a Command is sqlglot's opaque fallback; an alias or column is a statement it misread
    # as `expression [AS] name` (NOTIFY c, LISTEN c, CLUSTER t)
    if isinstance(tree, exp.Command) or (
        mode == "query" and isinstance(tree, (exp.Alias, exp.Column))
    ):
        return None, "could not parse SQL: sqlglot does not support this statement", 0
    if mode in ("expr", "exprlist") and isinstance(tree, exp.Select):
        others = any(value for key, value in tree.args.items() if key != "expressions")
        if not others and (len(tree.expressions) == 1 or mode == "exprlist"):
            values = [e.pop() for e in list(tree.expressions)]
            if len(values) == 1:
                return values[0], "", 0
            return exp.Tuple(expressions=values), "", 0
    return tree, "", 0


def _error_offset(sql: str, error: dict[str, object]) -> int:
    line, col, highlight = error.get("line"), error.get("col"), error.get("highlight")
    if not isinstance(line, int) or not isinstance(col, int):
        return 0
    line_start = 0
    for _ in range(line - 1):
        newline = sql.find("\n", line_start)
        if newline < 0:
            break
        line_start = newline + 1
    width = len(highlight) if isinstance(highlight, str) and highlight else 1
    return line_start + col - width


# --------------------------------------------------------------------------- parser

_STOP_WORDS = frozenset({"END", "ELSE", "ELSIF", "ELSEIF", "WHEN", "EXCEPTION"})
# PL/pgSQL's reserved words: a statement starting with one is never an assignment.
_RESERVED = frozenset(
    {
        "ALL", "BEGIN", "BY", "CASE", "DECLARE", "ELSE", "END", "EXECUTE", "FOR", "FOREACH",
        "FROM", "IF", "IN", "INTO", "LOOP", "NOT", "NULL", "OR", "STRICT", "THEN", "TO",
        "USING", "WHEN", "WHILE",
    }
)  # fmt: skip
_RAISE_LEVELS = frozenset({"DEBUG", "LOG", "INFO", "NOTICE", "WARNING", "EXCEPTION"})


class _Parser:
    def __init__(self, body: str, path: str, line: int, column: int, offset: int) -> None:
        self.body = body
        self.path = path
        self.first_line = line
        self.first_column = column
        self.offset = offset
        self.line_starts = [0]
        newline = body.find("\n")
        while newline >= 0:
            self.line_starts.append(newline + 1)
            newline = body.find("\n", newline + 1)
        self.toks: list[_Tok] = []
        self.i = 0
        self.diagnostics: list[Diagnostic] = []
        self.failed = False
        self.truncated = False  # the tokenizer stopped early and said why
        self.depth = 0
        self.cursor_scopes: list[set[str]] = []
        self.options: list[str] = []

    # ----------------------------------------------------------- positions

    def _position(self, off: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.line_starts, off) - 1
        column = off - self.line_starts[index] + 1
        if index == 0:
            column += self.first_column - 1
        return self.first_line + index, column

    def span(self, start: int, end: int) -> Location:
        line, column = self._position(start)
        end_line, end_column = self._position(max(start, end))
        return Location(self.path, line, column, end_line, end_column)

    def line_of(self, tok: _Tok) -> int:
        return self._position(tok.start)[0]

    def diag(self, off: int, message: str) -> None:
        line, column = self._position(off)
        self.diagnostics.append(Diagnostic(self.path, line, column, message))

    def span_from(self, first: int) -> Location:
        """Location from token `first` to the last token consumed."""
        last = max(first, self.i - 1)
        last = min(last, len(self.toks) - 1)
        return self.span(self.toks[first].start, self.toks[last].end)

    # ----------------------------------------------------------- tokens

    def tokenize(self) -> None:
        tokenizer = _reused(_BodyTokenizer)
        try:
            raw = tokenizer.tokenize(self.body)
        except Exception:  # TokenError, or anything odd inside sqlglot
            raw = list(tokenizer.tokens)
            resume = raw[-1].end + 1 if raw else 0
            bad = _skip_space_and_comments(self.body, resume)
            self.diag(min(bad, max(len(self.body) - 1, 0)), _describe_bad_token(self.body, bad))
            self.truncated = True
        self.toks = _convert(self.body, list(raw))

    def peek(self, ahead: int = 0) -> _Tok | None:
        index = self.i + ahead
        return self.toks[index] if index < len(self.toks) else None

    def at(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.upper in words

    def at_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.text in ops

    def advance(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, tok: _Tok | None = None) -> None:
        """Record the first structural error; parsing unwinds from here."""
        if self.failed:
            return
        self.failed = True
        if tok is None:
            if self.truncated:
                return
            where = self.toks[-1].end if self.toks else 0
            self.diag(where, f"unexpected end of function body: {message}")
        else:
            self.diag(tok.start, f'{message}, found "{tok.text}"')

    def expect(self, word: str, what: str = "") -> bool:
        if self.at(word):
            self.i += 1
            return True
        self.fail(f'expected "{word}"{what}', self.peek())
        return False

    def expect_op(self, op: str, what: str = "") -> bool:
        if self.at_op(op):
            self.i += 1
            return True
        self.fail(f'expected "{op}"{what}', self.peek())
        return False

    def _matches(self, tok: _Tok, terms: frozenset[str]) -> bool:
        return (tok.kind == "word" and tok.upper in terms) or (
            tok.kind == "op" and tok.text in terms
        )

    def read_until(self, terms: frozenset[str], what: str) -> tuple[int, int] | None:
        """Skip to the first of `terms` outside brackets; return the token range read.

        A `;` before it (or the end of the body) is an error, as in PostgreSQL.
        """
        start, depth = self.i, 0
        while True:
            tok = self.peek()
            if tok is None:
                self.fail(f"missing {what}")
                return None
            if depth == 0 and self._matches(tok, terms):
                break
            if tok.kind == "op":
                if tok.text in ("(", "["):
                    depth += 1
                elif tok.text in (")", "]"):
                    depth -= 1
                    if depth < 0:
                        self.fail("mismatched parentheses", tok)
                        return None
                elif tok.text == ";":
                    self.fail(f"missing {what}" if depth == 0 else "unclosed parenthesis", tok)
                    return None
            self.i += 1
        if self.i == start:
            self.fail(f"expected an expression before {what}", tok)
            return None
        return start, self.i

    def fragment(self, bounds: tuple[int, int], mode: str = "expr") -> Fragment:
        start = self.toks[bounds[0]].start
        end = self.toks[bounds[1] - 1].end
        return self.make_fragment(self.body[start : end + 1], start, mode)

    def make_fragment(self, text: str, start: int, mode: str) -> Fragment:
        tree, error, error_at = _parse_sql(text, mode)
        if error and not (mode == "query" and has_no_data_effect(text)):
            self.diag(start + error_at, error)
        return Fragment(text, self.span(start, start + len(text) - 1), self.offset + start, tree)

    def read_fragment(
        self, terms: frozenset[str], what: str, mode: str = "expr"
    ) -> Fragment | None:
        bounds = self.read_until(terms, what)
        return None if bounds is None else self.fragment(bounds, mode)

    def read_list(self, terms: frozenset[str], what: str) -> tuple[Fragment, ...]:
        """Comma-separated expressions up to one of `terms`."""
        items: list[Fragment] = []
        with_comma = terms | {","}
        while not self.failed:
            item = self.read_fragment(with_comma, what)
            if item is None:
                break
            items.append(item)
            if not self.at_op(","):
                break
            self.i += 1
        return tuple(items)

    def ident(self, tok: _Tok) -> str:
        return tok.value if tok.kind == "ident" else tok.text.lower()

    def name(self, what: str) -> str | None:
        tok = self.peek()
        if tok is None or tok.kind not in ("word", "ident"):
            self.fail(f"expected {what}", tok)
            return None
        self.i += 1
        return self.ident(tok)

    def text_of(self, bounds: tuple[int, int]) -> str:
        return self.body[self.toks[bounds[0]].start : self.toks[bounds[1] - 1].end + 1]

    # ----------------------------------------------------------- function

    def parse_function(self) -> Block | None:
        self.tokenize()
        while self.at_op("#"):
            # compile options: #variable_conflict use_column, #print_strict_params on
            start = self.advance()
            words: list[str] = []
            while (tok := self.peek()) is not None and tok.kind == "word" and len(words) < 2:
                if len(words) == 1 and tok.upper in ("BEGIN", "DECLARE"):
                    break
                words.append(self.advance().text)
            self.options.append(self.body[start.start : self.toks[self.i - 1].end + 1])
        tok = self.peek()
        if tok is None:
            if not self.truncated:
                self.failed = True
                self.diag(0, "empty function body: expected BEGIN or DECLARE")
            self.failed = True
            return None
        if not (self.at("BEGIN", "DECLARE") or self.at_op("<<")):
            self.fail('a function body must start with "BEGIN" or "DECLARE"', tok)
            return None
        block = self.parse_labelled(top=True)
        if not self.failed:
            if self.at_op(";"):
                self.i += 1
            if (extra := self.peek()) is not None:
                self.fail('unexpected text after the final "END"', extra)
        return block if isinstance(block, Block) else None

    # ----------------------------------------------------------- statements

    def parse_statements(self) -> tuple[Statement, ...]:
        statements: list[Statement] = []
        while not self.failed:
            tok = self.peek()
            if tok is None:
                self.fail('missing "END"')
                break
            if tok.kind == "word" and tok.upper in _STOP_WORDS:
                break
            statement = self.parse_statement()
            if statement is not None:
                statements.append(statement)
        return tuple(statements)

    def parse_statement(self) -> Statement | None:
        tok = self.toks[self.i]
        if tok.kind == "op" and tok.text == "<<":
            return self.parse_labelled()
        if tok.kind not in ("word", "ident"):
            self.fail("syntax error: a statement cannot start here", tok)
            return None
        word = tok.upper if tok.kind == "word" else ""
        if word in ("DECLARE", "BEGIN", "LOOP", "WHILE", "FOR", "FOREACH"):
            return self.parse_labelled()
        if word in ("IF", "CASE"):
            return self.nested(self.parse_if if word == "IF" else self.parse_case)
        if word not in _RESERVED:
            target_end = self.assign_target_end()
            if target_end is not None:
                return self.parse_assign(target_end)
        simple = self._SIMPLE.get(word)
        if simple is not None:
            return simple(self)
        return self.parse_execsql()

    def nested(self, parse: Callable[[], Statement | None]) -> Statement | None:
        if self.depth >= MAX_NESTING:
            self.fail(
                f"statements nested more than {MAX_NESTING} levels deep are not analysed",
                self.peek(),
            )
            return None
        self.depth += 1
        try:
            return parse()
        finally:
            self.depth -= 1

    def parse_labelled(self, top: bool = False) -> Statement | None:
        start = self.i
        label = None
        if self.at_op("<<"):
            self.i += 1
            label = self.name("a label after <<")
            if label is None or not self.expect_op(">>", " to close the label"):
                return None
        word = self.peek()
        kinds: dict[str, Callable[[int, str | None], Statement | None]] = {
            "DECLARE": lambda s, lbl: self.parse_block(s, lbl, top),
            "BEGIN": lambda s, lbl: self.parse_block(s, lbl, top),
            "LOOP": self.parse_loop,
            "WHILE": self.parse_while,
            "FOR": self.parse_for,
            "FOREACH": self.parse_foreach,
        }
        if (
            word is None
            or word.kind != "word"
            or word.upper not in kinds
            or (top and word.upper not in ("DECLARE", "BEGIN"))
        ):
            self.fail("a label must be followed by BEGIN, DECLARE or a loop", word)
            return None
        parse = kinds[word.upper]
        return self.nested(lambda: parse(start, label))

    def end_semicolon(self) -> bool:
        return self.expect_op(";", " to end the statement")

    # ----------------------------------------------------------- block

    def parse_block(self, start: int, label: str | None, top: bool) -> Statement | None:
        declarations: tuple[Declaration, ...] = ()
        if self.at("DECLARE"):
            self.i += 1
            declarations = self.parse_declarations()
        begin = self.peek()
        body: tuple[Statement, ...] = ()
        handlers: list[Handler] = []
        line = self.line_of(begin if begin is not None else self.toks[start])
        if not self.failed and self.expect("BEGIN"):
            self.cursor_scopes.append({d.name for d in declarations if d.cursor_query is not None})
            try:
                body = self.parse_statements()
                if not self.failed and self.at("EXCEPTION"):
                    self.i += 1
                    handlers = self.parse_handlers()
            finally:
                self.cursor_scopes.pop()
            if not self.failed and self.expect("END", " to close the block"):
                self.end_label(label, "block")
                if not self.failed and not top:
                    self.end_semicolon()
        return Block(
            location=self.span_from(start),
            line=line,
            label=label,
            declarations=declarations,
            body=body,
            handlers=tuple(handlers),
        )

    def end_label(self, label: str | None, what: str) -> None:
        tok = self.peek()
        if tok is None or tok.kind not in ("word", "ident"):
            return
        if tok.kind == "word" and tok.upper in ("IF", "LOOP", "CASE"):
            self.fail(f'"END {tok.text}" where the {what} ends', tok)
            return
        self.i += 1
        end_label = self.ident(tok)
        if label is None:
            self.diag(tok.start, f'end label "{end_label}" given for an unlabelled {what}')
        elif end_label != label:
            self.diag(
                tok.start, f'end label "{end_label}" differs from the {what}\'s label "{label}"'
            )

    def parse_handlers(self) -> list[Handler]:
        handlers: list[Handler] = []
        if not self.at("WHEN"):
            self.fail('expected "WHEN" after EXCEPTION', self.peek())
        while not self.failed and self.at("WHEN"):
            start = self.i
            when = self.advance()
            conditions: list[str] = []
            while not self.failed:
                if self.at("SQLSTATE"):
                    self.i += 1
                    code = self.peek()
                    if code is None or code.kind != "string":
                        self.fail("expected a SQLSTATE code", code)
                        break
                    self.i += 1
                    conditions.append(code.value)
                else:
                    condition = self.name("an exception condition")
                    if condition is None:
                        break
                    conditions.append(condition)
                if not self.at("OR"):
                    break
                self.i += 1
            if self.failed or not self.expect("THEN", " after the exception conditions"):
                break
            body = self.parse_statements()
            handlers.append(
                Handler(tuple(conditions), body, self.span_from(start), self.line_of(when))
            )
        return handlers

    def parse_declarations(self) -> tuple[Declaration, ...]:
        declarations: list[Declaration] = []
        while not self.failed:
            tok = self.peek()
            if tok is None:
                self.fail('missing "BEGIN" after DECLARE')
                break
            if self.at("BEGIN"):
                break
            if self.at("DECLARE"):
                self.i += 1
                continue
            if self.at_op("<<"):
                # PostgreSQL accepts (and ignores) labels in a DECLARE section
                self.i += 1
                if self.name("a label") is None or not self.expect_op(">>"):
                    break
                continue
            declaration = self.parse_declaration()
            if declaration is not None:
                declarations.append(declaration)
        return tuple(declarations)

    def parse_declaration(self) -> Declaration | None:
        start = self.i
        first = self.peek()
        name = self.name("a variable name")
        if name is None or first is None:
            return None
        line = self.line_of(first)
        if self.at("ALIAS"):
            self.i += 1
            if not self.expect("FOR", " after ALIAS"):
                return None
            bounds = self.read_until(frozenset({";"}), '";" after ALIAS FOR')
            if bounds is None or not self.end_semicolon():
                return None
            return Declaration(
                name, None, self.span_from(start), line, alias_for=self.text_of(bounds)
            )
        if self.at("NO") and (nxt := self.peek(1)) is not None and nxt.upper == "SCROLL":
            self.i += 2
        elif self.at("SCROLL"):
            self.i += 1
        if self.at("CURSOR"):
            return self.parse_cursor_declaration(start, name, line)
        constant = self.at("CONSTANT")
        if constant:
            self.i += 1
        type_bounds = self.read_until(
            frozenset({"COLLATE", "NOT", "DEFAULT", ":=", "=", ";"}),
            f'";" after the declaration of "{name}"',
        )
        if type_bounds is None:
            return None
        if self.at("COLLATE"):
            self.i += 1
            if (
                self.read_until(frozenset({"NOT", "DEFAULT", ":=", "=", ";"}), "a collation")
                is None
            ):
                return None
        not_null = False
        if self.at("NOT"):
            self.i += 1
            if not self.expect("NULL", " after NOT"):
                return None
            not_null = True
        default = None
        if self.at("DEFAULT") or self.at_op(":=", "="):
            self.i += 1
            default = self.read_fragment(frozenset({";"}), f'";" after the default of "{name}"')
            if default is None:
                return None
        if not self.end_semicolon():
            return None
        return Declaration(
            name,
            self.text_of(type_bounds),
            self.span_from(start),
            line,
            constant=constant,
            not_null=not_null,
            default=default,
        )

    def parse_cursor_declaration(self, start: int, name: str, line: int) -> Declaration | None:
        self.i += 1  # CURSOR
        args = None
        if self.at_op("("):
            self.i += 1
            bounds = self.read_until(frozenset({")"}), '")" after the cursor arguments')
            if bounds is None:
                return None
            args = self.text_of(bounds)
            self.i += 1
        if not (self.at("FOR") or self.at("IS")):
            self.fail('expected "FOR" or "IS" in the cursor declaration', self.peek())
            return None
        self.i += 1
        query = self.read_fragment(frozenset({";"}), '";" after the cursor query', "query")
        if query is None or not self.end_semicolon():
            return None
        return Declaration(
            name, "refcursor", self.span_from(start), line, cursor_query=query, cursor_args=args
        )

    # ----------------------------------------------------------- control flow

    def parse_if(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        branches: list[IfBranch] = []
        else_body: tuple[Statement, ...] | None = None
        branch_tok = keyword
        while True:
            condition = self.read_fragment(
                frozenset({"THEN"}), f'"THEN" after the {branch_tok.upper} condition'
            )
            if condition is None or not self.expect("THEN"):
                break
            body = self.parse_statements()
            branches.append(IfBranch(condition, body, self.line_of(branch_tok)))
            if self.failed or not self.at("ELSIF", "ELSEIF"):
                break
            branch_tok = self.advance()
        if not branches:
            return None
        if not self.failed and self.at("ELSE"):
            self.i += 1
            else_body = self.parse_statements()
        if not self.failed:
            self.close("IF", keyword)
        return If(
            location=self.span_from(start),
            line=self.line_of(keyword),
            branches=tuple(branches),
            else_body=else_body,
        )

    def close(self, word: str, opener: _Tok) -> None:
        """`END word ;` closing the statement opened at `opener`."""
        what = f" to close the {word} at line {self.line_of(opener)}"
        if self.expect("END", what) and self.expect(word, what):
            self.end_semicolon()

    def parse_case(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        subject = None
        if not self.at("WHEN"):
            subject = self.read_fragment(frozenset({"WHEN"}), '"WHEN" in CASE')
            if subject is None:
                return None
        whens: list[CaseWhen] = []
        else_body: tuple[Statement, ...] | None = None
        while not self.failed and self.at("WHEN"):
            when = self.advance()
            values = self.read_fragment(
                frozenset({"THEN"}), '"THEN" after WHEN', "expr" if subject is None else "exprlist"
            )
            if values is None or not self.expect("THEN"):
                break
            body = self.parse_statements()
            whens.append(
                CaseWhen(values, self.case_condition(subject, values), body, self.line_of(when))
            )
        if not whens:
            if not self.failed:
                self.fail('expected "WHEN" in CASE', self.peek())
            return None
        if not self.failed and self.at("ELSE"):
            self.i += 1
            else_body = self.parse_statements()
        if not self.failed:
            self.close("CASE", keyword)
        return Case(
            location=self.span_from(start),
            line=self.line_of(keyword),
            subject=subject,
            whens=tuple(whens),
            else_body=else_body,
        )

    @staticmethod
    def case_condition(subject: Fragment | None, values: Fragment) -> exp.Expr | None:
        if subject is None:
            return values.tree
        if subject.tree is None or values.tree is None:
            return None
        items = values.tree.expressions if isinstance(values.tree, exp.Tuple) else [values.tree]
        if len(items) == 1:
            return exp.EQ(this=subject.tree.copy(), expression=items[0].copy())
        return exp.In(this=subject.tree.copy(), expressions=[item.copy() for item in items])

    def loop_body(self, label: str | None, opener: _Tok) -> tuple[Statement, ...]:
        """`LOOP body END LOOP [label];` with the LOOP keyword next."""
        if not self.expect("LOOP"):
            return ()
        body = self.parse_statements()
        what = f" to close the loop at line {self.line_of(opener)}"
        if not self.failed and self.expect("END", what) and self.expect("LOOP", what):
            self.end_label(label, "loop")
            if not self.failed:
                self.end_semicolon()
        return body

    def parse_loop(self, start: int, label: str | None) -> Statement | None:
        keyword = self.peek()
        assert keyword is not None
        body = self.loop_body(label, keyword)
        return Loop(
            location=self.span_from(start), line=self.line_of(keyword), label=label, body=body
        )

    def parse_while(self, start: int, label: str | None) -> Statement | None:
        keyword = self.advance()
        condition = self.read_fragment(frozenset({"LOOP"}), '"LOOP" after the WHILE condition')
        if condition is None:
            return None
        body = self.loop_body(label, keyword)
        return While(
            location=self.span_from(start),
            line=self.line_of(keyword),
            label=label,
            body=body,
            condition=condition,
        )

    def targets(self, bounds: tuple[int, int]) -> tuple[str, ...]:
        parts: list[str] = []
        first = bounds[0]
        for index in range(bounds[0], bounds[1] + 1):
            if index == bounds[1] or (
                self.toks[index].kind == "op" and self.toks[index].text == ","
            ):
                if index > first:
                    parts.append(self.text_of((first, index)))
                first = index + 1
        return tuple(parts)

    def parse_for(self, start: int, label: str | None) -> Statement | None:
        keyword = self.advance()
        line = self.line_of(keyword)
        target_bounds = self.read_until(frozenset({"IN"}), '"IN" in FOR')
        if target_bounds is None:
            return None
        targets = self.targets(target_bounds)
        self.i += 1  # IN
        if self.at("EXECUTE"):
            self.i += 1
            query = self.read_fragment(
                frozenset({"LOOP", "USING"}), '"LOOP" after FOR … IN EXECUTE'
            )
            if query is None:
                return None
            using: tuple[Fragment, ...] = ()
            if self.at("USING"):
                self.i += 1
                using = self.read_list(frozenset({"LOOP"}), '"LOOP" after USING')
                if self.failed:
                    return None
            body = self.loop_body(label, keyword)
            return ForDynamic(
                location=self.span_from(start),
                line=line,
                label=label,
                body=body,
                targets=targets,
                query=query,
                using=using,
            )
        cursor = self.peek()
        after = self.peek(1)
        if (
            cursor is not None
            and cursor.kind in ("word", "ident")
            and any(self.ident(cursor) in scope for scope in self.cursor_scopes)
            and after is not None
            and (
                (after.kind == "op" and after.text == "(")
                or (after.kind == "word" and after.upper == "LOOP")
            )
        ):
            self.i += 1
            args = None
            if self.at_op("("):
                self.i += 1
                args = self.read_fragment(
                    frozenset({")"}), '")" after the cursor arguments', "exprlist"
                )
                if args is None or not self.expect_op(")"):
                    return None
            body = self.loop_body(label, keyword)
            return ForCursor(
                location=self.span_from(start),
                line=line,
                label=label,
                body=body,
                targets=targets,
                cursor=self.ident(cursor),
                args=args,
            )
        reverse_tok = self.peek()
        reverse = self.at("REVERSE")
        if reverse:
            self.i += 1
        first = self.read_until(frozenset({"..", "LOOP"}), '"LOOP" in FOR')
        if first is None:
            return None
        if self.at_op(".."):
            lower = self.fragment(first)
            self.i += 1
            upper = self.read_fragment(frozenset({"BY", "LOOP"}), '"LOOP" after the FOR range')
            if upper is None:
                return None
            step = None
            if self.at("BY"):
                self.i += 1
                step = self.read_fragment(frozenset({"LOOP"}), '"LOOP" after BY')
                if step is None:
                    return None
            body = self.loop_body(label, keyword)
            return ForRange(
                location=self.span_from(start),
                line=line,
                label=label,
                body=body,
                variable=targets[0] if targets else "",
                lower=lower,
                upper=upper,
                step=step,
                reverse=reverse,
            )
        if reverse and reverse_tok is not None:
            self.diag(reverse_tok.start, "REVERSE is not allowed in a query FOR loop")
        query = self.fragment(first, "query")
        body = self.loop_body(label, keyword)
        return ForQuery(
            location=self.span_from(start),
            line=line,
            label=label,
            body=body,
            targets=targets,
            query=query,
        )

    def parse_foreach(self, start: int, label: str | None) -> Statement | None:
        keyword = self.advance()
        target_bounds = self.read_until(frozenset({"SLICE", "IN"}), '"IN ARRAY" in FOREACH')
        if target_bounds is None:
            return None
        slice_ = 0
        if self.at("SLICE"):
            self.i += 1
            number = self.peek()
            if number is None or number.kind != "number" or not number.text.isdigit():
                self.fail("expected the SLICE dimension", number)
                return None
            self.i += 1
            slice_ = int(number.text)
        if not self.expect("IN") or not self.expect("ARRAY", " after FOREACH … IN"):
            return None
        array = self.read_fragment(frozenset({"LOOP"}), '"LOOP" after FOREACH … IN ARRAY')
        if array is None:
            return None
        body = self.loop_body(label, keyword)
        return ForEach(
            location=self.span_from(start),
            line=self.line_of(keyword),
            label=label,
            body=body,
            targets=self.targets(target_bounds),
            array=array,
            slice=slice_,
        )

    # ----------------------------------------------------------- simple statements

    def assign_target_end(self) -> int | None:
        """The index of `:=`/`=` if the statement is `target := …`, else None."""
        j, toks = self.i + 1, self.toks
        while j < len(toks):
            tok = toks[j]
            if tok.kind != "op":
                return None
            if tok.text in (":=", "="):
                return j
            if tok.text == "." and j + 1 < len(toks) and toks[j + 1].kind in ("word", "ident"):
                j += 2
            elif tok.text == "[":
                depth = 0
                while j < len(toks):
                    if toks[j].kind == "op" and toks[j].text in ("[", "("):
                        depth += 1
                    elif toks[j].kind == "op" and toks[j].text in ("]", ")"):
                        depth -= 1
                    elif toks[j].kind == "op" and toks[j].text == ";":
                        return None
                    j += 1
                    if depth == 0:
                        break
            else:
                return None
        return None

    def parse_assign(self, target_end: int) -> Statement | None:
        start = self.i
        target = self.text_of((start, target_end))
        self.i = target_end + 1
        value = self.read_fragment(frozenset({";"}), '";" after the assignment')
        if value is None or not self.end_semicolon():
            return None
        return Assign(
            location=self.span_from(start),
            line=self.line_of(self.toks[start]),
            target=target,
            value=value,
        )

    def parse_into(self) -> Into | None:
        start = self.i
        self.i += 1  # INTO
        strict = self.at("STRICT")
        if strict:
            self.i += 1
        targets: list[str] = []
        while not self.failed:
            first = self.i
            if self.name("an INTO target") is None:
                return None
            while (
                self.at_op(".")
                and (nxt := self.peek(1)) is not None
                and nxt.kind in ("word", "ident")
            ):
                self.i += 2
            targets.append(self.text_of((first, self.i)))
            if not self.at_op(","):
                break
            self.i += 1
        return Into(tuple(targets), strict, self.span_from(start))

    def parse_execsql(self) -> Statement | None:
        start = self.i
        first = self.toks[start].upper
        depth = 0
        previous = ""
        into: Into | None = None
        into_range: tuple[int, int] | None = None
        while True:
            tok = self.peek()
            if tok is None:
                self.fail('missing ";" at the end of the SQL statement')
                return None
            if tok.kind == "op":
                if tok.text == ";" and depth == 0:
                    break
                if tok.text in ("(", "["):
                    depth += 1
                elif tok.text in (")", "]"):
                    depth -= 1
                    if depth < 0:
                        self.fail("mismatched parentheses", tok)
                        return None
            if (
                tok.kind == "word"
                and tok.upper == "INTO"
                and depth == 0
                and into is None
                and previous not in ("INSERT", "MERGE")
                and first != "IMPORT"
            ):
                into = self.parse_into()
                if into is None:
                    return None
                # blank up to the next token, comments included, as PostgreSQL does
                after = self.peek()
                into_end = after.start - 1 if after is not None else self.toks[self.i - 1].end
                into_range = (tok.start, into_end)
                previous = ""
                continue
            previous = tok.upper if tok.kind == "word" else ""
            self.i += 1
        if self.i == start:
            self.fail("expected an SQL statement", self.peek())
            return None
        text_start = self.toks[start].start
        text = self.body[text_start : self.toks[self.i - 1].end + 1]
        if into_range is not None:
            a, b = into_range[0] - text_start, into_range[1] - text_start + 1
            text = text[:a] + re.sub(r"[^\n]", " ", text[a:b]) + text[b:]
        sql = self.make_fragment(text.rstrip(), text_start, "query")
        self.end_semicolon()
        return ExecSql(
            location=self.span_from(start), line=self.line_of(self.toks[start]), sql=sql, into=into
        )

    def parse_exit(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        label = None
        tok = self.peek()
        if tok is not None and tok.kind in ("word", "ident") and not self.at("WHEN"):
            label = self.ident(self.advance())
        condition = None
        if self.at("WHEN"):
            self.i += 1
            condition = self.read_fragment(frozenset({";"}), '";" after the EXIT condition')
            if condition is None:
                return None
        if not self.end_semicolon():
            return None
        return Exit(
            location=self.span_from(start),
            line=self.line_of(keyword),
            is_exit=keyword.upper == "EXIT",
            label=label,
            condition=condition,
        )

    def parse_return(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        value: Fragment | None = None
        query: Fragment | None = None
        dynquery: Fragment | None = None
        using: tuple[Fragment, ...] = ()
        variant = ""
        if self.at("NEXT", "QUERY"):
            variant = self.advance().upper
        if variant == "QUERY" and self.at("EXECUTE"):
            self.i += 1
            dynquery = self.read_fragment(
                frozenset({"USING", ";"}), '";" after RETURN QUERY EXECUTE'
            )
            if dynquery is not None and self.at("USING"):
                self.i += 1
                using = self.read_list(frozenset({";"}), '";" after USING')
        elif variant == "QUERY":
            query = self.read_fragment(frozenset({";"}), '";" after RETURN QUERY', "query")
        elif not self.at_op(";"):
            value = self.read_fragment(frozenset({";"}), f'";" after RETURN {variant}'.rstrip())
        if self.failed or not self.end_semicolon():
            return None
        location, line = self.span_from(start), self.line_of(keyword)
        if variant == "NEXT":
            return ReturnNext(location=location, line=line, value=value)
        if variant == "QUERY":
            return ReturnQuery(
                location=location, line=line, query=query, dynquery=dynquery, using=using
            )
        return Return(location=location, line=line, value=value)

    def parse_raise(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        level, condition, message = "EXCEPTION", None, None
        params: tuple[Fragment, ...] = ()
        options: list[RaiseOption] = []
        if not self.at_op(";"):
            tok = self.peek()
            if tok is not None and tok.kind == "word" and tok.upper in _RAISE_LEVELS:
                level = tok.upper
                self.i += 1
            tok = self.peek()
            if tok is not None and tok.kind == "string":
                message = tok.value
                self.i += 1
                if self.at_op(","):
                    self.i += 1
                    params = self.read_list(
                        frozenset({";", "USING"}), '";" after the RAISE parameters'
                    )
            elif self.at("SQLSTATE"):
                self.i += 1
                code = self.peek()
                if code is None or code.kind != "string":
                    self.fail("expected a SQLSTATE code", code)
                    return None
                condition = code.value
                self.i += 1
            elif tok is not None and tok.kind in ("word", "ident") and not self.at("USING"):
                condition = self.ident(self.advance())
            if not self.failed and self.at("USING"):
                while True:
                    self.i += 1  # USING or ","
                    option = self.peek()
                    if option is None or option.kind != "word":
                        self.fail("expected a RAISE option name", option)
                        return None
                    self.i += 1
                    if not self.at_op("=", ":="):
                        self.fail(f'expected "=" after {option.text}', self.peek())
                        return None
                    self.i += 1
                    value = self.read_fragment(frozenset({",", ";"}), '";" after the RAISE option')
                    if value is None:
                        return None
                    options.append(RaiseOption(option.upper, value))
                    if not self.at_op(","):
                        break
        if self.failed or not self.end_semicolon():
            return None
        return Raise(
            location=self.span_from(start),
            line=self.line_of(keyword),
            level=level,
            condition=condition,
            message=message,
            params=params,
            options=tuple(options),
        )

    def parse_assert(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        condition = self.read_fragment(frozenset({",", ";"}), '";" after ASSERT')
        if condition is None:
            return None
        message = None
        if self.at_op(","):
            self.i += 1
            message = self.read_fragment(frozenset({";"}), '";" after the ASSERT message')
            if message is None:
                return None
        if not self.end_semicolon():
            return None
        return Assert(
            location=self.span_from(start),
            line=self.line_of(keyword),
            condition=condition,
            message=message,
        )

    def parse_perform(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        query = self.read_fragment(frozenset({";"}), '";" after PERFORM', "perform")
        if query is None or not self.end_semicolon():
            return None
        return Perform(location=self.span_from(start), line=self.line_of(keyword), query=query)

    def parse_dynexecute(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        query = self.read_fragment(frozenset({"INTO", "USING", ";"}), '";" after EXECUTE')
        if query is None:
            return None
        into: Into | None = None
        using: tuple[Fragment, ...] = ()
        while not self.failed:
            if self.at("INTO") and into is None:
                into = self.parse_into()
            elif self.at("USING") and not using:
                self.i += 1
                using = self.read_list(frozenset({"INTO", ";"}), '";" after USING')
            else:
                break
        if self.failed or not self.end_semicolon():
            return None
        return DynExecute(
            location=self.span_from(start),
            line=self.line_of(keyword),
            query=query,
            into=into,
            using=using,
        )

    def parse_getdiag(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        stacked = self.at("STACKED")
        if self.at("STACKED", "CURRENT"):
            self.i += 1
        if not self.expect("DIAGNOSTICS", " after GET"):
            return None
        items: list[DiagItem] = []
        while not self.failed:
            target = self.read_until(frozenset({"=", ":="}), '"=" in GET DIAGNOSTICS')
            if target is None:
                return None
            self.i += 1
            item = self.peek()
            if item is None or item.kind != "word":
                self.fail("expected a diagnostics item", item)
                return None
            self.i += 1
            items.append(DiagItem(self.text_of(target), item.upper))
            if not self.at_op(","):
                break
            self.i += 1
        if not self.end_semicolon():
            return None
        return GetDiagnostics(
            location=self.span_from(start),
            line=self.line_of(keyword),
            stacked=stacked,
            items=tuple(items),
        )

    def parse_open(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        cursor = self.name("a cursor name after OPEN")
        if cursor is None:
            return None
        if self.at("NO") and (nxt := self.peek(1)) is not None and nxt.upper == "SCROLL":
            self.i += 2
        elif self.at("SCROLL"):
            self.i += 1
        query = dynquery = args = None
        using: tuple[Fragment, ...] = ()
        if self.at("FOR"):
            self.i += 1
            if self.at("EXECUTE"):
                self.i += 1
                dynquery = self.read_fragment(
                    frozenset({"USING", ";"}), '";" after OPEN … FOR EXECUTE'
                )
                if dynquery is None:
                    return None
                if self.at("USING"):
                    self.i += 1
                    using = self.read_list(frozenset({";"}), '";" after USING')
            else:
                query = self.read_fragment(frozenset({";"}), '";" after the cursor query', "query")
                if query is None:
                    return None
        elif self.at_op("("):
            self.i += 1
            args = self.read_fragment(
                frozenset({")"}), '")" after the cursor arguments', "exprlist"
            )
            if args is None or not self.expect_op(")"):
                return None
        if self.failed or not self.end_semicolon():
            return None
        return Open(
            location=self.span_from(start),
            line=self.line_of(keyword),
            cursor=cursor,
            query=query,
            dynquery=dynquery,
            args=args,
            using=using,
        )

    def parse_fetch(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        is_move = keyword.upper == "MOVE"
        bounds = self.read_until(
            frozenset({";"} if is_move else {"INTO", ";"}), '"INTO" after FETCH'
        )
        if bounds is None:
            return None
        split = next(
            (
                index
                for index in range(bounds[0], bounds[1])
                if self.toks[index].kind == "word" and self.toks[index].upper in ("FROM", "IN")
            ),
            None,
        )
        if split is None:
            cursor_index = bounds[1] - 1
            direction_end = cursor_index
        else:
            cursor_index, direction_end = split + 1, split
        if cursor_index >= bounds[1] or self.toks[cursor_index].kind not in ("word", "ident"):
            self.fail(
                f"expected a cursor name in {keyword.upper}",
                self.toks[min(cursor_index, bounds[1] - 1)],
            )
            return None
        cursor_tok = self.toks[cursor_index]
        direction = self.text_of((bounds[0], direction_end)) if direction_end > bounds[0] else ""
        into = None
        if not is_move:
            if not self.at("INTO"):
                self.fail('expected "INTO" after FETCH', self.peek())
                return None
            into = self.parse_into()
        if self.failed or not self.end_semicolon():
            return None
        return Fetch(
            location=self.span_from(start),
            line=self.line_of(keyword),
            cursor=self.ident(cursor_tok),
            direction=direction,
            into=into,
            is_move=is_move,
        )

    def parse_close(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        cursor = self.name("a cursor name after CLOSE")
        if cursor is None or not self.end_semicolon():
            return None
        return Close(location=self.span_from(start), line=self.line_of(keyword), cursor=cursor)

    def parse_call(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        call = self.read_fragment(frozenset({";"}), f'";" after {keyword.upper}')
        if call is None or not self.end_semicolon():
            return None
        return Call(
            location=self.span_from(start),
            line=self.line_of(keyword),
            call=call,
            is_call=keyword.upper == "CALL",
        )

    def parse_null(self) -> Statement | None:
        self.i += 1
        self.end_semicolon()
        return None

    def parse_transaction(self) -> Statement | None:
        start = self.i
        keyword = self.advance()
        chain = False
        if self.at("AND"):
            self.i += 1
            chain = not self.at("NO")
            if not chain:
                self.i += 1
            if not self.expect("CHAIN"):
                return None
        if not self.end_semicolon():
            return None
        node = Commit if keyword.upper == "COMMIT" else Rollback
        return node(location=self.span_from(start), line=self.line_of(keyword), chain=chain)

    _SIMPLE: ClassVar[dict[str, Callable[[_Parser], Statement | None]]] = {
        "EXIT": parse_exit,
        "CONTINUE": parse_exit,
        "RETURN": parse_return,
        "RAISE": parse_raise,
        "ASSERT": parse_assert,
        "PERFORM": parse_perform,
        "EXECUTE": parse_dynexecute,
        "GET": parse_getdiag,
        "OPEN": parse_open,
        "FETCH": parse_fetch,
        "MOVE": parse_fetch,
        "CLOSE": parse_close,
        "CALL": parse_call,
        "DO": parse_call,
        "NULL": parse_null,
        "COMMIT": parse_transaction,
        "ROLLBACK": parse_transaction,
    }


# --------------------------------------------------------------------------- entry


def parse_plpgsql(body: str, *, path: str, line: int, column: int, offset: int = 0) -> PlFunction:
    """Parse a PL/pgSQL function body (the text between its dollar quotes) or DO block.

    `line` and `column` (1-based) and `offset` (0-based, in characters) say where the
    body's first character sits in the file `path`. Never raises.
    """
    parser = _Parser(body, path, line, column, offset)
    block: Block | None = None
    try:
        with _quiet_sqlglot():  # once per body: per fragment it cost 5% of the bodies stage
            block = parser.parse_function()
    except RecursionError:
        parser.failed = True
        parser.diagnostics.append(
            Diagnostic(path, line, column, "function body nested too deeply to analyse")
        )
    except Exception as error:  # the contract is to never raise
        parser.failed = True
        parser.diagnostics.append(
            Diagnostic(
                path,
                line,
                column,
                f"internal error while parsing PL/pgSQL: {type(error).__name__}: {error}",
            )
        )
    return PlFunction(
        path=path,
        block=block,
        diagnostics=tuple(sorted(set(parser.diagnostics))),
        incomplete=parser.failed,
        options=tuple(parser.options),
    )
