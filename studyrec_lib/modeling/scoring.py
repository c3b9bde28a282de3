"""Score rows with a fitted pair of models: what the at-risk list and its audit log both read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from studyrec_lib.core.tasks import STUDENT_TASK, Task


@dataclass(frozen=True)
class Scores:
    marks: np.ndarray  # final marks, clipped to the task's range
    proba: np.ndarray  # grade probabilities, columns in ``classes`` order
    classes: np.ndarray  # the classifier's grade labels

    @property
    def grades(self) -> np.ndarray:
        """The most probable grade of each row."""
        return self.classes[np.argmax(self.proba, axis=1)]


def score_rows(rows: pd.DataFrame, regressor: BaseEstimator, classifier: BaseEstimator,
               task: Task = STUDENT_TASK) -> Scores:
    """Predicted marks and grade probabilities of ``rows`` (which hold the task's features)."""
    X = rows[task.features]
    low, high = task.marks_range
    return Scores(np.clip(regressor.predict(X), low, high), classifier.predict_proba(X),
                  np.asarray(classifier.classes_).astype(str))
