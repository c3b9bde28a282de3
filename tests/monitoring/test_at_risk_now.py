"""The at-risk list a teacher sees now: the open rows of loaded uploads, scored with the active models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studyrec_lib.core.errors import NoActiveModel
from studyrec_lib.demo import example as example_data
from studyrec_lib.evaluation.at_risk import find_at_risk
from studyrec_lib.ingest import ingest_file, withdraw_dataset
from studyrec_lib.monitoring import current_at_risk
from studyrec_lib.serving import load_active_models


def upload(settings, path, frame: pd.DataFrame) -> int:
    summary = ingest_file(example_data.write(frame, path), progress=None, settings=settings).summary
    assert summary.status == "loaded", summary.message
    return summary.dataset_id


def test_open_rows_scored_with_the_active_models_at_risk_first(copy_of_trained, tmp_path):
    cohort = example_data.generate(students=6, seed=3, open_semesters=1)
    upload(copy_of_trained, tmp_path / "cohort.csv", cohort)
    found = current_at_risk(copy_of_trained)
    open_rows = cohort[cohort["final_marks"].isna()]
    assert len(found) == len(open_rows) == 18
    assert set(found["student_id"]) == set(open_rows["student_id"])
    for column in ("student_id", "subject", "semester", "predicted_grade", "p_d_or_f", "predicted_final_marks",
                   "midterm_marks", "weak_signals", "at_risk"):
        assert column in found.columns
    flags = found["at_risk"].tolist()
    assert flags == sorted(flags, reverse=True) and any(flags)
    models = load_active_models(copy_of_trained)
    expected = find_at_risk(open_rows.reset_index(drop=True), models.regressor, models.classifier, models.task)
    key = ["student_id", "semester", "subject"]
    pd.testing.assert_frame_equal(found.sort_values(key, ignore_index=True),
                                  expected.sort_values(key, ignore_index=True), check_dtype=False)
    pd.testing.assert_frame_equal(current_at_risk(copy_of_trained, models=models), found)


def test_a_withdrawn_uploads_open_rows_leave_the_list(copy_of_trained, tmp_path):
    upload(copy_of_trained, tmp_path / "a.csv", example_data.generate(students=3, seed=1, open_semesters=1))
    mistaken = example_data.generate(students=2, seed=2, open_semesters=1).assign(
        student_id=lambda f: f["student_id"].str.replace("S", "X"))
    later = upload(copy_of_trained, tmp_path / "b.csv", mistaken)
    assert set(current_at_risk(copy_of_trained)["student_id"]) == {"X00001", "X00002"}
    withdraw_dataset(later, "ann", "another school's file", copy_of_trained)
    assert set(current_at_risk(copy_of_trained)["student_id"]) == {"S00001", "S00002", "S00003"}


def test_nothing_open_gives_no_rows_with_the_columns(copy_of_trained, tmp_path):
    upload(copy_of_trained, tmp_path / "done.csv", example_data.generate(students=2, seed=1))
    found = current_at_risk(copy_of_trained)
    assert found.empty
    assert {"student_id", "subject", "semester", "predicted_grade", "p_d_or_f", "at_risk"} <= set(found.columns)
    assert found.dtypes["at_risk"] == np.dtype(bool)


def test_nothing_trained_is_a_clear_error(settings, tmp_path):
    upload(settings, tmp_path / "cohort.csv", example_data.generate(students=2, seed=1, open_semesters=1))
    with pytest.raises(NoActiveModel, match="no trained model is active yet"):
        current_at_risk(settings)
