"""A cursor over sqlglot tokens for targeted DDL parsing.

sqlglot merges some keyword pairs into one token ("PRIMARY KEY", "DOUBLE PRECISION");
the cursor splits them back into words so grammar code can match word by word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot.tokenizer_core import Token, TokenType

_STRING_TYPES = {
    TokenType.STRING,
    TokenType.HEREDOC_STRING,
    TokenType.NATIONAL_STRING,
    TokenType.BYTE_STRING,
    TokenType.RAW_STRING,
    TokenType.BIT_STRING,
    TokenType.HEX_STRING,
    TokenType.UNICODE_STRING,
}
# Identifier characters as regex classes. PostgreSQL: an ASCII letter, `_` or any non-ASCII
# character starts a name; digits and `$` may follow (not in a dollar-quote tag). Written as
# negated ASCII classes because `re` takes about 12 ms, at every start of the program, to
# compile a class that spans \x80-\U0010ffff; tests/test_split.py checks they match the same
# characters as the plain classes in the comments.
IDENT_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"  # [A-Za-z_\x80-\U0010ffff]
IDENT_PART = r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"  # [A-Za-z0-9_$\x80-…]
TAG_PART = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"  # [A-Za-z0-9_\x80-\U0010ffff]
_WORD_TEXT = re.compile(f"^{IDENT_START}{IDENT_PART}*$")


NAMEDATALEN = 64
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def truncate_identifier(name: str) -> str:
    """PostgreSQL keeps the first NAMEDATALEN-1 bytes of a name (whole characters only)."""
    encoded = name.encode("utf-8")
    if len(encoded) < NAMEDATALEN:
        return name
    return encoded[: NAMEDATALEN - 1].decode("utf-8", errors="ignore")


def fold_identifier(text: str, *, quoted: bool = False) -> str:
    """Unquoted identifiers fold ASCII letters to lower case (other letters stay as
    written, as in a UTF-8 database); every identifier is truncated to 63 bytes."""
    return truncate_identifier(text if quoted else text.translate(_ASCII_LOWER))


@dataclass(
    slots=True
)  # not frozen: the catalog builds one per token, and frozen costs a setattr call per field
class Item:
    """One word, quoted identifier, string, number or punctuation mark."""

    kind: str  # word | ident | string | number | punct
    text: str
    token: Token

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def name(self) -> str:
        """The identifier as PostgreSQL folds it: unquoted lower case, quoted as written."""
        return fold_identifier(self.text, quoted=self.kind == "ident")


def items_of(tokens: Sequence[Token]) -> list[Item]:
    items: list[Item] = []
    for token in tokens:
        kind_type = token.token_type
        if kind_type == TokenType.IDENTIFIER:
            items.append(Item("ident", token.text, token))
        elif kind_type in _STRING_TYPES:
            items.append(Item("string", token.text, token))
        elif kind_type == TokenType.NUMBER:
            items.append(Item("number", token.text, token))
        elif " " in token.text.strip() and all(_WORD_TEXT.match(w) for w in token.text.split()):
            items.extend(Item("word", word, token) for word in token.text.split())
        elif _WORD_TEXT.match(token.text):
            items.append(Item("word", token.text, token))
        else:
            items.append(Item("punct", token.text, token))
    return items


class SyntaxProblem(Exception):
    """A statement did not follow the grammar the catalog expects."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class Cursor:
    def __init__(self, items: list[Item], end_offset: int) -> None:
        self.items = items
        self.index = 0
        self.end_offset = end_offset

    @property
    def done(self) -> bool:
        return self.index >= len(self.items) or self.peek_punct(";")

    def peek(self, ahead: int = 0) -> Item | None:
        position = self.index + ahead
        return self.items[position] if position < len(self.items) else None

    @property
    def offset(self) -> int:
        item = self.peek()
        return item.token.start if item else self.end_offset

    def peek_word(self, *words: str) -> bool:
        for ahead, word in enumerate(words):
            item = self.peek(ahead)
            if item is None or item.upper != word:
                return False
        return True

    def peek_punct(self, text: str) -> bool:
        item = self.peek()
        return item is not None and item.kind == "punct" and item.text == text

    def accept(self, *words: str) -> bool:
        if self.peek_word(*words):
            self.index += len(words)
            return True
        return False

    def accept_punct(self, text: str) -> bool:
        if self.peek_punct(text):
            self.index += 1
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise SyntaxProblem(f"expected {' '.join(words)}", self.offset)

    def expect_punct(self, text: str) -> None:
        if not self.accept_punct(text):
            raise SyntaxProblem(f"expected '{text}'", self.offset)

    def accept_any(self, *words: str) -> str | None:
        """Consume one of the words and return it (upper case), or None."""
        for word in words:
            if self.accept(word):
                return word
        return None

    def rest(self) -> list[Item]:
        """The items left, without a final `;`."""
        items = self.items[self.index :]
        if items and items[-1].kind == "punct" and items[-1].text == ";":
            items = items[:-1]
        return items

    def next(self) -> Item:
        item = self.peek()
        if item is None:
            raise SyntaxProblem("unexpected end of statement", self.end_offset)
        self.index += 1
        return item

    def identifier(self) -> Item:
        item = self.next()
        if item.kind not in {"word", "ident"}:
            raise SyntaxProblem(f"expected a name, found {item.text!r}", item.token.start)
        return item

    def qualified_name(self) -> tuple[list[str], Item]:
        first = self.identifier()
        parts = [first.name]
        while self.peek_punct("."):
            self.index += 1
            parts.append(self.identifier().name)
        return parts, first

    def skip_balanced(self) -> list[Item]:
        """Consume a parenthesised group starting at '(' and return its inner items."""
        self.expect_punct("(")
        depth, start = 1, self.index
        while depth:
            item = self.next()
            if item.kind == "punct" and item.text in {"(", "["}:
                depth += 1
            elif item.kind == "punct" and item.text in {")", "]"}:
                depth -= 1
        return self.items[start : self.index - 1]

    def until(self, *stop_words: str, stop_puncts: tuple[str, ...] = (",", ")")) -> list[Item]:
        """Items up to (not including) a top-level stop word or punctuation mark."""
        start, depth = self.index, 0
        while self.index < len(self.items):
            item = self.items[self.index]
            if item.kind == "punct" and item.text in {"(", "["}:
                depth += 1
            elif item.kind == "punct" and item.text in {")", "]"}:
                if depth == 0 and item.text in stop_puncts:
                    break
                depth -= 1
            elif depth == 0 and (
                (item.kind == "punct" and item.text in stop_puncts)
                or (item.kind == "word" and item.upper in stop_words)
            ):
                break
            self.index += 1
        return self.items[start : self.index]


def split_top_level(items: list[Item], separator: str = ",") -> list[list[Item]]:
    """Split at top-level separators. A comma list may not have empty elements (`a, , b`,
    `a,`); a `;` list (a rule's actions) may."""
    parts: list[list[Item]] = [[]]
    depth = 0
    for item in items:
        if item.kind == "punct" and item.text in {"(", "["}:
            depth += 1
        elif item.kind == "punct" and item.text in {")", "]"}:
            depth -= 1
        if depth == 0 and item.kind == "punct" and item.text == separator:
            if not parts[-1] and separator == ",":
                raise SyntaxProblem("empty element in a list", item.token.start)
            parts.append([])
        else:
            parts[-1].append(item)
    if items and not parts[-1] and separator == ",":
        raise SyntaxProblem("empty element in a list", items[-1].token.end + 1)
    return [part for part in parts if part]


def source_text(text: str, items: Sequence[Item]) -> str:
    """The original text covering items (comments inside kept)."""
    if not items:
        return ""
    return text[items[0].token.start : items[-1].token.end + 1]
