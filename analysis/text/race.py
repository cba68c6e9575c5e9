"""The sentences of an ``rsb-sweep race`` (race.json: :mod:`rsb_sweep.experiment.race_file`): the
verdict, and one sentence per dropped configuration. They take race.json's plain content and
return text (no pandas, no matplotlib), so the driver and the report word a race the same way.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional


def _points(x: Optional[float]) -> str:
    return "±∞" if x is None else f"{x:+.2f}"


def race_sentence(doc: Mapping[str, Any]) -> str:
    """The race's verdict in one sentence, with the guarantee that goes with it."""
    verdict, survivors = doc["verdict"], doc["survivors"]
    k, delta = len(doc["configurations"]), float(doc["delta"])
    level = f"{100 * (1 - float(doc['alpha'])):g}%"
    if not doc["looks"]:
        return "No wave has finished yet."
    dropped = k - len(survivors)
    kept = (f"with probability ≥ {level} no configuration within δ={delta:g} of the best was dropped "
            f"(every pair's confidence sequence at α/{k * (k - 1) // 2})")
    if verdict == "one_survivor":
        return f"{survivors[0]} is the one survivor of {k} configurations after {doc['n']} seeds: {kept}."
    if verdict == "equivalent":
        return (f"{len(survivors)} configurations are equivalent within δ={delta:g} after {doc['n']} seeds "
                f"({'; '.join(survivors)}); {dropped} dropped, and {kept}.")
    if verdict == "undecided":
        return (f"Undecided at the cap of {doc['max_seeds']} seeds: {len(survivors)} of {k} configurations left "
                f"({'; '.join(survivors)}), not separated by more than δ={delta:g} nor shown within it; {kept}.")
    return (f"Running after {doc['n']} seeds: {len(survivors)} of {k} configurations left, {dropped} dropped; "
            f"{kept}.")


def dropped_sentences(doc: Mapping[str, Any]) -> list[str]:
    """One sentence per dropped configuration: when, by which configuration, and the interval that decided."""
    out = []
    side = f"below −δ={-float(doc['delta']):g}" if doc["higher_is_better"] else f"above δ={float(doc['delta']):g}"
    for c in doc["configurations"]:
        if c["dropped_by"] is None:
            continue
        interval = c["intervals"].get(c["dropped_by"], {})
        out.append(f"{c['name']} dropped after {c['dropped_at_n']} seeds (wave {c['dropped_at_wave']}) by "
                   f"{c['dropped_by']}: {c['name']} − {c['dropped_by']} in [{_points(interval.get('low'))}, "
                   f"{_points(interval.get('high'))}], {side}.")
    return out
