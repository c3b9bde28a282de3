"""Advice: weak signals, the study plan and the best single improvement, as a prediction carries them."""

import numpy as np
import pytest

from studyrec_lib.core.schema import FIELDS_BY_NAME, GRADES
from studyrec_lib.core.signals import WEAK_SIGNALS
from studyrec_lib.serving.advice import GRADE_RANK, IMPROVEMENTS, best_improvement, weak_signals, with_improvements
from studyrec_lib.serving.study_plan import SIGNAL_COMPONENT
from tests.serving.payloads import STRONG


@pytest.mark.parametrize("field", list(WEAK_SIGNALS))
def test_weak_signal_fires_exactly_below_its_threshold(predictor, field):
    threshold, message = WEAK_SIGNALS[field]
    at = predictor.predict({**STRONG, field: threshold})
    assert at["weak_signals"] == []
    below = predictor.predict({**STRONG, field: threshold - 0.1})
    assert below["weak_signals"] == [{"component": SIGNAL_COMPONENT[field], "field": field, "message": message}]
    # The plan leads with the resource for that component.
    assert below["study_plan"][0]["component"] == SIGNAL_COMPONENT[field]


def test_all_weak_signals_in_their_order(predictor):
    weak = {**STRONG, **{field: threshold - 1 for field, (threshold, _) in WEAK_SIGNALS.items()}}
    result = predictor.predict(weak)
    assert [s["field"] for s in result["weak_signals"]] == list(WEAK_SIGNALS)


def test_study_plan_puts_the_subjects_weak_component_first(predictor):
    result = predictor.predict({**STRONG, "quiz_marks": 2.0})
    plan = result["study_plan"]
    assert plan[0]["subject"] == "Mathematics" and plan[0]["component"] == "quiz"
    assert plan[1]["subject"] == "*" and plan[1]["component"] == "quiz"
    urls = [item["url"] for item in plan]
    assert len(urls) == len(set(urls))


def _improved(payload: dict, field: str, step: float) -> dict:
    return {**payload, field: min(payload[field] + step, FIELDS_BY_NAME[field].high)}


def test_best_improvement_raises_the_grade_of_a_borderline_student(predictor):
    base = {**STRONG, "assignment_marks": 3.0, "quiz_marks": 6.0, "attendance_percentage": 80.0}
    borderline = None
    for midterm in np.arange(0, 30.01, 0.5):
        payload = {**base, "midterm_marks": float(midterm)}
        improvement = predictor.predict(payload)["best_improvement"]
        if improvement is not None and improvement["grade_steps"] > 0:
            borderline = payload
            break
    assert borderline is not None, "no midterm value where one change raises the grade"
    result = predictor.predict(borderline)
    best = result["best_improvement"]
    assert GRADE_RANK[best["new_grade"]] - GRADE_RANK[result["predicted_grade"]] == best["grade_steps"] > 0
    assert (best["field"], best["step"]) in {(field, step) for field, step, _ in IMPROVEMENTS}
    improved = predictor.predict(_improved(borderline, best["field"], best["step"]))
    assert improved["predicted_grade"] == best["new_grade"]
    assert improved["predicted_total"] == pytest.approx(best["new_predicted_total"], abs=0.011)
    # No other single change raises the grade further.
    for field, step, words in IMPROVEMENTS:
        other = predictor.predict(_improved(borderline, field, step))
        assert GRADE_RANK[other["predicted_grade"]] <= GRADE_RANK[best["new_grade"]], words


def test_best_improvement_skips_fields_already_at_their_maximum(predictor):
    result = predictor.predict({**STRONG, "quiz_marks": 10.0, "attendance_percentage": 100.0})
    assert result["best_improvement"]["field"] == "assignment_marks"


NAMES = ["semester", "assignment_marks", "quiz_marks", "attendance_percentage", "midterm_marks", "previous_cgpa"]


def test_improvement_rows_follow_the_students_row_each_capped_at_the_fields_maximum():
    student = {**STRONG, "quiz_marks": 9.0}
    rows = with_improvements(student, NAMES)
    assert rows.shape == (1 + len(IMPROVEMENTS), len(NAMES))
    assert rows[0].tolist() == [student[n] for n in NAMES]
    for row, (field, step, _) in zip(rows[1:], IMPROVEMENTS, strict=True):
        expected = {**student, field: min(student[field] + step, FIELDS_BY_NAME[field].high)}
        assert row.tolist() == [expected[n] for n in NAMES], field
    assert rows[1, NAMES.index("quiz_marks")] == 10.0  # 9 + 2, capped at 10


def test_best_improvement_picks_the_change_that_raises_the_grade_most():
    grades = list(GRADES)
    proba = np.zeros((1 + len(IMPROVEMENTS), len(GRADES)))
    for row, grade in enumerate(["C", "B", "A", "B"]):  # the student, then one row per improvement
        proba[row, grades.index(grade)] = 1.0
    marks, known = np.array([20.0, 25.0, 30.0, 26.0]), np.full(4, 30.0)
    best = best_improvement(STRONG, marks, proba, known, "C")
    field, step, words = IMPROVEMENTS[1]
    assert best == {"change": words, "field": field, "step": step, "new_grade": "A",
                    "grade_steps": GRADE_RANK["A"] - GRADE_RANK["C"], "new_predicted_total": 60.0,
                    "next_grade": "C+", "next_grade_total": 55}


def test_weak_signals_of_one_student():
    assert weak_signals(STRONG) == []
    low = {**STRONG, "quiz_marks": 1.0, "assignment_marks": 1.0}
    assert [s["field"] for s in weak_signals(low)] == [f for f in WEAK_SIGNALS if f in ("quiz_marks",
                                                                                       "assignment_marks")]


@pytest.mark.parametrize(("grade", "next_grade", "total"), [("F", "D", 40), ("C", "C+", 55), ("A", "A+", 80),
                                                            ("A+", None, None)])
def test_the_improvement_names_the_next_grade_and_the_total_it_needs(grade, next_grade, total):
    features = {"quiz_marks": 4.0, "assignment_marks": 2.0, "attendance_percentage": 60.0}
    rows = 1 + len(IMPROVEMENTS)
    proba = np.zeros((rows, len(GRADES)))
    proba[:, GRADES.index(grade)] = 1.0  # no change moves the grade
    best = best_improvement(features, np.full(rows, 20.0), proba, np.arange(rows, dtype=float), grade)
    assert best["grade_steps"] == 0
    assert (best["next_grade"], best["next_grade_total"]) == (next_grade, total)
    assert best["new_predicted_total"] == 20.0 + len(IMPROVEMENTS)  # the change that raises the total most
