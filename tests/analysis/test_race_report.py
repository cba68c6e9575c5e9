"""The report's Race section from race.json: sentences that follow the replayed race, the table,
the figure (dropped configurations grey from their wave), and a broken race.json named."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from analysis.errors import AnalysisError
from analysis.present.figures_race import plot_race, race_leader
from analysis.report.sections_race import find_race, race_section
from analysis.stats.race import race
from rsb_sweep.experiment.race_file import race_doc
from rsb_sweep.spec.race import RaceSettings

LOOKS = list(range(2, 21, 2))


def _doc(means=(75.0, 80.0, 80.3, 78.0), delta=1.0, seed=1):
    settings = RaceSettings(configs=tuple({"lr": v} for v in (1e-3, 4e-3, 1e-2, 1.6e-2)[:len(means)]), delta=delta,
                            max_seeds=20, wave_ends=tuple(LOOKS))
    values = np.random.default_rng(seed).normal(np.array(means)[:, None], 1.5, size=(len(means), 20))
    return race_doc(values, LOOKS, settings, list(range(20))), values


def test_the_section_says_the_verdict_each_drop_and_the_trainings_used():
    doc, values = _doc()
    r = race(values, looks=LOOKS, alpha=0.05, delta=1.0, max_seeds=20)
    sec = race_section(doc)
    dropped = [c for c in doc["configurations"] if c["dropped_by"]]
    assert dropped and len(sec.sentences) == 2 + len(dropped)
    assert sec.sentences[0] == doc["sentence"]
    for c, said in zip(dropped, sec.sentences[1:]):
        assert said.startswith(f"{c['name']} dropped after {c['dropped_at_n']} seeds (wave {c['dropped_at_wave']}) "
                               f"by {c['dropped_by']}")
    assert sec.sentences[-1].startswith(f"{int(r.n.sum())} trainings, against {4 * int(r.n.max())}")
    assert sec.table["seeds"].tolist() == r.n.tolist()
    assert sec.table["survives"].tolist() == r.alive.tolist()
    assert sec.leader == doc["configurations"][int(np.argmax(np.where(r.alive, r.mean, -np.inf)))]["name"]
    assert sec.json()["race"] is doc


def test_the_figure_greys_a_dropped_configuration_from_its_wave():
    doc, _ = _doc()
    fig = plot_race(doc)
    leader = race_leader(doc)
    dropped = next(c for c in doc["configurations"] if c["dropped_by"])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"{dropped['name']} (dropped at wave {dropped['dropped_at_wave']})" in labels
    assert f"leader: {doc['configurations'][leader]['name']}" in labels
    grey = [c for c in fig.axes[0].collections if np.allclose(c.get_colors()[0], to_rgba("0.6", 0.5))]
    later = len(LOOKS) - dropped["dropped_at_wave"]
    assert grey and sum(len(c.get_segments()) for c in grey) <= later  # the frozen interval, after its wave
    with pytest.raises(AnalysisError, match="at least one look"):
        plot_race({**doc, "looks": []})


def test_find_race_reads_the_file_and_names_a_broken_one(tmp_path):
    assert find_race(tmp_path) is None and race_section(None).sentences[0].startswith("No race.json")
    doc, _ = _doc()
    (tmp_path / "race.json").write_text(json.dumps(doc))
    assert find_race(tmp_path) == doc
    (tmp_path / "race.json").write_text("{")
    with pytest.raises(AnalysisError, match="race.json is not valid JSON"):
        find_race(tmp_path)
    early = race_section({**doc, "looks": [], "sentence": "No wave has finished yet."})
    assert early.sentences == ["No wave has finished yet."] and not early.figures
