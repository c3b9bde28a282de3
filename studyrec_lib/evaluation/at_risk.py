"""At-risk students: open rows (no final marks yet) whose predicted grade is D or F, or likely to be."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from studyrec_lib.core import exports, run_files
from studyrec_lib.core.schema import FAILING_GRADES, RISK_PROBABILITY
from studyrec_lib.core.signals import weak_signals
from studyrec_lib.core.tasks import STUDENT_TASK, Task
from studyrec_lib.modeling.scoring import score_rows


def find_at_risk(open_rows: pd.DataFrame, regressor: BaseEstimator, classifier: BaseEstimator,
                 task: Task = STUDENT_TASK, threshold: float = RISK_PROBABILITY) -> pd.DataFrame:
    """Predictions for every open row, at-risk ones flagged, most at risk first.

    Args:
        open_rows: rows without final marks (``load_open_rows``), with the task's features.
        regressor: the fitted final-marks model.
        classifier: the fitted grade model.
        task: what the models learned (features, marks range, course total).
        threshold: the chance of D or F at or above which a student is flagged even if C or better is likelier.

    Returns:
        One row per open row: the marks, predicted final marks and total, grade, chance of D or F, the
        ``at_risk`` flag and the weak signals in words; empty when there are no open rows.
    """
    if open_rows.empty:
        return pd.DataFrame()
    scores = score_rows(open_rows, regressor, classifier, task)
    p_fail = scores.proba[:, np.isin(scores.classes, FAILING_GRADES)].sum(axis=1)
    predicted_grade = scores.grades
    frame = open_rows[["student_id", "semester", "subject", *[f for f in task.numeric_features
                                                               if f != "semester"]]].copy()
    frame["predicted_final_marks"] = scores.marks.round(1)
    frame["predicted_total"] = (task.known_total(open_rows[task.features]) + scores.marks).round(1)
    frame["predicted_grade"] = predicted_grade
    frame["p_d_or_f"] = p_fail.round(3)
    frame["at_risk"] = np.isin(predicted_grade, FAILING_GRADES) | (p_fail >= threshold)
    frame["weak_signals"] = weak_signals(open_rows).map("; ".join).to_numpy()
    return frame.sort_values(["at_risk", "p_d_or_f"], ascending=[False, False], ignore_index=True)


def export(at_risk: pd.DataFrame, run_dir: Path) -> dict[str, Path]:
    """Write at_risk.csv and at_risk.xlsx for teachers: only the flagged students (private, see ``exports``).

    Args:
        at_risk: the table :func:`find_at_risk` returned.
        run_dir: the run folder to write into.

    Returns:
        The paths written, by format (``csv``, ``xlsx``).
    """
    flagged = at_risk[at_risk["at_risk"]] if len(at_risk) else at_risk
    return {
        "csv": exports.write_csv(flagged, Path(run_dir) / run_files.AT_RISK_CSV),
        "xlsx": exports.write_xlsx(flagged, Path(run_dir) / run_files.AT_RISK_XLSX, sheet="at risk"),
    }
