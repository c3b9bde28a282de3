"""The training data's feature distribution, stored with each model version for drift monitoring to compare against."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyrec_lib.core.tasks import Task

BASELINE_BINS = 10
QUANTILE_POINTS = 201  # the training distribution at 0.5% steps: enough for KS and Wasserstein later


def effective_rows(values: np.ndarray, groups: pd.Series | None) -> float:
    """Rows / design effect: a student's rows are alike, so they count as fewer independent ones.

    Design effect ``1 + (m - 1) * ICC`` with the one-way ANOVA intra-class correlation of the feature
    within students (m = mean rows per student); drift tests use this as the baseline's sample size.
    """
    if groups is None or groups.nunique() < 2:
        return float(len(values))
    stats = pd.DataFrame({"v": values, "g": groups.to_numpy()}).groupby("g")["v"].agg(["mean", "var", "size"])
    k, n = len(stats), len(values)
    m = n / k
    within = float((stats["var"].fillna(0) * (stats["size"] - 1)).sum() / max(n - k, 1))
    between = float((stats["size"] * (stats["mean"] - values.mean()) ** 2).sum() / (k - 1))
    icc = (between - within) / (between + (m - 1) * within) if between + (m - 1) * within > 0 else 0.0
    return float(n / (1 + (m - 1) * min(max(icc, 0.0), 1.0)))


def feature_baseline(frame: pd.DataFrame, task: Task) -> dict:
    """Per feature: summary statistics and a binned distribution with bins fixed by training quantiles."""
    groups = frame.get(task.group_column)
    baseline: dict = {"rows": len(frame), "numeric": {}, "categorical": {}}
    for column in task.numeric_features:
        values = frame[column].to_numpy(dtype=float)
        edges = np.unique(np.quantile(values, np.linspace(0, 1, BASELINE_BINS + 1)))
        inner = edges[1:-1]
        counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
        baseline["numeric"][column] = {
            "mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "max": float(values.max()), "inner_edges": inner.tolist(), "shares": (counts / len(values)).tolist(),
            "quantiles": np.quantile(values, np.linspace(0, 1, QUANTILE_POINTS)).round(6).tolist(),
            "effective_rows": effective_rows(values, groups),
        }
    for column in task.categorical_features:
        shares = frame[column].astype(str).value_counts(normalize=True)
        baseline["categorical"][column] = {"shares": {str(k): float(v) for k, v in shares.items()}}
    return baseline
