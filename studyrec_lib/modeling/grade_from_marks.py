"""A grade classifier whose probabilities follow from the predicted marks, so the two never contradict.

The grade is a fixed function of the course total, and the total is the marks already known plus the
marks target. So: predict the marks with a regressor, take the spread of its out-of-fold residuals as
the uncertainty, and the probability of each grade is the chance that known + predicted + residual
lands in that grade's band. The most probable grade is then, barring a skewed residual spread, the
grade of the predicted total. Marks recorded on a grid (whole marks, say) are read as such: a prediction
of 9.6 stands for a recorded 10 (``marks_grid``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import cross_val_predict

from studyrec_lib.core.tasks import Task
from studyrec_lib.modeling.marks_grid import reaching_threshold, recorded_step
from studyrec_lib.modeling.student_folds import StudentFolds

PROBABILITY_FLOOR = 1e-4  # keeps log loss finite when a residual sample never reaches a band


class MarksGradeClassifier(ClassifierMixin, BaseEstimator):
    """Grade probabilities from a marks regressor and its out-of-fold residual distribution."""

    # Artifacts registered before marks were read on their grid lack the fitted step: they keep reading
    # marks as continuous, as they were validated, instead of failing on load into the API.
    marks_step_ = 0.0

    def __init__(self, regressor: BaseEstimator, task: Task, residual_folds: int = 3, random_state: int = 0):
        self.regressor = regressor
        self.task = task
        self.residual_folds = residual_folds
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: np.ndarray, marks: np.ndarray | None = None) -> MarksGradeClassifier:
        if marks is None:
            raise ValueError("MarksGradeClassifier needs the marks target: fit(X, y, marks=...)")
        marks = np.asarray(marks, dtype=float)
        self.marks_step_ = recorded_step(marks)
        # Grouped by student when X is indexed by student (train() does so): no student's rows on both sides.
        folds = StudentFolds(self.residual_folds, shuffle=True, random_state=self.random_state)
        out_of_fold = cross_val_predict(clone(self.regressor), X, marks, cv=folds)
        self.residuals_ = np.sort(marks - out_of_fold)
        self.regressor_ = clone(self.regressor).fit(X, marks)
        labels = np.asarray(y)
        self.classes_ = np.unique(labels)
        self.band_to_class_ = self._band_to_class(self.task.grade_of_marks(X, marks), labels)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.proba_from_marks(self.regressor_.predict(X), self.task.known_total(X))

    def proba_from_marks(self, centre: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Grade probabilities given predicted marks (unclipped) and the marks already known."""
        low, high = self.task.marks_range
        # S[i, j] = P(total_i >= threshold_j): the recorded marks must reach threshold_j - known_i.
        marks_needed = np.array([t for _, t in self.task.grade_bands])[None, :] - np.asarray(known)[:, None]
        needed = reaching_threshold(marks_needed, self.marks_step_)
        below = np.searchsorted(self.residuals_, needed - centre[:, None], side="left") / len(self.residuals_)
        reach = np.where(needed <= low, 1.0, np.where(needed > high, 0.0, 1.0 - below))
        reach[:, -1] = 1.0  # every total earns at least the lowest grade
        band = np.diff(np.concatenate([np.zeros((len(centre), 1)), reach], axis=1), axis=1)
        proba = band @ self.band_to_class_ + PROBABILITY_FLOOR
        return proba / proba.sum(axis=1, keepdims=True)

    def _band_to_class(self, band_of_row: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Each grade band's probability goes to the label its training rows carry most often.

        Labels are read from the rows, not assumed to be the band's name: a calibrator may fit this model
        on the grades' indices, and a few rows may carry a grade their marks disagree with. A band no
        training row fell in goes to the nearest band that had rows, so a cohort with no F still gives a
        failing student the lowest grade it knows.
        """
        bands = self.task.grades
        column = {label: j for j, label in enumerate(self.classes_)}
        label_of_band: dict[int, object] = {}
        for i, grade in enumerate(bands):
            in_band = labels[band_of_row == grade]
            if len(in_band):
                values, counts = np.unique(in_band, return_counts=True)
                label_of_band[i] = values[np.argmax(counts)]
        matrix = np.zeros((len(bands), len(self.classes_)))
        for i in range(len(bands)):
            nearest = min(label_of_band, key=lambda p: (abs(p - i), p))
            matrix[i, column[label_of_band[nearest]]] = 1.0
        return matrix

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
