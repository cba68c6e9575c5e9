"""The report in order: one :class:`Step` per section, the one list that both the notebook's cells
(:func:`analysis.report.cells.cells`) and :func:`build_report` (no kernel) follow.

The order is a reader's: the answer first (what ran, the headline numbers, each section's verdict
in one sentence: :func:`answer`; then Figure 2), the evidence section by section, provenance last.

A step has the notebook's Markdown heading and code cell (a call of its section function on the
variables the setup cell defines), the same call in Python (``build``), and the input it
``needs`` from the experiment folder (decision.json, evaluations.parquet, history.parquet), if any.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import PREDICTIONS_DATASET
from ..load.io import config_columns, evaluations_file, load_evaluations
from ..load.predictions import load_predictions
from . import sections as S
from . import sections_compare as SC
from . import sections_paper as SP
from . import sections_race as SR
from .answer import AnswerSection, answer_section
from .section import Section, record
from .sections_transfer import find_transfer_source, is_transfer, transfer_section


@dataclass(kw_only=True)
class ReportInputs:
    """What the sections read: the results table, the configuration columns that vary (``by``)
    and what the experiment folder holds."""

    df: pd.DataFrame
    experiment: Path
    baseline: Any = None
    predictions: pd.DataFrame | None = None
    evaluations: pd.DataFrame | None = None
    decision: dict[str, Any] | None = None
    history: Path | None = None
    race: dict[str, Any] | None = None
    by: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.by = config_columns(self.df)

    @property
    def transfer(self) -> bool | None:
        """True for a transfer study's table (``pretrain_recipe``; issue 20), else None."""
        return is_transfer(self.df)


@dataclass(frozen=True, kw_only=True)
class Step:
    """One section of the report: its heading, its code cell, its Python call."""

    key: str
    heading: str
    code: str
    #: None for the answer, which is made from every other section (:func:`answer`).
    build: Callable[[ReportInputs, dict[str, Section]], Section] | None
    #: The ReportInputs field the step needs (it is left out without it).
    needs: str | None = None
    #: A figure without sentences: :func:`build_report` leaves it out (it draws nothing).
    figure_only: bool = False

    @property
    def title(self) -> str:
        """The heading's title without its number: 'Normality'."""
        first = self.heading.split("\n", 1)[0].lstrip("#").strip()
        return first.split(". ", 1)[1] if ". " in first and first[0].isdigit() else first


def _show(call: str) -> str:
    return f"show_section(REPORT, {call}, FIGURES)\n"


#: The answer cell: every section computed (no figures), the answer shown, ``top1`` for Figure 2.
_ANSWER_CODE = ("SECTIONS = S.report_sections(df, BY, EXPERIMENT, BASELINE, PREDICTIONS)  # every section, once\n"
                "top1 = next((s.top1 for s in SECTIONS if s.name == 'summary'), None)  # None: a transfer study\n"
                + _show("answer(SECTIONS)"))

STEPS: tuple[Step, ...] = (
    Step(key="answer", heading="## The answer", code=_ANSWER_CODE, build=None),
    Step(key="figure2", heading="### Figure 2: distribution over seeds\nHistogram of the seeds, the fitted "
         "Gaussian scaled to it, the mean and ±1σ, and a normal Q-Q panel.",
         code=_show("S.figure2_section(df, BY, top1)"), figure_only=True,
         build=lambda i, done: S.figure2_section(i.df, i.by, done["summary"].top1)),
    Step(key="summary", heading="## 1. Summary\nMean, std (ddof=1), 95 % CI of the mean (Student t below 30 "
         "seeds, BCa bootstrap from 30), range and the seed-0 value, per configuration and "
         "evaluation set; then the paper's Table 9 layout (from evaluations.parquet when the "
         "experiment has one: every crop ratio of each trained model, paired difference).",
         code="sec = S.summary_section(df, BY, EVALUATIONS, BASELINE)\ntop1 = sec.top1\n" + _show("sec"),
         build=lambda i, done: S.summary_section(i.df, i.by, i.evaluations, i.baseline)),
    Step(key="normality", heading="## 2. Normality\nShapiro-Wilk (primary; calibrated against lattice-rounded "
         "Gaussians when top-1's step of 100/n_val points is a sizeable fraction of the "
         "std), D'Agostino K² (n ≥ 8) and Kolmogorov-Smirnov; skewness, excess kurtosis.",
         code=_show("S.normality_section(df, BY)"), build=lambda i, done: S.normality_section(i.df, i.by)),
    Step(key="outliers", heading="## 3. Outlier seeds\nCalled only from 10 seeds, when the robust z-score (median / "
         "MAD) exceeds 3.5 *and* fewer than 0.05 such seeds are expected among n under a "
         "Gaussian fitted to the other seeds.",
         code=_show("S.outliers_section(df, BY)"), build=lambda i, done: S.outliers_section(i.df, i.by)),
    Step(key="test_set_noise", heading="## 4. Test-set noise\nWith per-image predictions, the seed variance on this "
         "fixed validation set split into its per-image part and the distribution-level part a new test set would "
         "not average away (Jordan 2023); without them, the binomial std p(1−p)/n_val, an upper bound on the "
         "per-image part.",
         code=_show("S.test_set_noise_section(df, BY, PREDICTIONS)"),
         build=lambda i, done: S.test_set_noise_section(i.df, i.by, i.predictions)),
    Step(key="variance_components", heading="## 5. Sources of seed variance\nPer seed source (init, data order, "
         "augmentation) when the sweep varied them separately: shares of a crossed design; for one "
         "source at a time, each source's own (overlapping) variance.",
         code=_show("S.variance_section(df, BY, top1)"),
         build=lambda i, done: S.variance_section(i.df, i.by, done["summary"].top1)),
    Step(key="comparisons", heading="## 6. Comparisons\nOne factor: every configuration against the baseline. A grid: "
         "each factor within the levels of the others, one Holm family per factor. "
         "Decision: two-sided studentized permutation Brunner-Munzel test of P(A>B) = ½, Holm-adjusted; "
         "*not resolvable* when the design cannot reach α, or when the smaller arm has under 20 seeds and "
         "a std over 1.5× the other's. *Meaningful* (Bouthillier et "
         "al. 2021): also max(P, 1−P) ≥ γ = 0.75. With per-image predictions, a paired "
         "image-bootstrap CI says whether a difference survives new test images.",
         code="cmp = S.comparisons_section(df, BY, top1, BASELINE, PREDICTIONS, EVALUATIONS)\n" + _show("cmp"),
         build=lambda i, done: SC.comparisons_section(i.df, i.by, done["summary"].top1, i.baseline,
                                                      i.predictions, i.evaluations)),
    Step(key="stopping_path", heading="## 6b. Stopping path\nAn `rsb-sweep ab` comparison: the anytime-valid "
         "confidence sequence of A − B after each wave (Lindon et al. 2022), 0 and "
         "±δ marked, and the verdict of decision.json.",
         code=_show("S.stopping_path_section(DECISION)"), needs="decision",
         build=lambda i, done: SC.stopping_path_section(i.decision)),
    Step(key="paired_comparisons", heading="## 6c. Crop ratio and test resolution, paired by trial\nFrom "
         "evaluations.parquet (`rsb-sweep evaluate`): each trained model evaluated at every setting, each level "
         "compared with the baseline level on the same models (Wilcoxon signed-rank, exact "
         "up to 16 pairs, Holm over the levels; *not resolvable* when too few pairs can "
         "reach α). Table 9 is in section 1; Figure 4 shows top-1 against test resolution, "
         "a thin line per seed, the mean, the train resolution dotted.",
         code=_show("S.paired_section(EVALUATIONS, BASELINE)"), needs="evaluations",
         build=lambda i, done: SC.paired_section(i.evaluations, i.baseline)),
    Step(key="race", heading="## 6d. Race\nAn `rsb-sweep race`: every pair of configurations' anytime-valid "
         "confidence sequence at α over the number of pairs, after each wave; a configuration stops receiving seeds "
         "once another beats it by more than δ. The figure: each configuration against the leader, dropped ones "
         "grey from their wave (race.json).",
         code="from analysis.report.sections_race import find_race, race_section\n"
              + _show("race_section(find_race(EXPERIMENT))"), needs="race",
         build=lambda i, done: SR.race_section(i.race)),
    Step(key="seeds_needed", heading="## 7. Seeds needed\nSeeds per arm to detect a 0.1 / 0.2 / 0.5-point difference "
         "at the observed (pooled) seed std, and for the rank test this report runs to show "
         "P(A>B) ≠ 0.5 when it is 0.75.",
         code=_show("S.seeds_needed_section(top1, cmp.family)"),
         build=lambda i, done: S.seeds_needed_section(done["summary"].top1, done["comparisons"].family)),
    Step(key="expected_max", heading="## 8. Expected best-of-n\nExpected best result of n distinct seeds (unbiased, "
         "without replacement): what reporting the best seed instead of the mean adds.",
         code=_show("S.expected_max_section(df, BY, top1)"),
         build=lambda i, done: S.expected_max_section(i.df, i.by, done["summary"].top1)),
    Step(key="history", heading="## 9. Training curves\nTop-1 per epoch, mean ± std over trials.",
         code=_show("S.history_section(HISTORY, df, BY, top1)"), needs="history", figure_only=True,
         build=lambda i, done: S.history_section(i.history, i.df, i.by, done["summary"].top1)),
    Step(key="provenance", heading="## 10. Provenance\nWhat ran, with which software, on what hardware, at what "
         "cost (the RSB paper's Table 3); recipe settings as the results rows record them. Every statistic "
         "above uses the TERMINATED trials with a finite metric; the excluded ones are counted here. "
         "Generated by `analysis.make_report` (`rsb-sweep report <experiment dir>`): each section is one "
         "function of `analysis.sections`, every number is in `report.json`.",
         code=_show("S.provenance_section(df, EXPERIMENT)"),
         build=lambda i, done: S.provenance_section(i.df, i.experiment)),
    Step(key="transfer", heading="## Transfer\nA transfer study (`rsb-sweep transfer`, the RSB paper's Table 5): "
         "each target's fine-tuned top-1 per pretraining recipe, mean (std) over all fine-tunings; the variance "
         "split into between pretrained models and between fine-tuning seeds of one model (one-way random-effects "
         "ANOVA, generalized CIs), with the part that is test-set noise when per-image predictions exist; the "
         "recipes compared on each target on the pretrained models' means (one Holm family), and across targets "
         "rliable's probability of improvement (each target weighs the same; stratified bootstrap). The figure: "
         "per target, every fine-tuning, coloured by its pretrained model.",
         code=_show("S.transfer_section(df, PREDICTIONS, BASELINE, S.find_transfer_source(EXPERIMENT))"),
         needs="transfer",
         build=lambda i, done: transfer_section(i.df, i.predictions, i.baseline, find_transfer_source(i.experiment))),
)
#: Beside the paper (issue 19): the comparisons above next to the RSB paper's values, after them all.
STEPS += (
    Step(key="beside_paper", heading="## Beside the paper\nWherever this sweep maps onto a table of the RSB paper "
         "(Table 1, 3, 6, 9, Figure 4, the drop-path and smoothing ablations), the paper's values beside this run's, "
         "and whether the run agrees in direction (which arm is higher, where the peak is) as decided by the "
         "report's own tests above (no new test): *agree* / *disagree* when they decide, else *undecided*.",
         code="from analysis.report.sections_paper import beside_paper_section\n"
              + _show("beside_paper_section(df, BY, SECTIONS, EVALUATIONS, EXPERIMENT)"),
         build=lambda i, done: SP.beside_paper_section(i.df, i.by, done, i.evaluations, i.experiment)),
)

#: Provenance last (the reader's order: the answer, the evidence, then what ran), after the appended steps.
STEPS = tuple(s for s in STEPS if s.key != "provenance") + tuple(s for s in STEPS if s.key == "provenance")

#: The per-seed steps a transfer study's report leaves out (issue 20): on its table they would count
#: the fine-tunings of one pretrained model as independent seeds; the Transfer section says so once.
SKIP_FOR_TRANSFER = frozenset({"figure2", "summary", "normality", "outliers", "test_set_noise",
                               "variance_components", "comparisons", "seeds_needed", "expected_max", "history"})


def step_wanted(step: Step, have: Any, transfer: bool | None) -> bool:
    """Whether the report has ``step``: what it :attr:`~Step.needs` is there (``have``: the
    ReportInputs, or a dict of those fields) and it is not a per-seed step of a transfer study."""
    if transfer and step.key in SKIP_FOR_TRANSFER:
        return False
    if step.needs is None:
        return True
    return (have.get(step.needs) if isinstance(have, dict) else getattr(have, step.needs)) is not None


def answer(sections: Iterable[Section]) -> AnswerSection:
    """The report's answer (shown first) from its sections, each verdict titled as its step."""
    return answer_section(sections, {step.key: step.title for step in STEPS})


def report_sections(df: pd.DataFrame, by: Any, experiment: Path | str, baseline: Any = None,
                    predictions: pd.DataFrame | None = None, figures: bool = False) -> list[Section]:
    """Every section with sentences, in report order (the notebook calls them one per cell, and
    draws the figures too). ``by`` is the configuration columns that vary (``config_columns``);
    ``figures``: the figure-only sections too (what their figures print, not drawn)."""
    inputs = ReportInputs(df=df, experiment=Path(experiment), baseline=baseline, predictions=predictions,
                          evaluations=find_evaluations(experiment),
                          decision=SC.find_decision(experiment) if Path(experiment).is_dir() else None,
                          race=SR.find_race(experiment))
    inputs.by = list(by)
    done: dict[str, Section] = {}
    wanted: list[Step] = []
    for step in STEPS:
        if step.build is not None and (figures or not step.figure_only) and step_wanted(step, inputs,
                                                                                        inputs.transfer):
            wanted.append(step)
    # The figures last: they draw what the sections computed (Figure 2 reads the summary's top-1).
    for step in sorted(wanted, key=lambda st: st.figure_only):
        done[step.key] = step.build(inputs, done)
    return [done[step.key] for step in wanted]


def build_report(df: pd.DataFrame, experiment: Path | str, baseline: Any = None,
                 predictions: pd.DataFrame | None = None) -> dict[str, Any]:
    """Every section's numbers and sentences, as report.json holds them (without figures).

    The experiment folder's decision.json and evaluations.parquet, when there, add their
    sections (:func:`~analysis.report.sections_compare.stopping_path_section`,
    :func:`~analysis.report.sections_compare.paired_section`).
    """
    report: dict[str, Any] = {"conclusions": {}, "figures": {}}
    sections = report_sections(df, config_columns(df), experiment, baseline, predictions, figures=True)
    figure_only = {step.key for step in STEPS if step.figure_only}
    record(report, answer(sec for sec in sections if sec.name not in figure_only))  # as the notebook's answer cell
    for sec in sections:
        record(report, sec)
    return report


def find_evaluations(experiment: Path | str) -> pd.DataFrame | None:
    """The experiment's ``evaluations.parquet`` (``rsb-sweep evaluate``), or None without one.

    ``experiment``: the folder, or a results file inside it. A file that is there but
    unreadable or off-contract raises AnalysisError naming it (:func:`analysis.load_evaluations`).
    """
    path = evaluations_file(experiment)
    return load_evaluations(path) if path is not None else None


def find_predictions(experiment: Path | str) -> pd.DataFrame | None:
    """The experiment's per-image predictions (``predictions.parquet``), or None without them."""
    exp = Path(experiment)
    if not (exp.is_dir() and (exp / PREDICTIONS_DATASET).exists()):
        return None
    return load_predictions(exp)
