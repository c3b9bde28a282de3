"""Feature preprocessing and the feature baseline that drift monitoring compares against."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .tasks import Task

BASELINE_BINS = 10


def preprocessor(task: Task) -> ColumnTransformer:
    """StandardScaler on numbers, OneHotEncoder(handle_unknown="ignore") on categories, as before."""
    return ColumnTransformer(
        [
            ("numeric", StandardScaler(), list(task.numeric_features)),
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
             list(task.categorical_features)),
        ],
        verbose_feature_names_out=False,
    )


def feature_baseline(frame: pd.DataFrame, task: Task) -> dict:
    """Per feature: summary statistics and a binned distribution with bins fixed by training quantiles."""
    baseline: dict[str, dict] = {"rows": len(frame), "numeric": {}, "categorical": {}}
    for column in task.numeric_features:
        values = frame[column].to_numpy(dtype=float)
        edges = np.unique(np.quantile(values, np.linspace(0, 1, BASELINE_BINS + 1)))
        inner = edges[1:-1]
        counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
        baseline["numeric"][column] = {
            "mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "max": float(values.max()), "inner_edges": inner.tolist(), "shares": (counts / len(values)).tolist(),
        }
    for column in task.categorical_features:
        shares = frame[column].astype(str).value_counts(normalize=True)
        baseline["categorical"][column] = {"shares": {str(k): float(v) for k, v in shares.items()}}
    return baseline
