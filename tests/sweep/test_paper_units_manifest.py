"""A ``units: paper`` sweep records its mapping in the manifest (``paper_units``), and the report's
"Beside the paper" reads the run's digits values back in the paper's units: Table 6's LR rows match."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.groups.comparisons import compare_all
from analysis.load.io import config_columns
from analysis.load.paper import read_paper_units, to_paper_units
from analysis.report.section import Section
from analysis.report.sections_paper import beside_paper_section
from analysis.synthetic import synthetic_results
from rsb_sweep.experiment.folder import MANIFEST, Experiment
from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.model import SweepSpec
from rsb_sweep.spec.sweepfile import load_spec_file

PAPER = {3e-3: 79.16, 5e-3: 79.85, 8e-3: 79.63}  # Table 6, BCE wd=0.02 RA on (read from the csv below)


class _Done(Section):  # noqa: D101
    def __init__(self, name: str, data):
        super().__init__(data=data)
        self.name = name  # type: ignore[misc]


def _experiment(tmp_path: Path, units: str) -> Path:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "s.yaml"
    path.write_text(f"units: {units}\nrecipe: a2\ngrid:\n  lr: [3e-3, 5e-3, 8e-3]\n")
    spec, execution = load_spec_file(path)
    Experiment.create(tmp_path / "exp", spec, execution, list(expand(spec)))
    return tmp_path / "exp"


def test_the_manifest_maps_the_digits_values_back_to_the_papers(tmp_path):
    exp = _experiment(tmp_path, "paper")
    doc = json.loads((exp / MANIFEST).read_text())
    assert [0.005, 0.01] in doc["paper_units"]["lr"]  # paper 5e-3 ran as 0.01 on digits
    units = read_paper_units(exp)
    assert to_paper_units({"lr": 0.01, "weight_decay": 0.02}, units) == {"lr": 0.005, "weight_decay": 0.02}
    assert to_paper_units({"lr": 0.02}, units)["lr"] == "unmatched"
    assert "paper_units" not in json.loads((_experiment(tmp_path / "lit", "literal") / MANIFEST).read_text())
    spec = Experiment.open(exp).spec  # the spec keeps its mapping too (ab expands its next wave from it)
    assert (0.005, 0.01) in spec.paper_units["lr"] and SweepSpec.from_dict(spec.to_dict()) == spec


def test_table6_rows_match_the_paper_in_paper_units(tmp_path):
    exp = _experiment(tmp_path, "paper")
    digits = {p: d for p, d in read_paper_units(exp)["lr"]}
    df = synthetic_results(6, [dict(lr=digits[3e-3], shift=-0.7), dict(lr=digits[5e-3]),
                               dict(lr=digits[8e-3], shift=-0.6), dict(lr=0.03, shift=-2.0)], seed=4)
    by = config_columns(df)
    cmp = compare_all(df, "lr=0.01", by=by, n_resamples=200)
    sec = beside_paper_section(df, by, {"comparisons": _Done("comparisons", cmp)}, experiment=exp)
    pairs = {r["comparison"]: r for r in sec.data if r["kind"] == "pair"}
    assert set(pairs) == {"lr=0.006 against lr=0.01", "lr=0.016 against lr=0.01"}
    assert pairs["lr=0.006 against lr=0.01"]["paper"] == f"lr=0.006 {PAPER[3e-3]:.2f} % vs lr=0.01 {PAPER[5e-3]:.2f} %"
    assert pairs["lr=0.006 against lr=0.01"]["direction"] == "agree"
    # 0.03 has no paper counterpart: counted, never silently dropped
    assert "1 level of this run has no paper counterpart (unmatched, in no row below): lr=0.03" in sec.sentences[0]
    assert "0.01→0.005" in sec.sentences[0]
    # without the manifest the digits LRs match nothing in Table 6
    assert beside_paper_section(df, by, {"comparisons": _Done("comparisons", cmp)}).data == []


def test_the_paper_values_used_are_the_csvs():
    from analysis.load.paper import paper_value

    for lr, v in PAPER.items():
        assert paper_value("table6", {"recipe": "a2", "loss": "bce", "lr": lr, "weight_decay": 0.02,
                                      "aug_repeats": 3}) == v
