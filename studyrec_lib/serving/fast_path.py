"""Numpy-only scoring of fitted linear pipelines, for sub-millisecond single predictions.

scikit-learn spends most of a one-row prediction on DataFrame and ColumnTransformer overhead. For a
pipeline of StandardScaler / passthrough / OneHotEncoder and a linear model, the whole pipeline is one
affine map, which is folded here from the fitted objects. Every fast model is checked against
scikit-learn's own output when it is built and is used only if the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import softmax
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from studyrec_lib.core.tasks import Task
from studyrec_lib.modeling.grade_from_marks import MarksGradeClassifier

TOLERANCE = 1e-7
LOG_EPSILON = 1e-12  # scikit-learn's temperature scaling takes log(p + 1e-12) of probabilities


class AffineRows:
    """z = numeric @ W + subject_weights[subject] + b, for rows of raw numbers and a subject name."""

    def __init__(self, numeric_weights: np.ndarray, subject_weights: dict[str, np.ndarray], intercept: np.ndarray):
        self.numeric_weights = numeric_weights  # (n_numeric, n_outputs)
        self.subject_weights = subject_weights
        self.intercept = intercept
        self.zero = np.zeros_like(intercept)

    def __call__(self, numeric: np.ndarray, subjects: Sequence[str]) -> np.ndarray:
        offsets = np.array([self.subject_weights.get(s, self.zero) for s in subjects])
        return numeric @ self.numeric_weights + offsets + self.intercept

    @classmethod
    def from_pipeline(cls, pipeline: BaseEstimator, task: Task) -> AffineRows | None:
        """Fold a fitted features + linear-model pipeline, or None when it is not of that shape."""
        if not isinstance(pipeline, Pipeline) or "features" not in pipeline.named_steps:
            return None
        model = pipeline.steps[-1][1]
        if not hasattr(model, "coef_") or len(pipeline.steps) != 2:
            return None
        coef = np.atleast_2d(model.coef_).T  # (n_transformed, n_outputs)
        intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=float)).copy()
        numeric_index = {name: i for i, name in enumerate(task.numeric_features)}
        weights = np.zeros((len(task.numeric_features), coef.shape[1]))
        subject_weights: dict[str, np.ndarray] = {}
        position = 0
        for _name, transformer, columns in pipeline.named_steps["features"].transformers_:
            if transformer == "drop" or len(columns) == 0:
                continue
            if transformer == "passthrough" or isinstance(transformer, StandardScaler):
                mean = getattr(transformer, "mean_", np.zeros(len(columns)))
                scale = getattr(transformer, "scale_", np.ones(len(columns)))
                for j, column in enumerate(columns):
                    if column not in numeric_index:
                        return None
                    weights[numeric_index[column]] += coef[position + j] / scale[j]
                    intercept -= coef[position + j] * mean[j] / scale[j]
                position += len(columns)
            elif isinstance(transformer, OneHotEncoder) and list(columns) == list(task.categorical_features) == [
                    "subject"] and transformer.drop_idx_ is None:
                for category in transformer.categories_[0]:
                    subject_weights[str(category)] = coef[position]
                    position += 1
            else:
                return None
        if position != coef.shape[0]:
            return None
        return cls(weights, subject_weights, intercept)


class FastModels:
    """Final marks and grade probabilities from numpy rows; built only when it matches scikit-learn."""

    def __init__(self, marks: AffineRows, grade_from_marks: tuple[MarksGradeClassifier, AffineRows] | None = None,
                 logits: AffineRows | None = None, inverse_temperature: float = 1.0):
        self.marks = marks
        self.grade_from_marks = grade_from_marks
        self.logits = logits
        self.inverse_temperature = inverse_temperature

    def predict(self, numeric: np.ndarray, subjects: Sequence[str], known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unclipped final marks and grade probabilities (columns in the classifier's class order)."""
        centre = self.marks(numeric, subjects)[:, 0]
        if self.grade_from_marks is not None:
            classifier, inner_marks = self.grade_from_marks
            proba = classifier.proba_from_marks(inner_marks(numeric, subjects)[:, 0], known)
            if self.inverse_temperature == 1.0:
                return centre, proba
            return centre, softmax(self.inverse_temperature * np.log(proba + LOG_EPSILON), axis=1)
        return centre, softmax(self.inverse_temperature * self.logits(numeric, subjects), axis=1)

    @classmethod
    def build(cls, task: Task, regressor: BaseEstimator, classifier: BaseEstimator,
              probe: pd.DataFrame) -> FastModels | None:
        """Fast versions of both models, or None unless both fold and agree with scikit-learn on ``probe``.

        A temperature-calibrated classifier folds too when it is one model and one temperature (train()
        calibrates several grades that way): the temperature rescales the folded model's logits.
        """
        marks = AffineRows.from_pipeline(regressor, task)
        if marks is None:
            return None
        base, inverse_temperature = classifier, 1.0
        if isinstance(classifier, CalibratedClassifierCV):
            if classifier.method != "temperature" or len(classifier.calibrated_classifiers_) != 1:
                return None
            base = classifier.calibrated_classifiers_[0].estimator
            inverse_temperature = float(classifier.calibrated_classifiers_[0].calibrators[0].beta_)
        fast = None
        if isinstance(base, MarksGradeClassifier):
            inner = AffineRows.from_pipeline(base.regressor_, task)
            if inner is not None:
                fast = cls(marks, grade_from_marks=(base, inner), inverse_temperature=inverse_temperature)
        elif isinstance(base, Pipeline) and hasattr(base.steps[-1][1], "coef_"):
            logits = AffineRows.from_pipeline(base, task)
            if logits is not None and np.atleast_2d(base.steps[-1][1].coef_).shape[0] > 1:
                fast = cls(marks, logits=logits, inverse_temperature=inverse_temperature)
        if fast is None:
            return None
        numeric = probe[list(task.numeric_features)].to_numpy(dtype=float)
        subjects = probe["subject"].astype(str).tolist()
        centre, proba = fast.predict(numeric, subjects, task.known_total(probe))
        agrees = (np.allclose(centre, regressor.predict(probe[task.features]), atol=TOLERANCE)
                  and np.allclose(proba, classifier.predict_proba(probe[task.features]), atol=TOLERANCE))
        return fast if agrees else None
