import numpy as np
import pytest

from studyrec_lib.modeling.marks_grid import reaching_threshold, recorded_step, round_to_step


@pytest.mark.parametrize(("marks", "step"), [
    ([0, 7, 10, 20], 1.0),
    ([0.0, 9.5, 12.0], 0.5),
    ([3.25, 4.5, 7.0], 0.25),
    ([37.3, 12.1, 50.0], 0.1),  # tenths as floats: 37.3 / 0.1 is not exactly 373
    ([1.05, 2.1], 0.05),
    ([1.01, 2.37], 0.01),
    ([1.0001, 2.0], 0.0),
    ([np.pi, 2.0], 0.0),
])
def test_recorded_step_is_the_coarsest_grid_all_marks_lie_on(marks, step):
    assert recorded_step(np.array(marks)) == step


def test_round_to_step_reads_predictions_as_recorded_marks():
    np.testing.assert_allclose(round_to_step(np.array([9.49, 9.51, 13.2, 10.5, 11.5]), 1.0),
                               [9.0, 10.0, 13.0, 11.0, 12.0])
    np.testing.assert_allclose(round_to_step(np.array([9.74, 9.76]), 0.5), [9.5, 10.0])
    values = np.array([9.49, 9.51])
    assert round_to_step(values, 0.0) is values


def test_reaching_threshold_is_half_a_step_below_the_first_recorded_mark_that_reaches_it():
    # Whole marks: a recorded 10 stands for [9.5, 10.5), so a threshold of 10 is reached from 9.5, and one of
    # 9.2 (marks already known make thresholds fractional) by a recorded 10 as well.
    np.testing.assert_allclose(reaching_threshold(np.array([10.0, 9.2, 0.0, -3.4]), 1.0), [9.5, 9.5, -0.5, -3.5])
    np.testing.assert_allclose(reaching_threshold(np.array([10.0, 10.02]), 0.1), [9.95, 10.05])
    np.testing.assert_allclose(reaching_threshold(np.array([10.0, 9.2]), 0.0), [10.0, 9.2])


def test_a_prediction_reaches_a_threshold_exactly_when_its_recorded_mark_does():
    predictions = np.arange(0, 20, 0.25)
    for needed in (10.0, 9.2, 10.5, 0.0):
        reached = predictions >= reaching_threshold(np.array(needed), 1.0)
        np.testing.assert_array_equal(reached, round_to_step(predictions, 1.0) >= needed)
