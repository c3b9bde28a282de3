"""A grade classifier whose probabilities follow from the predicted marks, so the two never contradict.

The grade is a fixed function of the course total, and the total is the marks already known plus the
marks target. So: predict the marks with a regressor, take the spread of its out-of-fold residuals as
the uncertainty, and the probability of each grade is the chance that known + predicted + residual
lands in that grade's band. The most probable grade is then, barring a skewed residual spread, the
grade of the predicted total.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import KFold, cross_val_predict

from .tasks import Task

PROBABILITY_FLOOR = 1e-4  # keeps log loss finite when a residual sample never reaches a band


class MarksGradeClassifier(ClassifierMixin, BaseEstimator):
    """Grade probabilities from a marks regressor and its out-of-fold residual distribution."""

    def __init__(self, regressor: BaseEstimator, task: Task, residual_folds: int = 3, random_state: int = 0):
        self.regressor = regressor
        self.task = task
        self.residual_folds = residual_folds
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: np.ndarray, marks: np.ndarray | None = None) -> MarksGradeClassifier:
        if marks is None:
            raise ValueError("MarksGradeClassifier needs the marks target: fit(X, y, marks=...)")
        marks = np.asarray(marks, dtype=float)
        folds = KFold(self.residual_folds, shuffle=True, random_state=self.random_state)
        out_of_fold = cross_val_predict(clone(self.regressor), X, marks, cv=folds)
        self.residuals_ = np.sort(marks - out_of_fold)
        self.regressor_ = clone(self.regressor).fit(X, marks)
        self.classes_ = np.unique(np.asarray(y).astype(str))
        self.__dict__.pop("_band_matrix", None)  # built again for these classes
        return self

    def predict_marks(self, X: pd.DataFrame) -> np.ndarray:
        low, high = self.task.marks_range
        return np.clip(self.regressor_.predict(X), low, high)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.proba_from_marks(self.regressor_.predict(X), self.task.known_total(X))

    def proba_from_marks(self, centre: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Grade probabilities given predicted marks (unclipped) and the marks already known."""
        low, high = self.task.marks_range
        # S[i, j] = P(total_i >= threshold_j): the marks must reach threshold_j - known_i.
        needed = np.array([t for _, t in self.task.grade_bands])[None, :] - np.asarray(known)[:, None]
        below = np.searchsorted(self.residuals_, needed - centre[:, None], side="left") / len(self.residuals_)
        reach = np.where(needed <= low, 1.0, np.where(needed > high, 0.0, 1.0 - below))
        reach[:, -1] = 1.0  # every total earns at least the lowest grade
        band = np.diff(np.concatenate([np.zeros((len(centre), 1)), reach], axis=1), axis=1)
        proba = band @ self._band_to_class() + PROBABILITY_FLOOR
        return proba / proba.sum(axis=1, keepdims=True)

    def _band_to_class(self) -> np.ndarray:
        """Each grade band's probability goes to that grade, or to the nearest grade the training data had.

        Without this, a cohort with no F would give a failing student no probability of any low grade.
        Built once per fitted model (a single prediction would otherwise spend most of its time here).
        """
        cached = self.__dict__.get("_band_matrix")
        if cached is not None:
            return cached
        present = [i for i, grade in enumerate(self.task.grades) if grade in set(self.classes_)]
        column = {grade: j for j, grade in enumerate(self.classes_)}
        matrix = np.zeros((len(self.task.grades), len(self.classes_)))
        for i in range(len(self.task.grades)):
            nearest = min(present, key=lambda p: (abs(p - i), p))
            matrix[i, column[self.task.grades[nearest]]] = 1.0
        self._band_matrix = matrix
        return matrix

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
