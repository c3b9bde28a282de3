"""At-risk students: open rows (no final marks yet) whose predicted grade is D or F, or likely to be."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from . import exports
from .config import Settings
from .signals import weak_signals
from .spool import PredictionSpool, new_record
from .tasks import STUDENT_TASK, Task

FAILING_GRADES = ("D", "F")
RISK_PROBABILITY = 0.4  # P(D or F) at or above this flags a student even if C or better is most likely


def _score(X: pd.DataFrame, regressor: BaseEstimator, classifier: BaseEstimator,
           task: Task) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final marks (clipped to the task's range), grade probabilities and the classifier's grade labels."""
    low, high = task.marks_range
    return (np.clip(regressor.predict(X), low, high), classifier.predict_proba(X),
            np.asarray(classifier.classes_).astype(str))


def find_at_risk(open_rows: pd.DataFrame, regressor: BaseEstimator, classifier: BaseEstimator,
                 task: Task = STUDENT_TASK, threshold: float = RISK_PROBABILITY) -> pd.DataFrame:
    """Predictions for every open row, at-risk ones flagged, most at risk first."""
    if open_rows.empty:
        return pd.DataFrame()
    X = open_rows[task.features]
    marks, proba, classes = _score(X, regressor, classifier, task)
    failing = np.isin(classes, FAILING_GRADES)
    p_fail = proba[:, failing].sum(axis=1)
    predicted_grade = classes[np.argmax(proba, axis=1)]
    frame = open_rows[["student_id", "semester", "subject", *[f for f in task.numeric_features
                                                               if f != "semester"]]].copy()
    frame["predicted_final_marks"] = marks.round(1)
    frame["predicted_total"] = (task.known_total(X) + marks).round(1)
    frame["predicted_grade"] = predicted_grade
    frame["p_d_or_f"] = p_fail.round(3)
    frame["at_risk"] = np.isin(predicted_grade, FAILING_GRADES) | (p_fail >= threshold)
    frame["weak_signals"] = weak_signals(open_rows).map("; ".join).to_numpy()
    return frame.sort_values(["at_risk", "p_d_or_f"], ascending=[False, False], ignore_index=True)


def export(at_risk: pd.DataFrame, run_dir: Path) -> dict[str, Path]:
    """at_risk.csv and at_risk.xlsx for teachers: only the flagged students (private, see :mod:`exports`)."""
    flagged = at_risk[at_risk["at_risk"]] if len(at_risk) else at_risk
    return {
        "csv": exports.write_csv(flagged, Path(run_dir) / "at_risk.csv"),
        "xlsx": exports.write_xlsx(flagged, Path(run_dir) / "at_risk.xlsx", sheet="at risk"),
    }


def log_predictions(open_rows: pd.DataFrame, regressor: BaseEstimator, classifier: BaseEstimator,
                    versions: dict[str, str], settings: Settings, task: Task = STUDENT_TASK) -> int:
    """Every open row's prediction into prediction_log (source at_risk): feedback later meets the outcome."""
    if open_rows.empty:
        return 0
    marks, proba, classes = _score(open_rows[task.features], regressor, classifier, task)
    spool = PredictionSpool(settings, source="at_risk")
    try:
        for i, row in enumerate(open_rows[["student_id", *task.features]].itertuples(index=False)):
            inputs = {name: (value if name in task.categorical_features else float(value))
                      for name, value in zip(task.features, row[1:], strict=True)}
            result = {"predicted_final_marks": round(float(marks[i]), 2),
                      "predicted_grade": str(classes[int(np.argmax(proba[i]))]),
                      "grade_probabilities": {g: round(float(p), 4) for g, p in zip(classes, proba[i], strict=True)},
                      "model_versions": dict(versions)}
            spool.append(new_record("at_risk", str(row[0]), inputs, result, 0.0))
    finally:
        spool.close()
    return len(open_rows)
