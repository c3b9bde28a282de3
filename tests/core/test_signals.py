import pandas as pd
import pytest

from studyrec_lib.core.signals import WEAK_SIGNALS, weak_signals

SAFE = {"assignment_marks": 5.0, "quiz_marks": 10.0, "midterm_marks": 30.0, "attendance_percentage": 100.0}


def test_the_thresholds_are_the_old_systems():
    assert {column: low for column, (low, _) in WEAK_SIGNALS.items()} == {
        "assignment_marks": 2.5, "quiz_marks": 5.0, "midterm_marks": 15.0, "attendance_percentage": 70.0}


@pytest.mark.parametrize("column", list(WEAK_SIGNALS))
def test_exactly_at_the_threshold_is_not_weak_and_just_below_is(column):
    low, message = WEAK_SIGNALS[column]
    frame = pd.DataFrame([{**SAFE, column: low}, {**SAFE, column: low - 0.1}, {**SAFE, column: low + 0.1}])
    assert weak_signals(frame).tolist() == [[], [message], []]


def test_every_signal_of_a_row_is_listed_in_order():
    frame = pd.DataFrame([
        {"assignment_marks": 0.0, "quiz_marks": 0.0, "midterm_marks": 0.0, "attendance_percentage": 0.0},
        {**SAFE, "quiz_marks": 4.9, "attendance_percentage": 69.9},
        SAFE,
    ], index=[10, 11, 12])
    found = weak_signals(frame)
    assert found.index.tolist() == [10, 11, 12]
    assert found.tolist() == [
        [message for _, message in WEAK_SIGNALS.values()],
        [WEAK_SIGNALS["quiz_marks"][1], WEAK_SIGNALS["attendance_percentage"][1]],
        [],
    ]


def test_a_missing_mark_is_no_signal():
    frame = pd.DataFrame([{**SAFE, "midterm_marks": float("nan")}])
    assert weak_signals(frame).tolist() == [[]]
