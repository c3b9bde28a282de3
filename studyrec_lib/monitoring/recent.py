"""What is current: the rows that came in lately, the share of them rejected, and their drift.

``studyrec monitor`` and ``studyrec feedback`` run ``notebooks/04_monitor.ipynb`` into a run folder
(:func:`studyrec_lib.runs.run_monitor`); the notebook calls :func:`drift_section` (here),
:func:`studyrec_lib.monitoring.feedback.feedback_report` and
:func:`studyrec_lib.monitoring.decision.decide`. Monitoring only judges and decides: the job, not the
notebook's kernel, starts the retrain decided on (:func:`studyrec_lib.runs.run_retrain`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd

from studyrec_lib.core import defaults, warehouse
from studyrec_lib.core.clock import as_utc_naive
from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.core.schema import FEATURE_COLUMNS
from studyrec_lib.monitoring.drift import DriftReport, compute_drift

FEATURES = FEATURE_COLUMNS  # what a prediction needs, so what an upload and a logged request both hold
INVALID_SHARE_ALERT = 0.10  # more than 10% of recently uploaded rows rejected: a data-quality warning


def _since(lookback_days: float, now: datetime | None) -> datetime:
    return as_utc_naive(now) - timedelta(days=lookback_days)


def current_rows(settings: Settings, lookback_days: float, now: datetime | None = None,
                 trained_on: list[int] | None = None) -> pd.DataFrame:
    """Rows uploaded and prediction requests made within the lookback (at-risk scoring repeats uploads).

    Uploads the active model was trained on (``trained_on`` dataset ids) are not new to it: leaving them
    out keeps a retrain on drifted data from seeing the same drift again at every following run.
    """
    since = _since(lookback_days, now)
    excluded = ", ".join(str(int(i)) for i in trained_on or []) or "-1"  # ids start at 1
    from_inputs = ", ".join("inputs->>'subject' AS subject" if c == "subject" else
                            f"CAST(inputs->>'{c}' AS DOUBLE) AS {c}" for c in FEATURES)
    return warehouse.query_frame(
        f"""SELECT 'upload' AS origin, {", ".join(FEATURES)}
            FROM student_performance JOIN datasets USING (dataset_id)
            WHERE datasets.status = 'loaded' AND datasets.uploaded_at >= ?
              AND dataset_id NOT IN ({excluded})
            UNION ALL
            SELECT 'prediction' AS origin, {from_inputs}
            FROM prediction_log WHERE status = 'ok' AND logged_at >= ? AND source <> 'at_risk'""",
        [since, since], settings=settings,
    )


def invalid_share(settings: Settings, lookback_days: float, now: datetime | None = None) -> dict:
    """Share of rejected rows among the rows of recent uploads."""
    total, rejected, files = warehouse.query_frame(
        "SELECT coalesce(sum(rows_total), 0), coalesce(sum(rows_rejected), 0), count(*) FROM datasets "
        "WHERE uploaded_at >= ?", [_since(lookback_days, now)], settings=settings).iloc[0].tolist()
    share = float(rejected / total) if total else 0.0
    return {"uploads": int(files), "rows_total": int(total), "rows_rejected": int(rejected), "share": share,
            "alert": share > INVALID_SHARE_ALERT}


def active_baseline(settings: Settings) -> tuple[str, dict, list[int]]:
    """The active regression version, the feature baseline stored with it, and the datasets it learned from."""
    frame = warehouse.query_frame(
        "SELECT v.version, v.feature_baseline, v.dataset_ids FROM active_models AS a JOIN model_versions AS v "
        "USING (task, version) WHERE a.task = 'regression'", settings=settings)
    if frame.empty:
        raise StudyRecError("no active model to compare with: train one first (`make run` or `studyrec train`).")
    row = frame.iloc[0]
    return str(row["version"]), json.loads(row["feature_baseline"]), json.loads(row["dataset_ids"] or "[]")


def drift_section(settings: Settings, lookback_days: float = defaults.DRIFT_LOOKBACK_DAYS,
                  min_samples: int = defaults.DRIFT_MIN_SAMPLES, drift_threshold: float = defaults.DRIFT_THRESHOLD,
                  now: datetime | None = None) -> tuple[DriftReport, dict]:
    """The drift of the current rows against the active model, and its context for the summary.

    Args:
        settings: the warehouse to read the active model, uploads and the prediction log from.
        lookback_days: how far back uploads and logged requests count as current.
        min_samples: below this many current rows nothing is decided.
        drift_threshold: the shift, in training standard deviations, a feature may reach before it alerts.
        now: the end of the lookback (default: now; an aware datetime is converted to UTC).

    Returns:
        The drift report (:func:`studyrec_lib.monitoring.drift.compute_drift`) and its context: the model
        version, the lookback, the datasets the model learned from, the current rows by origin and the share
        of rejected rows in recent uploads.

    Raises:
        StudyRecError: no model is active.
    """
    version, baseline, trained_on = active_baseline(settings)
    current = current_rows(settings, lookback_days, now, trained_on)
    report = compute_drift(baseline, current[list(FEATURES)], drift_threshold, min_samples)
    context = {"model_version": version, "lookback_days": lookback_days, "datasets_trained_on": trained_on,
               "rows_by_origin": current["origin"].value_counts().to_dict(),
               "invalid_rows": invalid_share(settings, lookback_days, now)}
    return report, context
