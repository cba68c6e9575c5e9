"""The paper as one plan: a :class:`Study` per table or figure of "ResNet strikes back", and the
union of their trainings, each distinct (configuration, seed) once.

Table 1, Table 9, Figure 4 and the default arms of the drop-path and smoothing ablations are the
same A1/A2/A3 models, and Figure 2's first seeds are Table 9's A2 seeds: every study's sweep file
is expanded as ``rsb-sweep run`` would expand it, and two trials whose resolved trainer configs
are equal (every field, the seeds included) are one training in ``PARENT/models``
(:func:`build_plan`). Evaluation-only settings (crop ratio, test resolution) are never part of
a trial's config (:func:`rsb_sweep.spec.expand.move_eval_only`), so Table 9's and Figure 4's
models are Table 1's. Pure: nothing is written here (:mod:`rsb_sweep.driver.paper` writes).

Default seeds (:data:`STUDIES`) let every comparison of a study reach α = 0.05 after Holm over its
largest family (``family``: all its configurations against one baseline), never ``not_resolvable``
by design, whether the report pairs them by seed or not:

* paired (Wilcoxon signed-rank, all differences of one sign): n ≥ ``seeds_to_resolve(m, α)`` =
  ⌊1 + log2(m / α)⌋ + 1: 7 for 3 comparisons (Table 1's recipes, Table 9's crop ratios), 8 for 5
  (Figure 4's resolutions, smoothing's 6 arms against one), 9 for 8 (drop-path's 9 arms against one);
* unpaired (permutation Brunner-Munzel): m · 2 / C(2n, n) < α, which n = 6 meets for m ≤ 23.

They take 10: the largest need (9) plus one for ties (a difference of 0, which the signed-rank test
drops: digits' 360 validation images give top-1 steps of 0.28 points), as the sweep files of these
studies do. Table 1, Table 9 and Figure 4 are the same models, so more seeds for one cost the
others nothing. Figure 2 takes 40 A2 seeds (its first 10 are Table 9's). Table 6 and Table 3 (by
``--only``) keep their sweep files' own seeds (Table 6: seed 0, as in the paper).

Table 5 (``--only table1,table5``) trains nothing of the union: it fine-tunes every trial of
``PARENT/table1`` (``transfer_of``) on the embedded targets of ``table5_transfer.yaml``
(:mod:`rsb_sweep.driver.transfer`, recipe ``ft``) into ``PARENT/table5``, after the trainings and the
other studies' evaluations. Its ``seeds`` are fine-tuning seeds per (model, target): 3, because its
nested design (fine-tuning seeds within pretraining seeds) needs at least 2 per model to estimate the
within-model component, and a third keeps that estimate from resting on one difference; ``--seeds K``
still sets table1's (the source) seeds, ``--transfer-seeds K`` these. ``--only table5`` without
table1 is refused (:func:`parse_only`): its models would not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from rsb_sweep.errors import SweepError
from rsb_sweep.spec.model import SweepSpec, TrialSpec

if TYPE_CHECKING:
    from rsb_sweep.spec.transfer import TransferSettings

#: The repository's sweep files (the paper's studies are written there, ``units: paper``).
SWEEPS_DIR = Path(__file__).resolve().parents[2] / "sweeps"


@dataclass(frozen=True, kw_only=True)
class Study:
    """One table or figure of the paper, as a sweep file run under the paper's parent folder."""

    key: str  # the --only name and the study's folder under PARENT
    title: str
    sweep_file: str  # a file of SWEEPS_DIR
    seeds: Optional[int]  # default seeds per configuration (module note: why these); None: the sweep file's own
    default: bool = True  # in the default run; the others by --only
    evaluation_only: bool = False  # evaluates models other studies train; trains none of its own
    family: int = 1  # comparisons in its largest Holm family (the default seeds must resolve them)
    transfer_of: Optional[str] = None  # fine-tunes that study's trials (rsb-sweep transfer); seeds: fine-tuning seeds


#: Every study, in the order they run and the index lists them.
STUDIES: tuple[Study, ...] = (
    Study(key="table1", title="Table 1: A1 / A2 / A3, resources and top-1", sweep_file="table1_recipes.yaml",
          seeds=10, family=3),
    Study(key="fig2", title="Figure 2: the distribution of A2 over seeds", sweep_file="fig2_seeds_a2.yaml", seeds=40),
    Study(key="table9", title="Table 9: test crop ratio × recipe", sweep_file="table9_crop_ratio.yaml", seeds=10,
          family=3),
    Study(key="fig4", title="Figure 4: test resolution × recipe", sweep_file="fig4_test_res.yaml", seeds=10,
          family=5),
    Study(key="drop_path", title="Ablation: stochastic depth 0 / 0.05 / 0.1 × recipe", sweep_file="drop_path.yaml",
          seeds=10, family=8),
    Study(key="smoothing", title="Ablation: label smoothing off / on × recipe", sweep_file="smoothing.yaml",
          seeds=10, family=5),
    Study(key="table6", title="Table 6: LR × WD × loss × repeated augmentation (A2)",
          sweep_file="table6_ablation_a2.yaml", seeds=None, default=False, family=47),
    Study(key="table3", title="Table 3: other architectures × recipe", sweep_file="table3_architectures.yaml",
          seeds=None, default=False),
    Study(key="table5", title="Table 5: transfer of A1/A2/A3 to the embedded targets",
          sweep_file="table5_transfer.yaml", seeds=3, default=False, transfer_of="table1"),
)

#: Estimated seconds of one trial on one slot of the 2-core machine, per recipe: an estimate until measured
#: (A2 ≈ 18 s per trial per slot, benchmarks/results/main_job-n100.json; A1 trains twice its epochs; A3 the
#: same epochs as A2 at 22 px instead of 24: ×(22/24)², about 15 s).
TRIAL_SECONDS = {"a1": 36.0, "a2": 18.0, "a3": 15.0}


def parse_only(text: Optional[str], studies: Sequence[Study] = STUDIES) -> tuple[Study, ...]:
    """The studies ``--only`` names (comma list, any order; they run in :data:`STUDIES` order), or the
    default ones when ``text`` is None. A usage error naming the valid keys otherwise."""
    if text is None:
        return tuple(s for s in studies if s.default)
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    keys = [s.key for s in studies]
    bad = [n for n in names if n not in keys]
    if bad or not names:
        what = f"unknown stud{'y' if len(bad) == 1 else 'ies'} {', '.join(bad)}" if bad else "no study named"
        raise SweepError(f"--only {text!r}: {what}; choose from {', '.join(keys)}")
    for s in studies:
        if s.key in names and s.transfer_of and s.transfer_of not in names:
            fix = ",".join(k for k in keys if k in names or k == s.transfer_of)
            raise SweepError(f"--only {text!r}: {s.key} fine-tunes {s.transfer_of}'s models, which this run would not "
                             f"train; add {s.transfer_of}: --only {fix}")
    return tuple(s for s in studies if s.key in names)


@dataclass(frozen=True, kw_only=True)
class StudyPlan:
    """One study expanded: its spec and trials, and which training of the union each trial is."""

    study: Study
    spec: SweepSpec
    trials: tuple[TrialSpec, ...]
    links: Mapping[str, str]  # this study's trial id -> the models' trial id
    new: int  # trainings this study adds to the union (0 for an evaluation-only study)
    transfer: Optional["TransferSettings"] = None  # a transfer study's settings, source = the source study's key
    fine_tunings: int = 0  # a transfer study's trials (its source's trials × targets × seeds)


@dataclass(frozen=True, kw_only=True)
class PaperPlan:
    """Every study of one ``rsb-sweep paper`` and the union of their trainings."""

    studies: tuple[StudyPlan, ...]
    models: tuple[TrialSpec, ...]

    @property
    def trial_count(self) -> int:
        """Trials over all studies, shared ones counted in each, fine-tunings included."""
        return sum(len(s.trials) + s.fine_tunings for s in self.studies)

    def estimated_seconds(self, slots: int = 2) -> float:
        """Training wall time estimated from :data:`TRIAL_SECONDS` (scaled by epochs against the preset's
        own), on ``slots`` trials at once; evaluations and reports not included."""
        return sum(TRIAL_SECONDS.get(t.config.recipe, TRIAL_SECONDS["a2"]) * _epoch_scale(t) for t in self.models) / slots


def _epoch_scale(trial: TrialSpec) -> float:
    from trainer.config import resolve_config

    own = resolve_config(trial.config.recipe, data=trial.config.data).epochs
    return trial.config.epochs / own if own else 1.0


def study_spec(study: Study, seeds: Optional[int], overrides: Mapping[str, Any], data: Optional[str],
               sweeps_dir: Path = SWEEPS_DIR) -> SweepSpec:
    """The study's sweep file as ``rsb-sweep run FILE --seeds K --<field> V`` would read it (its seeds
    ``seeds`` or the study's default); usage errors name the study and the file."""
    from rsb_sweep.spec.expand import move_eval_only
    from rsb_sweep.spec.sweepfile import load_spec_file

    path = Path(sweeps_dir) / study.sweep_file
    if not path.is_file():
        raise SweepError(f"{study.key}: its sweep file {path} does not exist; leave it out with --only "
                         f"(e.g. --only {','.join(s.key for s in STUDIES if s.key != study.key and s.default)})")
    spec, _ = load_spec_file(path, data=data)
    clash = sorted(set(overrides) & set(spec.grid))
    if clash:
        raise SweepError(f"{study.key}: --{clash[0].replace('_', '-')} is a grid axis of {path.name}; "
                         "leave that study out with --only, or run its file with `rsb-sweep run`")
    n = seeds if seeds is not None else study.seeds if study.seeds is not None else spec.seeds.n
    if spec.seeds.cross:
        raise SweepError(f"{study.key}: {path.name} has a crossed seed design, which the paper plan cannot size")
    spec = replace(spec, overrides={**spec.overrides, **overrides}, seeds=replace(spec.seeds, n=n))
    spec, moved = move_eval_only(spec)
    return replace(spec, source=f"{spec.source}; {moved}") if moved else spec


def build_plan(studies: Sequence[Study], seeds: Optional[int] = None, overrides: Optional[Mapping[str, Any]] = None,
               data: Optional[str] = None, sweeps_dir: Path = SWEEPS_DIR,
               transfer_seeds: Optional[int] = None) -> PaperPlan:
    """Expand every study and merge their trainings: a trial whose resolved config equals an earlier
    study's is that study's training, linked, not trained again. Raises :class:`SweepError` (usage)
    for a missing file, a clash, or an evaluation-only study whose models no training study provides."""
    from rsb_sweep.spec.expand import expand

    for option, n in (("--seeds", seeds), ("--transfer-seeds", transfer_seeds)):
        if n is not None and n < 1:
            raise SweepError(f"{option} {n}: must be at least 1")
    union: dict[str, TrialSpec] = {}
    plans: list[StudyPlan] = []
    for study in studies:
        if study.transfer_of:
            source = next((p for p in plans if p.study.key == study.transfer_of), None)
            if source is None:
                raise SweepError(f"{study.key} fine-tunes {study.transfer_of}'s models: add {study.transfer_of} to --only")
            plans.append(transfer_plan(study, source, transfer_seeds, overrides or {}, sweeps_dir))
            continue
        spec = study_spec(study, seeds, overrides or {}, data, sweeps_dir)
        trials = expand(spec)
        links, before = {}, len(union)
        for trial in trials:
            key = config_key(trial)
            if key not in union:
                if study.evaluation_only:
                    raise SweepError(f"{study.key} evaluates models no training study of this run provides "
                                     f"({trial.trial_id}); add the study that trains them to --only")
                index = len(union)
                union[key] = replace(trial, trial_id=f"{index:04d}-{study.key}-{trial.trial_id.split('-', 1)[-1]}"[:96],
                                     index=index)
            links[trial.trial_id] = union[key].trial_id
        plans.append(StudyPlan(study=study, spec=spec, trials=tuple(trials), links=links, new=len(union) - before))
    return PaperPlan(studies=tuple(plans), models=tuple(union.values()))


def config_key(trial: TrialSpec) -> str:
    """What makes two trials one training: their whole resolved trainer config, seeds included."""
    return json.dumps(trial.config.to_dict(), sort_keys=True, default=str)


def transfer_plan(study: Study, source: StudyPlan, seeds: Optional[int], overrides: Mapping[str, Any],
                  sweeps_dir: Path = SWEEPS_DIR) -> StudyPlan:
    """A transfer study (Table 5): its sweep file's targets and recipe, ``seeds`` fine-tuning seeds (or the
    study's), the run's field overrides (those a fine-tuning takes from its source left out); its source
    is named by key (:func:`rsb_sweep.driver.paper.create_paper` makes it the source study's folder)."""
    from rsb_sweep.spec.model import SeedAxis
    from rsb_sweep.spec.transfer import FROM_SOURCE
    from rsb_sweep.spec.transferfile import load_transfer_file

    path = Path(sweeps_dir) / study.sweep_file
    if not path.is_file():
        raise SweepError(f"{study.key}: its sweep file {path} does not exist; leave it out of --only")
    settings, _, _ = load_transfer_file(path)
    n = seeds if seeds is not None else study.seeds if study.seeds is not None else settings.seeds
    kept = {k: v for k, v in overrides.items() if k not in FROM_SOURCE}
    settings = replace(settings, source=source.study.key, seeds=n, overrides={**settings.overrides, **kept})
    count = len(source.trials) * len(settings.targets) * n
    check_fine_tunings(settings, source)
    spec = SweepSpec(name=study.key, recipe=settings.recipe, overrides=dict(settings.overrides), seeds=SeedAxis(n=n),
                     source=f"{path.name}: {source.study.key}'s {len(source.trials)} trials × "
                            f"{len(settings.targets)} targets ({', '.join(t.name for t in settings.targets)}) × "
                            f"{n} fine-tuning seeds, recipe {settings.recipe}")
    return StudyPlan(study=study, spec=spec, trials=(), links={}, new=0, transfer=settings, fine_tunings=count)


def check_fine_tunings(settings: "TransferSettings", source: StudyPlan) -> None:
    """Resolve one fine-tuning config per (source model, target) now, so that an override the ``ft`` recipe
    cannot take is a usage error before the parent is written (the trainer's ``ConfigError``)."""
    from analysis.contract import PENDING
    from rsb_sweep.spec.transfer import SourceTrial, target_config

    models = {(t.config.model, t.config.width_mult): t for t in source.trials}
    for trial in models.values():
        src = SourceTrial(trial_id=trial.trial_id, folder=trial.trial_id, config=trial.config.to_dict(), status=PENDING)
        for target in settings.targets:
            target_config(settings, src, target, settings.seed_start)
