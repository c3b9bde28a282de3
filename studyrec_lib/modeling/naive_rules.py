"""The baselines a teacher would use by hand, which every chosen model must beat.

Final marks: scaled from one earlier mark (the midterm; for the UCI data the paper's G2 or G1). Final
grade: the grade those marks imply together with the marks already known. Both are fitted on the
training rows only, and both are candidates, so on a cohort where the marks are the whole signal the
selection can keep the hand rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline

from studyrec_lib.core.tasks import Task

PROBABILITY_FLOOR = 1e-4  # a hand rule is certain; the floor keeps its log loss finite


def naive_regressor(task: Task) -> BaseEstimator:
    """Final marks scaled from one earlier mark (the midterm), or the mean when there is none."""
    if task.naive_marks_feature is None:
        return DummyRegressor(strategy="mean")
    pick = ColumnTransformer([("mark", "passthrough", [task.naive_marks_feature])])
    return Pipeline([("features", pick), ("model", LinearRegression())])


class NaiveGradeClassifier(ClassifierMixin, BaseEstimator):
    """The grade of (marks already known + final marks scaled from the midterm); the most common grade without one.

    Probabilities are the rule's certainty (the predicted grade gets all but a floor), so its Brier score
    shows what a hand rule costs in calibration.
    """

    def __init__(self, task: Task):
        self.task = task

    def fit(self, X: pd.DataFrame, y: np.ndarray, marks: np.ndarray | None = None) -> NaiveGradeClassifier:
        labels = np.asarray(y)
        self.classes_, counts = np.unique(labels, return_counts=True)
        self.most_common_ = self.classes_[np.argmax(counts)]
        self.marks_model_ = None
        if self.task.naive_marks_feature is not None:
            if marks is None:
                raise ValueError("NaiveGradeClassifier needs the marks target: fit(X, y, marks=...)")
            self.marks_model_ = naive_regressor(self.task).fit(X, np.asarray(marks, dtype=float))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.marks_model_ is None:
            return np.full(len(X), self.most_common_, dtype=self.classes_.dtype)
        marks = np.clip(self.marks_model_.predict(X), *self.task.marks_range)
        return self._known_grade(self.task.grade_of_marks(X, marks))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        one_hot = (self.predict(X)[:, None] == self.classes_[None, :]).astype(float) + PROBABILITY_FLOOR
        return one_hot / one_hot.sum(axis=1, keepdims=True)

    def _known_grade(self, grades: np.ndarray) -> np.ndarray:
        """A grade no training row had becomes the nearest grade band that had rows (a cohort without F)."""
        order = {grade: i for i, grade in enumerate(self.task.grades)}
        known = np.array([order[label] for label in self.classes_])
        nearest = {grade: self.classes_[np.argmin(np.abs(known - i))] for grade, i in order.items()}
        return np.array([nearest[grade] for grade in grades], dtype=self.classes_.dtype)
