"""Inner cross-validation that keeps each student's rows on one side, inside models that run their own CV.

Calibration and the grade-from-marks residuals cross-validate inside ``fit``, where scikit-learn passes
no groups. So train() gives the feature frame an index of student codes (``by_student``) and these folds
read the groups from it: the fitted model keeps no student data, and a frame without such an index is
split row by row. When every row is its own student, grouped folds are ordinary folds and those are used
unchanged (the UCI benchmark's figures do not move).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    BaseCrossValidator,
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
)


def by_student(frame: pd.DataFrame, features: list[str], group_column: str) -> pd.DataFrame:
    """The feature columns, indexed by an integer code per student (not the student id itself)."""
    codes, _ = pd.factorize(frame[group_column].astype(str))
    return frame[features].set_axis(pd.Index(codes, name="student_code"), axis=0)


class StudentFolds(BaseCrossValidator):
    """K folds grouped by ``X.index``; stratified by ``y`` when asked (as scikit-learn does for classifiers)."""

    def __init__(self, n_splits: int = 3, stratify: bool = False, shuffle: bool = False,
                 random_state: int | None = None):
        self.n_splits = n_splits
        self.stratify = stratify
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:
        return self.n_splits

    def split(self, X: pd.DataFrame, y: np.ndarray | None = None,
              groups: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        groups = np.asarray(X.index if groups is None else groups)
        random_state = self.random_state if self.shuffle else None
        if len(np.unique(groups)) == len(groups):
            rows = (StratifiedKFold if self.stratify else KFold)(self.n_splits, shuffle=self.shuffle,
                                                                 random_state=random_state)
            yield from rows.split(X, y)
            return
        grouped = (StratifiedGroupKFold if self.stratify else GroupKFold)(self.n_splits, shuffle=self.shuffle,
                                                                          random_state=random_state)
        yield from grouped.split(X, y, groups)
