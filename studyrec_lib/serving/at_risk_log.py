"""The at-risk list's audit trail: every open row's prediction goes to prediction_log (source ``at_risk``).

Feedback later meets each one with the outcome a teacher uploads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from studyrec_lib.core.config import Settings
from studyrec_lib.core.tasks import STUDENT_TASK, Task
from studyrec_lib.modeling.scoring import score_rows
from studyrec_lib.serving.spool import PredictionSpool, new_record


def log_at_risk_predictions(open_rows: pd.DataFrame, regressor: BaseEstimator, classifier: BaseEstimator,
                            versions: dict[str, str], settings: Settings, task: Task = STUDENT_TASK) -> int:
    """Log every open row's prediction, once each, through the prediction spool.

    Args:
        open_rows: the rows the at-risk list scored.
        regressor: the fitted final-marks model.
        classifier: the fitted grade model.
        versions: the registered versions of those models (task -> version), logged with each line.
        settings: where the warehouse is.
        task: what the models learned.

    Returns:
        How many predictions were logged.
    """
    if open_rows.empty:
        return 0
    scores = score_rows(open_rows, regressor, classifier, task)
    spool = PredictionSpool(settings, source="at_risk")
    try:
        for i, row in enumerate(open_rows[["student_id", *task.features]].itertuples(index=False)):
            inputs = {name: (value if name in task.categorical_features else float(value))
                      for name, value in zip(task.features, row[1:], strict=True)}
            result = {"predicted_final_marks": round(float(scores.marks[i]), 2),
                      "predicted_grade": str(scores.classes[int(np.argmax(scores.proba[i]))]),
                      "grade_probabilities": {g: round(float(p), 4)
                                              for g, p in zip(scores.classes, scores.proba[i], strict=True)},
                      "model_versions": dict(versions)}
            spool.append(new_record("at_risk", str(row[0]), inputs, result, 0.0))
    finally:
        spool.close()
    return len(open_rows)
