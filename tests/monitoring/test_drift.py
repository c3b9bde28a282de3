"""Drift detection: PSI and its chance level, and the alert rule (significant *and* possibly >= threshold).

Expected numbers are computed by hand or from the data here (sample means, standard deviations, shares),
not by calling the code under test a second time.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo.example import generate
from studyrec_lib.demo.shifted import SHIFTABLE, shift_frame
from studyrec_lib.modeling.feature_baseline import BASELINE_BINS, feature_baseline
from studyrec_lib.monitoring.drift import DriftError, DriftReport, compute_drift, effect_margin, psi, psi_noise

FEATURES = STUDENT_TASK.features
TABLE_COLUMNS = ["feature", "kind", "samples", "psi", "psi_noise", "test", "statistic", "p_value", "effect", "alert",
                 "informational"]
# One continuous synthetic feature: a task whose only feature is "x".
X_TASK = dataclasses.replace(STUDENT_TASK, numeric_features=("x",), categorical_features=())
CURRENT_SEEDS = (1001, 1002, 1003, 1004, 1005)


@pytest.fixture(scope="module")
def baseline() -> dict:
    """The training baseline: 1,000 students (24,000 rows)."""
    return feature_baseline(generate(students=1000, seed=7), STUDENT_TASK)


def current_sample(seed: int, rows: int = 200) -> pd.DataFrame:
    """``rows`` rows of a fresh cohort from the same generator (no shift)."""
    return generate(students=200, seed=seed).sample(rows, random_state=seed).reset_index(drop=True)


def x_baseline(values: np.ndarray) -> dict:
    return feature_baseline(pd.DataFrame({"x": values}), X_TASK)


def by_name(report: DriftReport) -> dict:
    return {f.feature: f for f in report.features}


# --- psi and its chance level ---------------------------------------------------------------------------------


def test_psi_of_identical_shares_is_zero():
    shares = np.array([0.1, 0.2, 0.3, 0.4])
    assert psi(shares, shares.copy()) == 0.0


def test_psi_two_bin_example_by_hand():
    # expected 50/50, actual 70/30: 0.2 ln(0.7/0.5) + (-0.2) ln(0.3/0.5) = 0.2 ln(7/3)
    by_hand = (0.7 - 0.5) * math.log(0.7 / 0.5) + (0.3 - 0.5) * math.log(0.3 / 0.5)
    assert by_hand == pytest.approx(0.2 * math.log(7 / 3))
    assert psi(np.array([0.5, 0.5]), np.array([0.7, 0.3])) == pytest.approx(by_hand, rel=1e-12)


def test_psi_is_symmetric_and_grows_with_the_difference():
    e, a1, a2 = np.array([0.5, 0.5]), np.array([0.6, 0.4]), np.array([0.8, 0.2])
    assert psi(e, a1) == pytest.approx(psi(a1, e))
    assert 0 < psi(e, a1) < psi(e, a2)


def test_psi_with_empty_bins_stays_finite():
    # A bin empty in the baseline and one empty now: the floor keeps both terms finite.
    value = psi(np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.0, 0.5]))
    assert math.isfinite(value)
    assert value > 1  # a whole new bin holding half the rows is a big shift, not a small one
    floor = 1e-4  # the documented share of an empty bin
    by_hand = (floor - 0.5) * math.log(floor / 0.5) + (0.5 - floor) * math.log(0.5 / floor)
    assert value == pytest.approx(by_hand, rel=1e-9)


def test_psi_noise_formula():
    assert psi_noise(10, 100, 5000) == pytest.approx(9 * (1 / 100 + 1 / 5000))
    assert psi_noise(2, 50, 50) == pytest.approx(1 * (2 / 50))
    assert psi_noise(1, 100, 100) == 0.0  # one bin: nothing can differ


def test_mean_psi_of_identical_distributions_matches_psi_noise():
    """The docstring's claim: a sample of 100 from the training distribution shows PSI ~0.1 by chance."""
    rng = np.random.default_rng(20240)
    baseline = x_baseline(rng.normal(50, 10, 5000))
    assert baseline["numeric"]["x"]["effective_rows"] == 5000  # no students: every row counts
    assert len(baseline["numeric"]["x"]["shares"]) == BASELINE_BINS
    expected = 9 * (1 / 100 + 1 / 5000)
    values = []
    for _ in range(200):
        feature = compute_drift(baseline, pd.DataFrame({"x": rng.normal(50, 10, 100)})).features[0]
        assert feature.psi_noise == pytest.approx(expected)
        values.append(feature.psi)
    assert np.mean(values) == pytest.approx(expected, rel=0.35)
    assert 0.06 < np.mean(values) < 0.13


def test_effect_margin_is_the_one_sided_95_percent_standard_error():
    assert effect_margin(200, 1000) == pytest.approx(1.6448536 * math.sqrt(1 / 200 + 1 / 1000), rel=1e-6)
    # The docstring's example: at n = 200 (against 1,000 students) a measured 0.23 SD may be a true 0.35.
    assert 0.23 + effect_margin(200, 1000) == pytest.approx(0.35, abs=0.01)


# --- the alert rule on example data -----------------------------------------------------------------------------


def test_baseline_counts_fewer_rows_for_features_alike_within_a_student(baseline):
    """24 rows of one student are not 24 independent draws: a feature driven by ability counts far fewer."""
    assert baseline["rows"] == 24000
    report = compute_drift(baseline, current_sample(1001))
    assert report.baseline_rows == 24000
    assert report.samples == 200
    features = by_name(report)
    # Attendance = 84 + 7 x ability + noise(8): ICC ~ 49 / (49 + 64) ~ 0.43, design effect ~ 1 + 23 x 0.43 ~ 11.
    attendance = features["attendance_percentage"].detail["baseline_effective_rows"]
    assert 24000 / 14 <= attendance <= 24000 / 8
    # Previous CGPA is nearly constant within a student: close to one row per student.
    assert 1000 <= features["previous_cgpa"].detail["baseline_effective_rows"] <= 2000
    for feature in report.features:
        if feature.kind == "numeric":
            rows = feature.detail["baseline_effective_rows"]
            assert feature.psi_noise == pytest.approx((len(feature.bins) - 1) * (1 / 200 + 1 / rows))


@pytest.mark.parametrize("seed", CURRENT_SEEDS)
def test_unshifted_data_is_ok(baseline, seed):
    report = compute_drift(baseline, current_sample(seed))
    assert report.status == "ok"
    assert report.alerts == []
    assert not any(f.alert for f in report.features)
    assert report.score < report.threshold
    assert [f.feature for f in report.features] == FEATURES
    # No feature's test is significant after the correction over the features, and PSI is of the order of
    # its chance level (the smallest p-value measured over these seeds was 0.008, against 0.01 / 7).
    for feature in report.features:
        assert feature.p_value >= report.alpha / len(report.features), feature.feature
        assert feature.psi < 5 * feature.psi_noise + 0.05


def test_half_sd_lower_attendance_alerts_on_attendance_only(baseline):
    current = current_sample(1002)
    shifted = shift_frame(current, {"attendance_percentage": -0.5})
    report = compute_drift(baseline, shifted)
    features = by_name(report)
    assert report.status == "drift"
    assert features["attendance_percentage"].alert
    assert 0.3 <= features["attendance_percentage"].effect <= 0.7
    assert [a.split(":")[0] for a in report.alerts] == ["attendance_percentage"]
    assert "threshold 0.35" in report.alerts[0]
    for name in SHIFTABLE:
        if name != "attendance_percentage":
            assert not features[name].alert, name
    assert not features["subject"].alert
    # The mean dropped by about half a training SD, and the report says so.
    detail = features["attendance_percentage"].detail
    drop = (detail["baseline_mean"] - detail["current_mean"]) / detail["baseline_std"]
    assert 0.3 < drop < 0.7
    assert report.score == pytest.approx(features["attendance_percentage"].effect)
    rows = detail["baseline_effective_rows"]
    assert detail["effect_upper"] == pytest.approx(features["attendance_percentage"].effect
                                                   + 1.6448536 * math.sqrt(1 / 200 + 1 / rows), rel=1e-6)


def test_half_sd_shift_is_detected_in_most_samples(baseline):
    detected = 0
    for seed in CURRENT_SEEDS:
        report = compute_drift(baseline, shift_frame(current_sample(seed), {"attendance_percentage": -0.5}))
        alerting = {f.feature for f in report.features if f.alert}
        assert alerting <= {"attendance_percentage"}, (seed, alerting)  # never a false alert elsewhere
        if alerting:
            detected += 1
            assert 0.3 <= by_name(report)["attendance_percentage"].effect <= 0.7
    assert detected >= 4


def test_new_subject_at_twenty_percent_alerts_on_subject(baseline):
    current = generate(students=200, seed=1003)  # 4,800 rows: the share is measured precisely
    shifted = shift_frame(current, new_subject="Robotics", new_subject_share=0.2, seed=3)
    observed_share = float((shifted["subject"] == "Robotics").mean())
    report = compute_drift(baseline, shifted)
    subject = by_name(report)["subject"]
    assert report.status == "drift"
    assert subject.alert
    assert subject.kind == "categorical" and subject.test == "chi2"
    assert subject.detail["unseen"] == ["Robotics"]
    assert subject.detail["unseen_share"] == pytest.approx(observed_share)
    assert subject.detail["unseen_share"] == pytest.approx(0.2, abs=0.05)
    assert subject.bins[-1] == "(not in training)"
    assert subject.current_shares[-1] == pytest.approx(observed_share)
    assert subject.baseline_shares[-1] == 0.0
    # TVD >= the unseen share; "a new subject taking 20% of rows gives about 0.5" SD.
    assert subject.detail["total_variation"] >= observed_share - 1e-12
    assert 0.4 <= subject.effect <= 0.75
    # Only the subject moved.
    assert [f.feature for f in report.features if f.alert] == ["subject"]


def test_too_few_rows_decide_nothing(baseline):
    report = compute_drift(baseline, current_sample(1001, rows=49), min_samples=50)
    assert report.status == "insufficient_samples"
    assert report.samples == 49
    assert report.score == 0
    assert report.features == []
    assert len(report.alerts) == 1 and "insufficient samples" in report.alerts[0]
    assert compute_drift(baseline, current_sample(1001, rows=50), min_samples=50).status != "insufficient_samples"


def test_trivial_shift_in_a_huge_sample_does_not_alert():
    rng = np.random.default_rng(5)
    baseline = x_baseline(rng.normal(0, 1, 200_000))
    report = compute_drift(baseline, pd.DataFrame({"x": rng.normal(0, 1, 200_000) + 0.05}))
    feature = report.features[0]
    assert feature.p_value < 1e-10  # beyond doubt that it moved ...
    assert feature.effect + effect_margin(200_000, 200_000) < report.threshold  # ... but by a trivial amount
    assert 0.03 < feature.effect < 0.08
    assert not feature.alert
    assert report.status == "ok"
    assert report.alerts == []
    assert report.score == pytest.approx(feature.effect)  # the score still reports the significant shift


def test_semester_is_informational(baseline):
    current = current_sample(1004).assign(semester=8)  # everything else as in training
    report = compute_drift(baseline, current)
    semester = by_name(report)["semester"]
    assert semester.informational
    assert semester.p_value < 1e-10 and semester.effect > report.threshold  # it did move, a lot
    assert not semester.alert
    assert report.status == "ok"
    assert report.alerts == []
    assert report.score < semester.effect  # the score ignores informational features
    assert all(not f.informational for f in report.features if f.feature != "semester")


def test_baseline_without_quantiles_asks_to_retrain(baseline):
    old = json.loads(json.dumps(baseline))  # a baseline recorded before quantiles were kept
    for spec in old["numeric"].values():
        del spec["quantiles"]
    with pytest.raises(DriftError, match="retrain"):
        compute_drift(old, current_sample(1001))


def test_effect_of_a_pure_mean_shift_is_the_shift_in_sd():
    rng = np.random.default_rng(11)
    training = rng.normal(70, 8, 50_000)
    baseline = x_baseline(training)
    current = rng.normal(70, 8, 20_000) + 0.5 * training.std()
    feature = compute_drift(baseline, pd.DataFrame({"x": current})).features[0]
    assert 0.45 <= feature.effect <= 0.55
    assert feature.detail["wasserstein"] == pytest.approx(4.0, rel=0.1)  # 0.5 x 8
    assert feature.alert


def test_effect_of_identical_data_is_small():
    rng = np.random.default_rng(12)
    baseline = x_baseline(rng.normal(0, 1, 50_000))
    feature = compute_drift(baseline, pd.DataFrame({"x": rng.normal(0, 1, 20_000)})).features[0]
    assert feature.effect < 0.05
    assert not feature.alert


def test_table_and_json_ready_fields(baseline):
    report = compute_drift(baseline, shift_frame(current_sample(1001), {"attendance_percentage": -0.5}))
    table = report.table()
    assert list(table.columns) == TABLE_COLUMNS
    assert list(table["feature"]) == FEATURES
    assert len(table) == len(report.features) == 7
    assert table.set_index("feature").loc["attendance_percentage", "alert"]
    as_dict = json.loads(json.dumps(dataclasses.asdict(report)))
    assert as_dict["status"] == report.status
    assert [f["feature"] for f in as_dict["features"]] == FEATURES
    assert as_dict["features"][0]["bins"] == report.features[0].bins


def test_empty_table_for_insufficient_samples(baseline):
    report = compute_drift(baseline, current_sample(1001, rows=10))
    assert list(report.table().columns) == TABLE_COLUMNS
    assert report.table().empty
    json.dumps(dataclasses.asdict(report))


def test_identical_data_in_a_huge_sample_is_not_significant():
    """"Significance keeps identical data from alerting whatever n is" (module docstring)."""
    rng = np.random.default_rng(3)
    baseline = x_baseline(rng.normal(0, 1, 1_000_000))
    report = compute_drift(baseline, pd.DataFrame({"x": rng.normal(0, 1, 1_000_000)}))
    assert report.features[0].p_value > report.alpha
    assert report.score == 0


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.1, 0.2, 0.5])
def test_the_ks_test_on_stored_quantiles_agrees_with_scipys_on_the_raw_rows(shift):
    """The baseline keeps only 201 quantiles; its KS statistic and p-value match scipy's on the raw data."""
    rng = np.random.default_rng(11)
    raw = rng.normal(0, 1, 20_000)
    current = rng.normal(shift, 1, 500)
    feature = compute_drift(x_baseline(raw), pd.DataFrame({"x": current})).features[0]
    exact = stats.ks_2samp(raw, current)
    assert feature.statistic == pytest.approx(exact.statistic, abs=1 / 200)  # one quantile step
    assert abs(math.log10(feature.p_value) - math.log10(exact.pvalue)) < 0.5  # within a factor of about 3
    if shift == 0.0:
        assert feature.p_value > 0.1 and exact.pvalue > 0.1
    if shift == 0.5:
        assert feature.p_value < 1e-10


def test_the_chi_square_p_value_is_large_for_the_same_subject_mix_and_tiny_for_a_new_subject(baseline):
    same = by_name(compute_drift(baseline, current_sample(1003, rows=2000)))["subject"]
    shifted = shift_frame(current_sample(1003, rows=2000), {}, new_subject="Robotics", new_subject_share=0.2, seed=3)
    moved = by_name(compute_drift(baseline, shifted))["subject"]
    assert same.p_value > 0.05
    assert moved.p_value < 1e-10
