"""The one-way pipeline of DESIGN.md, enforced on the import statements themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "analyzer"

# Each stage may import itself and anything to its left, never to its right.
ORDER = [
    "findings",
    "types",
    "data",
    "builtins",
    "source",
    "tokens",
    "parse",
    "plpgsql",
    "catalog",
    "config",
    "cache",
    "ddl",
    "folding",
    "guards",
    "loader",
    "preludes",
    "pgserver",
    "row_bounds",
    "effects",
    "parallel",
    "graph",
    "cascade",
    "entry_sql",
    "workload",
    "rules",
    "analysis",
    "suppressions",
    "baseline",
    "verify",
    "report",
    "cli",
    "__init__",
    "__main__",
]


def stage_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        found.append((".".join(relative.parts), path))
    return found


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at import time) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    result = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            result.extend((alias.name, id(node) in top_level) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            result.append((node.module, id(node) in top_level))
    return result


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_module_imports_only_earlier_stages(module: str, path: Path) -> None:
    stage = stage_of(module) if module != "analyzer" else "__init__"
    if module.endswith("__init__"):
        stage = stage_of(module.rsplit(".", 1)[0]) if module.count(".") > 1 else "__init__"
    assert stage in ORDER, f"{module}: add its stage to ORDER in this test"
    for imported, _ in imports_of(path):
        if imported == "analyzer" and stage not in {"__init__", "__main__"}:
            pytest.fail(f"{module} imports the public API package; import the stage module")
        if imported.startswith("analyzer."):
            target = imported.split(".")[1]
            assert ORDER.index(target) <= ORDER.index(stage), (
                f"{module} imports {imported}, a later stage of the pipeline"
            )


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_ui_libraries_stay_at_the_edge(module: str, path: Path) -> None:
    for imported, at_import_time in imports_of(path):
        root = imported.split(".")[0]
        if root == "click":
            assert module == "analyzer.cli", f"{module} imports click"
        if root == "rich":
            assert module == "analyzer.cli" or module.startswith("analyzer.report"), (
                f"{module} imports rich"
            )
        if root == "rules" and at_import_time:
            pytest.fail(f"{module} imports the rule pack at import time")


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import click\nfrom analyzer.cli import main\n", encoding="utf-8")
    assert imports_of(bad) == [("click", True), ("analyzer.cli", True)]
