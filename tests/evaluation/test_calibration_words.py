import pytest

from studyrec_lib.evaluation.calibration_words import calibration_words

BRIER = "error of the grade probabilities (CV Brier score)"


@pytest.mark.parametrize(("calibration", "words"), [
    ({"method": "temperature", "applied": True, "brier_before": 0.06410872, "brier_after": 0.06410531},
     f"temperature calibration applied, no measurable change in the {BRIER}: 0.064109 → 0.064105"),
    ({"method": "temperature", "applied": True, "brier_before": 0.0712, "brier_after": 0.0641},
     f"temperature calibration applied, {BRIER} 0.0712 → 0.0641"),
    ({"method": "sigmoid", "applied": False, "brier_before": 0.0641, "brier_after": 0.0650},
     f"sigmoid calibration not applied (it did not lower the Brier score), {BRIER} 0.0641 → 0.0650"),
    ({"method": "temperature", "applied": False, "skipped": "a grade has only 1 students in a fold's training part"},
     "temperature calibration not tried (a grade has only 1 students in a fold's training part)"),
    ({"method": "temperature", "applied": False}, "temperature calibration not tried (the hand rule was chosen)"),
])
def test_calibration_is_said_with_enough_digits_to_see_its_change(calibration, words):
    assert calibration_words(calibration) == words
