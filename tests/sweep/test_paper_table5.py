"""`rsb-sweep paper`'s Table 5 (fast, no Ray, about 5 s): the study is planned only by --only with table1,
its fine-tunings are table1's trials × targets × fine-tuning seeds, and in a created parent they wait
for their models (PENDING, the study unfinished: exit 3) until those have trained."""

from __future__ import annotations

from dataclasses import replace

import pytest
from click.testing import CliRunner
from rich.console import Console

from analysis.contract import PENDING
from rsb_sweep.cli import main
from rsb_sweep.cli.exitstatus import ExitStatus
from rsb_sweep.cli.paper import STUDY_EXIT
from rsb_sweep.driver.options import LaunchOptions
from rsb_sweep.driver.paper import create_paper, read_plan, transfer_row
from rsb_sweep.driver.paper_plan import STUDIES, build_plan, check_fine_tunings, parse_only
from rsb_sweep.errors import SweepError
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.transfer import EMBEDDED_TARGETS, MANIFEST_KEY, is_resolved
from trainer.errors import ConfigError

SMALL = {"epochs": 1, "warmup_epochs": 0, "max_steps": 3}


def test_table5_is_a_study_outside_the_default_run_that_fine_tunes_table1():
    table5 = next(s for s in STUDIES if s.key == "table5")
    assert not table5.default and table5.transfer_of == "table1" and table5.seeds == 3
    assert "table5" not in {s.key for s in parse_only(None)}
    assert [s.key for s in parse_only("table5,table1")] == ["table1", "table5"]  # table1 runs (trains) first


def test_table5_without_table1_is_refused_naming_the_fix():
    with pytest.raises(SweepError, match=r"table5 fine-tunes table1's models.*--only table1,table5"):
        parse_only("table5")
    with pytest.raises(SweepError, match=r"--only table1,fig2,table5"):
        parse_only("fig2,table5")
    result = CliRunner().invoke(main, ["paper", "--only", "table5", "--dry-run"])
    assert result.exit_code == 2 and "--only table1,table5" in result.output


def test_its_fine_tunings_are_table1s_trials_times_targets_times_seeds():
    plan = build_plan(parse_only("table1,table5"), seeds=2, overrides={**SMALL, "model": "resnet18"})
    table1, table5 = plan.studies
    assert len(table1.trials) == 6 and table5.trials == () and table5.new == 0  # A1/A2/A3 × 2; no training of its own
    assert table5.transfer.seeds == 3 and [t.name for t in table5.transfer.targets] == list(EMBEDDED_TARGETS)
    assert table5.fine_tunings == 6 * 2 * 3 and plan.trial_count == 6 + 36 and len(plan.models) == 6
    assert table5.transfer.recipe == "ft" and "model" not in table5.transfer.overrides  # its source's model
    assert table5.transfer.overrides["max_steps"] == 3
    one = build_plan(parse_only("table1,table5"), seeds=1, overrides=SMALL, transfer_seeds=1).studies[1]
    assert one.fine_tunings == 3 * 2 * 1 and one.spec.seeds.n == 1
    with pytest.raises(SweepError, match="--transfer-seeds 0"):
        build_plan(parse_only("table1,table5"), transfer_seeds=0)
    with pytest.raises(ConfigError, match="warmup_epochs"):  # what ft cannot take is refused before anything is written
        check_fine_tunings(replace(one.transfer, overrides={"epochs": 1}), plan.studies[0])


def test_in_a_created_parent_its_fine_tunings_wait_for_their_models(tmp_path):
    parent = tmp_path / "paper"
    create_paper(parent, build_plan(parse_only("table1,table5"), seeds=1, overrides=SMALL, transfer_seeds=1), Execution())
    doc = next(d for d in read_plan(parent)["studies"] if d["key"] == "table5")
    exp = Experiment.open(parent / "table5")
    assert doc["transfer_of"] == "table1" and exp.manifest[MANIFEST_KEY]["source"] == str(parent.resolve() / "table1")
    assert len(exp.trials) == 6 and not any(is_resolved(t) for t in exp.trials)  # no model has trained yet
    status = CliRunner().invoke(main, ["status", str(parent)])
    assert status.exit_code == 0 and "6 fine-tunings wait for their table1 model" in status.output, status.output
    lines: list[str] = []
    row = transfer_row(parent.resolve(), doc, exp, LaunchOptions.from_values({"quiet": True}), Console(), lines.append,
                       lambda: None, None)
    assert row.status == "unfinished" and dict(row.trials) == {PENDING: 6}
    assert STUDY_EXIT[row.status] == ExitStatus.UNFINISHED
    assert any(f"rsb-sweep resume {parent.resolve()}" in line for line in lines), lines
