"""Forward in time: the chosen models refitted on the semesters before each semester, scored on that semester.

Cross-validation mixes semesters, so its figures let a model learn from later cohorts than the one it is
scored on. A deployed model only ever sees the past; this backtest is the honest preview of how it does on
the next cohort. The choice of model (and its settings) still comes from the CV on every semester: only the
fits are forward in time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from threadpoolctl import threadpool_limits

from studyrec_lib.core import metrics
from studyrec_lib.modeling.candidates import NAIVE, classification_candidates, regression_candidates
from studyrec_lib.modeling.student_folds import by_student
from studyrec_lib.modeling.training import MIN_TRAINING_ROWS, TrainingResult, takes_marks

SEMESTER = "semester"
# A model fitted on fewer rows than train() accepts would never have been deployed, so scoring it previews
# nothing; 3 students, because the models' inner folds (calibration, grade-from-marks residuals) are 3 folds
# grouped by student.
MIN_EARLIER_ROWS = MIN_TRAINING_ROWS
MIN_EARLIER_STUDENTS = 3
METRICS = ["rmse_model", "rmse_naive", "mae_model", "f1_weighted_model", "f1_weighted_naive", "accuracy_model",
           "accuracy_naive"]
COLUMNS = [SEMESTER, "training_rows", "scored_rows", "students_scored", *METRICS, "note"]


def forward_backtest(result: TrainingResult) -> pd.DataFrame:
    """Each semester scored by the chosen and the naive models fitted on the earlier semesters alone.

    Args:
        result: the training result (its rows, task, chosen models and grades).

    Returns:
        One row per semester that has earlier ones, oldest first: rows trained on and scored, students
        scored, RMSE and MAE of the marks, weighted F1 and accuracy of the grade (model and naive). A
        semester whose earlier part is too small to fit has no scores (NaN) and says why in ``note``, which
        is empty for the scored ones.
    """
    frame, task = result.frame, result.task
    X = by_student(frame, task.features, task.group_column)  # the models' inner folds group by this index
    semesters = frame[SEMESTER].to_numpy()
    rows = []
    with threadpool_limits(1):  # small fits: idle-spinning BLAS/OpenMP threads cost more than they give
        for semester in np.unique(semesters)[1:]:
            earlier, scored = semesters < semester, semesters == semester
            row = {SEMESTER: semester, "training_rows": int(earlier.sum()), "scored_rows": int(scored.sum()),
                   "students_scored": frame.loc[scored, task.group_column].nunique()}
            reason = _too_small(frame[earlier], result)
            figures = {} if reason else _scores(result, X, earlier, scored)
            rows.append({**row, **figures, "note": reason or ""})
    return pd.DataFrame(rows, columns=COLUMNS)


def _too_small(earlier: pd.DataFrame, result: TrainingResult) -> str | None:
    """Why the earlier semesters cannot support a fit, or None when they can."""
    students = earlier[result.task.group_column].nunique()
    grades = earlier[result.task.grade_target].nunique()
    if len(earlier) < MIN_EARLIER_ROWS:
        return f"skipped: {len(earlier)} earlier rows, fewer than the {MIN_EARLIER_ROWS} training needs"
    if students < MIN_EARLIER_STUDENTS:
        return f"skipped: {students} earlier students, fewer than {MIN_EARLIER_STUDENTS}"
    if grades < 2:
        return "skipped: the earlier rows have a single grade"
    return None


def _scores(result: TrainingResult, X: pd.DataFrame, earlier: np.ndarray, scored: np.ndarray) -> dict[str, float]:
    """The four models fitted on the ``earlier`` rows and scored on the ``scored`` ones."""
    task, frame = result.task, result.frame
    marks = frame[task.marks_target].to_numpy(dtype=float)
    grades = frame[task.grade_target].astype(str).to_numpy()
    regression_naive = regression_candidates(task, len(frame))[NAIVE]
    classification_naive = classification_candidates(task, len(frame), clone(result.regression.model))[NAIVE]
    figures: dict[str, float] = {}
    for kind, model in (("model", result.regression.model), ("naive", regression_naive)):
        fitted = _fit(model, X, marks, marks, earlier)
        predicted = np.clip(fitted.predict(X[scored]), *task.marks_range)
        scores = metrics.regression_scores(marks[scored], predicted)
        figures |= {f"{name}_{kind}": value for name, value in scores.items()}
    for kind, model in (("model", result.classification.model), ("naive", classification_naive)):
        fitted = _fit(model, X, grades, marks, earlier)
        proba = _proba(fitted, X[scored], result.classes)
        scores = metrics.classification_scores(grades[scored], proba, result.classes)
        figures |= {f"{name}_{kind}": value for name, value in scores.items()}
    return {name: figures[name] for name in METRICS}


def _fit(estimator: BaseEstimator, X: pd.DataFrame, y: np.ndarray, marks: np.ndarray,
         rows: np.ndarray) -> BaseEstimator:
    """A fresh copy of ``estimator`` fitted on ``rows``; given the marks too when its fit takes them."""
    params = {"marks": marks[rows]} if takes_marks(estimator) else {}
    return clone(estimator).fit(X[rows], y[rows], **params)


def _proba(model: BaseEstimator, X: pd.DataFrame, classes: np.ndarray) -> np.ndarray:
    """Probabilities in the columns of every grade: an earlier slice may lack one, which then gets 0."""
    proba = np.zeros((len(X), len(classes)))
    proba[:, np.searchsorted(classes, model.classes_)] = model.predict_proba(X)
    return proba
