"""Split files into statements with exact spans, classify them, and tokenise on demand.

Splitting uses a regex scanner over the raw text (so an unterminated quote is reported at
its start, and psql meta-commands and COPY data are set aside); each statement is then
tokenised with sqlglot's PostgreSQL tokenizer, whose character offsets are made absolute.
This is the only module that imports sqlglot's tokenizer and parser for DDL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token

from analyzer.findings import Diagnostic, Location
from analyzer.source import SourceFile

_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\x80-\U0010ffff]")
_SCAN = re.compile(
    r"""(?P<line_comment>--[^\n]*)
      | (?P<block_comment>/\*)
      | (?P<estring>(?<![A-Za-z0-9_$])[EeUu]&?')
      | (?P<string>')
      | (?P<ident>")
      | (?P<dollar>\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$)
      | (?P<semi>;)
      | (?P<meta>^[ \t]*\\)""",
    re.X | re.M,
)
_PLAIN_STRING_END = re.compile(r"[^']*(?:''[^']*)*'")
_ESCAPE_STRING_END = re.compile(r"(?:[^'\\]|\\.|'')*'", re.S)
_IDENT_END = re.compile(r'[^"]*(?:""[^"]*)*"')
_BLOCK_COMMENT_PART = re.compile(r"/\*|\*/")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_COPY_FROM_STDIN = re.compile(r"^\s*copy\b.*\bfrom\s+stdin\b", re.I | re.S)
_COPY_END = re.compile(r"^\\\.[ \t]*\r?$", re.M)
_ATOMIC = re.compile(r"\bbegin\s+atomic\b", re.I)
_CASE_OR_END = re.compile(r"\b(case|end)\b", re.I)


@dataclass(frozen=True, eq=False)
class Statement:
    """One top-level statement: its file, its span (end inclusive) and its code words."""

    file: SourceFile
    start: int
    end: int
    words: tuple[str, ...] = field(repr=False)

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
        return tokenize(self.text, self.start)

    def excerpt(self, limit: int = 60) -> str:
        first = " ".join(self.text.split())
        return first if len(first) <= limit else first[: limit - 1] + "…"


def tokenize(text: str, offset: int = 0) -> tuple[Token, ...]:
    tokens = Postgres().tokenize(text)
    if offset:
        for token in tokens:
            token.start += offset
            token.end += offset
    return tuple(tokens)


def parse_tokens(tokens: Sequence[Token], sql: str) -> exp.Expr | None:
    """Parse tokens (absolute offsets into `sql`) as one expression with sqlglot."""
    expressions = Postgres().parser().parse(list(tokens), sql)
    return expressions[0] if expressions else None


def parse_expression(text: str) -> exp.Expr | None:
    """Parse a standalone SQL expression or statement; None when sqlglot cannot."""
    try:
        expressions = Postgres().parser().parse(Postgres().tokenize(text), text)
    except (ParseError, TokenError, RecursionError, ValueError):
        return None
    return expressions[0] if expressions else None


@dataclass
class _Pending:
    start: int = -1
    end: int = -1
    code: list[str] = field(default_factory=list)

    def add_code(self, text: str, start: int) -> None:
        stripped = text.strip()
        if not stripped:
            return
        if self.start < 0:
            self.start = start + (len(text) - len(text.lstrip()))
        self.end = start + len(text.rstrip()) - 1
        self.code.append(text)

    def add_literal(self, start: int, end: int, placeholder: str) -> None:
        if self.start < 0:
            self.start = start
        self.end = end
        self.code.append(placeholder)

    @property
    def blank(self) -> bool:
        return self.start < 0

    def words(self) -> tuple[str, ...]:
        return tuple(w.lower() for w in _WORD.findall(" ".join(self.code)[:400]))

    def in_atomic_body(self) -> bool:
        code = " ".join(self.code)
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


def split_statements(source: SourceFile) -> tuple[list[Statement], list[Diagnostic], int]:
    """Top-level statements of a file; the int counts statements lost to an unreadable tail."""
    text = source.text
    statements: list[Statement] = []
    diagnostics: list[Diagnostic] = []
    pending = _Pending()
    position = 0

    def close(end_offset: int) -> None:
        nonlocal pending
        if not pending.blank:
            pending.end = max(pending.end, end_offset)
            statements.append(Statement(source, pending.start, pending.end, pending.words()))
        pending = _Pending()

    while True:
        match = _SCAN.search(text, position)
        if match is None:
            pending.add_code(text[position:], position)
            close(-1)
            return statements, diagnostics, 0
        pending.add_code(text[position : match.start()], position)
        group = match.lastgroup
        start = match.start()
        end: int | None
        if group == "line_comment":
            position = match.end()
            continue
        if group == "semi":
            pending.end = max(pending.end, start) if not pending.blank else pending.end
            if not pending.blank and pending.in_atomic_body():
                pending.code.append(";")
                position = match.end()
                continue
            is_copy = not pending.blank and _COPY_FROM_STDIN.match(" ".join(pending.code))
            close(start)
            position = match.end()
            if is_copy:
                data_end = _COPY_END.search(text, position)
                position = data_end.end() if data_end else len(text)
            continue
        if group == "meta":
            line_end = text.find("\n", start)
            line_end = len(text) if line_end < 0 else line_end
            if pending.blank:
                position = line_end
                continue
            pending.add_code(text[start:line_end], start)
            position = line_end
            continue
        if group == "block_comment":
            depth, cursor = 0, start
            end = None
            for part in _BLOCK_COMMENT_PART.finditer(text, start):
                depth += 1 if part.group() == "/*" else -1
                cursor = part.end()
                if depth == 0:
                    end = cursor
                    break
            if end is None:
                return _unterminated(source, pending, statements, diagnostics, start, "comment")
            position = end
            continue
        if group == "dollar":
            if start > 0 and _IDENT_CHAR.match(text[start - 1]):
                pending.add_code(text[start : start + 1], start)
                position = start + 1
                continue
            tag = match.group()
            close_at = text.find(tag, match.end())
            if close_at < 0:
                return _unterminated(
                    source, pending, statements, diagnostics, start, f"dollar quote {tag}"
                )
            pending.add_literal(start, close_at + len(tag) - 1, " $body$ ")
            position = close_at + len(tag)
            continue
        pattern, what = {
            "string": (_PLAIN_STRING_END, "string"),
            "estring": (_ESCAPE_STRING_END, "string"),
            "ident": (_IDENT_END, "quoted identifier"),
        }[group or "string"]
        found = pattern.match(text, match.end())
        if found is None:
            return _unterminated(source, pending, statements, diagnostics, start, what)
        placeholder = " q " if group == "ident" else " 's' "
        pending.add_literal(start, found.end() - 1, placeholder)
        position = found.end()


def _unterminated(
    source: SourceFile,
    pending: _Pending,
    statements: list[Statement],
    diagnostics: list[Diagnostic],
    start: int,
    what: str,
) -> tuple[list[Statement], list[Diagnostic], int]:
    diagnostics.append(
        source.diagnostic(start, f"unterminated {what}: the rest of the file is not analysed")
    )
    rest = source.text[start:]
    lost = 1 + rest.count(";")
    return statements, diagnostics, lost


_TABLE_MODIFIERS = {"temp", "temporary", "unlogged", "global", "local"}


def classify(words: tuple[str, ...]) -> str:
    """The statement kind from its leading keywords; 'other' kinds are skipped cheaply."""
    if not words:
        return "empty"
    head = list(words[:8])
    verb = head[0]
    rest = head[1:]
    if verb == "create":
        if rest[:2] == ["or", "replace"]:
            rest = rest[2:]
        while rest and rest[0] in _TABLE_MODIFIERS:
            rest = rest[1:]
        if not rest:
            return "other"
        noun = rest[0]
        if noun == "table":
            return "create_table"
        if noun == "foreign" and rest[1:2] == ["table"]:
            return "create_table"
        if noun in {"view", "recursive"} or (noun == "materialized" and "view" in rest):
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
        return "other"
    if verb == "alter":
        noun = rest[0] if rest else ""
        if noun == "table" or (noun == "foreign" and rest[1:2] == ["table"]):
            return "alter_table"
        if noun in {"function", "procedure", "routine"}:
            return "alter_function"
        if noun == "trigger":
            return "alter_trigger"
        if noun == "view" or (noun == "materialized" and rest[1:2] == ["view"]):
            return "alter_view"
        return "other"
    if verb == "drop":
        noun = rest[0] if rest else ""
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
        return "other"
    if verb == "do":
        return "do"
    if verb == "call":
        return "call"
    if verb == "set" and rest[:1] in (["search_path"], ["schema"]):
        return "set_search_path"
    if verb == "set" and rest[:2] in (["local", "search_path"], ["session", "search_path"]):
        return "set_search_path"
    return "other"
