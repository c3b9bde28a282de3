import numpy as np
import pytest

from studyrec_lib.core import metrics

CLASSES = np.array(["A", "B", "C"])


def test_brier_per_class_matches_a_hand_computation():
    y = np.array(["A", "B", "C", "A"])
    proba = np.array([
        [0.7, 0.2, 0.1],
        [0.1, 0.6, 0.3],
        [0.2, 0.2, 0.6],
        [0.4, 0.4, 0.2],
    ])
    # Class A, one-vs-rest: truths 1, 0, 0, 1.
    brier_a = ((0.7 - 1) ** 2 + 0.1 ** 2 + 0.2 ** 2 + (0.4 - 1) ** 2) / 4
    brier_b = (0.2 ** 2 + (0.6 - 1) ** 2 + 0.2 ** 2 + 0.4 ** 2) / 4
    brier_c = (0.1 ** 2 + 0.3 ** 2 + (0.6 - 1) ** 2 + 0.2 ** 2) / 4
    np.testing.assert_allclose(metrics.brier_per_class(y, proba, CLASSES), [brier_a, brier_b, brier_c])
    assert metrics.brier_per_class(y, metrics.one_hot(y, CLASSES), CLASSES).tolist() == [0.0, 0.0, 0.0]


def test_classification_scores_keys_and_values():
    y = np.array(["A", "B", "C", "A"])
    proba = metrics.one_hot(np.array(["A", "B", "C", "B"]), CLASSES) * 0.8 + 0.2 / 3
    scores = metrics.classification_scores(y, proba, CLASSES)
    assert set(scores) == {"f1_weighted", "accuracy", "f1_macro", "balanced_accuracy", "log_loss", "brier_macro"}
    assert all(isinstance(value, float) for value in scores.values())
    assert scores["accuracy"] == 0.75
    assert scores["balanced_accuracy"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert scores["brier_macro"] == pytest.approx(metrics.brier_per_class(y, proba, CLASSES).mean())
    assert scores["log_loss"] > 0
    perfect = metrics.classification_scores(y, metrics.one_hot(y, CLASSES), CLASSES)
    assert perfect["f1_weighted"] == perfect["accuracy"] == 1.0
    assert perfect["brier_macro"] == 0.0


def test_ece_is_zero_when_calibrated_and_large_when_overconfident_and_wrong():
    # 10 rows at confidence 0.6 of which 6 are right, 10 rows at confidence 1.0 all right.
    y = np.array(["A"] * 6 + ["B"] * 4 + ["B"] * 10)
    proba = np.array([[0.6, 0.4, 0.0]] * 10 + [[0.0, 1.0, 0.0]] * 10)
    assert metrics.expected_calibration_error(y, proba, CLASSES) == pytest.approx(0.0, abs=1e-12)
    wrong = np.array([[0.99, 0.01, 0.0]] * 20)
    assert metrics.expected_calibration_error(np.array(["C"] * 20), wrong, CLASSES) == pytest.approx(0.99)
    # Half the rows calibrated, half overconfident and wrong: the gap is weighted by the share of rows.
    mixed_y = np.array(["B"] * 10 + ["C"] * 10)
    mixed = np.array([[0.0, 1.0, 0.0]] * 10 + [[0.99, 0.01, 0.0]] * 10)
    assert metrics.expected_calibration_error(mixed_y, mixed, CLASSES) == pytest.approx(0.495)


def test_conformal_quantile_takes_the_ceil_n_plus_one_level_th_smallest():
    residuals = np.array([9.0, 1.0, 8.0, 2.0, 7.0, 3.0, 6.0, 4.0, 5.0, 10.0])  # n = 10
    # ceil(11 * 0.8) = 9: the 9th smallest.
    assert metrics.conformal_quantile(residuals, 0.8) == 9.0
    # ceil(11 * 0.5) = 6.
    assert metrics.conformal_quantile(residuals, 0.5) == 6.0
    # ceil(11 * 0.9) = 10: the largest.
    assert metrics.conformal_quantile(residuals, 0.9) == 10.0
    # ceil(11 * 0.95) = 11 > n: capped at the largest residual.
    assert metrics.conformal_quantile(residuals, 0.95) == 10.0
    # n = 9, level 0.9: ceil(10 * 0.9) = 9 exactly, not 10.
    assert metrics.conformal_quantile(np.arange(1.0, 10.0), 0.9) == 9.0
    assert metrics.conformal_quantile(np.arange(1.0, 20.0), 0.9) == 18.0


def test_imbalance_flags_a_class_below_five_percent_as_severe():
    at_five = np.array(["A"] * 19 + ["B"])  # B has exactly 5%
    result = metrics.imbalance(at_five)
    assert result["smallest_class"] == "B"
    assert result["smallest_share"] == pytest.approx(0.05)
    assert result["severe"] is False
    assert result["largest_to_smallest"] == pytest.approx(19.0)
    below = metrics.imbalance(np.array(["A"] * 20 + ["B"]))  # 1/21 < 5%
    assert below["severe"] is True
    assert below["shares"] == pytest.approx({"A": 20 / 21, "B": 1 / 21})
    balanced = metrics.imbalance(np.array(["A", "B", "C"] * 5))
    assert balanced["severe"] is False
    assert balanced["largest_to_smallest"] == pytest.approx(1.0)


def test_regression_scores():
    scores = metrics.regression_scores(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 6.0]))
    assert scores["rmse"] == pytest.approx(1.0)
    assert scores["mae"] == pytest.approx(0.5)
    assert scores["r2"] == pytest.approx(1 - 4 / 5)
