"""The layers of the analysis package import one way: contract/errors <- text <- stats <- groups <-
present <- report (load beside contract, below groups), and what the sweep driver imports loads
no matplotlib."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "analysis"

#: Layer -> the layers its modules may import (its own included). Modules directly in analysis/
#: other than these (the package's __init__, the re-export modules, synthetic) may import anything.
ALLOWED = {
    "contract": set(),
    "errors": set(),
    "text": {"contract", "errors", "text"},
    "load": {"contract", "errors", "load"},
    "stats": {"contract", "errors", "text", "stats"},
    "groups": {"contract", "errors", "text", "load", "stats", "groups"},
    "present": {"contract", "errors", "text", "load", "stats", "groups", "present"},
    "report": {"contract", "errors", "text", "load", "stats", "groups", "present", "report"},
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def _imports(path: Path) -> list[str]:
    """Every analysis module ``path`` imports, at module level or inside a function."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] + ([node.module] if node.module else [])
            else:
                base = (node.module or "").split(".")
            out += [".".join(base + [a.name]) if not node.module else ".".join(base) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return [m for m in out if m == "analysis" or m.startswith("analysis.")]


def test_every_layer_imports_only_the_layers_below_it():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts)
        layer = _layer(module)
        if layer is None:
            continue
        for target in _imports(path):
            to = _layer(target)
            if to is None or to not in ALLOWED[layer]:
                wrong.append(f"{module} ({layer}) imports {target}")
    assert wrong == []


def test_what_the_driver_imports_loads_no_matplotlib_and_no_table_grouping():
    # rsb-sweep ab decides with stats.sequential and words decision.json with text.verdicts; the
    # re-export module analysis.sequential serves the same two names without drawing anything
    code = ("import sys\n"
            "import analysis.contract, analysis.stats, analysis.text\n"
            "from analysis.stats.sequential import sequential_compare\n"
            "from analysis.text.verdicts import verdict_sentence\n"
            "from analysis.sequential import sequential_compare as s2, verdict_sentence as v2\n"
            "assert s2 is sequential_compare and v2 is verdict_sentence\n"
            "print(sorted(m for m in sys.modules if m == 'matplotlib' or m.startswith(('analysis.groups',"
            " 'analysis.present', 'analysis.report'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout
    assert out.strip() == "[]"


def test_the_array_statistics_load_no_matplotlib_and_no_table_grouping():
    modules = sorted(p.stem for p in (PACKAGE / "stats").glob("*.py") if p.stem != "__init__")
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module('analysis.stats.' + m)\n"
            "print(sorted(m for m in sys.modules if m == 'matplotlib' or m.startswith(('analysis.groups',"
            " 'analysis.present', 'analysis.report', 'analysis.load'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout
    assert len(modules) >= 10 and out.strip() == "[]"


def test_the_sweep_imports_from_analysis_only_the_contract_the_statistics_and_the_text():
    # docs/architecture.md: the driver and the workers need columns, statuses and file names
    # (contract), the ab decision (stats) and its sentence (text); only the CLI's report and paper
    # commands reach the report layer, through analysis.make_report
    allowed = ("analysis.contract", "analysis.errors", "analysis.stats", "analysis.text")
    wrong = []
    for path in sorted((PACKAGE.parent / "rsb_sweep").rglob("*.py")):
        for target in _imports(path):
            ok = target.startswith(allowed) or (path.parent.name == "cli" and path.name in ("manage.py", "paper.py")
                                                and target == "analysis")
            if not ok:
                wrong.append(f"{path.relative_to(PACKAGE.parent)} imports {target}")
    assert wrong == []
