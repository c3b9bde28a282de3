import numpy as np
import pandas as pd
import pytest

from studyrec_lib.core.schema import grade_for_total, marks_before_final
from studyrec_lib.core.tasks import STUDENT_TASK, Task
from studyrec_lib.demo import example as example_data
from studyrec_lib.modeling.naive_rules import NaiveGradeClassifier, naive_regressor
from studyrec_lib.modeling.student_folds import by_student
from studyrec_lib.modeling.training import train


def _hand_made() -> pd.DataFrame:
    """Final marks are exactly 1.5 x the midterm, so the scaled midterm is known by hand; totals span every grade."""
    midterm = np.linspace(30.0, 0.0, 19)
    return pd.DataFrame({
        "student_id": [f"S{i}" for i in range(len(midterm))], "semester": 1, "subject": "Mathematics",
        "assignment_marks": midterm / 6, "quiz_marks": midterm / 3, "attendance_percentage": 90.0,
        "previous_cgpa": 3.0, "midterm_marks": midterm, "final_marks": 1.5 * midterm,
    })


def test_the_naive_grade_is_the_grade_of_the_known_marks_plus_the_scaled_midterm():
    frame = _hand_made()
    by_hand = grade_for_total(marks_before_final(frame) + 1.5 * frame["midterm_marks"], STUDENT_TASK.grade_bands)
    grades = STUDENT_TASK.grade_of_marks(frame, frame["final_marks"])
    rule = NaiveGradeClassifier(STUDENT_TASK).fit(frame, grades, marks=frame["final_marks"])
    unseen = frame.assign(midterm_marks=frame["midterm_marks"] - 2.0, final_marks=np.nan)
    np.testing.assert_array_equal(rule.predict(frame), by_hand)
    expected_unseen = grade_for_total(marks_before_final(unseen) + 1.5 * unseen["midterm_marks"],
                                      STUDENT_TASK.grade_bands)
    np.testing.assert_array_equal(rule.predict(unseen), expected_unseen)
    proba = rule.predict_proba(unseen)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(rule.classes_[proba.argmax(axis=1)], expected_unseen)
    assert set(by_hand) == set(STUDENT_TASK.grades)  # a rule that ignored the marks would fail
    assert (expected_unseen != by_hand).any()


def test_the_naive_marks_are_the_midterm_scaled_as_the_training_rows_scale_it():
    frame = _hand_made()
    fitted = naive_regressor(STUDENT_TASK).fit(frame, frame["final_marks"])
    np.testing.assert_allclose(fitted.predict(frame.assign(midterm_marks=10.0)), 15.0, atol=1e-9)


def test_a_grade_no_training_row_had_becomes_the_nearest_known_grade():
    frame = _hand_made()
    grades = STUDENT_TASK.grade_of_marks(frame, frame["final_marks"])
    passing = grades != "F"
    rule = NaiveGradeClassifier(STUDENT_TASK).fit(frame[passing], grades[passing],
                                                  marks=frame["final_marks"][passing])
    assert "F" not in rule.classes_
    lowest_known = rule.classes_[np.argmax([STUDENT_TASK.grades.index(g) for g in rule.classes_])]
    assert set(rule.predict(frame[~passing])) == {lowest_known}


def test_without_an_earlier_mark_the_naive_grade_is_the_most_common_grade():
    task = Task(name="no_midterm", numeric_features=("x",), categorical_features=(), marks_target="final",
                marks_range=(0.0, 20.0), grade_bands=(("pass", 10.0), ("fail", 0.0)),
                known_total=lambda frame: np.zeros(len(frame["x"])))
    frame = pd.DataFrame({"x": range(5)})
    rule = NaiveGradeClassifier(task).fit(frame, np.array(["pass", "fail", "pass", "pass", "fail"]))
    assert list(rule.predict(frame)) == ["pass"] * 5


def test_the_naive_rule_needs_the_marks_it_scales():
    frame = _hand_made()
    with pytest.raises(ValueError, match="marks="):
        NaiveGradeClassifier(STUDENT_TASK).fit(frame, np.array(["A"] * len(frame)))


def _marks_only_cohort(students: int, seed: int) -> pd.DataFrame:
    """The final marks are the scaled midterm plus a little noise: the marks are the whole signal."""
    frame = example_data.generate(students=students, seed=seed)
    rng = np.random.default_rng(seed)
    others = ["assignment_marks", "quiz_marks", "attendance_percentage", "previous_cgpa"]
    frame[others] = frame[others].sample(frac=1.0, random_state=seed).to_numpy()  # unrelated to the outcome
    final = np.clip(np.round(frame["midterm_marks"] * 50 / 30 + rng.normal(0, 1.0, len(frame))), 0, 50)
    frame["final_marks"] = final
    frame["final_grade"] = STUDENT_TASK.grade_of_marks(frame, final)
    return frame


def test_on_a_cohort_where_the_marks_are_the_whole_signal_the_choice_is_as_good_as_the_naive_rule_held_out():
    fitted_on, held_out = _marks_only_cohort(students=14, seed=5), _marks_only_cohort(students=14, seed=6)
    result = train(fitted_on, n_folds=3)
    X = by_student(held_out, STUDENT_TASK.features, STUDENT_TASK.group_column)
    truth = held_out["final_grade"].to_numpy()
    chosen_accuracy = np.mean(result.classification.model.predict(X) == truth)
    rule = NaiveGradeClassifier(STUDENT_TASK).fit(by_student(fitted_on, STUDENT_TASK.features, "student_id"),
                                                  fitted_on["final_grade"], marks=fitted_on["final_marks"])
    naive_accuracy = np.mean(rule.predict(X) == truth)
    assert result.classification.chosen == "naive" or chosen_accuracy >= naive_accuracy
    chosen_rmse = np.sqrt(np.mean((result.regression.model.predict(X) - held_out["final_marks"]) ** 2))
    naive_rmse = np.sqrt(np.mean((result.regression.candidates["naive"].first_fold_model.predict(X)
                                  - held_out["final_marks"]) ** 2))
    assert result.regression.chosen == "naive" or chosen_rmse <= naive_rmse * 1.02
