"""In-source suppressions: `-- sqlripple: ignore[rule-name, RP102] reason` comments.

A suppression covers the line it ends (a comment after code), or the next code line
(a comment alone on its line, possibly among other comment lines); when that line is
the first line of a statement, the whole statement (a CREATE FUNCTION body, a CREATE
TRIGGER). `ignore-file[…]` anywhere covers the whole file. A suppression must say why:
one without a reason still applies but is reported, as is one that matches nothing.
Those two reports are rules of their own (`suppression-without-reason`,
`unused-suppression`), produced here because only this pass sees the comments.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from analyzer.findings import Finding, Location, Severity
from analyzer.parse import split_statements
from analyzer.rules import Context, Rule
from analyzer.source import SourceFile


class SuppressionWithoutReason(Rule):
    """A `-- sqlripple: ignore[…]` comment that does not say why.

    Why it matters: a suppression hides a real cost or bug from everyone who reads the
    report later. Without a reason nobody can tell whether it is still justified after
    the schema changes, so it tends to outlive the reason it was added for.

    Bad:

        INSERT INTO usage_daily … ON CONFLICT … DO UPDATE  -- sqlripple: ignore[analytics-inflation]

    Fix: write the reason after the closing bracket:

        -- sqlripple: ignore[analytics-inflation] sync never re-sends old messages (API v2)

    The suppression still applies; this note only asks for the reason.
    """

    code = "RP901"
    name = "suppression-without-reason"
    severity = Severity.NOTE
    summary = "A suppression comment that does not say why"

    def check(self, ctx: Context) -> Iterable[Finding]:
        return ()  # reported by apply_suppressions, the only pass that sees comments


class UnusedSuppression(Rule):
    """A `-- sqlripple: ignore[…]` comment that suppresses nothing.

    Why it matters: a stale suppression is a trap. The finding it was written for is
    gone (fixed, or moved to another line), but the comment stays and will silently hide
    the next, possibly different, problem at that spot. A suppression that names no
    rule, or is written wrongly, never worked at all.

    Bad:

        -- sqlripple: ignore[write-amplification] bulk import only
        CREATE TRIGGER stamp BEFORE UPDATE ON t …   -- nothing is reported here

    Fix: delete the comment, or correct the rule name and its placement: on the line the
    finding points at, on the line above it, or on the first line of the CREATE FUNCTION
    or CREATE TRIGGER statement to cover the whole object. Suppressions of rules that
    did not run (deselected with select or ignore) are not reported.
    """

    code = "RP902"
    name = "unused-suppression"
    severity = Severity.NOTE
    summary = "A suppression comment that matches no finding"

    def check(self, ctx: Context) -> Iterable[Finding]:
        return ()  # reported by apply_suppressions, the only pass that sees comments


SUPPRESSION_RULES: tuple[type[Rule], ...] = (SuppressionWithoutReason, UnusedSuppression)

_MARKER = re.compile(r"--[ \t]*sqlripple[ \t]*:[ \t]*(?P<rest>[^\n]*)")
_DIRECTIVE = re.compile(
    r"(?P<kind>ignore-file|ignore)[ \t]*\[(?P<rules>[^\]\n]*)\](?P<reason>[^\n]*)$"
)
_SCAN = re.compile(r"--|/\*|(?<![\w$])[Ee]'|'|\"")
_PLAIN_STRING_END = re.compile(r"[^']*(?:''[^']*)*'")
_ESCAPE_STRING_END = re.compile(r"(?:[^'\\]|\\.|'')*'", re.S)
_IDENT_END = re.compile(r'[^"]*(?:""[^"]*)*"')
_BLOCK_COMMENT_PART = re.compile(r"/\*|\*/")


@dataclass(frozen=True)
class Suppression:
    """One suppression comment and the lines it covers (first, last; inclusive)."""

    location: Location
    kind: str  # "ignore" or "ignore-file"
    rules: tuple[str, ...]
    reason: str
    first_line: int
    last_line: int

    def covers(self, line: int) -> bool:
        return self.first_line <= line <= self.last_line


@dataclass(frozen=True)
class Suppressed:
    """A finding that a suppression comment hides."""

    finding: Finding
    suppression: Suppression


@dataclass(frozen=True)
class SuppressionOutcome:
    findings: tuple[Finding, ...]  # what is still reported, with the suppression notes
    suppressed: tuple[Suppressed, ...]


def line_comments(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) offsets of every `--` comment outside strings and quoted names.

    Dollar quotes are read through, so comments inside function bodies count.
    """
    position = 0
    while True:
        match = _SCAN.search(text, position)
        if match is None:
            return
        token = match.group()
        if token == "--":
            end = text.find("\n", match.start())
            end = len(text) if end < 0 else end
            yield match.start(), end
            position = end
        elif token == "/*":
            depth, position = 1, match.end()
            while depth:
                part = _BLOCK_COMMENT_PART.search(text, position)
                if part is None:
                    return
                depth += 1 if part.group() == "/*" else -1
                position = part.end()
        else:
            pattern = {'"': _IDENT_END, "'": _PLAIN_STRING_END}.get(token, _ESCAPE_STRING_END)
            closed = pattern.match(text, match.end())
            if closed is None:
                return
            position = closed.end()


def read_suppressions(source: SourceFile) -> tuple[list[Suppression], list[Location]]:
    """The suppressions of a file, and the locations of malformed ones."""
    text = source.text
    if "sqlripple" not in text:  # no marker can match: spare the scans and the split
        return [], []
    lines = text.split("\n")
    statement_ends: dict[int, int] | None = None
    found: list[Suppression] = []
    malformed: list[Location] = []
    for start, end in line_comments(text):
        marker = _MARKER.match(text, start, end)
        if marker is None:
            continue
        location = source.location(start, end - 1)
        directive = _DIRECTIVE.match(marker.group("rest").rstrip())
        rules = (
            tuple(r.strip() for r in directive.group("rules").split(",") if r.strip())
            if directive
            else ()
        )
        if directive is None or not rules:
            malformed.append(location)
            continue
        reason = directive.group("reason").strip().lstrip(":-\u2013\u2014 ").strip()
        kind = directive.group("kind")
        if kind == "ignore-file":
            first, last = 1, len(lines)
        else:
            first = _target_line(lines, location.line, text[start - location.column + 1 : start])
            if statement_ends is None:
                statement_ends = _statement_ends(source)
            last = max(first, statement_ends.get(first, first)) if first else 0
        found.append(Suppression(location, kind, rules, reason, first, last))
    return found, malformed


def _statement_ends(source: SourceFile) -> dict[int, int]:
    """The last line of the statements that start on each line."""
    ends: dict[int, int] = {}
    statements, _, _ = split_statements(source)
    for statement in statements:
        location = statement.location
        ends[location.line] = max(ends.get(location.line, 0), location.end_line)
    return ends


def _target_line(lines: Sequence[str], line: int, before: str) -> int:
    """The line a comment on `line` speaks for (0: none): its own line after code, else
    the next line that is not only a comment."""
    if before.strip():
        return line
    for number in range(line + 1, len(lines) + 1):
        content = lines[number - 1].strip()
        if not content:
            return 0
        if not content.startswith("--"):
            return number
    return 0


def apply_suppressions(
    findings: Sequence[Finding],
    files: Sequence[SourceFile],
    known: Sequence[type[Rule]],
    ran: Collection[str],
    notes: Sequence[Rule],
) -> SuppressionOutcome:
    """Hide the findings that comments suppress and report bad suppressions.

    `known` are every loaded rule (a comment may name any), `ran` the names of the rules
    that ran (only those can make a suppression unused), `notes` the configured instances
    of the suppression rules that are selected.
    """
    by_token = {rule.name: rule.name for rule in known}
    by_token.update({rule.code.upper(): rule.name for rule in known})
    meta = {rule.name for rule in SUPPRESSION_RULES}
    reporters = {type(rule).name: rule for rule in notes}
    suppressions: dict[str, list[Suppression]] = {}
    malformed: list[Location] = []
    for source in files:
        if source.origin is not None:
            continue
        found, bad = read_suppressions(source)
        suppressions[source.path] = found
        malformed.extend(bad)

    def resolve(token: str) -> str | None:
        return by_token.get(token) or by_token.get(token.upper())

    used: set[tuple[int, str]] = set()
    kept: list[Finding] = []
    hidden: list[Suppressed] = []
    for finding in findings:
        matching = [
            s
            for s in suppressions.get(finding.location.path, ())
            if s.covers(finding.location.line)
            and any(resolve(token) == finding.rule for token in s.rules)
        ]
        if not matching:
            kept.append(finding)
            continue
        for suppression in matching:
            used.add((id(suppression), finding.rule))
        closest = min(matching, key=lambda s: (s.last_line - s.first_line, s.location))
        hidden.append(Suppressed(finding, closest))

    reported: list[Finding] = []
    without_reason = reporters.get(SuppressionWithoutReason.name)
    unused = reporters.get(UnusedSuppression.name)
    for path in sorted(suppressions):
        for suppression in suppressions[path]:
            shown = f"ignore[{', '.join(suppression.rules)}]"
            if suppression.kind == "ignore-file":
                shown = f"ignore-file[{', '.join(suppression.rules)}]"
            if without_reason and not suppression.reason:
                reported.append(
                    without_reason.finding(
                        suppression.location,
                        f"suppression {shown} gives no reason",
                        hint=f"Say why after the bracket: -- sqlripple: {shown} <reason>",
                        subject=f"{path} {shown}",
                    )
                )
            if unused is None:
                continue
            for token in suppression.rules:
                name = resolve(token)
                if name in meta:
                    message = f"{token} cannot be suppressed by a comment"
                    hint = "Use ignore in the configuration or --ignore to turn it off."
                elif name is None:
                    message = f"suppression {shown}: no rule is named {token!r}"
                    hint = "`sqlripple rules` lists the rule names and codes."
                elif name in ran and (id(suppression), name) not in used:
                    if suppression.kind == "ignore-file":
                        message = f"suppression {shown}: no {name} finding in this file"
                        hint = "Remove the comment: the finding it was written for is gone."
                    else:
                        message = f"suppression {shown}: no {name} finding here"
                        hint = (
                            "Remove the comment, or put it on the line the finding points at, "
                            "on the line above it, or on the first line of the statement."
                        )
                else:
                    continue
                reported.append(
                    unused.finding(
                        suppression.location, message, hint=hint, subject=f"{path} {token}"
                    )
                )
    if unused is not None:
        for location in malformed:
            reported.append(
                unused.finding(
                    location,
                    "malformed suppression: nothing is suppressed",
                    hint="Write -- sqlripple: ignore[rule-name, …] reason "
                    "(or ignore-file[…] for the whole file).",
                    subject=f"{location.path} malformed",
                )
            )
    ordered = sorted([*kept, *reported], key=lambda f: f.sort_key())
    return SuppressionOutcome(tuple(ordered), tuple(hidden))
