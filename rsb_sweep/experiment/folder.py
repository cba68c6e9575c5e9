"""An experiment folder: the sweep manifest, the driver's lock and heartbeat, the result tables.

The manifest (``sweep.json``) is written before anything runs and lists every trial with
its full trainer config, so that ``resume``, ``status`` and ``results`` work from files
alone, after any crash, without Ray.

Layout::

    <experiment>/sweep.json        the manifest (atomic)
    <experiment>/driver.json       pid, host, heartbeat of the driver now (or last) running it
    <experiment>/.lock             held (flock) by the running driver
    <experiment>/driver-error.txt  tracebacks of internal errors (rsb_sweep.cli.exitstatus), if any
    <experiment>/results.parquet   results.csv  history.parquet
    <experiment>/evaluations.parquet  each trained model at every setting of ``evaluate`` (if any)
    <experiment>/trials/<id>/      trial folders (or <storage>/<name>/trials/<id>/ with --storage)
    <experiment>/tune/run-…/       Ray Tune's own experiment folders, one per launch (idem)
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from rsb_sweep.errors import SweepError
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.paths import absolute_path, is_uri
from rsb_sweep.experiment.store import TrialStore
from trainer.files import atomic_write_bytes

if TYPE_CHECKING:
    from rsb_sweep.spec.model import EvalPlan, SweepSpec, TrialSpec

MANIFEST = "sweep.json"
#: The manifest's key of a ``units: paper`` sweep's mapping, ``{field: [[paper, digits], …]}``: how the
#: report reads this run's digits values back in the paper's units (analysis imports no trainer).
PAPER_UNITS = "paper_units"
#: The recipe values recorded beside the sweep's own (their digits scale is the same for every recipe).
RECIPE_UNIT_FIELDS = ("lr", "test_res")


def paper_units_entry(spec: "SweepSpec") -> dict[str, list[list[Any]]]:
    """A ``units: paper`` sweep's ``paper_units``: the pairs it mapped, and each of its recipes' own
    LR and test resolution (paper → digits), so that a value the sweep leaves at the recipe's reads back too."""
    from trainer.presets import DIGITS, paper_to_preset
    from trainer.recipes import get_recipe

    out = {f: [list(p) for p in pairs] for f, pairs in (spec.paper_units or {}).items()}
    recipes = dict.fromkeys(str(r) for r in [spec.overrides.get("recipe", spec.recipe), *spec.grid.get("recipe", [])])
    for recipe in recipes:
        for f in RECIPE_UNIT_FIELDS:
            paper = getattr(get_recipe(recipe), f)
            digits = paper_to_preset(DIGITS, f, paper, recipe)
            if all(d != digits for _, d in out.get(f, [])):
                out.setdefault(f, []).append([paper, digits])
    return out
DRIVER = "driver.json"
LOCK = ".lock"
FORMAT = 1


class ExperimentError(SweepError):
    """An experiment folder that cannot be created, opened or locked."""


@dataclass
class Experiment:
    """An opened experiment folder and its manifest."""

    root: Path
    manifest: dict[str, Any]

    # -- creation and opening -------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, spec: "SweepSpec", execution: Execution, trials: "list[TrialSpec]",
               storage: Optional[str] = None, extra: Optional[dict[str, Any]] = None) -> "Experiment":
        """Write the manifest of a new experiment (``extra``: more top-level keys, e.g. ``ab``);
        refuse to overwrite an existing one."""
        root = Path(root).expanduser().resolve()
        if (root / MANIFEST).exists():
            raise ExperimentError(
                f"{root} already holds a sweep; continue it with `rsb-sweep resume {root}` or choose another --name/--out"
            )
        root.mkdir(parents=True, exist_ok=True)
        if storage is None:
            base = "."  # relative to the experiment folder, which can then be moved or copied
        elif is_uri(storage):
            base = f"{storage.rstrip('/')}/{spec.name}"
        else:
            base = str(Path(absolute_path(storage)) / spec.name)
        manifest = {
            "format": FORMAT,
            "name": spec.name,
            "created": time.time(),
            "command": sys.argv,
            "spec": spec.to_dict(),
            "execution": execution.to_dict(),
            "trials_root": f"{base}/trials",
            "tune_root": f"{base}/tune",
            "trials": [],
            "evaluate": spec.evaluate.to_dict(),
            **({PAPER_UNITS: paper_units_entry(spec)} if getattr(spec, "paper_units", None) is not None else {}),
            **(extra or {}),
        }
        exp = cls(root, manifest)
        exp.grow(trials)
        return exp

    def grow(self, trials: "list[TrialSpec]", **changes: Any) -> None:
        """Add trials (and set top-level keys) to the manifest, atomically: how ``ab`` adds a wave."""
        entries = [{"trial_id": t.trial_id, "index": t.index, "params": dict(t.params), "config": t.config.to_dict()}
                   for t in trials]
        manifest = {**self.manifest, **changes, "trials": [*self.manifest["trials"], *entries]}
        ids = [t["trial_id"] for t in manifest["trials"]]
        if len(set(ids)) != len(ids):
            raise ExperimentError("two trials got the same id; this is a bug in the sweep expansion")
        atomic_write_bytes(self.root / MANIFEST, json.dumps(manifest, indent=1).encode())
        self.manifest = manifest

    @classmethod
    def open(cls, root: Path) -> "Experiment":
        """Open an experiment folder by its manifest."""
        root = Path(root).expanduser().resolve()
        path = root / MANIFEST
        if not path.is_file():
            raise ExperimentError(f"{root} is not an experiment folder: it has no {MANIFEST}")
        try:
            manifest = json.loads(path.read_text())
        except ValueError as exc:
            raise ExperimentError(f"{path} is not valid JSON ({exc})") from None
        if manifest.get("format") != FORMAT:
            raise ExperimentError(f"{path} has format {manifest.get('format')!r}; this rsb-sweep reads format {FORMAT}")
        return cls(root, manifest)

    # -- contents ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def trials(self) -> list[dict[str, Any]]:
        return self.manifest["trials"]

    @property
    def trial_ids(self) -> list[str]:
        return [t["trial_id"] for t in self.trials]

    @property
    def spec(self) -> "SweepSpec":
        """The sweep this experiment was created from, rebuilt from the manifest (all of it: grid, seeds, plan)."""
        from rsb_sweep.spec.model import SweepSpec

        return SweepSpec.from_dict(self.manifest["spec"])

    @property
    def evaluate(self) -> "EvalPlan":
        """What every trained model is evaluated at (empty for an experiment written before evaluations)."""
        from rsb_sweep.spec.model import EvalPlan

        return EvalPlan.from_dict(self.manifest.get("evaluate"))

    def add_evaluations(self, plan: "EvalPlan") -> "EvalPlan":
        """Merge ``plan`` into the manifest's evaluation plan (atomically); returns the merged plan."""
        merged = self.evaluate.merged(plan)
        if merged != self.evaluate:
            self.grow([], evaluate=merged.to_dict())
        return merged

    @property
    def execution(self) -> Execution:
        return Execution(**self.manifest["execution"])

    def _location(self, key: str) -> str:
        value = self.manifest[key]
        return value if is_uri(value) or Path(value).is_absolute() else str((self.root / value).resolve())

    @property
    def store(self) -> TrialStore:
        return TrialStore(self._location("trials_root"))

    @property
    def tune_root(self) -> str:
        return self._location("tune_root")

    def config(self, trial_id: str) -> dict[str, Any]:
        for t in self.trials:
            if t["trial_id"] == trial_id:
                return t["config"]
        raise KeyError(trial_id)

    # -- the driver's lock and heartbeat ------------------------------------------------
    def lock(self) -> "DriverLock":
        """Take the experiment's lock; an error if another driver holds it."""
        return DriverLock(self.root)

    def driver_info(self) -> Optional[dict[str, Any]]:
        try:
            return json.loads((self.root / DRIVER).read_text())
        except (OSError, ValueError):
            return None

    def driver_alive(self) -> bool:
        """Whether a driver holds the lock now (a killed driver's lock is released by the kernel)."""
        path = self.root / LOCK
        if not path.exists():
            return False
        with open(path, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
            return False


class DriverLock:
    """An exclusive ``flock`` on ``<experiment>/.lock`` plus a heartbeat file."""

    def __init__(self, root: Path):
        self.root = root
        self._fh = open(root / LOCK, "a")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            info = ""
            try:
                d = json.loads((root / DRIVER).read_text())
                info = f" (pid {d.get('pid')} on {d.get('host')})"
            except (OSError, ValueError):
                pass
            raise ExperimentError(f"another rsb-sweep is running {root}{info}; wait for it or stop it first") from None
        self.started = time.time()
        self.beat()

    def beat(self, **extra: Any) -> None:
        """Refresh ``driver.json`` (pid, host, start and heartbeat times)."""
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": self.started, "heartbeat": time.time(), **extra}
        atomic_write_bytes(self.root / DRIVER, json.dumps(info).encode())

    def release(self) -> None:
        if not self._fh.closed:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()

    def __enter__(self) -> "DriverLock":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
