"""One quotable sentence per finding, from the tables the statistics functions return.

Each ``describe_*`` function takes the output of the matching statistic and returns a list of
sentences (plain text, numbers rounded for reading; report.json keeps the full precision).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import TERMINATED
from ..groups.frames import describe_exclusions
from ..stats.gaussian import OUTLIER_MAX_EXPECTED, OUTLIER_MIN_N
from ..text.formatting import fmt_seeds, fmt_value, label

#: Groups a list of sentences names one by one; beyond it, a count.
MAX_LISTED = 8
#: Said when a results table has no n_val column.
NO_N_VAL = "The table has no n_val column: test-set noise cannot be estimated."
#: Shown under Figure 2's heading when no configuration has 3 seeds.
NO_SEED_DISTRIBUTION = "No configuration has 3 or more seeds: there is no seed distribution to plot."


def _name(row: pd.Series, by: Sequence[str]) -> str:
    return label(list(by), tuple(row[c] for c in by)) if by else "All trials"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def bullets(sentences: Sequence[str]) -> str:
    """Markdown bullet list of sentences."""
    return "\n".join(f"- {s}" for s in sentences) if sentences else "- (nothing to report)"


def describe_status(df: pd.DataFrame, status: str = TERMINATED) -> list[str]:
    """How many trials the statistics use and which they exclude, by status."""
    if "status" not in df.columns:
        return [f"All {len(df)} trials are used (the table has no status column)."]
    counts = df["status"].astype(str).value_counts()
    used = int(counts.get(status, 0))
    other = {k: int(v) for k, v in counts.items() if k != status}
    if not other:
        return [f"All {used} trials finished ({status}) and are used in every statistic."]
    parts = ", ".join(f"{v} {k}" for k, v in sorted(other.items()))
    return [f"{used} of {len(df)} trials finished ({status}); {parts} trial(s) are excluded "
            "from every statistic of this report."]


def describe_summary(summary: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """'A2: top-1 79.80 ± 0.20 (mean ± std over 100 seeds; 95 % CI of the mean [..]; range ..).'"""
    out = []
    rows = summary.sort_values("n", ascending=False) if len(summary) > MAX_LISTED else summary
    for _, r in rows.head(MAX_LISTED).iterrows():
        name = _name(r, by)
        m = r["metric"]
        if r["n"] == 0:
            out.append(f"{name}: no usable trial ({r['excluded'] or 'none run'}).")
        elif r["n"] == 1:
            out.append(f"{name}: {m} {r['mean']:.2f} from a single seed (no spread estimate).")
        else:
            out.append(
                f"{name}: {m} {r['mean']:.2f} ± {r['std']:.2f} (mean ± std over {int(r['n'])} "
                f"seeds; 95% CI of the mean [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
                f"{_ci_how(r)}; seeds span "
                f"{r['min']:.2f}–{r['max']:.2f}, a {r['range']:.2f}-point range)."
            )
    if len(summary) > MAX_LISTED:
        out.append(f"({len(summary) - MAX_LISTED} more configurations in the table.)")
    return out


def _ci_how(r: pd.Series) -> str:
    how = {"t": " (Student t)", "BCa": " (BCa bootstrap)"}
    return how.get(str(r.get("ci_method", "")), "")


def describe_normality(fits: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """The verdict of fit_gaussian per group (or a count when there are many groups)."""
    if len(fits) <= MAX_LISTED:
        return [f"{_name(r, by)}: {r['verdict']}." if by else _cap(f"{r['verdict']}.")
                for _, r in fits.iterrows()]
    tested = fits[fits["shapiro_p"].notna()] if "shapiro_p" in fits else fits.iloc[0:0]
    # the lattice-calibrated p where the metric is coarse (see analysis.stats.gaussian.fit_gaussian)
    p = tested["shapiro_p"]
    if "shapiro_p_lattice" in tested:
        p = tested["shapiro_p_lattice"].where(tested["shapiro_p_lattice"].notna(), p)
    bad = int((p < 0.05).sum()) if len(tested) else 0
    return [f"{bad} of {len(tested)} testable configurations depart from a Gaussian at "
            f"Shapiro-Wilk p < 0.05 (about {0.05 * len(tested):.1f} expected if all were "
            "Gaussian)."]


def describe_outliers(out: pd.DataFrame, metric: str = "top1", z: float = 3.5) -> list[str]:
    """Flagged seeds, or the most extreme seed and why it is not called an outlier."""
    valid = out[out["robust_z"].notna()]
    if valid.empty:
        return ["Too few seeds per configuration (n < 3) to look for outliers."]
    flagged = valid[valid["outlier"]]
    seed = "seed" if "seed" in valid.columns else "trial_id"
    rule = (f"an outlier needs at least {OUTLIER_MIN_N} seeds, |robust z| > {z:g} and fewer than "
            f"{OUTLIER_MAX_EXPECTED:g} such seeds expected under a Gaussian fitted to the others")
    if flagged.empty:
        r = valid.iloc[0]
        if int(valid["n"].max()) < OUTLIER_MIN_N:
            return [f"No seed is called an outlier: every configuration has fewer than "
                    f"{OUTLIER_MIN_N} seeds, too few for its own Gaussian to single one out "
                    f"(the most extreme, {seed} {r[seed]} at {r['value']:.2f}, has robust z = "
                    f"{r['robust_z']:.2f})."]
        tail = ("" if not math.isfinite(r["expected_count"]) else
                f", and {r['expected_count']:.2f} seeds that extreme are expected among "
                f"{int(r['n'])}")
        return [f"No seed is an outlier ({rule}); the most extreme, {seed} {r[seed]} at "
                f"{r['value']:.2f}, has robust z = {r['robust_z']:.2f}{tail}."]
    sents = []
    for _, r in flagged.head(MAX_LISTED).iterrows():
        sents.append(
            f"{_cap(seed)} {r[seed]} is an outlier: {metric} {r['value']:.2f}, robust z = "
            f"{r['robust_z']:.2f}; against a Gaussian fitted to the other {int(r['n']) - 1} seeds "
            f"such a value has probability {r['p_gaussian']:.2g} ({r['expected_count']:.2g} "
            f"expected among {int(r['n'])})."
        )
    if len(flagged) > MAX_LISTED:
        sents.append(f"({len(flagged) - MAX_LISTED} more outliers in the table.)")
    return sents


def describe_noise(noise: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """The binomial bound on per-image test-set noise against the observed seed variance.

    p(1−p)/n_val is an *upper bound* on the per-image part of the seed variance on a fixed
    validation set (Jordan 2023: Σ p_i(1−p_i)/n² ≤ p(1−p)/n). A ratio above 100 % is expected
    whenever seed variance is mostly per-image noise; a ratio below 100 % is evidence of
    distribution-level variance that a new test set would not average away.
    """
    out = []
    for _, r in noise.head(MAX_LISTED).iterrows():
        name = _name(r, by) + ": " if by else ""
        if not math.isfinite(r["binomial_std"]):
            out.append(f"{name}test-set noise undefined ({r['note']}).")
            continue
        head = (f"{name}on {int(r['n_val']):,} fixed validation images the per-image part of the "
                f"seed std is at most {r['binomial_std']:.3f} points (binomial bound "
                f"sqrt(p(1−p)/n), an upper bound: per-image predictions would give the split)")
        if not math.isfinite(r["observed_std"]) or not math.isfinite(r["share_of_variance"]):
            out.append((str if name else _cap)(f"{head}; the seed std is unknown ({r['note']})."))
            continue
        ratio = 100 * r["share_of_variance"]
        seed = (f"seed std {r['observed_std']:.3f} [{r['observed_std_ci_low']:.3f}, "
                f"{r['observed_std_ci_high']:.3f}]")
        if r["share_of_variance"] >= 1:
            tail = (f"; the bound is {ratio:.0f}% of the observed seed variance ({seed}), as "
                    "expected when the seed variance is mostly per-image noise: an upper bound, "
                    "not a share")
        elif r["observed_std_ci_low"] > r["binomial_std"]:
            tail = (f"; the bound is only {ratio:.0f}% of the observed seed variance ({seed}, "
                    "its CI above the bound), so part of the seed variance is distribution-level:"
                    " it would not average away on a new test set")
        else:
            tail = (f"; the bound is {ratio:.0f}% of the observed seed variance ({seed}); the seed "
                    "std's CI reaches the bound, so all of it may be per-image noise")
        out.append((str if name else _cap)(head + tail + "."))
    return out


#: The per-image part counts as negligible at this fraction of the distribution-level part.
NEGLIGIBLE_SHARE = 0.10


def images_for_share(noise: Any, share: float = NEGLIGIBLE_SHARE) -> float:
    """Test images that bring the per-image part of the seed variance to ``share`` of the
    distribution-level part: the per-image part scales as 1/n (Σ p_i(1−p_i)/n²), so
    n · independent / (share · distribution); NaN unless the distribution part is positive."""
    d, ind, n = noise["distribution_var"], noise["independent_example_var"], noise["n_images"]
    return math.ceil(n * ind / (share * d)) if d > 0 and math.isfinite(ind) else math.nan


def describe_example_noise(tab: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """:func:`analysis.example_noise` per group: how much of the seed variance on this fixed
    validation set is per-image noise and how much a new test set would not average away, with
    its CI, and how many test images would make the per-image part ≤ 10 % of the rest."""
    out = []
    for _, r in tab.head(MAX_LISTED).iterrows():
        name = _name(r, by) + ": " if by else ""
        where = "".join(f", {c}={fmt_value(r[c])}" for c in ("crop_pct", "test_res") if c in r and pd.notna(r[c]))
        if not math.isfinite(r["distribution_var"]):
            out.append((str if name else _cap)(f"{name}test-set noise undefined ({r['note']})."))
            continue
        obs, ind, d = r["observed_var"], r["independent_example_var"], r["distribution_var"]
        lo, hi = r["distribution_var_ci_low"], r["distribution_var_ci_high"]
        head = (f"{name}on these {int(r['n_images']):,} validation images{where}, from the per-image "
                f"predictions of {int(r['n_trials'])} trials, the seed variance of top-1 is {obs:.2f} "
                f"points²: {ind:.2f} ({100 * ind / obs:.0f}%) is independent per-image noise, which a "
                f"new test set redraws, and {d:.2f} [{lo:.2f}, {hi:.2f}] is distribution-level, which "
                "no test set averages away (Jordan 2023)")
        need = images_for_share(r)
        if d <= 0 or lo <= 0:
            tail = ("; the distribution-level part's CI includes 0 (it is a difference of two variances, "
                    "unbiased, so its CI may go below 0), so the seed spread may be all per-image noise and "
                    "no test-set size can be named")
        elif ind <= NEGLIGIBLE_SHARE * d:
            tail = f"; the per-image part is already ≤ {100 * NEGLIGIBLE_SHARE:.0f}% of it"
        else:
            tail = (f"; about {need:,} test images would bring the per-image part to ≤ "
                    f"{100 * NEGLIGIBLE_SHARE:.0f}% of it ({images_for_share({**r, 'distribution_var': hi}):,}"
                    f"–{images_for_share({**r, 'distribution_var': lo}):,} over the CI)")
        out.append((str if name else _cap)(head + tail + "."))
    return out


def noether_sentence(n_for_p: int, gamma: float = 0.75, alpha: float = 0.05,
                     power: float = 0.95, comparisons: int = 1) -> str:
    """What seeds_needed_for_p's n means, worded as Noether's formula does."""
    holm = f", Holm over {comparisons} comparisons" if comparisons > 1 else ""
    return (f"{n_for_p} seeds per arm give {100 * power:.0f}% power for the test this report runs "
            f"(two-sided permutation Brunner-Munzel, α={alpha:g}{holm}) to show P(A>B) ≠ 0.5 when "
            f"it truly is {gamma:g} (Noether); the estimate then reaches {gamma:g} (\"meaningful\") only "
            "about half the time.")


def describe_seeds_needed(table: pd.DataFrame, std: float, n_for_p: int, gamma: float = 0.75,
                          alpha: float = 0.05, power_p: float = 0.95,
                          comparisons: int = 1) -> list[str]:
    """Seeds per arm for each difference at the observed std, and Noether's n for P(A>B)."""
    parts = ", ".join(f"{r.delta:g} points {int(r.seeds_per_arm)}" for r in table.itertuples())
    a = table["alpha"].iloc[0]
    pw = table["power"].iloc[0]
    return [
        f"At the observed seed std of {std:.2f} points, a two-sided t-test (α={a:g}, power "
        f"{pw:g}) needs per arm: {parts} seeds.",
        _cap(noether_sentence(n_for_p, gamma, alpha, power_p, comparisons)),
    ]


def describe_expected_max(table: pd.DataFrame, by: Sequence[str], over: str = "seeds") -> list[str]:
    """Expected best-of-1 against best-of-N (the gain from picking the best of N runs)."""
    how = str(table["method"].iloc[0]) if "method" in table.columns and len(table) else ""
    out = []
    groups = table.groupby(list(by), sort=False, dropna=False) if by else [((), table)]
    for key, g in list(groups)[:MAX_LISTED]:
        key = key if isinstance(key, tuple) else (key,)
        name = label(list(by), key) + ": " if by else ""
        first, last = g.iloc[0], g.iloc[-1]
        out.append((str if name else _cap)(
            f"{name}picking the best of {int(last['n'])} {over} instead of one inflates the "
            f"expected result from {first['expected_max']:.2f} to {last['expected_max']:.2f} "
            f"(+{last['expected_max'] - first['expected_max']:.2f} points; expected best of "
            f"{int(last['n'])} drawn {how or 'with replacement'}): a best-of-n number is not "
            "comparable to a mean."))
    return out


def describe_provenance(prov: dict[str, Any], experiment: Path | str, metric: str = "top1") -> str:
    """:func:`analysis.groups.provenance.provenance` as a Markdown list: what ran, how many trials
    the statistics use, what varied, the seeds as typed, the hardware. The settings of every
    trial, the stream seeds, the software and the sweep files: :func:`describe_provenance_details`."""
    excluded = pd.Series([r["reason"] for r in prov["excluded"]], dtype=object)
    status = ", ".join(f"{k}: {v}" for k, v in prov["status_counts"].items())
    lines = [
        f"- **experiment**: {', '.join(prov['experiment'])} (`{prov['source']}`)",
        f"- **trials**: {prov['n_trials']} ({status})",
        f"- **used for statistics**: {prov['n_used']} (TERMINATED with a finite {metric}); "
        f"excluded: {describe_exclusions(excluded) if len(excluded) else 'none'}",
    ]
    if prov["varied_hyperparameters"]:
        lines.append("- **varied**: " + "; ".join(f"{k} ∈ {{{', '.join(map(str, v))}}}"
                                                  for k, v in prov["varied_hyperparameters"].items()))
    seed = prov["seeds"].get("seed")
    if seed:
        lines.append(f"- **seeds**: {fmt_seeds(seed['distinct'], seed['min'], seed['max'])}"
                     + ("; the init, data-order and augmentation streams each trial ran with are in the "
                        "details" if len(prov["seeds"]) > 1 else ""))
    if prov["hardware"]:
        lines.append("- **hardware**: " + "; ".join(f"{k}: {', '.join(map(str, v))}"
                                                   for k, v in prov["hardware"].items()))
    return "\n".join(lines)


def describe_provenance_details(prov: dict[str, Any], experiment: Path | str) -> str:
    """The rest of provenance as a Markdown list: the settings of all trials, each recipe's as its
    rows record them, the stream seeds (derived from ``seed`` unless pinned), the software, the
    sweep files in the experiment folder."""
    exp = Path(experiment)
    lines = []
    if prov["constant_hyperparameters"]:
        lines.append("- **hyper-parameters (all trials)**: "
                     + ", ".join(f"{k}={v}" for k, v in prov["constant_hyperparameters"].items()))
    for rec, values in prov["recipes"].items():
        txt = ", ".join(f"{k}={'/'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in values.items())
        lines.append(f"- **{rec.upper()} as run** (from the results rows): {txt}")
    streams = {k: v for k, v in prov["seeds"].items() if k != "seed"}
    if streams:
        lines.append("- **stream seeds** (derived from seed unless pinned): " + "; ".join(
            f"{k}: {v['distinct']} distinct, {int(v['min'])}–{int(v['max'])}" if v["distinct"] else f"{k}: none"
            for k, v in streams.items()))
    ver = prov["versions"]
    lines.append("- **software**: " + ", ".join(f"{k} {v}" for k, v in ver.items()
                                               if k not in ("executable", "platform"))
                 + f" on {ver['platform']}")
    spec_files = sorted(p.name for p in exp.glob("*.y*ml")) if exp.is_dir() else []
    if spec_files:
        lines.append("- **sweep files in the experiment folder**: " + ", ".join(spec_files))
    return "\n".join(lines)


def describe_table9_source(tables: Sequence[dict[str, Any]], baseline: Any) -> str:
    """Where Table 9 comes from when evaluations.parquet gives it (:func:`~analysis.present.tables_paired.table9_tables`)."""
    keys = [k for k in tables[0] if k not in ("title", "baseline", "markdown", "latex")]
    return (f"Table 9 comes from evaluations.parquet: each trained model scored at every crop "
            f"ratio, {len(tables)} table(s) (one per {', '.join(keys)}), the difference from "
            f"crop_pct={fmt_value(baseline)} paired by trial.")


def describe_variance(found: Sequence[tuple[str, str]], failed: Sequence[tuple[str, str]],
                      any_group: bool) -> list[str]:
    """The variance components of each configuration tried: ``found`` (name, its sentence),
    ``failed`` (name, why not identifiable); ``any_group``: whether one had 3 or more trials."""
    sentences = [] if any_group else ["No configuration has 3 or more trials: the seed sources cannot be "
                                      "separated."]
    sentences += [(f"{name}: " if name else "") + sentence for name, sentence in found]
    if len(failed) == 1:
        sentences.append((f"{failed[0][0]}: " if failed[0][0] else "") + f"Not identifiable: {failed[0][1]}")
    elif failed:
        sentences.append(f"Not identifiable in {len(failed)} configurations; for {failed[0][0]}: "
                         f"{failed[0][1]}")
    return sentences


def seed_std_unknown(n_for_p: int, comparisons: int = 1) -> str:
    """Seeds needed when no configuration has a seed spread: only Noether's n for P(A>B)."""
    return ("No configuration has two seeds with different results, so the seed std is unknown; "
            + noether_sentence(n_for_p, comparisons=comparisons))
