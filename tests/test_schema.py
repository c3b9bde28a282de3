import numpy as np
import pytest

from studyrec_lib.schema import GRADES, MAX_TOTAL, grade_for_total, total_marks


@pytest.mark.parametrize(
    ("total", "grade"),
    [(100, "A+"), (80, "A+"), (79.99, "A"), (75, "A"), (70, "A-"), (65, "B+"), (60, "B"), (55, "C+"),
     (50, "C"), (49.9, "D"), (40, "D"), (39.99, "F"), (0, "F")],
)
def test_grade_boundaries_follow_the_old_scale(total, grade):
    assert grade_for_total(total)[0] == grade


def test_grade_for_total_is_vectorised_and_ordered():
    totals = np.linspace(0, MAX_TOTAL, 101)
    grades = grade_for_total(totals)
    ranks = [GRADES.index(g) for g in grades]
    assert ranks == sorted(ranks, reverse=True)  # never a better grade for a lower total


def test_total_counts_attendance_as_five_marks():
    assert total_marks(5, 100, 10, 30, 50) == pytest.approx(MAX_TOTAL)
    assert total_marks(2, 50, 4, 10, 20) == pytest.approx(2 + 2.5 + 4 + 10 + 20)
