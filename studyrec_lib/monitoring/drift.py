"""Does the data students bring today still look like the data the active model learned from?

Per feature, against the baseline stored with the active model version:

- **PSI** on the baseline's quantile bins, reported with the value identical data would give by chance,
  about ``(bins - 1) * (1/n + 1/N)``, so a small sample's PSI is read against its own noise level;
- a **test** suited to the type: two-sample Kolmogorov-Smirnov for numbers (the baseline's CDF is kept as
  201 quantiles), chi-square for the subject mix (a subject never seen counts as its own category);
- an **effect** on one scale for every feature, in baseline standard deviations: the Wasserstein distance
  divided by the training standard deviation for numbers (a mean shift of 0.5 SD gives 0.5), and for the
  subject the mean shift of two normal distributions with the same total variation distance
  (``2 * Phi^-1((1 + TVD) / 2)``: a new subject taking 20% of rows gives about 0.5).

A feature **alerts** when its test is significant at ``alpha`` after a Bonferroni correction over the
features *and* the shift may reach the threshold: ``effect + margin >= threshold``, where the margin is
the one-sided 95% standard error of a standardised shift, ``1.645 * sqrt(1/n + 1/N)``. Significance keeps
identical data from alerting whatever n is; the effect keeps a trivial shift in a huge sample from
alerting; the margin makes the threshold account for n (at n = 200 a measured shift may truly be about
0.12 SD larger). The **score** is the largest effect among the significant features (0 when none).
The default threshold (``core.defaults.DRIFT_THRESHOLD``, the old system's ``--drift-threshold``) keeps
its meaning: alert when a feature has moved, beyond sampling noise, by what may be that share of its
training standard deviation or more. ``semester`` is reported but never alerts: the current semester
differs from the training mix by design.
Below ``min_samples`` rows the status is ``insufficient_samples`` and nothing is decided.

The baseline's sample size in the tests and margins is each feature's *effective* row count (rows over the
design effect of students' repeated rows, see :func:`studyrec_lib.modeling.feature_baseline.effective_rows`):
24 rows of one student are not 24 independent draws, and counting them as such made identical data alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from studyrec_lib.core import defaults
from studyrec_lib.core.errors import StudyRecError

PSI_FLOOR = 1e-4  # share given to an empty bin, so PSI stays finite
DEFAULT_ALPHA = 0.01
INFORMATIONAL = ("semester",)
NEW_CATEGORY = "(not in training)"


class DriftError(StudyRecError):
    """The baseline cannot be compared (e.g. recorded before quantiles were kept)."""


@dataclass
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical
    samples: int
    psi: float
    psi_noise: float
    test: str
    statistic: float
    p_value: float
    effect: float
    alert: bool
    informational: bool
    baseline_shares: list[float]
    current_shares: list[float]
    bins: list[str]
    detail: dict = field(default_factory=dict)


@dataclass
class DriftReport:
    status: str  # ok | drift | insufficient_samples
    samples: int
    baseline_rows: int
    threshold: float
    min_samples: int
    alpha: float
    score: float
    alerts: list[str]
    features: list[FeatureDrift]

    def table(self) -> pd.DataFrame:
        """The per-feature figures as a table (what 04_monitor shows and monitor.json keeps).

        Returns:
            One row per feature: its test, statistic, p-value, PSI and its chance level, effect and alert flag.
        """
        columns = ["feature", "kind", "samples", "psi", "psi_noise", "test", "statistic", "p_value", "effect",
                   "alert", "informational"]
        return pd.DataFrame([{c: getattr(f, c) for c in columns} for f in self.features], columns=columns)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected, actual = np.maximum(expected, PSI_FLOOR), np.maximum(actual, PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def psi_noise(bins: int, samples: int, baseline_rows: int) -> float:
    """The PSI two samples of one distribution show by chance (its expectation)."""
    return (bins - 1) * (1 / max(samples, 1) + 1 / max(baseline_rows, 1))


def _numeric(name: str, spec: dict, values: np.ndarray, baseline_rows: int) -> FeatureDrift:
    if "quantiles" not in spec:
        raise DriftError(f"the active model's baseline for {name} has no quantiles: retrain (`studyrec train`) "
                         "to record them.")
    baseline_rows = max(1, round(spec.get("effective_rows", baseline_rows)))
    values = np.sort(values[np.isfinite(values)])
    n = len(values)
    inner = np.asarray(spec["inner_edges"], dtype=float)
    expected = np.asarray(spec["shares"], dtype=float)
    actual = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(expected)) / n
    quantiles = np.asarray(spec["quantiles"], dtype=float)
    grid = np.linspace(0, 1, len(quantiles))
    # KS: both CDFs on the baseline's quantile values (and the sample's own values).
    points = np.concatenate([quantiles, values[:: max(1, n // 2000)]])
    # Between two stored quantiles the baseline CDF is only known to lie between their grid levels:
    # count only what falls outside that range, so identical data stays insignificant at any n.
    below = np.searchsorted(quantiles, points, side="right")  # right-continuous, ties included
    low = np.where(below > 0, grid[np.maximum(below - 1, 0)], 0.0)
    high = np.where(np.isin(points, quantiles) | (below == len(grid)), low, grid[np.minimum(below, len(grid) - 1)])
    current_cdf = np.searchsorted(values, points, side="right") / n
    ks = float(np.max(np.maximum(current_cdf - high, low - current_cdf).clip(min=0)))
    effective = max(1, round(n * baseline_rows / (n + baseline_rows)))
    p_value = float(stats.kstwo.sf(ks, effective))
    middle = (grid[1:] + grid[:-1]) / 2
    current_quantiles = values[np.minimum((middle * n).astype(int), n - 1)]
    baseline_at_middle = np.interp(middle, grid, quantiles)
    wasserstein = float(np.mean(np.abs(current_quantiles - baseline_at_middle)))
    scale = spec["std"] if spec["std"] > 0 else max(spec["max"] - spec["min"], 1.0)
    edges = [spec["min"], *inner.tolist(), spec["max"]]
    return FeatureDrift(
        feature=name, kind="numeric", samples=n, psi=psi(expected, actual),
        psi_noise=psi_noise(len(expected), n, baseline_rows), test="ks", statistic=ks, p_value=p_value,
        effect=wasserstein / scale, alert=False, informational=name in INFORMATIONAL,
        baseline_shares=expected.tolist(), current_shares=actual.tolist(),
        bins=[f"{lo:g}-{hi:g}" for lo, hi in pairwise(edges)],
        detail={"baseline_effective_rows": baseline_rows, "wasserstein": wasserstein, "baseline_mean": spec["mean"],
                "current_mean": float(values.mean()),
                "baseline_std": spec["std"], "current_std": float(values.std())},
    )


def _categorical(name: str, spec: dict, values: pd.Series, baseline_rows: int) -> FeatureDrift:
    known = list(spec["shares"])
    counts = values.astype(str).value_counts()
    unseen = sorted(set(counts.index) - set(known))
    n = int(counts.sum())
    expected = np.array([spec["shares"][c] for c in known] + [0.0])
    actual = np.array([counts.get(c, 0) for c in known] + [counts[unseen].sum() if unseen else 0]) / n
    table = np.vstack([np.round(expected * baseline_rows), actual * n])
    table = table[:, table.sum(axis=0) > 0]
    chi2, p_value = (stats.chi2_contingency(table)[:2] if table.shape[1] > 1 else (0.0, 1.0))
    tvd = float(0.5 * np.abs(actual - expected).sum())
    return FeatureDrift(
        feature=name, kind="categorical", samples=n, psi=psi(expected, actual),
        psi_noise=psi_noise(int((table.sum(axis=0) > 0).sum()), n, baseline_rows), test="chi2",
        statistic=float(chi2), p_value=float(p_value), effect=float(2 * stats.norm.ppf((1 + min(tvd, 0.999)) / 2)),
        alert=False, informational=name in INFORMATIONAL, baseline_shares=expected.tolist(),
        current_shares=actual.tolist(), bins=[*known, NEW_CATEGORY],
        detail={"total_variation": tvd, "jensen_shannon": float(jensenshannon(expected, actual, base=2)),
                "unseen": unseen, "unseen_share": float(actual[-1])},
    )


def effect_margin(samples: int, baseline_rows: int) -> float:
    """One-sided 95% margin of an effect in SD units: the standard error of a standardised mean shift."""
    return float(stats.norm.ppf(0.95) * np.sqrt(1 / samples + 1 / baseline_rows))


def compute_drift(baseline: dict, current: pd.DataFrame, threshold: float = defaults.DRIFT_THRESHOLD,
                  min_samples: int = defaults.DRIFT_MIN_SAMPLES, alpha: float = DEFAULT_ALPHA) -> DriftReport:
    """Compare ``current`` rows with a model version's ``feature_baseline`` (see the module's docstring).

    Args:
        baseline: the ``feature_baseline`` stored with a model version (rows, numeric and categorical specs).
        current: the rows to judge, with a column per feature of the baseline.
        threshold: the shift, in training standard deviations, a feature may reach before it alerts.
        min_samples: below this many current rows nothing is decided (status ``insufficient_samples``).
        alpha: the significance level before the Bonferroni correction over the features.

    Returns:
        The report: status (ok, drift or insufficient_samples), score, alerts in words and one entry per feature.
    """
    n, baseline_rows = len(current), int(baseline["rows"])
    if n < min_samples:
        return DriftReport("insufficient_samples", n, baseline_rows, threshold, min_samples, alpha, 0.0,
                           [f"insufficient samples: {n} current rows, at least {min_samples} needed; "
                            "nothing is decided"], [])
    features = [_numeric(name, spec, current[name].to_numpy(dtype=float), baseline_rows)
                for name, spec in baseline["numeric"].items()]
    features += [_categorical(name, spec, current[name], baseline_rows)
                 for name, spec in baseline["categorical"].items()]
    tested = [f for f in features if not f.informational]
    corrected = alpha / max(len(tested), 1)
    alerts = []
    for feature in tested:
        margin = effect_margin(n, feature.detail.get("baseline_effective_rows", baseline_rows))
        significant = feature.p_value < corrected
        feature.detail["effect_upper"] = feature.effect + margin
        feature.alert = significant and feature.effect + margin >= threshold
        if feature.alert:
            alerts.append(f"{feature.feature}: moved {feature.effect:.2f} SD (up to {feature.effect + margin:.2f}; "
                          f"threshold {threshold:g}), {feature.test} p = {feature.p_value:.2g}, "
                          f"PSI {feature.psi:.3f} (chance level {feature.psi_noise:.3f})")
    significant_effects = [f.effect for f in tested if f.p_value < corrected]
    score = max(significant_effects, default=0.0)
    return DriftReport("drift" if alerts else "ok", n, baseline_rows, threshold, min_samples, alpha, score, alerts,
                       features)
