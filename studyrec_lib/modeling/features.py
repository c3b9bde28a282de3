"""Feature preprocessing: every candidate model sees the same columns, scaled and encoded the same way."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from studyrec_lib.core.tasks import Task


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
