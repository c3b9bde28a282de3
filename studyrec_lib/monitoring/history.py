"""The trend: key figures of past monitoring and feedback runs, read from their run folders."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from studyrec_lib.core import run_files, warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings

TREND_COLUMNS = ("run_id", "started_at", "drift_score", "drift_threshold", "drift_status", "feedback_mae",
                 "feedback_accuracy", "feedback_status")


def _trend_row(run_id: str, started_at: object, summary: dict) -> dict:
    drift, feedback = summary.get("drift") or {}, summary.get("feedback") or {}
    return {"run_id": run_id, "started_at": started_at, "drift_score": drift.get("score"),
            "drift_threshold": drift.get("threshold"), "drift_status": drift.get("status"),
            "feedback_mae": feedback.get("mae"), "feedback_accuracy": feedback.get("grade_accuracy"),
            "feedback_status": feedback.get("status")}


def history(settings: Settings, current: tuple[str | None, dict] | None = None, limit: int = 50) -> pd.DataFrame:
    """Past monitoring and feedback runs with their key figures, oldest first, then the current run.

    Args:
        settings: the warehouse whose ``runs`` table lists the runs.
        current: this run's id (None: opened by hand) and summary, shown last; None leaves it out.
        limit: how many of the newest succeeded runs to show.

    Returns:
        One row per run: id, start (UTC), drift score, threshold and status, feedback MAE, grade accuracy
        and status.
    """
    runs = warehouse.query_frame(
        "SELECT run_id, started_at, folder FROM runs WHERE kind IN ('monitor', 'feedback') "
        "AND status = 'succeeded' ORDER BY started_at DESC LIMIT ?", [limit], settings=settings)
    rows = []
    for run in runs.iloc[::-1].itertuples():
        summary = Path(run.folder, run_files.MONITOR_SUMMARY)
        if summary.exists():
            rows.append(_trend_row(run.run_id, run.started_at, json.loads(summary.read_text())))
    if current is not None:
        rows.append(_trend_row(current[0] or "this run", utc_now(), current[1]))
    return pd.DataFrame(rows, columns=list(TREND_COLUMNS))
