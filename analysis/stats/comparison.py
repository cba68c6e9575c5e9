"""Two-sample comparison of seed results: A against B, decided so it holds at 3 seeds as at 100.

The tests are :mod:`analysis.stats.rank`'s (the studentized permutation Brunner-Munzel test
deciding P(A>B) = ½, Holm over a family; P(A>B) with a CI inside [0, 1]; Mann-Whitney U and
Welch's t for information); decided here:

* **Not resolvable**: a design whose smallest attainable p cannot reach α, after Holm, is
  reported as ``not_resolvable`` with that smallest p, never "within seed noise"; so is a
  comparison whose smaller arm is too small for its wider spread (``spread_refused``).
* **Meaningful** (Bouthillier et al. 2021): significant, and max(P(A>B), 1 − P(A>B)) ≥ γ.
* **Verdicts** come from a fixed vocabulary (:data:`VERDICTS`, :data:`TEST_SET_VERDICTS`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import AnalysisError
from ..text.verdicts import comparison_sentence
from .arrays import N_RESAMPLES, check_values
from .bootstrap import bootstrap_cis
from .rank import two_sample_tests

NAN = float("nan")


#: The fields of a :class:`Comparison` that :func:`~analysis.stats.rank.two_sample_tests` gives, by name.
TEST_FIELDS = ("bm_p", "bm_method", "spread_refused", "welch_t", "welch_p", "mwu_u", "mwu_p",
               "mwu_method", "p_min", "p_a_gt_b", "pab_ci_low", "pab_ci_high", "pab_p", "cohen_d")
#: Seed-noise verdicts of a comparison, in report.json's ``verdict``.
VERDICTS = ("a_better", "b_better", "within_seed_noise", "not_resolvable")
#: What the test-set error bar adds (``test_set_verdict``): None when there are no predictions.
TEST_SET_VERDICTS = ("clears_test_set_noise", "below_test_set_noise")


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """Result of :func:`compare` (A against B; positive ``diff`` means A is higher)."""

    name_a: str
    name_b: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float              # mean_a - mean_b
    diff_ci_low: float       # BCa bootstrap CI of the difference (over seeds)
    diff_ci_high: float
    bm_p: float         # studentized permutation Brunner-Munzel p: the decision test
    bm_method: str      # "all N splits" or "9,999 random splits"
    spread_refused: bool     # smaller arm too small for its wider spread: no verdict
    welch_t: float           # scipy.stats.ttest_ind(equal_var=False), information
    welch_p: float
    mwu_u: float             # scipy.stats.mannwhitneyu, two-sided, information
    mwu_p: float
    mwu_method: str          # "exact", "permutation (all N / 9,999 random)", "asymptotic"
    p_min: float             # smallest p the decision test can give with these arm sizes
    p_a_gt_b: float          # P(A>B) + 0.5 P(A=B), statsmodels rank_compare_2indep
    pab_ci_low: float        # logit Brunner-Munzel CI of P(A>B), inside [0, 1] (NaN if refused)
    pab_ci_high: float
    pab_p: float             # asymptotic Brunner-Munzel p of P(A>B) = 0.5 (information only)
    cohen_d: float           # pooled-std (ddof=1) standardised difference
    gamma: float
    confidence: float
    p_decision: float        # the p that decides: bm_p, Holm-adjusted in a family
    p_min_decision: float    # the smallest p_decision this design can reach
    significant: bool        # p_decision < 1 - confidence
    meaningful: bool         # significant and max(P, 1-P) >= gamma (Bouthillier et al. 2021)
    better: str | None       # name of the better arm when significant, else None
    verdict: str             # one of VERDICTS
    test_diff_ci_low: float  # paired image-bootstrap CI of the difference (needs predictions)
    test_diff_ci_high: float
    test_set_verdict: str | None  # one of TEST_SET_VERDICTS, None without predictions
    sentence: str
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (notes joined into one string)."""
        d = asdict(self)
        d["notes"] = "; ".join(self.notes)
        return d


# --------------------------------------------------------------------------- verdict

def _decide(p: float, p_decision: float, p_min_decision: float, gamma: float, alpha: float,
            refused: bool = False):
    """(verdict, significant, meaningful) from P(A>B) and the Holm-adjusted p-values."""
    if refused or (math.isfinite(p_min_decision) and p_min_decision >= alpha):
        return "not_resolvable", False, False
    significant = math.isfinite(p_decision) and p_decision < alpha
    if not significant:
        return "within_seed_noise", False, False
    meaningful = max(p, 1 - p) >= gamma
    return ("a_better" if p > 0.5 else "b_better"), True, meaningful


def image_noise_verdict(ci: tuple[float, float]) -> str | None:
    """``clears_test_set_noise`` when the image-bootstrap CI excludes 0, else ``below_…``."""
    lo, hi = ci
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return "clears_test_set_noise" if (lo > 0 or hi < 0) else "below_test_set_noise"


# --------------------------------------------------------------------------- compare

def compare(
    a: Any,
    b: Any,
    *,
    name_a: str = "A",
    name_b: str = "B",
    gamma: float = 0.75,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0,
    nan_policy: str = "raise",
    metric: str = "top1",
    correct_a: Any = None,
    correct_b: Any = None,
) -> Comparison:
    """Compare the seed results of A and B (arrays of the metric, one value per seed).

    Mean difference with a BCa bootstrap CI, the studentized permutation Brunner-Munzel test
    of P(A>B) = ½ (the decision test), P(A>B) with a CI inside [0, 1], Welch's t, Mann-Whitney
    U and Cohen's d. ``verdict`` is ``a_better``/``b_better`` when the decision test rejects at
    1 − ``confidence``, ``not_resolvable`` when these arm sizes cannot reach it or the smaller
    arm is too small for its wider spread, else ``within_seed_noise``;
    *meaningful* (Bouthillier et al. 2021) adds max(P(A>B), 1−P(A>B)) ≥ ``gamma``.
    ``correct_a``/``correct_b``: optional (seeds × images) per-image correctness of A and B on
    the same images; they add the paired image-bootstrap CI of the difference
    (``test_diff_ci_*``) and ``test_set_verdict``.
    """
    x = check_values(a, nan_policy, f"values of {name_a}")
    y = check_values(b, nan_policy, f"values of {name_b}")
    if len(x) < 2 or len(y) < 2:
        raise AnalysisError(
            f"compare needs at least 2 seeds per arm (got {name_a}: {len(x)}, {name_b}: {len(y)})."
        )
    if (correct_a is None) != (correct_b is None):
        raise AnalysisError("pass both correct_a and correct_b (per-image correctness), "
                            "or neither.")
    lo, hi, cnote = bootstrap_cis([x], y, confidence, n_resamples, random_state)
    test_ci = (NAN, NAN)
    if correct_a is not None:
        test_ci = image_bootstrap_ci(correct_a, correct_b, confidence, n_resamples, random_state)
    return comparison(x, y, ci=(float(lo[0]), float(hi[0])), ci_note=cnote[0], name_a=name_a,
                      name_b=name_b, gamma=gamma, confidence=confidence, metric=metric, test_ci=test_ci)


def image_bootstrap_ci(correct_a: Any, correct_b: Any, confidence: float = 0.95,
                       n_resamples: int = N_RESAMPLES,
                       random_state: int | None = 0) -> tuple[float, float]:
    """Paired image-bootstrap CI of mean top-1 A − B (points), :mod:`analysis.stats.image_noise`."""
    from .image_noise import paired_image_bootstrap

    res = paired_image_bootstrap(correct_a, correct_b, confidence=confidence,
                                 n_resamples=n_resamples, random_state=random_state)
    low, high = res.confidence_interval
    return float(low), float(high)


def comparison(x: np.ndarray, y: np.ndarray, *, ci: tuple[float, float], ci_note: str, name_a: str,
               name_b: str, gamma: float, confidence: float, metric: str, tests: Any = None,
               p_decision: float | None = None, p_min_decision: float | None = None, m: int = 1,
               test_ci: tuple[float, float] = (NAN, NAN), n_val: float | None = None) -> Comparison:
    """Assemble a :class:`Comparison` of the seeds ``x`` (A) and ``y`` (B) from the computed
    pieces (shared by compare/compare_all): ``ci`` the bootstrap CI of the difference, ``tests``
    :func:`~analysis.stats.rank.two_sample_tests`' result (computed when None), ``p_decision``
    and ``p_min_decision`` Holm-adjusted over a family of ``m``."""
    t, notes = tests if tests is not None else two_sample_tests(x, y, confidence)
    t = dict(t)
    notes = list(notes)
    if ci_note:
        notes.insert(0, "difference CI: " + ci_note)
    t["p_decision"] = t["bm_p"] if p_decision is None else p_decision
    t["p_min_decision"] = t["p_min"] if p_min_decision is None else p_min_decision
    alpha = 1 - confidence
    verdict, significant, meaningful = _decide(t["p_a_gt_b"], t["p_decision"],
                                               t["p_min_decision"], gamma, alpha, t["spread_refused"])
    tv = image_noise_verdict(test_ci)
    if significant and t["pab_ci_low"] <= 0.5 <= t["pab_ci_high"]:
        notes.append("the CI of P(A>B) includes 0.5 although the permutation test rejects: the "
                     "CI (normal quantile, logit scale) is not the inversion of the permutation test")
    diff = float(x.mean() - y.mean())
    sentence = comparison_sentence(name_a, name_b, len(x), len(y), diff, t, verdict, meaningful, gamma,
                                   alpha, metric, m, test_ci, tv, n_val)
    better = {"a_better": name_a, "b_better": name_b}.get(verdict)
    return Comparison(
        name_a=name_a, name_b=name_b, n_a=len(x), n_b=len(y), mean_a=float(x.mean()),
        mean_b=float(y.mean()), diff=diff, diff_ci_low=ci[0], diff_ci_high=ci[1],
        **{k: t[k] for k in TEST_FIELDS}, gamma=gamma, confidence=confidence,
        p_decision=float(t["p_decision"]), p_min_decision=float(t["p_min_decision"]),
        significant=bool(significant), meaningful=bool(meaningful), better=better, verdict=verdict,
        test_diff_ci_low=float(test_ci[0]), test_diff_ci_high=float(test_ci[1]), test_set_verdict=tv,
        sentence=sentence, notes=tuple(notes),
    )
