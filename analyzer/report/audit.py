"""`sqlripple report`: one HTML audit page.

Summary figures, the findings table, the interactive graph and, for every write entry,
what one source row costs (row writes per table, calls per function, aggregate scans) as
lower and upper bounds. Hovering a finding or an entry lights up its path in the graph.
The page prints: controls are hidden and the graph is printed as an image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analyzer.analysis import Result
from analyzer.cascade import UNBOUNDED, TraceEntry, totals_document
from analyzer.config import Config
from analyzer.findings import Finding
from analyzer.report import html
from analyzer.report.graph_view import (
    GraphDocument,
    Highlight,
    build_document,
    cascade_highlight,
    hop_text,
)
from analyzer.report.html import escape
from analyzer.report.summary import tool_version
from analyzer.rules import Context


@dataclass(frozen=True)
class CostRow:
    what: str  # rows written | calls | aggregate scans | total row writes
    name: str
    low: int
    high: float  # UNBOUNDED: a set-based write's rows


@dataclass(frozen=True)
class EntryCost:
    label: str
    scenario: str
    declared: bool
    rows: tuple[CostRow, ...]
    cycles: tuple[str, ...]
    unknowns: tuple[str, ...]
    highlight: Highlight

    @property
    def exact(self) -> bool:
        return all(row.low == row.high for row in self.rows)


@dataclass(frozen=True)
class Audit:
    title: str
    result: Result
    graph: GraphDocument
    entries: tuple[EntryCost, ...]


def _cost_rows(low: dict[str, object], high: dict[str, object]) -> list[CostRow]:
    rows: list[CostRow] = []
    low_writes, high_writes = low["row_writes"], high["row_writes"]
    assert isinstance(low_writes, dict) and isinstance(high_writes, dict)
    for table in sorted(high_writes):
        for kind, count in high_writes[table].items():
            if count != 0:
                rows.append(
                    CostRow(
                        "rows written",
                        f"{table} ({kind})",
                        low_writes.get(table, {}).get(kind, 0),
                        _upper(count),
                    )
                )
    low_calls, high_calls = low["function_calls"], high["function_calls"]
    assert isinstance(low_calls, dict) and isinstance(high_calls, dict)
    rows.extend(
        CostRow("calls", f"{name}()", int(low_calls.get(name, 0)), _upper(count))
        for name, count in sorted(high_calls.items())
    )
    rows.append(
        CostRow(
            "aggregate scans",
            "",
            int(str(low["aggregate_scans"])),
            _upper(high["aggregate_scans"]),
        )
    )
    rows.append(
        CostRow(
            "total row writes",
            "",
            int(str(low["total_row_writes"])),
            _upper(high["total_row_writes"]),
        )
    )
    return rows


def build_audit(result: Result, title: str, config: Config | None = None) -> Audit:
    context = Context(result.catalog, result.model, config or Config())
    entries = []
    for point in context.entries:
        cascade = context.cascade(TraceEntry(point.table, point.operation))
        per_row = cascade.totals(1)
        entries.append(
            EntryCost(
                label=f"{point.operation.upper()} {point.table}",
                scenario=cascade.entry.scenario,
                declared=point.declared,
                rows=tuple(_cost_rows(totals_document(per_row, 0), totals_document(per_row, 1))),
                cycles=tuple(
                    " → ".join(c.frames)
                    + (
                        f" (broken by {'; '.join(c.guards)})"
                        if c.guards
                        else " (nothing breaks it)"
                    )
                    for c in cascade.cycles
                ),
                unknowns=tuple(
                    f"{u.reason}: {u.name}" + (f" at {u.location}" if u.location else "")
                    for u in cascade.unknowns
                ),
                highlight=cascade_highlight(result.model, cascade),
            )
        )
    return Audit(title, result, build_document(result, title), tuple(entries))


# ---- rendering -------------------------------------------------------------------------------


def _upper(count: object) -> float:
    """An upper count of a totals document: null there is UNBOUNDED."""
    return UNBOUNDED if count is None else int(str(count))


def _figure(count: float) -> str:
    return "∞" if count == UNBOUNDED else str(int(count))


def _range(low: int, high: float) -> str:
    return _figure(high) if low == high else f"{low}..{_figure(high)}"


def _total(entry: EntryCost) -> CostRow:
    return next(r for r in entry.rows if r.what == "total row writes")


def _cards(audit: Audit) -> str:
    result = audit.result
    summary = result.catalog.summary
    counts = result.counts()
    cards = [
        ("alert" if counts["error"] else "", str(counts["error"]), "errors", ""),
        ("warn" if counts["warning"] else "", str(counts["warning"]), "warnings", ""),
        ("", str(counts["note"]), "notes", ""),
        ("", str(summary.tables), "tables", ""),
        ("", str(summary.triggers), "triggers", ""),
        ("", str(summary.functions), "functions", ""),
        ("", str(len(audit.entries)), "write entries traced", ""),
    ]
    if audit.entries:
        worst = max(audit.entries, key=lambda e: (_total(e).high, _total(e).low))
        total = _total(worst)
        cards.append(
            (
                "warn" if total.high > 1 else "",
                _range(total.low, total.high),
                "row writes per source row, at most",
                worst.label,
            )
        )
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card {css}"><div class="figure">{escape(figure)}</div>'
            f'<div class="caption">{escape(caption)}</div>'
            + (f'<div class="sub">{escape(sub)}</div>' if sub else "")
            + "</div>"
            for css, figure, caption, sub in cards
        )
        + "</div>"
    )


def _diagnostics(result: Result) -> str:
    summary = result.catalog.summary
    skipped = summary.unanalyzed_statements + result.unanalyzed_functions
    if not skipped and not result.diagnostics:
        return ""
    items = "".join(f"<li><code>{escape(str(d))}</code></li>" for d in result.diagnostics)
    count = len(result.diagnostics)
    if skipped:
        head = (
            f"<strong>Incomplete:</strong> {summary.unanalyzed_statements} statements and "
            f"{result.unanalyzed_functions} function bodies were not fully analysed."
        )
        css = "incomplete"
    else:
        plural = "s" if count != 1 else ""
        head = f"<strong>{count} diagnostic{plural}</strong> (every statement was analysed)"
        css = "diagnostics"
    return f'<div class="{css}">{head}<ul>{items}</ul></div>'


def _finding_rows(findings: Sequence[Finding], graph: GraphDocument) -> str:
    index = {id(view.finding): number for number, view in enumerate(graph.findings)}
    rows = []
    for number, finding in enumerate(findings, 1):
        where = finding.location
        attribute = f' data-finding="{index[id(finding)]}"' if id(finding) in index else ""
        path = "".join(f"<li>{escape(hop_text(hop))}</li>" for hop in finding.path)
        hint = f'<div class="hint">{escape(finding.hint)}</div>' if finding.hint else ""
        rows.append(
            f'<tr{attribute}><td class="num">{number}</td>'
            f'<td><span class="sev sev-{finding.severity.value}">'
            f"{escape(finding.severity.value)}</span></td>"
            f"<td><strong>{escape(finding.code)}</strong> {escape(finding.rule)}</td>"
            f"<td><code>{escape(f'{where.path}:{where.line}:{where.column}')}</code></td>"
            f"<td>{escape(finding.message)}{hint}</td>"
            f'<td><ol class="path">{path}</ol></td></tr>'
        )
    if not rows:
        return '<p class="empty">No findings.</p>'
    return (
        '<table class="data findings-table"><colgroup><col class="c-num"><col class="c-sev">'
        '<col class="c-rule"><col class="c-where"><col class="c-message"><col class="c-path">'
        '</colgroup><thead><tr><th class="num">#</th><th>Severity</th><th>Rule</th>'
        "<th>Location</th><th>Message</th><th>Path</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _row_class(row: CostRow) -> str:
    classes = ["total"] if row.what == "total row writes" else []
    if row.low != row.high:
        classes.append("uncertain")
    return " ".join(classes)


def _entry_block(number: int, entry: EntryCost) -> str:
    bound = (
        '<span class="exact">exact</span>'
        if entry.exact
        else '<span class="bounds">min..max: some guards cannot be decided statically</span>'
    )
    rows = "".join(
        f'<tr class="{_row_class(row)}">'
        f"<td>{escape(row.what)}</td><td>{escape(row.name)}</td>"
        f'<td class="num">{row.low}</td><td class="num">{_figure(row.high)}</td></tr>'
        for row in entry.rows
    )
    extra = "".join(
        f'<div class="where">cycle: {escape(cycle)}</div>' for cycle in entry.cycles
    ) + "".join(f'<div class="where">unknown: {escape(u)}</div>' for u in entry.unknowns)
    declared = " · declared entry point" if entry.declared else ""
    return (
        f'<div class="entry" data-entry="{number}"><h3>{escape(entry.label)}</h3>'
        f'<div class="meta">scenario: {escape(entry.scenario)}{declared} · per source row · '
        f"{bound}</div>"
        '<table class="data"><thead><tr><th>What</th><th>Name</th><th class="num">Min</th>'
        f'<th class="num">Max</th></tr></thead><tbody>{rows}</tbody></table>{extra}</div>'
    )


_NO_ENTRIES = '<p class="empty">No table has triggers or foreign-key actions.</p>'


def render(audit: Audit) -> str:
    result = audit.result
    graph = audit.graph
    counts = result.counts()
    summary = result.catalog.summary
    header = f"""<header class="page-header">
<span class="brand">sqlripple</span>
<h1>Trigger cascade audit: {escape(audit.title)}</h1>
<span class="counts">{summary.files} files · {summary.statements} statements ·
{sum(counts.values())} findings</span>
</header>"""
    entries = "".join(_entry_block(n, e) for n, e in enumerate(audit.entries))
    body = f"""{header}
<main class="report">
{_cards(audit)}
{_diagnostics(result)}
<section class="graph-section">
<h2>Graph <span class="meta">{escape(graph.scope)}: hover a finding or an entry to see its
path, click a node for its definition</span></h2>
{html.graph_section(graph)}
</section>
<section>
<h2>Findings</h2>
{_finding_rows(result.findings, graph)}
</section>
<section>
<h2>What one write costs</h2>
<p class="meta">Per source row of each write the schema's triggers and foreign keys react
to. Min assumes every guard that cannot be decided statically fails, max that it passes.</p>
<div class="entries">{entries or _NO_ENTRIES}</div>
</section>
<footer class="report-footer">sqlripple {escape(tool_version())} · the same input gives the
same page.</footer>
</main>"""
    data = html.graph_data(graph, [(e.label, e.highlight) for e in audit.entries])
    return html.page(f"sqlripple audit: {audit.title}", body, data, "report-page")
