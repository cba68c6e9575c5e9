"""The plan of an ``rsb-sweep transfer``: every trial of a source experiment fine-tuned on each
target with K fine-tuning seeds (the paper's Table 5). Pure: no Ray, no files (reading the source
experiment is :mod:`rsb_sweep.driver.transfer`).

One trial per (source trial, target, fine-tuning seed), source-major. Its config is the fine-tuning
recipe (``ft``) on the target, with the source's model and width and ``init_from`` = the source
trial's run folder; once the source trial has finished, the trainer resolves it to the final
checkpoint, recorded in the manifest with its epoch and config hash (the trainer refuses an
unfinished run: until its source has finished, a trial waits). The fine-tuning seed ``k`` sets ``seed`` (its three streams derived from it, as for
any sweep: seed ``k`` is the same fine-tuning seed for every source, a paired design). The trial's
``params`` carry what the results table says of its source (``analysis.contract.PRETRAIN_COLUMNS``).

The settings (:class:`TransferSettings`) are stored in the manifest under ``"transfer"``, so that
``resume`` plans the source trials that appeared since (an ``ab`` source grows) and runs those
whose source has finished since.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Optional

from analysis.contract import PRETRAIN_DATASET, PRETRAIN_RECIPE, PRETRAIN_SEED, PRETRAIN_TRIAL
from rsb_sweep.errors import SweepError
from rsb_sweep.spec.model import SeedAxis, TrialSpec

if TYPE_CHECKING:
    from trainer.config import TrainConfig

#: Targets that ship inside a package (the trainer writes them as ImageFolders): no ``--target``.
EMBEDDED_TARGETS = ("lfw_faces", "textures")
#: The fine-tuning recipe.
FT_RECIPE = "ft"
#: Fields a transfer takes from its source trial (or sets itself), never from the command line.
FROM_SOURCE = ("model", "width_mult", "init_from")
#: The manifest key of a transfer experiment.
MANIFEST_KEY = "transfer"


@dataclass(frozen=True, kw_only=True)
class Target:
    """A target data set: its name (the rows' ``dataset``) and its ImageFolder (None: embedded)."""

    name: str
    path: Optional[str] = None


@dataclass(frozen=True, kw_only=True)
class SourceTrial:
    """A trial of the source experiment: its id, its run folder, its config (the manifest's) and status."""

    trial_id: str
    folder: str
    config: Mapping[str, Any]
    status: str


@dataclass(frozen=True, kw_only=True)
class TransferSettings:
    """What a transfer fine-tunes, on what, how often: the manifest's ``"transfer"``."""

    source: str  # the source experiment folder (absolute)
    targets: tuple[Target, ...] = tuple(Target(name=n) for n in EMBEDDED_TARGETS)
    seeds: int = 3
    seed_start: int = 0
    recipe: str = FT_RECIPE
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.seed_start < 0:
            raise SweepError(f"--seeds must be >= 1 and --seed-start >= 0 (got {self.seeds}, {self.seed_start})")
        names = [t.name for t in self.targets]
        if not names or len(set(names)) != len(names):
            raise SweepError(f"targets must be given once each, at least one (got {', '.join(names) or 'none'})")
        clash = sorted(set(self.overrides) & set(FROM_SOURCE))
        if clash:
            raise SweepError(f"--{clash[0].replace('_', '-')}: a fine-tuning takes its model, width and weights "
                             "from its source trial; leave it out")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (:meth:`from_dict` reads it back)."""
        return {"source": self.source, "targets": [[t.name, t.path] for t in self.targets], "seeds": self.seeds,
                "seed_start": self.seed_start, "recipe": self.recipe, "overrides": dict(self.overrides)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> "TransferSettings":
        from rsb_sweep.spec.fields import coerce

        return cls(source=str(doc["source"]), targets=tuple(Target(name=str(n), path=p) for n, p in doc["targets"]),
                   seeds=int(doc["seeds"]), seed_start=int(doc.get("seed_start", 0)), recipe=str(doc["recipe"]),
                   overrides={k: coerce(k, v) for k, v in (doc.get("overrides") or {}).items()})

    def describe(self) -> str:
        targets = ", ".join(t.name if t.path is None else f"{t.name} ({t.path})" for t in self.targets)
        return (f"transfer from {self.source}: each source trial fine-tuned ({self.recipe}) on {targets}, "
                f"{self.seeds} fine-tuning seed{'s' if self.seeds != 1 else ''} each")


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


def parse_target(text: str) -> Target:
    """``NAME=PATH`` (an ImageFolder with train/ and val/) or ``NAME`` (an embedded target)."""
    name, eq, path = str(text).partition("=")
    name, path = name.strip(), path.strip()
    if not _NAME.fullmatch(name) or (eq and not path):
        raise SweepError(f"--target {text!r}: expected NAME=PATH (an ImageFolder with train/ and val/) or one of "
                         f"the embedded targets {', '.join(EMBEDDED_TARGETS)}")
    if not eq and name not in EMBEDDED_TARGETS:
        raise SweepError(f"--target {name}: no embedded target of that name (embedded: {', '.join(EMBEDDED_TARGETS)}); "
                         f"give a folder as --target {name}=PATH")
    return Target(name=name, path=path or None)


def pretrain_params(source: SourceTrial) -> dict[str, Any]:
    """The results columns a fine-tuning of ``source`` carries (``analysis.contract.PRETRAIN_COLUMNS``)."""
    return {PRETRAIN_TRIAL: source.trial_id, PRETRAIN_RECIPE: source.config.get("recipe"),
            PRETRAIN_SEED: source.config.get("seed"), PRETRAIN_DATASET: source.config.get("dataset")}


def target_config(settings: TransferSettings, source: SourceTrial, target: Target, seed: int) -> "TrainConfig":
    """The trainer config of one fine-tuning: the ft recipe on ``target`` with fine-tuning seed ``seed``,
    from ``source``'s run folder (``init_from``). Once the source has finished, the trainer resolves it
    (:func:`trainer.init_from.resolve_source`: the final checkpoint, its epoch and config hash recorded,
    the target's resolution checked against the source model); until then ``init_from_epoch`` is None
    and the trial waits (:func:`is_resolved`).

    Raises the trainer's :class:`~trainer.errors.ConfigError` for a source the target cannot take."""
    from analysis.contract import TERMINATED
    from trainer.config import resolve_config
    from trainer.init_from import resolve_source

    seeds = {k: v for k, v in SeedAxis(n=1, start=seed).settings()[0].items() if k not in settings.overrides}
    values = {**settings.overrides, **seeds, "dataset": target.name, "model": source.config["model"],
              "width_mult": source.config["width_mult"], "init_from": source.folder}
    config = resolve_config(settings.recipe, data=target.path, **values)
    return resolve_source(config) if source.status == TERMINATED else config


def is_resolved(trial: Mapping[str, Any]) -> bool:
    """Whether a manifest trial's config names its source's checkpoint (its source had finished when planned)."""
    return trial["config"].get("init_from_epoch") is not None


def target_of(settings: TransferSettings, trial: Mapping[str, Any]) -> Target:
    """The target of one manifest trial."""
    return next(t for t in settings.targets if t.name == trial["params"]["dataset"])


def transfer_trials(settings: TransferSettings, sources: list[SourceTrial], first_index: int = 0) -> list[TrialSpec]:
    """The fine-tunings of ``sources`` (source-major, then target, then seed), indexed from ``first_index``."""
    seeds = range(settings.seed_start, settings.seed_start + settings.seeds)
    out: list[TrialSpec] = []
    for source in sources:
        for target in settings.targets:
            for seed in seeds:
                config = target_config(settings, source, target, seed)
                index = first_index + len(out)
                params = {"dataset": target.name, **pretrain_params(source), "seed": seed}
                label = f"{index:04d}-{target.name}-from{source.trial_id}-ft{seed}"
                trial_id = "".join(c if c.isalnum() or c in "-_.+=" else "_" for c in label)[:96]
                out.append(TrialSpec(trial_id=trial_id, index=index, params=params, config=config))
    return out


def planned_sources(trials: list[Mapping[str, Any]]) -> set[str]:
    """The source trials a transfer manifest's trials already fine-tune."""
    return {t["params"][PRETRAIN_TRIAL] for t in trials if PRETRAIN_TRIAL in t.get("params", {})}


def source_of(trial: Mapping[str, Any]) -> Optional[str]:
    """The source trial id of one manifest trial (None for a trial that is no fine-tuning)."""
    return trial.get("params", {}).get(PRETRAIN_TRIAL)
