"""What a monitoring run decides, and the monitor.json it leaves for the job."""

import json

from studyrec_lib.demo import example as example_data
from studyrec_lib.demo.shifted import shift_frame
from studyrec_lib.monitoring.decision import decide, write_summary
from studyrec_lib.monitoring.drift import compute_drift
from studyrec_lib.monitoring.recent import active_baseline


def test_drift_without_auto_retrain_only_recommends(monitored):
    settings, _ = monitored
    _, baseline, _ = active_baseline(settings)
    report = compute_drift(baseline, shift_frame(example_data.generate(students=12, seed=25), {"quiz_marks": 2.0}))
    decision = decide(report, None, auto_retrain=False)
    assert decision["retrain"] is False
    assert any("retraining recommended" in reason for reason in decision["reasons"])


def test_drift_with_auto_retrain_decides_a_retrain(monitored):
    settings, _ = monitored
    _, baseline, _ = active_baseline(settings)
    shifted = shift_frame(example_data.generate(students=12, seed=24), {"midterm_marks": -2.0})
    report = compute_drift(baseline, shifted)
    assert report.status == "drift"
    decision = decide(report, None, auto_retrain=True)
    assert decision["retrain"] is True
    assert any("retraining decided" in reason for reason in decision["reasons"])
    assert "midterm_marks" in decision["reasons"][0]


def test_no_drift_or_too_few_rows_retrain_nothing(monitored):
    settings, _ = monitored
    _, baseline, _ = active_baseline(settings)
    same = compute_drift(baseline, example_data.generate(students=10, seed=21))
    few = compute_drift(baseline, example_data.generate(students=1, seed=21))
    feedback = {"status": "warning", "alerts": ["MAE of final marks is 9, at or above the alert level 8."]}
    for report in (same, few):
        decision = decide(report, feedback, auto_retrain=True)
        assert decision["retrain"] is False
        assert decision["reasons"][-1] == "feedback warning: " + feedback["alerts"][0]
    assert decide(few, None, auto_retrain=True)["reasons"][0].startswith("insufficient samples: 24 current rows")
    assert decide(None, {"status": "ok", "alerts": []}, auto_retrain=True) == {"retrain": False,
                                                                              "reasons": ["feedback ok"]}


def test_the_summary_is_monitor_json_in_the_run_folder(monitored, tmp_path):
    settings, _ = monitored
    _, baseline, _ = active_baseline(settings)
    report = compute_drift(baseline, example_data.generate(students=10, seed=21))
    decision = decide(report, None, auto_retrain=False)
    summary = write_summary(tmp_path, report, {"model_version": "v1"}, None, decision)
    assert json.loads((tmp_path / "monitor.json").read_text()) == json.loads(json.dumps(summary, default=str))
    assert summary["decision"] == decision and summary["feedback"] is None
    assert summary["drift"]["model_version"] == "v1" and summary["drift"]["status"] == report.status
    assert [row["feature"] for row in summary["drift"]["features"]] == report.table()["feature"].tolist()
    feedback_only = write_summary(tmp_path, None, None, {"status": "ok"}, {"retrain": False, "reasons": []})
    assert "drift" not in feedback_only
    assert json.loads((tmp_path / "monitor.json").read_text())["feedback"] == {"status": "ok"}
