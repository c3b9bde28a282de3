"""The monitor report in words: the summary on top says what was checked, found and decided, and what changed;
no sentence shows a dict or a bare None."""

from __future__ import annotations

import pandas as pd
import pytest

from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo.example import generate
from studyrec_lib.demo.shifted import shift_frame
from studyrec_lib.modeling.feature_baseline import feature_baseline
from studyrec_lib.monitoring.decision import decide
from studyrec_lib.monitoring.drift import compute_drift
from studyrec_lib.monitoring.feedback import compute_feedback
from studyrec_lib.monitoring.history import TREND_COLUMNS
from studyrec_lib.monitoring.text import data_quality_markdown, drift_markdown, feedback_markdown, summary_markdown

CLEAN = {"uploads": 2, "rows_total": 1000, "rows_rejected": 20, "share": 0.02, "alert": False}
CONTEXT = {"model_version": "v7", "lookback_days": 30, "rows_by_origin": {"upload": 400}, "invalid_rows": CLEAN}


@pytest.fixture(scope="module")
def drifts():
    baseline = feature_baseline(generate(students=300, seed=7), STUDENT_TASK)
    current = generate(students=100, seed=21).sample(400, random_state=21)
    return {"ok": compute_drift(baseline, current),
            "drift": compute_drift(baseline, shift_frame(current, {"attendance_percentage": -1.5})),
            "few": compute_drift(baseline, generate(students=1, seed=8))}


def no_outcomes() -> dict:
    """What feedback_report gives when no logged prediction has an outcome yet: its figures are None."""
    return {**compute_feedback(pd.DataFrame()), "lookback_days": 180}


def warning() -> dict:
    return {**no_outcomes(), "status": "warning", "samples": 40, "mae": 8.6151, "rmse": 10.6, "grade_accuracy": 0.42,
            "fail_precision": 0.5, "fail_recall": 0.25, "brier": 1.1, "brier_samples": 40,
            "alerts": ["MAE of final marks is 8.62, at or above the alert level 8."], "alerting": ["mae"]}


def trend(*previous: dict) -> pd.DataFrame:
    """Earlier runs a day apart, then this run (its figures are read from the reports, not from here)."""
    rows = [{"run_id": f"run-{i}", "started_at": pd.Timestamp("2025-03-01 08:00") + pd.Timedelta(days=i), **run}
            for i, run in enumerate([*previous, {}])]
    return pd.DataFrame(rows, columns=list(TREND_COLUMNS))


def readable(text: str) -> str:
    assert "None" not in text and "{'" not in text and "nan" not in text
    return text


def test_summary_of_drift_with_auto_retrain_says_a_retrain_will_start(drifts):
    drift, feedback = drifts["drift"], warning()
    earlier = {"drift_score": 0.123, "drift_status": "ok", "feedback_mae": 5.04, "feedback_accuracy": 0.5,
               "feedback_status": "ok"}
    text = readable(summary_markdown(drift, CONTEXT, feedback, decide(drift, feedback, True), trend(earlier)))
    lines = text.splitlines()
    assert lines[0] == "## Summary of this monitoring run"
    assert lines[2] == "**Drift found, feedback warns: a retrain will be started.**"
    assert lines[4] == ("- **What was checked**: drift: 400 rows of the last 30 days (400 uploaded, none from "
                        "prediction requests) against the active model v7; feedback: 40 predictions logged in the "
                        "last 180 days have a known outcome.")
    assert (f"Drift score (largest standardised shift) {drift.score:.2f} training SDs, threshold 0.35; features "
            "that alerted (their shift may reach the threshold): attendance_percentage") in lines[5]
    assert ("Typical error of predicted final marks (MAE) 8.6 marks, grade accuracy 42% (alert at MAE 8 or more, "
            "accuracy 55% or less): the MAE alerts.") in lines[5]
    assert lines[6].startswith("- **What was decided**: retrain: the monitoring job starts a training run after "
                               "this report, because attendance_percentage drifted")
    assert lines[7] == (f"- **What changed**: since the run of 2025-03-01 08:00 UTC: drift score 0.12 (ok) → "
                        f"{drift.score:.2f} (drift); MAE 5.0 marks → 8.6 marks, grade accuracy 50% → 42%, "
                        "feedback ok → warning.")


def test_summary_of_drift_without_auto_retrain_recommends_studyrec_train(drifts):
    drift = drifts["drift"]
    rejecting = {**CONTEXT, "invalid_rows": {**CLEAN, "rows_rejected": 150, "share": 0.15, "alert": True}}
    text = readable(summary_markdown(drift, rejecting, None, decide(drift, None, False), trend()))
    assert "**Drift found: retraining recommended, auto-retrain is off.**" in text
    assert "- **What was decided**: no retrain started: auto-retrain is off. Retraining is recommended: run " \
           "`studyrec train` (or monitor with `--auto-retrain`)." in text
    assert "15% of recently uploaded rows were rejected (data-quality warning above 10%)" in text
    assert "- **What changed**: nothing to compare with: this is the first monitoring run." in text


def test_summary_of_a_feedback_run_without_outcomes_has_no_drift_and_no_none():
    feedback = no_outcomes()
    earlier = [{"drift_score": 0.5, "drift_status": "drift"},  # a monitor run: its drift is not this run's
               {"feedback_mae": None, "feedback_accuracy": None, "feedback_status": "insufficient_samples"}]
    text = readable(summary_markdown(None, None, feedback, decide(None, feedback, True), trend(*earlier)))
    assert "drift" not in text.split("What was decided")[0].lower()
    assert "**Too few outcomes to judge the predictions: no retrain.**" in text
    assert ("- **What was checked**: feedback: no prediction logged in the last 180 days has a known outcome "
            "yet.") in text
    assert "Too few predictions with a known outcome to judge the model (0, at least 30 needed)." in text
    assert "no retrain: only drift starts a retrain, and this run checked the predictions only." in text
    assert "since the run of 2025-03-02 08:00 UTC: feedback too few to judge → too few to judge." in text


def test_summary_with_too_few_rows_decides_nothing_and_compares_each_figure_with_its_own_run(drifts):
    few, feedback = drifts["few"], warning()
    earlier = [{"drift_score": 0.8, "drift_status": "drift"},
               {"feedback_mae": 4.0, "feedback_accuracy": 0.6, "feedback_status": "ok"}]
    text = readable(summary_markdown(few, CONTEXT, feedback, decide(few, feedback, True), trend(*earlier)))
    assert "**Too few rows to judge drift, feedback warns: no retrain.**" in text
    assert "Too few rows to judge drift (24, at least 50 needed)" in text
    assert "no retrain: too few current rows to judge drift; the feedback warning does not start one by itself" in text
    assert ("drift score 0.80 (drift) → 0.00 (too few to judge) (since the run of 2025-03-01 08:00 UTC); "
            "MAE 4.0 marks → 8.6 marks") in text
    assert "feedback ok → warning (since the run of 2025-03-02 08:00 UTC)" in text


def test_drift_feedback_and_data_quality_in_sentences_and_a_small_table(drifts):
    head = readable(drift_markdown(drifts["ok"], CONTEXT)).splitlines()[0]
    assert head.startswith("**No drift**: 400 rows of the last 30 days (400 uploaded, none from prediction requests)")
    assert head.endswith("threshold 0.35; no feature alerted.")
    assert readable(drift_markdown(drifts["few"], {**CONTEXT, "rows_by_origin": {"prediction": 24}})) == (
        "**Too few rows to judge drift**: 24 rows of the last 30 days (none uploaded, 24 from prediction requests) "
        "against the active model v7; at least 50 needed, so nothing is decided on drift.")
    assert readable(drift_markdown(None, None)).startswith("Drift was not checked in this run")
    table = readable(feedback_markdown(warning())).splitlines()
    assert table[0] == ("**Feedback warns**: 40 predictions logged in the last 180 days have a known outcome "
                        "(at least 30 needed to judge the model).")
    assert "| typical error of predicted final marks (MAE) | 8.6 marks | 8 marks or more | **yes** |" in table
    assert "| grade accuracy (predicted grade was right) | 42% | 55% or less | no |" in table
    assert readable(feedback_markdown(no_outcomes())).endswith("Nothing to score yet.")
    assert feedback_markdown(None) == "Feedback was not checked in this run."
    assert data_quality_markdown(CONTEXT) == ("Data quality: 20 of 1,000 rows in the 2 uploads of the last 30 days "
                                              "were rejected (2.0%).")
    empty = {**CONTEXT, "invalid_rows": {**CLEAN, "uploads": 0, "rows_total": 0, "rows_rejected": 0, "share": 0.0}}
    assert data_quality_markdown(empty) == "Data quality: no upload in the last 30 days."
