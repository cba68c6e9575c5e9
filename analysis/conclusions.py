"""One quotable sentence per finding, from the tables the statistics functions return.

Each ``describe_*`` function takes the output of the matching statistic and returns a list of
sentences (plain text, numbers rounded for reading; report.json keeps the full precision).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ._common import label

_MAX_LISTED = 8


def _name(row: pd.Series, by: Sequence[str]) -> str:
    return label(list(by), tuple(row[c] for c in by)) if by else "All trials"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def bullets(sentences: Sequence[str]) -> str:
    """Markdown bullet list of sentences."""
    return "\n".join(f"- {s}" for s in sentences) if sentences else "- (nothing to report)"


def describe_status(df: pd.DataFrame, status: str = "TERMINATED") -> list[str]:
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
            "from every statistic below."]


def describe_summary(summary: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """'A2: top-1 79.80 ± 0.20 (mean ± std over 100 seeds; 95 % CI of the mean [..]; range ..).'"""
    out = []
    rows = summary.sort_values("n", ascending=False) if len(summary) > _MAX_LISTED else summary
    for _, r in rows.head(_MAX_LISTED).iterrows():
        name = _name(r, by)
        m = r["metric"]
        if r["n"] == 0:
            out.append(f"{name}: no usable trial ({r['excluded'] or 'none run'}).")
        elif r["n"] == 1:
            out.append(f"{name}: {m} {r['mean']:.2f} from a single seed (no spread estimate).")
        else:
            out.append(
                f"{name}: {m} {r['mean']:.2f} ± {r['std']:.2f} (mean ± std over {int(r['n'])} "
                f"seeds; 95% CI of the mean [{r['ci_low']:.2f}, {r['ci_high']:.2f}]; seeds span "
                f"{r['min']:.2f}–{r['max']:.2f}, a {r['range']:.2f}-point range)."
            )
    if len(summary) > _MAX_LISTED:
        out.append(f"({len(summary) - _MAX_LISTED} more configurations in the table.)")
    return out


def describe_normality(fits: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """The verdict of fit_gaussian per group (or a count when there are many groups)."""
    if len(fits) <= _MAX_LISTED:
        return [f"{_name(r, by)}: {r['verdict']}." if by else _cap(f"{r['verdict']}.")
                for _, r in fits.iterrows()]
    tested = fits[fits["shapiro_p"].notna()] if "shapiro_p" in fits else fits.iloc[0:0]
    bad = int((tested["shapiro_p"] < 0.05).sum()) if len(tested) else 0
    return [f"{bad} of {len(tested)} testable configurations depart from a Gaussian at "
            f"Shapiro-Wilk p < 0.05 (about {0.05 * len(tested):.1f} expected by chance)."]


def describe_outliers(out: pd.DataFrame, metric: str = "top1", z: float = 3.5) -> list[str]:
    """Flagged seeds, or the most extreme seed when none is flagged."""
    valid = out[out["robust_z"].notna()]
    if valid.empty:
        return ["Too few seeds per configuration (n < 3) to look for outliers."]
    flagged = valid[valid["outlier"]]
    seed = "seed" if "seed" in valid.columns else "trial_id"
    if flagged.empty:
        r = valid.iloc[0]
        return [
            f"No seed is an outlier (|robust z| > {z:g}); the most extreme, {seed} {r[seed]} at "
            f"{r['value']:.2f}, has robust z = {r['robust_z']:.2f} and a Gaussian two-sided tail "
            f"probability of {r['p_gaussian']:.2g} ({r['expected_count']:.2f} such seeds expected "
            f"among {int(r['n'])})."
        ]
    sents = []
    for _, r in flagged.head(_MAX_LISTED).iterrows():
        sents.append(
            f"{_cap(seed)} {r[seed]} is an outlier: {metric} {r['value']:.2f}, robust z = "
            f"{r['robust_z']:.2f}; a Gaussian fitted to its {int(r['n'])} seeds gives such a value "
            f"with probability {r['p_gaussian']:.2g} ({r['expected_count']:.2f} expected)."
        )
    if len(flagged) > _MAX_LISTED:
        sents.append(f"({len(flagged) - _MAX_LISTED} more outliers in the table.)")
    return sents


def describe_noise(noise: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """Test-set sampling std against the observed seed std."""
    out = []
    for _, r in noise.head(_MAX_LISTED).iterrows():
        name = _name(r, by) + ": " if by else ""
        if not math.isfinite(r["binomial_std"]):
            out.append(f"{name}test-set noise undefined ({r['note']}).")
        elif not math.isfinite(r["observed_std"]) or not math.isfinite(r["share_of_variance"]):
            out.append(f"{name}sampling {int(r['n_val']):,} validation images alone gives a "
                       f"{r['binomial_std']:.3f}-point std; the seed std is unknown ({r['note']}).")
        else:
            out.append((str if name else _cap)(
                f"{name}sampling {int(r['n_val']):,} validation images alone gives a "
                f"{r['binomial_std']:.3f}-point std (binomial), {100 * r['share_of_variance']:.0f}% "
                f"of the observed seed variance (seed std {r['observed_std']:.3f} "
                f"[{r['observed_std_ci_low']:.3f}, {r['observed_std_ci_high']:.3f}])."))
    return out


def describe_seeds_needed(table: pd.DataFrame, std: float, n_for_p: int, gamma: float = 0.75,
                          alpha: float = 0.05, power_p: float = 0.95) -> list[str]:
    """Seeds per arm for each difference at the observed std, and Noether's n for P(A>B)."""
    parts = ", ".join(f"{r.delta:g} points {int(r.seeds_per_arm)}" for r in table.itertuples())
    a = table["alpha"].iloc[0]
    pw = table["power"].iloc[0]
    return [
        f"At the observed seed std of {std:.3f} points, a two-sided t-test (α={a:g}, power "
        f"{pw:g}) needs per arm: {parts} seeds.",
        f"Showing P(A>B) ≥ {gamma:g} (Noether, one-sided α={alpha:g}, power {power_p:g}) needs "
        f"{n_for_p} seeds per arm, whatever the std.",
    ]


def describe_expected_max(table: pd.DataFrame, by: Sequence[str], over: str = "seeds") -> list[str]:
    """Expected best-of-1 against best-of-N (the gain from picking the best of N runs)."""
    out = []
    groups = table.groupby(list(by), sort=False, dropna=False) if by else [((), table)]
    for key, g in list(groups)[:_MAX_LISTED]:
        key = key if isinstance(key, tuple) else (key,)
        name = label(list(by), key) + ": " if by else ""
        first, last = g.iloc[0], g.iloc[-1]
        out.append((str if name else _cap)(
            f"{name}picking the best of {int(last['n'])} {over} instead of one inflates the "
            f"expected result from {first['expected_max']:.2f} to {last['expected_max']:.2f} "
            f"(+{last['expected_max'] - first['expected_max']:.2f} points): a best-of-n number "
            "is not comparable to a mean."))
    return out
