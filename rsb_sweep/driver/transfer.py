"""``rsb-sweep transfer``: fine-tune every finished trial of a source experiment on target data sets.

:func:`plan_transfer` reads the source experiment and plans one trial per (source trial, target,
fine-tuning seed) (:mod:`rsb_sweep.spec.transfer`); :meth:`TransferPlan.create` writes the
manifest, with the settings under ``"transfer"``. :func:`run_transfer_command` is the driver's
entry point for ``transfer`` and for ``resume`` on a transfer folder: it first plans the source
trials that appeared since (the manifest grows, as ``ab``'s does) and points the waiting trials whose
source has finished since at its weights, then runs, in one Ray session
(:func:`rsb_sweep.driver.command.run_sweep_command`), the fine-tunings whose source trial has
finished. The others keep their PENDING rows and the command exits 3; a later ``resume`` runs
those whose source has finished since.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from analysis.contract import ERROR, STATUSES, TERMINATED
from rsb_sweep.errors import SweepError
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.spec.transfer import (MANIFEST_KEY, SourceTrial, TransferSettings, is_resolved, planned_sources,
                                     source_of, target_config, target_of, transfer_trials)

if TYPE_CHECKING:
    from rich.console import Console

    from rsb_sweep.driver.command import CommandOutcome
    from rsb_sweep.driver.options import LaunchOptions
    from rsb_sweep.spec.execution import Execution
    from rsb_sweep.spec.model import SweepSpec, TrialSpec


def read_sources(source: str) -> list[SourceTrial]:
    """The trials of the source experiment ``source``, each with its run folder and status (files only).

    Raises :class:`SweepError` for a folder that is no experiment, one without trials, or one whose
    trial folders are not on a file system here (``--storage s3://…``)."""
    src = Experiment.open(Path(source))
    store = src.store
    if store.remote:
        raise SweepError(f"{src.root}: its trial folders are at {store.root}; transfer reads the source checkpoints "
                         "from a file system (copy the trial folders to a shared folder first)")
    if not src.trials:
        raise SweepError(f"{src.root}: the source experiment has no trials")
    files = store.read_all(src.trial_ids)
    return [SourceTrial(trial_id=t["trial_id"], folder=str(store.local_dir(t["trial_id"])), config=t["config"],
                        status=files[t["trial_id"]].status) for t in src.trials]


@dataclass(frozen=True, kw_only=True)
class TransferPlan:
    """A new transfer before anything is written: its spec, its trials, the source trials."""

    spec: "SweepSpec"
    settings: TransferSettings
    trials: "list[TrialSpec]"
    sources: list[SourceTrial]

    @property
    def waiting(self) -> list[str]:
        """Source trials not finished yet (their fine-tunings wait)."""
        return [s.trial_id for s in self.sources if s.status != TERMINATED]

    def create(self, root: Path, execution: "Execution", storage: Optional[str] = None,
               log: tuple[str, ...] = ()) -> Experiment:
        """Write the manifest of the new transfer experiment (refused where one exists)."""
        extra = {MANIFEST_KEY: self.settings.to_dict(), "log": list(log)}
        return Experiment.create(root, self.spec, execution, self.trials, storage=storage, extra=extra)


def plan_transfer(settings: TransferSettings, name: str) -> TransferPlan:
    """Plan a new transfer named ``name``: every trial of the source, each target, each seed.

    Raises :class:`SweepError` (a bad source) or the trainer's ``ConfigError`` (a source model a
    target cannot take) before anything is written."""
    from rsb_sweep.spec.model import SeedAxis, SweepSpec

    sources = read_sources(settings.source)
    trials = transfer_trials(settings, sources)
    spec = SweepSpec(name=name, recipe=settings.recipe, data=None, overrides=dict(settings.overrides),
                     seeds=SeedAxis(n=settings.seeds, start=settings.seed_start), source=settings.describe())
    return TransferPlan(spec=spec, settings=settings, trials=trials, sources=sources)


def default_root(source: Path, name: Optional[str]) -> Path:
    """Where a transfer is written without ``--out``: beside its source (``DIR-transfer``, or ``--name``)."""
    source = Path(source).resolve()
    return source.parent / (name or f"{source.name}-transfer")


def update_transfer(exp: Experiment) -> tuple[list[SourceTrial], int, int]:
    """Bring ``exp``'s manifest up to date with its source: plan the source trials that are new since
    (the manifest grows) and give the waiting trials whose source has finished since their source's
    weights (``init_from``). Returns the source trials, the trials added and those resolved."""
    settings = TransferSettings.from_dict(exp.manifest[MANIFEST_KEY])
    sources = read_sources(settings.source)
    by_id = {s.trial_id: s for s in sources}
    known = planned_sources(exp.trials)
    new = transfer_trials(settings, [s for s in sources if s.trial_id not in known], first_index=len(exp.trials))
    entries, resolved = [], 0
    for t in exp.trials:
        source = by_id.get(source_of(t))
        if source is not None and source.status == TERMINATED and not is_resolved(t):
            config = target_config(settings, source, target_of(settings, t), int(t["params"]["seed"]))
            t, resolved = {**t, "config": config.to_dict()}, resolved + 1
        entries.append(t)
    if new or resolved:
        with exp.lock():
            exp.manifest = {**exp.manifest, "trials": entries}
            exp.grow(new)  # one atomic write: the resolved configs and the new trials
    return sources, len(new), resolved


def run_transfer_command(exp: Experiment, options: "LaunchOptions", console: "Console",
                         on_dispatch: Callable[[], None]) -> "CommandOutcome":
    """Grow ``exp`` by the source trials new since, run the fine-tunings whose source has finished;
    the outcome's counts cover every trial (those waiting for their source are PENDING: exit 3)."""
    from rsb_sweep.driver.command import run_sweep_command
    from rsb_sweep.experiment.tables import write_tables

    say = (lambda line: None) if options.quiet else (lambda line: console.print(line, markup=False, highlight=False))
    view, sources = prepare_transfer(exp, say)
    try:
        outcome = run_sweep_command(view, options, console, on_dispatch)
    finally:
        results = write_tables(exp)  # every row, those waiting for their source PENDING
    say_waiting(exp, sources, say)
    counts = results["status"].value_counts().to_dict()
    sweep = replace(outcome.sweep, results=results, counts={k: int(counts.get(k, 0)) for k in STATUSES})
    return replace(outcome, sweep=sweep)


def prepare_transfer(exp: Experiment, say: Callable[[str], None]) -> tuple[Experiment, list[SourceTrial]]:
    """Grow ``exp`` by the source trials new since (:func:`update_transfer`, said in one line); return the
    runnable view of it (the fine-tunings whose source has finished) and the source trials. Also the entry
    point of ``rsb-sweep paper``'s Table 5, which trains the view in its own Ray session."""
    sources, added, resolved = update_transfer(exp)
    if added or resolved:
        say(f"source {exp.manifest[MANIFEST_KEY]['source']}: {added} fine-tunings added for its new trials, "
            f"{resolved} now start from trials that finished since")
    ready = [t for t in exp.trials if is_resolved(t)]
    return Experiment(exp.root, {**exp.manifest, "trials": ready}), sources  # the runnable part of the manifest


def say_waiting(exp: Experiment, sources: list[SourceTrial], say: Callable[[str], None]) -> None:
    """One line on the fine-tunings that wait for their source trial, and how to continue."""
    waiting = [s for s in sources if s.status != TERMINATED]
    n = sum(1 for t in exp.trials if not is_resolved(t))
    if not waiting or not n:
        return
    failed = [s.trial_id for s in waiting if s.status == ERROR]
    names = ", ".join(s.trial_id for s in waiting[:5]) + (" …" if len(waiting) > 5 else "")
    source = exp.manifest[MANIFEST_KEY]["source"]
    say(f"{n} fine-tunings wait for {len(waiting)} source trials not finished ({names}); once `rsb-sweep resume "
        f"{source}` has finished them{' (with --retry-failed for ' + ', '.join(failed) + ')' if failed else ''}, "
        f"`rsb-sweep resume {exp.root}` runs them")


def describe_plan(plan: TransferPlan) -> list[str]:
    """What the start of a transfer prints: the plan, and the source trials it waits for."""
    s = plan.settings
    lines = [f"transfer {plan.spec.name}: {len(plan.trials)} fine-tunings = {len(plan.sources)} source trials × "
             f"{len(s.targets)} targets × {s.seeds} seeds ({s.describe()})"]
    lines += _target_lines(plan)
    if plan.waiting:
        lines.append(f"{len(plan.waiting)} source trials have not finished: their fine-tunings stay pending "
                     "until a later `rsb-sweep resume` finds them finished")
    return lines


def _target_lines(plan: TransferPlan) -> list[str]:
    """How the target preset scales the fine-tuning recipe, once per embedded target (as a run prints it)."""
    from dataclasses import asdict

    from trainer.recipes import get_recipe
    from trainer.targets import describe_target

    out = []
    for target in plan.settings.targets:
        first = next((t.config.to_dict() for t in plan.trials if t.params["dataset"] == target.name), None)
        if target.path is None and first is not None:  # the source is named by the plan's first line
            out.append(describe_target({**first, "init_from": None}, asdict(get_recipe(first["recipe"]))))
    return out


def configs_of(trials: "list[TrialSpec]") -> list[dict[str, Any]]:
    """The trials' configs as dicts (for the data checks)."""
    return [t.config.to_dict() for t in trials]
