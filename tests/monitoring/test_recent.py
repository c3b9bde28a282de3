"""What is current: recent rows, the share of them rejected, the active model's baseline and the drift section."""

import pytest

from studyrec_lib.core.config import load_settings
from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import ingest_file
from studyrec_lib.monitoring.recent import active_baseline, current_rows, drift_section, invalid_share
from studyrec_lib.serving.spool import PredictionSpool, new_record
from tests.monitoring.trained_warehouse import upload


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


def test_the_drift_section_compares_recent_uploads_with_the_active_model(monitored, tmp_path):
    settings, versions = monitored
    upload(settings, example_data.generate(students=10, seed=21, open_semesters=1), tmp_path / "new.csv")
    report, context = drift_section(settings)  # the defaults: core.defaults
    assert report.status == "ok" and report.samples == 240 and report.threshold == 0.35
    assert context["model_version"] == versions["regression"] and context["rows_by_origin"] == {"upload": 240}
    assert context["datasets_trained_on"] == [1] and context["invalid_rows"]["rows_total"] == 240
    version, baseline, trained_on = active_baseline(settings)
    assert (version, trained_on) == (versions["regression"], [1]) and baseline["rows"] == 960


def test_without_an_active_model_there_is_nothing_to_compare_with(tmp_path):
    settings = load_settings(warehouse=tmp_path / "w.duckdb", runs_dir=tmp_path / "runs")
    with pytest.raises(StudyRecError, match="no active model"):
        drift_section(settings)
