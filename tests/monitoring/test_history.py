"""The trend over past monitoring runs, read from their run folders."""

import json

from studyrec_lib.core import warehouse
from studyrec_lib.monitoring.history import TREND_COLUMNS, history


def _record(settings, run_id, kind, status, started, summary=None):
    folder = settings.runs_dir / run_id
    folder.mkdir(parents=True)
    if summary is not None:
        (folder / "monitor.json").write_text(json.dumps(summary))
    with warehouse.transaction(settings) as con:
        con.execute("INSERT INTO runs (run_id, kind, params, status, started_at, folder) VALUES (?, ?, '{}', ?, ?, ?)",
                    [run_id, kind, status, started, str(folder)])


def test_history_lists_succeeded_monitoring_runs_oldest_first_then_this_one(settings):
    drifted = {"drift": {"score": 0.8, "status": "drift", "threshold": 0.35}, "feedback": None}
    checked = {"feedback": {"mae": 4.2, "grade_accuracy": 0.61, "status": "ok"}}
    _record(settings, "b-monitor", "monitor", "succeeded", "2024-05-02 00:00:00", drifted)
    _record(settings, "a-feedback", "feedback", "succeeded", "2024-05-01 00:00:00", checked)
    _record(settings, "c-failed", "monitor", "failed", "2024-05-03 00:00:00", drifted)
    _record(settings, "d-train", "train", "succeeded", "2024-05-04 00:00:00", drifted)
    _record(settings, "e-lost", "monitor", "succeeded", "2024-05-05 00:00:00")  # its monitor.json is gone
    trend = history(settings, current=(None, {"drift": {"score": 0.1, "status": "ok"}}))
    assert list(trend.columns) == list(TREND_COLUMNS)
    assert trend["run_id"].tolist() == ["a-feedback", "b-monitor", "this run"]
    assert trend["drift_score"].tolist()[1:] == [0.8, 0.1] and trend["feedback_mae"].tolist()[0] == 4.2
    assert trend["drift_threshold"].tolist()[1] == 0.35  # the trend plots each run's own threshold
    assert trend["feedback_status"].iloc[0] == "ok" and trend["feedback_status"].isna().tolist() == [False, True, True]
    assert history(settings, limit=1)["run_id"].tolist() == []  # the newest succeeded run lost its monitor.json


def test_an_empty_history_has_the_columns(settings):
    trend = history(settings)
    assert trend.empty and list(trend.columns) == list(TREND_COLUMNS)
