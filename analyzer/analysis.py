"""The whole pipeline in one call: files → catalog → effects → graph → rules → result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analyzer.catalog import Catalog
from analyzer.config import Config
from analyzer.findings import Diagnostic, Finding, Severity
from analyzer.graph import Model, build_model
from analyzer.loader import load
from analyzer.parallel import analyze_bodies_in_parallel
from analyzer.rules import Context, Rule, load_rules, run_rules, selected


@dataclass(frozen=True)
class Result:
    catalog: Catalog
    model: Model
    findings: tuple[Finding, ...]
    diagnostics: tuple[Diagnostic, ...]
    rules: tuple[type[Rule], ...]

    @property
    def unanalyzed_functions(self) -> int:
        """Function bodies, and DO blocks, that were not fully analysed."""
        bodies = [*self.model.bodies.functions.values(), *self.model.bodies.blocks]
        return sum(1 for body in bodies if body.incomplete)

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for finding in self.findings:
            counts[finding.severity.value] += 1
        return counts


def analyze(paths: Sequence[str], config: Config | None = None, jobs: int = 1) -> Result:
    """`jobs` > 1 analyses function bodies in that many processes (same result)."""
    settings = config or Config()
    catalog = load(paths, settings)
    model = build_model(catalog, analyze_bodies_in_parallel(catalog, jobs))
    classes, load_problems = load_rules(settings)
    chosen = selected(classes, settings.select, settings.ignore)
    findings, rule_problems = run_rules(chosen, Context(catalog, model, settings))
    diagnostics = sorted(
        {*catalog.diagnostics, *model.bodies.diagnostics, *load_problems, *rule_problems}
    )
    return Result(catalog, model, tuple(findings), tuple(diagnostics), tuple(chosen))
