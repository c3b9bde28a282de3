"""Feedback: how good were the logged predictions, once the real outcomes arrived?

Every prediction the API, the app, batch scoring and the at-risk lists make is logged in ``prediction_log``
with its (student_id, semester, subject). When a later upload brings that key's final marks and grade,
the pair says how far off the model was in practice, not on a held-out fold: MAE and RMSE of the final
marks, grade accuracy, how well the at-risk rule caught real D/F results, and the calibration of the
logged grade probabilities; overall, per subject and per source.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from studyrec_lib.core import defaults, warehouse
from studyrec_lib.core.clock import as_utc_naive
from studyrec_lib.core.config import Settings
from studyrec_lib.core.metrics import brier_per_class
from studyrec_lib.core.schema import FAILING_GRADES, GRADES, RISK_PROBABILITY

PROBABILITY_COLUMNS = tuple(f"p_{grade}" for grade in GRADES)
PAIR_COLUMNS = ("request_id", "source", "student_id", "semester", "subject", "logged_at", "predicted_final_marks",
                "predicted_grade", *PROBABILITY_COLUMNS, "actual_final_marks", "actual_grade", "model_version")


def _text(expression: str) -> str:
    """Keys as ingest stores them: trimmed, inner whitespace collapsed (logged inputs are the raw payload)."""
    return rf"regexp_replace(trim({expression}), '\s+', ' ', 'g')"


_PROBABILITIES_SQL = ",\n".join(
    f"""coalesce(TRY_CAST(json_extract_string(result, '$.grade_probabilities."{grade}"') AS DOUBLE), 0)
        AS "p_{grade}\""""
    for grade in GRADES
)

PAIRS_SQL = f"""
WITH outcomes AS (
    SELECT sp.student_id, sp.semester, sp.subject, sp.final_marks, sp.final_grade,
           min(d.uploaded_at) OVER key_rows AS first_known_at,
           row_number() OVER (key_rows ORDER BY sp.dataset_id DESC, sp.source_row DESC) AS latest
    FROM student_performance AS sp
    JOIN datasets AS d USING (dataset_id)
    WHERE d.status = 'loaded' AND sp.final_marks IS NOT NULL AND sp.final_grade IS NOT NULL
    WINDOW key_rows AS (PARTITION BY sp.student_id, sp.semester, sp.subject)
),
predictions AS (
    SELECT request_id, logged_at, source, {_text("student_id")} AS student_id,
           TRY_CAST(json_extract_string(inputs, '$.semester') AS DOUBLE) AS semester,
           {_text("json_extract_string(inputs, '$.subject')")} AS subject,
           TRY_CAST(json_extract_string(result, '$.predicted_final_marks') AS DOUBLE) AS predicted_final_marks,
           json_extract_string(result, '$.predicted_grade') AS predicted_grade,
           {_PROBABILITIES_SQL},
           json_extract_string(model_versions, '$.regression') AS model_version
    FROM prediction_log
    WHERE status = 'ok' AND student_id IS NOT NULL AND logged_at >= ?
),
paired AS (
    SELECT p.* EXCLUDE (semester, student_id, subject), o.student_id, o.semester, o.subject,
           o.final_marks AS actual_final_marks, o.final_grade AS actual_grade,
           row_number() OVER (
               PARTITION BY o.student_id, o.semester, o.subject, p.source ORDER BY p.logged_at DESC, p.request_id DESC
           ) AS last_prediction
    FROM predictions AS p
    JOIN outcomes AS o
      ON o.latest = 1 AND o.student_id = p.student_id AND o.semester = p.semester AND o.subject = p.subject
     AND p.logged_at <= o.first_known_at
)
SELECT {", ".join(f'"{column}"' for column in PAIR_COLUMNS)}
FROM paired
WHERE last_prediction = 1
ORDER BY student_id, semester, subject, source
"""


def load_feedback_pairs(settings: Settings, lookback_days: float, now: datetime | None = None) -> pd.DataFrame:
    """Logged predictions of the last ``lookback_days`` joined with the outcomes uploaded after them.

    A prediction (status ok, with a student_id) pairs with its key's outcome only if it was logged no later
    than the first upload that brought a final mark for that key: once the outcome is known, a "prediction"
    is no test of the model. The outcome compared is the key's latest row (dataset_id, source_row
    descending), so a corrected re-upload counts. Per key and source only the last such prediction is kept:
    students try what-ifs, and the last one is what they acted on. ``p_<grade>`` is 0 where the log has no
    probability (batch rows log none). One row per (student_id, semester, subject, source).
    """
    since = as_utc_naive(now) - timedelta(days=lookback_days)  # the log and datasets store naive UTC
    pairs = warehouse.query_frame(PAIRS_SQL, [since], settings=settings)
    return pairs.astype({"semester": "int64"}) if len(pairs) else pairs


def _round(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def _ratio(hits: int, total: int) -> float | None:
    return _round(hits / total) if total else None


def _scores(pairs: pd.DataFrame) -> dict:
    """Samples, MAE, RMSE and grade accuracy of some pairs (None where nothing to score)."""
    marks = pairs.dropna(subset=["predicted_final_marks", "actual_final_marks"])
    errors = (marks["predicted_final_marks"] - marks["actual_final_marks"]).to_numpy(dtype=float)
    graded = pairs.dropna(subset=["predicted_grade", "actual_grade"])
    return {
        "samples": len(pairs),
        "mae": _round(np.abs(errors).mean()) if len(errors) else None,
        "rmse": _round(np.sqrt((errors**2).mean())) if len(errors) else None,
        "grade_accuracy": _ratio(int((graded["predicted_grade"] == graded["actual_grade"]).sum()), len(graded)),
    }


def _brier(pairs: pd.DataFrame) -> tuple[float | None, int]:
    """Multi-class Brier over the rows that logged probabilities: mean over rows of sum over grades of
    (p_grade - [actual == grade])^2; 0 is perfect, 2 the worst (it is 9 x the models' brier_macro)."""
    proba = pairs[list(PROBABILITY_COLUMNS)].to_numpy(dtype=float)
    logged = proba.sum(axis=1) > 0
    if not logged.any():
        return None, 0
    per_grade = brier_per_class(pairs["actual_grade"].to_numpy()[logged], proba[logged], np.array(GRADES))
    return _round(per_grade.sum()), int(logged.sum())


def _fail_signal(pairs: pd.DataFrame) -> tuple[float | None, float | None]:
    """Precision and recall of the at-risk rule (predicted D/F, or P(D or F) >= RISK_PROBABILITY) for real D/F."""
    p_fail = pairs[[f"p_{grade}" for grade in FAILING_GRADES]].sum(axis=1)
    flagged = pairs["predicted_grade"].isin(FAILING_GRADES) | (p_fail >= RISK_PROBABILITY)
    failed = pairs["actual_grade"].isin(FAILING_GRADES)
    caught = int((flagged & failed).sum())
    return _ratio(caught, int(flagged.sum())), _ratio(caught, int(failed.sum()))


def _grouped(pairs: pd.DataFrame, column: str) -> list[dict]:
    return [{column: str(name), **_scores(group)} for name, group in pairs.groupby(column, sort=True)]


def compute_feedback(pairs: pd.DataFrame, min_samples: int = defaults.FEEDBACK_MIN_SAMPLES,
                     mae_alert: float = defaults.FEEDBACK_MAE_ALERT,
                     accuracy_alert: float = defaults.FEEDBACK_ACCURACY_ALERT) -> dict:
    """Metrics, status and alerts of paired predictions; JSON-ready (plain floats to 4 decimals, None if undefined).

    Status: insufficient_samples below ``min_samples`` (metrics still shown, no threshold alerts: too few
    pairs to judge); warning when MAE >= ``mae_alert`` or grade accuracy <= ``accuracy_alert`` (the old
    system's rules); else ok.

    Args:
        pairs: predictions paired with their outcomes (:func:`load_feedback_pairs`, columns ``PAIR_COLUMNS``).
        min_samples: the fewest pairs to judge the model on.
        mae_alert: warn when the MAE of the final marks is at or above this.
        accuracy_alert: warn when the grade accuracy is at or below this.

    Returns:
        Status, overall scores, at-risk precision and recall, Brier score, per-subject and per-source scores,
        alerts in words, the figures that alerted (``alerting``: ``mae``, ``grade_accuracy``) and the
        thresholds used.
    """
    pairs = pairs if len(pairs) else pd.DataFrame(columns=list(PAIR_COLUMNS))
    overall = _scores(pairs)
    brier, brier_samples = _brier(pairs)
    precision, recall = _fail_signal(pairs)
    n = overall["samples"]
    alerts, alerting = [], []
    if n < min_samples:
        status = "insufficient_samples"
        alerts.append(f"only {n} predictions have a known outcome (at least {min_samples} needed): "
                      "too few to judge the model.")
    else:
        mae, accuracy = overall["mae"], overall["grade_accuracy"]
        if mae is not None and mae >= mae_alert:
            alerting.append("mae")
            alerts.append(f"MAE of final marks is {mae:.2f}, at or above the alert level {mae_alert:g}.")
        if accuracy is not None and accuracy <= accuracy_alert:
            alerting.append("grade_accuracy")
            alerts.append(f"grade accuracy is {accuracy:.2f}, at or below the alert level {accuracy_alert:g}.")
        status = "warning" if alerts else "ok"
    return {
        "status": status, **overall, "min_samples": min_samples,
        "fail_precision": precision, "fail_recall": recall, "brier": brier, "brier_samples": brier_samples,
        "per_subject": _grouped(pairs, "subject"), "per_source": _grouped(pairs, "source"), "alerts": alerts,
        "alerting": alerting,
        "thresholds": {"min_samples": min_samples, "mae_alert": mae_alert, "accuracy_alert": accuracy_alert,
                       "risk_probability": RISK_PROBABILITY},
    }


def feedback_report(settings: Settings, lookback_days: float = defaults.FEEDBACK_LOOKBACK_DAYS,
                    min_samples: int = defaults.FEEDBACK_MIN_SAMPLES, mae_alert: float = defaults.FEEDBACK_MAE_ALERT,
                    accuracy_alert: float = defaults.FEEDBACK_ACCURACY_ALERT,
                    now: datetime | None = None) -> tuple[dict, pd.DataFrame]:
    """The feedback report of the last ``lookback_days`` and the pairs it was computed from.

    Args:
        settings: the warehouse to read the prediction log and the outcomes from.
        lookback_days: how far back logged predictions count.
        min_samples: the fewest pairs to judge the model on (see :func:`compute_feedback`).
        mae_alert: warn when the MAE of the final marks is at or above this.
        accuracy_alert: warn when the grade accuracy is at or below this.
        now: the end of the lookback (default: now; an aware datetime is converted to UTC).

    Returns:
        The report of :func:`compute_feedback` with ``lookback_days`` added, and the pairs (for tables and plots).
    """
    pairs = load_feedback_pairs(settings, lookback_days, now=now)
    report = compute_feedback(pairs, min_samples=min_samples, mae_alert=mae_alert, accuracy_alert=accuracy_alert)
    report["lookback_days"] = lookback_days
    return report, pairs


def feedback_overview(report: dict | None) -> dict | None:
    """The report without its per-subject and per-source tables: the figures for a summary line.

    Args:
        report: a report of :func:`feedback_report`, or None when feedback was not checked.

    Returns:
        The report's figures, alerts and thresholds, or None.
    """
    return {k: v for k, v in report.items() if k not in ("per_subject", "per_source")} if report else None
