"""At-risk students: open rows (no final marks yet) whose predicted grade is D or F, or likely to be.

The list goes to teachers two ways: the files of an evaluate run (:func:`export`, the flagged rows with the
table's own column names) and a download from the teachers' console (:func:`at_risk_download`, the rows given,
in a teacher's words).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from studyrec_lib.core import exports, run_files
from studyrec_lib.core.schema import FAILING_GRADES, FIELDS_BY_NAME, MAX_TOTAL, RISK_PROBABILITY
from studyrec_lib.core.signals import weak_signals
from studyrec_lib.core.tasks import STUDENT_TASK, Task
from studyrec_lib.modeling.scoring import score_rows

PREDICTION_COLUMNS = {"predicted_final_marks": float, "predicted_total": float, "predicted_grade": object,
                      "p_d_or_f": float, "at_risk": bool, "weak_signals": object}
SHEET = "at risk"
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _marks_columns(task: Task) -> list[str]:
    return [f for f in task.numeric_features if f != "semester"]


# The at-risk table's columns in a teacher's words, in the order a teacher reads them.
TEACHER_HEADERS = {
    "student_id": "Student", "subject": "Subject", "semester": "Semester", "at_risk": "At risk",
    "predicted_grade": "Predicted grade", "p_d_or_f": "Chance of D or F (%)",
    "predicted_final_marks": f"Predicted final marks (of {FIELDS_BY_NAME['final_marks'].high:g})",
    "predicted_total": f"Predicted total (of {MAX_TOTAL:g})",
    **{name: FIELDS_BY_NAME[name].label for name in _marks_columns(STUDENT_TASK)},
    "weak_signals": "Weak signals",
}


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
        ``at_risk`` flag and the weak signals in words; no rows (the same columns) when there are no open rows.
    """
    frame = open_rows[["student_id", "semester", "subject", *_marks_columns(task)]].copy()
    if open_rows.empty:
        return frame.assign(**{name: pd.Series(dtype=dtype) for name, dtype in PREDICTION_COLUMNS.items()})
    scores = score_rows(open_rows, regressor, classifier, task)
    p_fail = scores.proba[:, np.isin(scores.classes, FAILING_GRADES)].sum(axis=1)
    predicted_grade = scores.grades
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
        "xlsx": exports.write_xlsx(flagged, Path(run_dir) / run_files.AT_RISK_XLSX, sheet=SHEET),
    }


def teacher_table(at_risk: pd.DataFrame) -> pd.DataFrame:
    """The at-risk table in a teacher's words: readable headers in reading order, the chance of D or F in per
    cent and the flag as yes or no (:data:`TEACHER_HEADERS`); every row given, in its order."""
    table = at_risk.reindex(columns=list(TEACHER_HEADERS))
    table["p_d_or_f"] = (table["p_d_or_f"].astype(float) * 100).round(1)
    table["at_risk"] = table["at_risk"].map({True: "yes", False: "no"})
    return table.rename(columns=TEACHER_HEADERS)


def at_risk_download(at_risk: pd.DataFrame, file_format: str = "xlsx") -> bytes:
    """The at-risk table as a file for a browser download, formula-like text neutralised (see ``exports``).

    Args:
        at_risk: the table :func:`find_at_risk` returned (or some of its rows: all given are written).
        file_format: ``xlsx`` (header row frozen, with an autofilter) or ``csv`` (UTF-8); see :data:`MEDIA_TYPES`.

    Returns:
        The file's bytes, in :func:`teacher_table`'s words.
    """
    table = teacher_table(at_risk)
    if file_format == "xlsx":
        return exports.xlsx_bytes(table, sheet=SHEET)
    if file_format == "csv":
        return exports.csv_bytes(table)
    raise ValueError(f"unknown download format {file_format!r}: give one of {sorted(MEDIA_TYPES)}")
