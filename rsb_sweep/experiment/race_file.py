"""``<experiment>/race.json``: an ``rsb-sweep race`` on disk: per configuration its seeds, mean,
intervals against the others and the wave it was dropped at (and by which configuration); the
survivors; the verdict; one entry per look.

Built from the metric matrix by :func:`race_doc` (which replays the race with
:func:`analysis.stats.race.race`), written by the wave loop (:mod:`rsb_sweep.driver.race`), read
by ``status`` and the report, from files alone. JSON has no infinity: an unbounded side of an
interval is null.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from analysis.contract import RACE_FILE
from trainer.files import atomic_write_json

if TYPE_CHECKING:
    from rsb_sweep.experiment.folder import Experiment
    from rsb_sweep.spec.race import RaceSettings


def write_race(exp: "Experiment", doc: Mapping[str, Any]) -> None:
    atomic_write_json(exp.root / RACE_FILE, dict(doc))


def read_race(exp: "Experiment") -> Optional[dict[str, Any]]:
    """race.json, or None before the first look."""
    import json

    try:
        return json.loads((exp.root / RACE_FILE).read_text())
    except (OSError, ValueError):
        return None


def describe_race(doc: Mapping[str, Any]) -> str:
    """One line for ``status`` and the end of each wave: the verdict, the survivors, the trainings."""
    survivors = doc["survivors"]
    return (f"race: {doc['verdict']} after {doc['n']} of at most {doc['max_seeds']} seeds per configuration; "
            f"{len(survivors)} of {len(doc['configurations'])} configurations left ({'; '.join(survivors)}), "
            f"{doc['trainings']} {'models evaluated' if doc['paired'] else 'trainings'}. {doc['sentence']}")


def _bound(x: Any) -> Optional[float]:
    x = float(x)
    return x if math.isfinite(x) else None


def _look_entry(r: Any, t: int, names: list[str]) -> dict[str, Any]:
    """One look of the race ``r`` (replayed up to look ``t``): its survivors, drops and intervals."""
    from analysis.stats.race import RACE_VERDICTS

    k = len(names)
    return {"n": int(r.looks[t]), "verdict": RACE_VERDICTS[int(r.verdict)],
            "survivors": [names[c] for c in range(k) if r.alive[c]],
            "dropped": [{"name": names[c], "by": names[int(r.dropped_by[c])]} for c in range(k) if r.dropped_at[c] == t],
            "mean": [_bound(m) for m in r.mean],
            "low": [[_bound(r.low[i, j]) for j in range(k)] for i in range(k)],
            "high": [[_bound(r.high[i, j]) for j in range(k)] for i in range(k)]}


def race_doc(values: Any, looks: Sequence[int], settings: "RaceSettings", seeds: Sequence[int]) -> dict[str, Any]:
    """race.json's content for the metric matrix ``values`` (configurations × seeds, NaN where missing)
    at ``looks`` (the complete wave ends); ``running`` with no look before the first wave ends."""
    from analysis.stats.race import RACE_VERDICTS, race
    from analysis.text.race import race_sentence

    names = settings.names
    doc: dict[str, Any] = {
        "verdict": "running", "metric": settings.metric, "higher_is_better": settings.higher_is_better,
        "delta": settings.delta, "alpha": settings.alpha, "alpha_pair": None, "paired": settings.paired,
        "eval_only": settings.eval_only, "wave": settings.wave, "max_seeds": settings.max_seeds,
        "wave_ends": list(settings.wave_ends), "n": 0, "trainings": 0, "survivors": list(names),
        "configurations": [{"name": name, "fields": dict(c), "seeds": [], "n": 0, "mean": None, "alive": True,
                            "dropped_at_wave": None, "dropped_at_n": None, "dropped_by": None, "intervals": {}}
                           for name, c in zip(names, settings.configs)],
        "looks": [], "updated": time.time()}
    if looks:
        options = dict(alpha=settings.alpha, delta=settings.delta, paired=settings.paired,
                       max_seeds=settings.max_seeds, higher_is_better=settings.higher_is_better)
        entries = [_look_entry(race(values[:, :end], looks=list(looks[:t + 1]), **options), t, names)
                   for t, end in enumerate(looks)]
        r = race(values[:, :looks[-1]], looks=list(looks), **options)
        doc.update(verdict=RACE_VERDICTS[int(r.verdict)], alpha_pair=r.alpha_pair, n=int(r.looks[r.stopped_at]),
                   trainings=int(r.trainings) if not settings.paired else int(r.n.max()),
                   survivors=[names[c] for c in range(len(names)) if r.alive[c]],
                   configurations=[_configuration(r, c, names, settings, seeds) for c in range(len(names))],
                   looks=entries)
    doc["decision"] = doc["verdict"]  # what the end of a command prints, as for ab
    doc["sentence"] = race_sentence(doc)
    return doc


def _configuration(r: Any, c: int, names: list[str], settings: "RaceSettings", seeds: Sequence[int]) -> dict[str, Any]:
    """One configuration's entry: seeds given, mean, intervals of μ_c − μ_other, drop."""
    dropped = int(r.dropped_at[c])
    return {"name": names[c], "fields": dict(settings.configs[c]), "seeds": [int(s) for s in seeds[:int(r.n[c])]],
            "n": int(r.n[c]), "mean": _bound(r.mean[c]), "alive": bool(r.alive[c]),
            "dropped_at_wave": dropped + 1 if dropped >= 0 else None,
            "dropped_at_n": int(r.looks[dropped]) if dropped >= 0 else None,
            "dropped_by": names[int(r.dropped_by[c])] if dropped >= 0 else None,
            "intervals": {names[j]: {"low": _bound(r.low[c, j]), "high": _bound(r.high[c, j])}
                          for j in range(len(names)) if j != c}}
