"""Every script in benchmarks/ still runs against the package layout.

Fast: every name a script takes from ``trainer``, ``rsb_sweep`` or ``analysis`` (its imports,
also those inside functions, and the attributes it reads or patches on an imported project
module) exists. Slow: each script runs end to end at its smallest settings, in a copy of
benchmarks/ (so that benchmarks/results/ keeps the recorded numbers).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))
PROJECT = ("trainer", "rsb_sweep", "analysis")


def _project(module: str) -> bool:
    return module.split(".")[0] in PROJECT


def _has(module: str, name: str) -> bool:
    """``module.name`` exists: an attribute, or a submodule not imported yet."""
    mod = importlib.import_module(module)
    if hasattr(mod, name):
        return True
    try:
        importlib.import_module(f"{module}.{name}")
    except ModuleNotFoundError:
        return False
    return True


def project_references(tree: ast.AST) -> list[tuple[str, str]]:
    """(module, name) for each name a script takes from a project module, wherever it does so."""
    aliases: dict[str, str] = {}  # local name -> the project module it is bound to
    refs: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if _project(a.name):
                    aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and _project(node.module):
            for a in node.names:
                refs.append((node.module, a.name))
                submodule = f"{node.module}.{a.name}"
                if importlib.util.find_spec(node.module) and _is_module(submodule):
                    aliases[a.asname or a.name] = submodule
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            refs.append((aliases[node.value.id], node.attr))
    return refs


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def test_a_script_with_a_moved_name_is_caught():
    tree = ast.parse("from trainer import run as run_mod\nrun_mod.no_such_stage = 1\nfrom analysis.nowhere import x\n")
    refs = project_references(tree)
    assert ("trainer.run", "no_such_stage") in refs and ("analysis.nowhere", "x") in refs
    assert not _has("trainer.run", "no_such_stage")
    with pytest.raises(ModuleNotFoundError):
        _has("analysis.nowhere", "x")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_name_a_benchmark_takes_from_the_packages_exists(script: Path):
    refs = project_references(ast.parse(script.read_text(), filename=str(script)))
    missing = []
    for module, name in refs:
        try:
            ok = _has(module, name)
        except ModuleNotFoundError as exc:
            ok, name = False, f"{name} ({exc})"
        if not ok:
            missing.append(f"{module}.{name}")
    assert not missing, f"{script.name} uses names that do not exist: {missing}"


#: The smallest settings of each script (arguments after the script name). A new script must be
#: added here; ``None``: too long to run in the suite even at its smallest (only its names are checked).
SMOKE = {
    "analysis_speed.py": ["--repeats", "1"],
    "checkpoint_sizes.py": ["--models", "digits", "--out", "{tmp}/checkpoint_sizes.json"],
    "digits_profile.py": ["--label", "smoke", "--scratch", "{tmp}/profile", "epochs=2"],
    "digits_run.py": ["--seeds", "0", "--out", "{tmp}/digits_run.json", "--recipe", "a3"],
    "example_noise_coverage.py": ["--reps", "3", "--images", "40"],
    "gpu_check.py": ["--tiny", "--only", "step", "--out", "{tmp}/gpu_check"],  # all parts: tests/test_gpu_check.py
    "gpu_check_runs.py": ["{tmp}/child.json", "--", "--epochs", "2", "--max-steps", "2", "--out", "{tmp}/run"],
    "levers.py": ["--steps", "2", "--rounds", "1", "--out", "{tmp}/levers.json"],
    "main_job.py": ["--n", "1", "--", "--epochs", "2"],
    "preset_calibration.py": ["--seeds", "0", "--candidate", "epochs=2"],
    "race_sim.py": ["--sims", "20", "--ks", "4", "--sigmas", "0.15", "--phis", "--means", "79.85,79.73,79.0,78.2",
                    "--fixed-max", "30", "--out", "{tmp}/race_sim"],
    "ray_sessions.py": None,  # runs the full-length seeds command twice per tree (old and new code)
    "sequential_sim.py": ["--sims", "20", "--out", "{tmp}/sequential_sim", "--figure", "{tmp}/sequential_sim.png"],
    "stats_calibration.py": None,  # --quick still runs the calibration simulations for minutes
    "sweep_overhead.py": ["--n", "2", "--out", "{tmp}/sweep_overhead.json"],
    "table3_stand_ins.py": ["--only", "resnet50,vit_tiny_patch16_224", "--epochs", "1", "--out", "{tmp}/t3.json"],
    "table9_paired.py": ["--seeds", "2", "--epochs", "2", "--work", "{tmp}/t9p", "--out", "{tmp}/table9_paired"],
    "table9_study.py": None,  # trains the whole Table 9 sweep twice (A1 at 54 epochs) even at --seeds 1
    "trainer_throughput.py": ["--steps", "2", "--rounds", "1", "--out", "{tmp}/trainer_throughput.json"],
}


def test_every_benchmark_has_smoke_settings():
    assert sorted(SMOKE) == [s.name for s in SCRIPTS]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", [n for n, a in SMOKE.items() if a is not None])
def test_benchmark_runs_at_its_smallest_settings(name: str, tmp_path: Path):
    copy = tmp_path / "benchmarks"
    shutil.copytree(ROOT / "benchmarks", copy, ignore=shutil.ignore_patterns("results"))
    (copy / "results").mkdir()
    args = [a.format(tmp=tmp_path) for a in SMOKE[name]]
    proc = subprocess.run([sys.executable, str(copy / name), *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=840)
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".md")
               and p.parent != copy]
    assert written, f"{name} wrote no result file:\n{proc.stdout[-2000:]}"
