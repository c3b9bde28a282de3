"""Scheduled monitoring: what is current, what drifted, what was decided, and the retrain it may start.

``studyrec monitor`` and ``studyrec feedback`` run ``notebooks/04_monitor.ipynb`` into a run folder
(:func:`studyrec_lib.pipeline.run_monitor`); the notebook calls :func:`drift_section`,
:func:`studyrec_lib.feedback.feedback_report` and :func:`decide`. The job, not the notebook's kernel,
starts the retrain decided on (:func:`studyrec_lib.pipeline.run_retrain`): a normal training run
(02_train + 03_evaluate) with the job's configuration, linked to the monitoring run by ``parent_run_id``;
it activates only what passes the training quality gate. A file lock beside the warehouse
(:func:`retrain_lock`) keeps two retrains from running at once.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from . import warehouse
from .config import Settings
from .drift import DriftReport, compute_drift
from .errors import StudyRecError

FEATURES = ("semester", "subject", "assignment_marks", "quiz_marks", "attendance_percentage", "midterm_marks",
            "previous_cgpa")
INVALID_SHARE_ALERT = 0.10  # more than 10% of recently uploaded rows rejected: a data-quality warning


class RetrainBusy(StudyRecError):
    """Another retrain holds the lock."""


def _since(lookback_days: float, now: datetime | None) -> datetime:
    now = now or datetime.now(UTC).replace(tzinfo=None)
    return now - timedelta(days=lookback_days)


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


def drift_section(settings: Settings, lookback_days: float = 30, min_samples: int = 50,
                  drift_threshold: float = 0.35, now: datetime | None = None) -> tuple[DriftReport, dict]:
    """The drift report of the current rows against the active model, and its context for the summary."""
    version, baseline, trained_on = active_baseline(settings)
    current = current_rows(settings, lookback_days, now, trained_on)
    report = compute_drift(baseline, current[list(FEATURES)], drift_threshold, min_samples)
    context = {"model_version": version, "lookback_days": lookback_days, "datasets_trained_on": trained_on,
               "rows_by_origin": current["origin"].value_counts().to_dict(),
               "invalid_rows": invalid_share(settings, lookback_days, now)}
    return report, context


@contextmanager
def retrain_lock(settings: Settings) -> Iterator[Path]:
    path = settings.warehouse.with_name(settings.warehouse.name + ".retrain.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise RetrainBusy(f"another retrain is running (lock {path}); this one is skipped.") from error
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def decide(drift: DriftReport | None, feedback: dict | None, auto_retrain: bool) -> dict:
    """What the monitoring run concludes, in words and flags; a retrain needs drift beyond the threshold."""
    reasons = []
    if drift is not None:
        if drift.status == "insufficient_samples":
            reasons.append(drift.alerts[0])
        elif drift.status == "drift":
            reasons.append(f"drift beyond the threshold {drift.threshold:g} (score {drift.score:.2f}) in: "
                           + ", ".join(f.feature for f in drift.features if f.alert))
        else:
            reasons.append(f"no drift beyond the threshold {drift.threshold:g} (score {drift.score:.2f})")
    if feedback is not None:
        reasons.append(f"feedback {feedback['status']}" + (": " + "; ".join(feedback["alerts"])
                                                          if feedback.get("alerts") else ""))
    retrain = bool(auto_retrain and drift is not None and drift.status == "drift")
    if retrain:
        reasons.append("retraining decided: `studyrec monitor --auto-retrain` starts a training run after this "
                       "report (opened by hand: run `studyrec train`)")
    if drift is not None and drift.status == "drift" and not auto_retrain:
        reasons.append("retraining recommended: run `studyrec train` or monitor with --auto-retrain")
    return {"retrain": retrain, "reasons": reasons}


def write_summary(run_dir: str | Path, drift: DriftReport | None, context: dict | None, feedback: dict | None,
                  decision: dict) -> dict:
    """monitor.json in the run folder: what the job reads back, and what a reviewer can diff."""
    summary = {"decision": decision, "feedback": feedback}
    if drift is not None:
        summary["drift"] = {"status": drift.status, "score": drift.score, "samples": drift.samples,
                            "threshold": drift.threshold, "alerts": drift.alerts, **(context or {}),
                            "features": drift.table().to_dict("records")}
    Path(run_dir, "monitor.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def _trend_row(run_id: str, started_at: object, summary: dict) -> dict:
    drift, feedback = summary.get("drift") or {}, summary.get("feedback") or {}
    return {"run_id": run_id, "started_at": started_at, "drift_score": drift.get("score"),
            "drift_status": drift.get("status"), "feedback_mae": feedback.get("mae"),
            "feedback_accuracy": feedback.get("grade_accuracy"), "feedback_status": feedback.get("status")}


def history(settings: Settings, current: tuple[str, dict] | None = None, limit: int = 50) -> pd.DataFrame:
    """Past monitoring and feedback runs with their key figures, oldest first, then ``current`` (id, summary)."""
    runs = warehouse.query_frame(
        "SELECT run_id, started_at, folder FROM runs WHERE kind IN ('monitor', 'feedback') "
        "AND status = 'succeeded' ORDER BY started_at DESC LIMIT ?", [limit], settings=settings)
    rows = [_trend_row(run.run_id, run.started_at, json.loads(Path(run.folder, "monitor.json").read_text()))
            for run in runs.iloc[::-1].itertuples() if Path(run.folder, "monitor.json").exists()]
    if current is not None:
        rows.append(_trend_row(current[0] or "this run", datetime.now(UTC).replace(tzinfo=None), current[1]))
    return pd.DataFrame(rows, columns=["run_id", "started_at", "drift_score", "drift_status", "feedback_mae",
                                       "feedback_accuracy", "feedback_status"])
