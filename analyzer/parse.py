"""Split files into statements with exact spans, classify them, and tokenise on demand.

Splitting uses a regex scanner over the raw text (so an unterminated quote is reported at
its start, and psql meta-commands and COPY data are set aside); each statement is then
tokenised with sqlglot's PostgreSQL tokenizer, whose character offsets are made absolute.
This is the only module that imports sqlglot's tokenizer and parser for DDL.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import ClassVar

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from analyzer.findings import Diagnostic, Location
from analyzer.source import SourceFile
from analyzer.tokens import IDENT_PART, IDENT_START, TAG_PART

_IDENT_CHAR = re.compile(IDENT_PART)
_SCAN = re.compile(
    rf"""(?P<line_comment>--[^\n]*)
      | (?P<block_comment>/\*)
      | (?P<estring>(?<!{IDENT_PART})[Ee]')
      | (?P<string>')
      | (?P<ident>")
      | (?P<dollar>\$(?:{IDENT_START}{TAG_PART}*)?\$)
      | (?P<semi>;)
      | (?P<meta>\\)""",
    re.X | re.M,
)
# Two quotes in a row inside a literal are one escaped quote, never its end.
_PLAIN_STRING_END = re.compile(r"[^']*(?:''[^']*)*'(?!')")
_ESCAPE_STRING_END = re.compile(r"(?:[^'\\]|\\.|'')*'(?!')", re.S)
_IDENT_END = re.compile(r'[^"]*(?:""[^"]*)*"(?!")')
_BLOCK_COMMENT_PART = re.compile(r"/\*|\*/")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_COPY_FROM_STDIN = re.compile(r"^\s*copy\b.*\bfrom\s+stdin\b", re.I | re.S)
_COPY_END = re.compile(r"^\\\.[ \t]*\r?$", re.M)
_ATOMIC = re.compile(r"\bbegin\s+atomic\b", re.I)
_CASE_OR_END = re.compile(r"\b(case|end)\b", re.I)
_RULE = re.compile(r"^\s*create\s+(?:or\s+replace\s+)?rule\b", re.I)
# psql meta-commands that send the query buffer, ending the statement like `;` does.
_META_SEND = re.compile(r"\\(?:g|gx|gset|gexec|gdesc|crosstabview|watch)\b")


@dataclass(frozen=True, eq=False)
class Statement:
    """One top-level statement: its file, its span (end inclusive) and its code words."""

    file: SourceFile
    start: int
    end: int
    words: tuple[str, ...] = field(repr=False)
    # file offsets of the first and last character of each dollar-quoted literal
    dollar_quotes: tuple[tuple[int, int], ...] = field(default=(), repr=False)

    @property
    def text(self) -> str:
        return self.file.text[self.start : self.end + 1]

    @property
    def location(self) -> Location:
        return self.file.location(self.start, self.end)

    @cached_property
    def kind(self) -> str:
        return classify(self.words)

    @cached_property
    def tokens(self) -> tuple[Token, ...]:
        """sqlglot tokens with absolute character offsets; raises TokenError."""
        if not self.dollar_quotes:
            return tokenize(self.text, self.start)
        return _tokenize_around_literals(self.file.text, self.start, self.end, self.dollar_quotes)

    def excerpt(self, limit: int = 60) -> str:
        first = " ".join(self.text.split())
        return first if len(first) <= limit else first[: limit - 1] + "…"


class _Tokenizer(Postgres.Tokenizer):
    # sqlglot reads the rest of a statement that starts with DO, CALL, RESET, … as one
    # opaque string with meaningless offsets; the catalog needs the real tokens.
    COMMANDS: ClassVar[set[TokenType]] = set()


# One tokenizer per thread, reused: building one costs more than tokenising a short
# statement, and `tokenize` starts each text afresh.
_REUSED = threading.local()


def tokenize(text: str, offset: int = 0) -> tuple[Token, ...]:
    """sqlglot tokens of `text`, their offsets shifted by `offset`; raises TokenError."""
    tokenizer: _Tokenizer | None = getattr(_REUSED, "tokenizer", None)
    if tokenizer is None:
        tokenizer = _REUSED.tokenizer = _Tokenizer()
    tokens = tokenizer.tokenize(text)
    if offset:
        for token in tokens:
            token.start += offset
            token.end += offset
    return tuple(tokens)


def _line_breaks(text: str, start: int, stop: int) -> int:
    """Line breaks as sqlglot's tokenizer counts them: \\n, and \\r not followed by \\n."""
    return (
        text.count("\n", start, stop)
        + text.count("\r", start, stop)
        - text.count("\r\n", start, stop)
    )


def _line_start(text: str, start: int, position: int) -> int:
    """Offset of the first character of `position`'s line, not before `start`."""
    return max(text.rfind("\n", start, position), text.rfind("\r", start, position), start - 1) + 1


def _tokenize_around_literals(
    text: str, start: int, end: int, literals: tuple[tuple[int, int], ...]
) -> tuple[Token, ...]:
    """The tokens `tokenize(text[start : end + 1], start)` gives, without scanning the
    dollar-quoted literals (function bodies) character by character: the code between
    them is tokenised piece by piece and each literal becomes one HEREDOC_STRING token.
    Lines and columns are counted by position in the statement (sqlglot's own count can
    be one line short after a comment); the catalog reads only the offsets.
    """
    tokens: list[Token] = []

    def code(piece_start: int, piece_stop: int) -> None:
        if piece_start >= piece_stop:
            return
        lines = _line_breaks(text, start, piece_start)
        columns = piece_start - _line_start(text, start, piece_start)
        for token in tokenize(text[piece_start:piece_stop], piece_start):
            if token.line == 1:
                token.col += columns
            token.line += lines
            tokens.append(token)

    position = start
    for literal_start, literal_end in literals:
        code(position, literal_start)
        tag = text.index("$", literal_start + 1) + 1 - literal_start
        tokens.append(
            Token(
                TokenType.HEREDOC_STRING,
                text[literal_start + tag : literal_end + 1 - tag],
                line=1 + _line_breaks(text, start, literal_end),
                col=literal_end - _line_start(text, start, literal_end) + 1,
                start=literal_start,
                end=literal_end,
            )
        )
        position = literal_end + 1
    code(position, end + 1)
    return tuple(tokens)


def parse_expression(text: str) -> exp.Expr | None:
    """Parse a standalone SQL expression or statement; None when sqlglot cannot."""
    try:
        expressions = Postgres().parser().parse(Postgres().tokenize(text), text)
    except (ParseError, TokenError, RecursionError, ValueError):
        return None
    return expressions[0] if expressions else None


# SET [SESSION | LOCAL] standard_conforming_strings {= | TO} value, RESET …, RESET ALL.
_CONFORMING_SET = re.compile(
    r"(?is)\s*set\s+(?:(session|local)\s+)?standard_conforming_strings\s*(?:=|\bto\b)\s*"
    r"(?:'([^']*)'|([\w.-]+))\s*;?\s*$"
)
_CONFORMING_RESET = re.compile(r"(?is)\s*reset\s+(?:standard_conforming_strings|all)\s*;?\s*$")
_BOOLEAN_OFF = frozenset({"off", "false", "f", "fa", "fal", "fals", "no", "n", "0", "of"})


@dataclass
class _Strings:
    """standard_conforming_strings as the statements of one file set it: on at the start
    (a new session), off after `SET standard_conforming_strings = off`, where a
    backslash in a plain '…' literal escapes the next character, as in E'…'."""

    standard: bool = True
    in_transaction: bool = False
    at_begin: bool = True  # restored by ROLLBACK
    after_commit: bool | None = None  # the session value while SET LOCAL holds

    def statement(self, words: tuple[str, ...], text: str) -> None:
        verb = words[0] if words else ""
        if verb in {"begin", "start"} and not self.in_transaction:
            self.in_transaction, self.at_begin, self.after_commit = True, self.standard, None
        elif verb in {"commit", "end", "abort"} or (verb == "rollback" and "to" not in words[1:3]):
            if verb in {"rollback", "abort"}:
                self.standard = self.at_begin
            elif self.after_commit is not None:
                self.standard = self.after_commit
            self.in_transaction, self.after_commit = False, None
        elif verb == "set" and "standard_conforming_strings" in words[1:3]:
            found = _CONFORMING_SET.match(text)
            if found is not None:
                value = (found.group(2) or found.group(3) or "").strip().lower()
                self.assign(value not in _BOOLEAN_OFF, (found.group(1) or "").lower() == "local")
        elif verb == "reset" and _CONFORMING_RESET.match(text):
            self.assign(True, local=False)

    def assign(self, standard: bool, local: bool) -> None:
        if local:
            if not self.in_transaction:
                return  # SET LOCAL outside a transaction block has no effect
            if self.after_commit is None:
                self.after_commit = self.standard
        elif self.after_commit is not None:
            self.after_commit = standard
        self.standard = standard


@dataclass
class _Pending:
    start: int = -1
    end: int = -1
    code: list[str] = field(default_factory=list)
    depth: int = 0
    dollar_quotes: list[tuple[int, int]] = field(default_factory=list)

    def add_code(self, text: str, start: int) -> None:
        stripped = text.strip()
        if not stripped:
            return
        if self.start < 0:
            self.start = start + (len(text) - len(text.lstrip()))
        self.end = start + len(text.rstrip()) - 1
        self.code.append(text)
        self.depth = max(0, self.depth + text.count("(") - text.count(")"))

    def add_literal(self, start: int, end: int, placeholder: str) -> None:
        if self.start < 0:
            self.start = start
        self.end = end
        self.code.append(placeholder)

    def add_dollar_quote(self, start: int, end: int) -> None:
        self.add_literal(start, end, " $body$ ")
        self.dollar_quotes.append((start, end))

    @property
    def blank(self) -> bool:
        return self.start < 0

    def words(self) -> tuple[str, ...]:
        return tuple(w.lower() for w in _WORD.findall(" ".join(self.code)[:400]))

    def continues_past_semicolon(self) -> bool:
        """A `;` inside BEGIN ATOMIC … END or a rule's `DO (a; b)` does not end the statement."""
        if self.blank:
            return False
        code = " ".join(self.code)
        if self.depth > 0 and _RULE.match(code):
            return True
        found = _ATOMIC.search(code)
        if not found:
            return False
        head = code[: found.start()].lower()
        if "function" not in head and "procedure" not in head:
            return False
        depth = 1
        for word in _CASE_OR_END.findall(code, found.end()):
            depth += 1 if word.lower() == "case" else -1
            if depth == 0:
                return False
        return True


def split_statements(
    source: SourceFile, begin: int = 0, stop: int | None = None
) -> tuple[list[Statement], list[Diagnostic], int]:
    """Top-level statements of a file (or of its text begin..stop, exclusive).

    An unterminated quote or comment gives one diagnostic at its start, and the rest of
    the text is not analysed; the int estimates how many statements that loses: the one
    the quote is in, and those that the lines after it would hold.
    """
    stop = len(source.text) if stop is None else stop
    statements, unterminated = _split(source, begin, stop)
    if unterminated is None:
        return statements, [], 0
    start, what = unterminated
    diagnostic = source.diagnostic(
        start, f"unterminated {what}: the rest of the file is not analysed"
    )
    lost = 0
    while unterminated is not None:
        lost += 1
        line_end = source.text.find("\n", unterminated[0], stop)
        if line_end < 0:
            break
        more, unterminated = _split(source, line_end + 1, stop)
        lost += len(more)
    return statements, [diagnostic], lost


def _split(
    source: SourceFile, begin: int, stop: int
) -> tuple[list[Statement], tuple[int, str] | None]:
    """Statements up to the end or up to an unterminated quote (its offset and kind)."""
    text = source.text
    statements: list[Statement] = []
    pending = _Pending()
    position = begin
    strings = _Strings()
    # Backslashes escaping a quote in plain literals while standard_conforming_strings is
    # off: each becomes a quote (`\'` -> `''`, the same length, the same value), so that
    # sqlglot and the catalog, which read plain literals the standard way, see the string
    # PostgreSQL sees, at the same offsets.
    escaped_quotes: list[int] = []

    def close(end_offset: int) -> None:
        nonlocal pending
        if not pending.blank:
            pending.end = max(pending.end, end_offset)
            words = pending.words()
            statements.append(
                Statement(source, pending.start, pending.end, words, tuple(pending.dollar_quotes))
            )
            if words and words[0] in _SESSION_VERBS:
                strings.statement(words, text[pending.start : pending.end + 1])
        pending = _Pending()

    def finished(
        found: tuple[int, str] | None = None,
    ) -> tuple[list[Statement], tuple[int, str] | None]:
        if not escaped_quotes:
            return statements, found
        pieces, previous = [], 0
        for offset in escaped_quotes:
            pieces.append(text[previous:offset])
            pieces.append("'")
            previous = offset + 1
        pieces.append(text[previous:])
        rewritten = replace(source, text="".join(pieces))
        return [replace(s, file=rewritten) for s in statements], found

    def unterminated(start: int, what: str) -> tuple[list[Statement], tuple[int, str] | None]:
        return finished((start, what))

    while True:
        match = _SCAN.search(text, position, stop)
        if match is None:
            pending.add_code(text[position:stop], position)
            close(-1)
            return finished()
        pending.add_code(text[position : match.start()], position)
        group = match.lastgroup
        start = match.start()
        end: int | None
        if group == "line_comment":
            position = match.end()
            continue
        if group == "semi":
            pending.end = max(pending.end, start) if not pending.blank else pending.end
            if pending.continues_past_semicolon():
                pending.code.append(";")
                position = match.end()
                continue
            is_copy = not pending.blank and _COPY_FROM_STDIN.match(" ".join(pending.code))
            close(start)
            position = match.end()
            if is_copy:
                data_end = _COPY_END.search(text, position, stop)
                position = data_end.end() if data_end else stop
            continue
        if group == "meta":
            # A psql meta-command (`\connect`, `\restrict` in pg_dump output, `\set`, …)
            # runs to the end of its line and is never SQL; `\g` and friends send the
            # statement typed so far.
            line_end = text.find("\n", start, stop)
            line_end = stop if line_end < 0 else line_end
            if _META_SEND.match(text, start, stop):
                close(-1)
            position = line_end
            continue
        if group == "block_comment":
            depth = 0
            end = None
            for part in _BLOCK_COMMENT_PART.finditer(text, start, stop):
                depth += 1 if part.group() == "/*" else -1
                if depth == 0:
                    end = part.end()
                    break
            if end is None:
                return unterminated(start, "comment")
            position = end
            continue
        if group == "dollar":
            if start > begin and _IDENT_CHAR.match(text[start - 1]):
                pending.add_code(text[start : start + 1], start)
                position = start + 1
                continue
            tag = match.group()
            close_at = text.find(tag, match.end(), stop)
            if close_at < 0:
                return unterminated(start, f"dollar quote {tag}")
            pending.add_dollar_quote(start, close_at + len(tag) - 1)
            position = close_at + len(tag)
            continue
        escapes = group == "estring" or (group == "string" and not strings.standard)
        pattern, what = {
            "string": (_ESCAPE_STRING_END if escapes else _PLAIN_STRING_END, "string"),
            "estring": (_ESCAPE_STRING_END, "string"),
            "ident": (_IDENT_END, "quoted identifier"),
        }[group or "string"]
        found = pattern.match(text, match.end(), stop)
        if found is None:
            return unterminated(start, what)
        if group == "string" and escapes:
            escaped_quotes.extend(
                match.end() + e.start()
                for e in _BACKSLASH_ESCAPE.finditer(text[match.end() : found.end() - 1])
                if e.group() == "\\'"
            )
        placeholder = " q " if group == "ident" else " 's' "
        pending.add_literal(start, found.end() - 1, placeholder)
        position = found.end()


_TABLE_MODIFIERS = {"temp", "temporary", "unlogged", "global", "local"}
_BACKSLASH_ESCAPE = re.compile(r"\\.", re.S)
# Statements that may change standard_conforming_strings or end the transaction.
_SESSION_VERBS = frozenset({"set", "reset", "begin", "start", "commit", "end", "rollback", "abort"})


def classify(words: tuple[str, ...]) -> str:
    """The statement kind from its leading keywords; 'other' kinds are skipped cheaply."""
    if not words:
        return "empty"
    head = list(words[:8])
    verb = head[0]
    rest = head[1:]
    noun = rest[0] if rest else ""
    if verb == "create":
        return _classify_create(rest)
    if verb == "alter":
        if noun == "table" or (noun == "foreign" and rest[1:2] == ["table"]):
            return "alter_table"
        if noun in {"function", "procedure", "routine"}:
            return "alter_function"
        if noun == "trigger":
            return "alter_trigger"
        if noun == "view" or (noun == "materialized" and rest[1:2] == ["view"]):
            return "alter_view"
        if noun == "rule":
            return "alter_rule"
        if noun == "event" and rest[1:2] == ["trigger"]:
            return "alter_event_trigger"
        return "other"
    if verb == "drop":
        if noun in {"table", "view"} or (
            noun in {"materialized", "foreign"} and rest[1:2] in (["view"], ["table"])
        ):
            return "drop_relation"
        if noun in {"function", "procedure", "routine"}:
            return "drop_function"
        if noun == "trigger":
            return "drop_trigger"
        if noun == "rule":
            return "drop_rule"
        if noun == "schema":
            return "drop_schema"
        if noun == "index":
            return "drop_index"
        if noun == "event" and rest[1:2] == ["trigger"]:
            return "drop_event_trigger"
        return "other"
    if verb == "do":
        return "do"
    if verb == "call":
        return "call"
    if verb == "select":
        return "select"
    if verb == "set" and noun in {"local", "session"}:
        noun = rest[1] if len(rest) > 1 else ""
    if verb == "set" and noun in {"search_path", "schema"}:
        return "set_search_path"
    if verb == "reset" and noun in {"search_path", "all"}:
        return "set_search_path"
    return "other"


def _classify_create(rest: list[str]) -> str:
    if rest[:2] == ["or", "replace"]:
        rest = rest[2:]
    while rest and rest[0] in _TABLE_MODIFIERS:
        rest = rest[1:]
    noun = rest[0] if rest else ""
    if noun == "table" or (noun == "foreign" and rest[1:2] == ["table"]):
        return "create_table"
    if noun in {"view", "recursive"} or (noun == "materialized" and rest[1:2] == ["view"]):
        return "create_view"
    if noun in {"function", "procedure"}:
        return "create_function"
    if noun == "trigger" or (noun == "constraint" and rest[1:2] == ["trigger"]):
        return "create_trigger"
    if noun == "event" and rest[1:2] == ["trigger"]:
        return "create_event_trigger"
    if noun == "rule":
        return "create_rule"
    if noun == "schema":
        return "create_schema"
    if noun == "extension":
        return "create_extension"
    if noun == "unique" and rest[1:2] == ["index"]:
        return "create_unique_index"
    if noun == "index":
        return "create_index"
    return "other"
