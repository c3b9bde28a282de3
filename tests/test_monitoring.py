"""Monitoring runs end to end: real warehouse, real papermill runs of 04_monitor, real retraining runs."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from studyrec_lib import example_data, registry, warehouse
from studyrec_lib.config import PROJECT_ROOT, load_settings
from studyrec_lib.drift import compute_drift
from studyrec_lib.ingest import ingest_file
from studyrec_lib.monitoring import (
    RetrainBusy,
    active_baseline,
    current_rows,
    decide,
    history,
    invalid_share,
    retrain_lock,
)
from studyrec_lib.pipeline import run_monitor, run_retrain
from studyrec_lib.registration import register_training
from studyrec_lib.shifted_data import shift_frame
from studyrec_lib.spool import PredictionSpool, new_record
from studyrec_lib.train import train
from studyrec_lib.training_data import load_training_examples

MONITOR = {"lookback_days": 30, "min_samples": 50, "drift_threshold": 0.35, "auto_retrain": True}


def _backdate_uploads(settings, days: int = 60) -> None:
    """Make everything loaded so far old news: only later uploads are 'current'."""
    with warehouse.transaction(settings) as con:
        con.execute(f"UPDATE datasets SET uploaded_at = uploaded_at - INTERVAL {days} DAY")


def _train_and_activate(settings, root) -> dict:
    data = load_training_examples(settings)
    summary = register_training(train(data.frame, n_folds=3), data, root / "runs" / "train-0", "train-0", settings)
    registry.activate(summary["versions"]["regression"], "both", reason="trained", settings=settings)
    return summary["versions"]


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory):
    """Trained once per module: 40 students, models active, their upload 60 days old."""
    root = tmp_path_factory.mktemp("monitor-template")
    settings = load_settings(warehouse=root / "warehouse.duckdb", runs_dir=root / "runs")
    cohort = example_data.generate(students=40, seed=5)
    ingest_file(example_data.write(cohort, root / "cohort.csv"), settings=settings, progress=None)
    versions = _train_and_activate(settings, root)
    _backdate_uploads(settings)
    return settings, versions


@pytest.fixture
def monitored(tmp_path, trained_template):
    """A copy of the template warehouse (and its active-models sidecar) that this test may change."""
    template, versions = trained_template
    settings = load_settings(warehouse=tmp_path / "warehouse.duckdb", runs_dir=tmp_path / "runs")
    shutil.copy(template.warehouse, settings.warehouse)
    shutil.copy(registry.active_sidecar(template), registry.active_sidecar(settings))
    return settings, versions


def _upload(settings, frame, path) -> None:
    result = ingest_file(example_data.write(frame, path), settings=settings, progress=None)
    assert result.summary.rows_loaded == len(frame)


def _runs(settings) -> pd.DataFrame:
    return warehouse.query_frame("SELECT run_id, kind, status, parent_run_id FROM runs ORDER BY started_at",
                                 settings=settings)


def test_unshifted_data_raises_no_alert_and_retrains_nothing(monitored, tmp_path):
    settings, versions = monitored
    _upload(settings, example_data.generate(students=10, seed=21, open_semesters=1), tmp_path / "new.csv")
    summary = run_monitor(settings, progress=False, **MONITOR)
    assert summary["status"] == "succeeded", summary["error"]
    assert summary["drift"]["status"] == "ok" and summary["drift"]["alerts"] == []
    assert summary["drift"]["samples"] == 240 and summary["drift"]["rows_by_origin"] == {"upload": 240}
    assert summary["decision"]["retrain"] is False
    assert set(_runs(settings)["kind"]) == {"monitor"}  # no training run started
    assert {t: r["version"] for t, r in registry.active_versions(settings).items()} == versions
    folder = settings.runs_dir / summary["run_id"]
    assert (folder / "04_monitor.html").is_file() and (folder / "monitor.json").is_file()
    assert json.loads((folder / "monitor.json").read_text())["drift"]["model_version"] == versions["regression"]


def test_too_few_rows_are_insufficient_samples_and_nothing_is_retrained(monitored, tmp_path):
    settings, versions = monitored
    small = example_data.generate(students=2, seed=22)  # 48 rows, shifted hard
    _upload(settings, shift_frame(small, {"attendance_percentage": -2.0}), tmp_path / "small.csv")
    summary = run_monitor(settings, progress=False, **MONITOR)
    assert summary["drift"]["status"] == "insufficient_samples" and summary["drift"]["samples"] == 48
    assert "insufficient samples" in summary["decision"]["reasons"][0]
    assert summary["decision"]["retrain"] is False
    assert set(_runs(settings)["kind"]) == {"monitor"}
    assert {t: r["version"] for t, r in registry.active_versions(settings).items()} == versions


def _project_runs() -> set[str]:
    folder = PROJECT_ROOT / "runs"
    return {path.name for path in folder.iterdir()} if folder.is_dir() else set()


def test_shifted_data_with_auto_retrain_trains_links_and_activates_past_the_gate(monitored, tmp_path, monkeypatch):
    settings, old_versions = monitored
    decoy = tmp_path / "environment-runs"  # the configured folder wins over the environment, as in the CLI
    monkeypatch.setenv("STUDYREC_RUNS", str(decoy))
    project_runs = _project_runs()
    shifted = shift_frame(example_data.generate(students=12, seed=23), {"attendance_percentage": -1.5},
                          new_subject="Robotics", new_subject_share=0.2, seed=23)
    _upload(settings, shifted, tmp_path / "shifted.csv")
    summary = run_monitor(settings, progress=False, **MONITOR)
    assert summary["status"] == "succeeded", summary["error"]
    drift = summary["drift"]
    assert drift["status"] == "drift" and drift["score"] >= 0.35
    alerted = {row["feature"] for row in drift["features"] if row["alert"]}
    assert "attendance_percentage" in alerted and "subject" in alerted
    retrain = summary["decision"]["retrain_run"]
    assert retrain["status"] == "succeeded", retrain["error"]
    # The retrain's run folder lands in the configured runs folder, and nowhere else.
    assert Path(retrain["folder"]).parent == settings.runs_dir
    assert (settings.runs_dir / retrain["run_id"] / "02_train.html").is_file()
    assert _project_runs() == project_runs and not decoy.exists()
    monitor_json = json.loads((settings.runs_dir / summary["run_id"] / "monitor.json").read_text())
    assert monitor_json["decision"]["retrain_run"]["run_id"] == retrain["run_id"]
    runs = _runs(settings).set_index("run_id")
    assert runs.loc[retrain["run_id"], "kind"] == "train"
    assert runs.loc[retrain["run_id"], "parent_run_id"] == summary["run_id"]  # linked to the monitor run
    new_versions = retrain["versions"]
    assert new_versions != old_versions
    gate_passed = {task for task, gate in retrain["quality_gate"].items() if gate["passed"]}
    assert set(retrain["activated"]) == gate_passed == {"regression", "classification"}
    activations = registry.activation_history(settings)
    latest = activations.sort_values("activation_id").groupby("task").tail(1)
    assert set(latest["reason"]) == {"retrain"} and set(latest["run_id"]) == {retrain["run_id"]}
    baseline_version, baseline, trained_on = active_baseline(settings)
    assert baseline_version == new_versions["regression"] and "Robotics" in baseline["categorical"]["subject"]["shares"]
    assert len(trained_on) == 2  # the old upload and the shifted one
    trend = history(settings)
    assert trend["run_id"].iloc[-1] == summary["run_id"] and trend["drift_status"].iloc[-1] == "drift"

    # The next run does not see the same drift again: the new model learned from that upload.
    again = run_monitor(settings, progress=False, **MONITOR)
    assert again["drift"]["status"] == "insufficient_samples" and again["drift"]["samples"] == 0
    assert again["decision"]["retrain"] is False
    assert (_runs(settings)["kind"] == "train").sum() == 1


def test_a_held_retrain_lock_skips_the_second_retrain(monitored, tmp_path):
    settings, versions = monitored
    _, baseline, _ = active_baseline(settings)
    shifted = shift_frame(example_data.generate(students=12, seed=24), {"midterm_marks": -2.0})
    report = compute_drift(baseline, shifted)
    assert report.status == "drift"
    with retrain_lock(settings):
        with pytest.raises(RetrainBusy), retrain_lock(settings):
            pass
        assert decide(report, None, auto_retrain=True)["retrain"] is True
        outcome = run_retrain(settings, parent_run_id="monitor-x")
    assert outcome["retrain_skipped"] is True and "retrain_run" not in outcome
    assert "another retrain is running" in outcome["reasons"][-1]
    assert _runs(settings).empty  # no training run was started
    assert {t: r["version"] for t, r in registry.active_versions(settings).items()} == versions
    with retrain_lock(settings):  # released again
        pass


def test_drift_without_auto_retrain_only_recommends(monitored):
    settings, _ = monitored
    _, baseline, _ = active_baseline(settings)
    report = compute_drift(baseline, shift_frame(example_data.generate(students=12, seed=25), {"quiz_marks": 2.0}))
    decision = decide(report, None, auto_retrain=False)
    assert decision["retrain"] is False
    assert any("retraining recommended" in reason for reason in decision["reasons"])


def test_current_rows_include_recent_predictions_but_not_at_risk_scoring(monitored, tmp_path):
    settings, _ = monitored
    spool = PredictionSpool(settings, source="api")
    inputs = {"semester": 3, "subject": "Physics", "assignment_marks": 3.5, "quiz_marks": 6.0,
              "attendance_percentage": 85.0, "midterm_marks": 18.0, "previous_cgpa": 3.1}
    spool.append(new_record("api", "S1", inputs, {"model_versions": {}}, 1.0))
    spool.append(new_record("at_risk", "S2", inputs, {"model_versions": {}}, 1.0))
    spool.close()
    rows = current_rows(settings, lookback_days=30)
    assert rows["origin"].tolist() == ["prediction"]  # the upload is 60 days old; at-risk scoring excluded
    assert rows.iloc[0][list(inputs)].to_dict() == {**inputs, "semester": 3.0}
    assert len(current_rows(settings, lookback_days=90)) == 960 + 1
    assert len(current_rows(settings, lookback_days=90, trained_on=[1])) == 1  # the model learned from it


def test_invalid_share_counts_rejected_rows_of_recent_uploads(monitored, tmp_path):
    settings, _ = monitored
    frame = example_data.generate(students=2, seed=26)
    frame.loc[:9, "quiz_marks"] = 99  # 10 of 48 rows break the 0-10 rule
    ingest_file(example_data.write(frame, tmp_path / "bad.csv"), settings=settings, progress=None)
    share = invalid_share(settings, lookback_days=30)
    assert share == {"uploads": 1, "rows_total": 48, "rows_rejected": 10, "share": 10 / 48, "alert": True}


def test_monitor_without_an_active_model_fails_with_what_to_do(tmp_path):
    settings = load_settings(warehouse=tmp_path / "w.duckdb", runs_dir=tmp_path / "runs")
    summary = run_monitor(settings, progress=False, **MONITOR)
    assert summary["status"] == "failed"
    assert "no active model" in summary["error"] and "make run" in summary["error"]


def test_cron_example_runs_the_feedback_job(monitored):
    settings, _ = monitored
    script = PROJECT_ROOT / "scripts" / "cron_monitor.sh"
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir)}
    completed = subprocess.run(["sh", str(script), "feedback"], capture_output=True, text=True, env=env, timeout=300)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.strip().splitlines()
    assert lines[0].startswith("== ") and lines[-1] == "== exit 0"
    summary = json.loads(lines[-2])
    assert summary["status"] == "succeeded" and summary["drift"] is None
    assert summary["feedback"]["status"] == "insufficient_samples" and summary["feedback"]["samples"] == 0
    runs = _runs(settings)
    assert runs["kind"].tolist() == ["feedback"] and runs["status"].tolist() == ["succeeded"]
