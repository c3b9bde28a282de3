import duckdb
import numpy as np
import pandas as pd
import pytest

from studyrec_lib.core.schema import (
    FIELDS_BY_NAME,
    GRADES,
    MAX_TOTAL,
    NOT_WHOLE,
    grade_for_total,
    marks_before_final,
    total_marks,
    total_sql,
)


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


def _marks(assignment, attendance, quiz, midterm, final):
    return {"assignment_marks": assignment, "attendance_percentage": attendance, "quiz_marks": quiz,
            "midterm_marks": midterm, "final_marks": final}


def test_total_counts_attendance_as_five_marks():
    assert total_marks(_marks(5, 100, 10, 30, 50)) == pytest.approx(MAX_TOTAL)
    assert total_marks(_marks(2, 50, 4, 10, 20)) == pytest.approx(2 + 2.5 + 4 + 10 + 20)
    assert marks_before_final(_marks(2, 50, 4, 10, 20)) == pytest.approx(2 + 2.5 + 4 + 10)


def test_the_sql_total_is_the_python_total():
    """The warehouse's queries rank by the same course total as the library, to the last bit."""
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({name: rng.uniform(FIELDS_BY_NAME[name].low, FIELDS_BY_NAME[name].high, 500).round(1)
                         for name in _marks(0, 0, 0, 0, 0)})
    from_sql = duckdb.sql(f"SELECT {total_sql()} AS total FROM rows").df()["total"].to_numpy()
    np.testing.assert_array_equal(from_sql, total_marks(rows))


def test_a_number_field_names_the_rule_it_breaks():
    semester = FIELDS_BY_NAME["semester"]
    assert semester.check(3) is None
    assert semester.check(13) == semester.rule == "must be an integer from 1 to 12"
    assert semester.check(2.5) == NOT_WHOLE
    assert FIELDS_BY_NAME["quiz_marks"].check(7.5) is None
