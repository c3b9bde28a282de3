"""The at-risk list's audit trail: every open row's prediction is logged once, and meets its outcome later."""

import json

import numpy as np
import pandas as pd
import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import load as ingest
from studyrec_lib.modeling import training_data
from studyrec_lib.serving.at_risk_log import log_at_risk_predictions


def test_open_row_predictions_are_logged_and_meet_their_outcomes_in_feedback(ridge_models, settings, tmp_path):
    """Predicted while the semester is open, compared once the outcomes are uploaded."""
    from studyrec_lib.monitoring.feedback import feedback_report

    regressor, classifier = ridge_models
    cohort = example_data.generate(students=3, seed=9)
    still_open = cohort.assign(final_marks=np.where(cohort["semester"] == 8, np.nan, cohort["final_marks"]),
                               final_grade=np.where(cohort["semester"] == 8, None, cohort["final_grade"]))
    ingest.ingest_file(example_data.write(still_open, tmp_path / "open.csv"), settings=settings, progress=None)
    open_rows = training_data.load_open_rows(settings)
    assert len(open_rows) == 9
    versions = {"regression": "20261101000000", "classification": "20261101000000"}
    assert log_at_risk_predictions(open_rows, regressor, classifier, versions, settings) == 9
    logged = warehouse.query_frame("SELECT student_id, inputs, result, model_versions FROM prediction_log "
                                   "WHERE source = 'at_risk'", settings=settings)
    assert sorted(logged["student_id"]) == sorted(open_rows["student_id"])
    result = json.loads(logged["result"].iloc[0])
    assert abs(sum(result["grade_probabilities"].values()) - 1) < 1e-3
    assert json.loads(logged["model_versions"].iloc[0]) == versions

    ingest.ingest_file(example_data.write(cohort, tmp_path / "final.csv"), settings=settings, progress=None)
    report, pairs = feedback_report(settings, lookback_days=1, min_samples=5)
    assert report["samples"] == 9 and set(pairs["source"]) == {"at_risk"}
    truth = cohort[cohort["semester"] == 8].set_index(["student_id", "subject"])["final_marks"]
    predicted = pd.Series(np.clip(regressor.predict(open_rows[STUDENT_TASK.features]), 0, 50).round(2),
                          index=pd.MultiIndex.from_frame(open_rows[["student_id", "subject"]]))
    assert report["mae"] == pytest.approx(float((predicted - truth.loc[predicted.index]).abs().mean()), abs=1e-3)


def test_no_open_rows_log_nothing(ridge_models, settings):
    regressor, classifier = ridge_models
    empty = pd.DataFrame(columns=["student_id", *STUDENT_TASK.features])
    assert log_at_risk_predictions(empty, regressor, classifier, {"regression": "1", "classification": "1"},
                                   settings) == 0
    assert not (settings.warehouse.parent / (settings.warehouse.name + ".spool")).exists()
