"""Thread counts resolved, pinned and recorded before a run (trainer.threads); no training here.

The run-level checks (a stored config run again, a resume in another process with another
OMP_NUM_THREADS) are in test_rerun_config.py and tests/sweep/test_trial_rerun.py."""

import dataclasses

import pytest
import torch

from trainer import ConfigError, resolve_config
from trainer.threads import resolve_threads, thread_change_notice, threads_restored


@pytest.fixture
def own_threads():
    """The test process gets its thread count back, whatever a test pinned."""
    with threads_restored():
        yield torch.get_num_threads()


def test_unset_counts_are_what_the_process_has_and_a_given_one_is_pinned(own_threads):
    config, notices = resolve_threads(resolve_config("a2"))
    assert (config.threads, config.interop_threads, notices) == (own_threads, torch.get_num_interop_threads(), [])
    other = 1 if own_threads != 1 else 2
    config, _ = resolve_threads(resolve_config("a2", threads=other))
    assert config.threads == other and torch.get_num_threads() == other


def test_a_resume_takes_the_stored_count_and_a_different_one_is_said(own_threads):
    other = 1 if own_threads != 1 else 2
    stored = resolve_config("a2", threads=other, interop_threads=torch.get_num_interop_threads())
    config, notices = resolve_threads(resolve_config("a2"), stored=stored)
    assert config.threads == other and torch.get_num_threads() == other and notices == []

    config, notices = resolve_threads(resolve_config("a2", threads=other + 1), stored=stored)
    assert config.threads == other + 1 and torch.get_num_threads() == other + 1
    assert notices == [f"threads: the checkpoint was run with {other} intra-op thread(s), this run uses {other + 1}: "
                       f"results will differ from the stored run's (its own count reproduces them)"]
    old = dataclasses.replace(stored, threads=None)  # written before the count was recorded
    assert "records no intra-op thread count" in resolve_threads(resolve_config("a2"), stored=old)[1][0]
    assert thread_change_notice(3, 3, "x") is None


def test_an_inter_op_count_the_process_can_no_longer_take_is_recorded_as_it_is(own_threads):
    current = torch.get_num_interop_threads()
    try:
        torch.set_num_interop_threads(current)  # from now on fixed in this process (if it was not already)
    except RuntimeError:
        pass
    config, notices = resolve_threads(resolve_config("a2", interop_threads=current + 1))
    assert config.interop_threads == current == torch.get_num_interop_threads()
    assert len(notices) == 1 and f"interop_threads={current + 1}: this process already runs {current}" in notices[0]


@pytest.mark.parametrize("field, value", [("threads", 0), ("interop_threads", 0), ("final_checkpoint", "optimizer")])
def test_bad_execution_values_are_named(field, value):
    with pytest.raises(ConfigError, match=f"{field}={value!r} is out of range"):
        resolve_config("a2", **{field: value})
