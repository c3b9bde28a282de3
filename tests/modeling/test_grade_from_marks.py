import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import Pipeline

from studyrec_lib.core.schema import GRADES
from studyrec_lib.core.tasks import STUDENT_TASK, Task
from studyrec_lib.demo import example as example_data
from studyrec_lib.modeling.features import preprocessor
from studyrec_lib.modeling.grade_from_marks import MarksGradeClassifier
from studyrec_lib.modeling.student_folds import by_student


def _ridge() -> Pipeline:
    return Pipeline([("features", preprocessor(STUDENT_TASK)), ("model", Ridge(alpha=1.0))])


def _student(marks: float, attendance: float, cgpa: float, subject: str = "Mathematics") -> pd.DataFrame:
    """One row with every mark at the same share of its maximum."""
    return pd.DataFrame([{
        "semester": 4, "assignment_marks": 5 * marks, "quiz_marks": 10 * marks,
        "attendance_percentage": attendance, "midterm_marks": 30 * marks, "previous_cgpa": cgpa,
        "subject": subject,
    }])[STUDENT_TASK.features]


@pytest.fixture(scope="module")
def data():
    frame = example_data.generate(students=12, seed=1)
    return (frame[STUDENT_TASK.features], frame["final_grade"].astype(str).to_numpy(),
            frame["final_marks"].to_numpy(dtype=float))


@pytest.fixture(scope="module")
def fitted(data):
    X, grades, marks = data
    return MarksGradeClassifier(_ridge(), STUDENT_TASK).fit(X, grades, marks=marks)


def test_fit_without_marks_is_refused(data):
    X, grades, _ = data
    with pytest.raises(ValueError, match="needs the marks target"):
        MarksGradeClassifier(_ridge(), STUDENT_TASK).fit(X, grades)


def test_probabilities_sum_to_one_and_follow_classes(data, fitted):
    X, grades, _ = data
    assert fitted.classes_.tolist() == sorted(set(grades))
    assert set(fitted.classes_) == set(GRADES)
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), len(fitted.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba > 0).all()
    np.testing.assert_array_equal(fitted.predict(X), fitted.classes_[np.argmax(proba, axis=1)])
    # The residuals are the sorted out-of-fold residuals of the marks regressor.
    assert len(fitted.residuals_) == len(X)
    assert (np.diff(fitted.residuals_) >= 0).all()


def test_top_marks_give_a_plus_and_zero_marks_give_f(fitted):
    classes = fitted.classes_.tolist()
    top = fitted.predict_proba(_student(1.0, 100, 4.0, subject="English"))[0]
    # classes_ are alphabetical (A, A+, ...): the A+ column is not the first one.
    assert classes.index("A+") == 1
    assert np.argmax(top) == classes.index("A+")
    assert top[classes.index("A+")] > 0.9
    zero = fitted.predict_proba(_student(0.0, 0, 0.0))[0]
    assert np.argmax(zero) == classes.index("F")
    assert zero[classes.index("F")] > 0.99
    assert fitted.predict(_student(0.0, 0, 0.0)).tolist() == ["F"]


def test_better_marks_never_lower_the_chance_of_passing(fitted):
    classes = fitted.classes_.tolist()
    shares = np.linspace(0, 1, 11)
    rows = pd.concat([_student(s, 100 * s, 4 * s) for s in shares], ignore_index=True)
    proba = fitted.predict_proba(rows)
    p_fail = proba[:, classes.index("F")] + proba[:, classes.index("D")]
    assert (np.diff(p_fail) <= 1e-9).all()
    assert p_fail[0] > 0.99 > 0.01 > p_fail[-1]


def test_most_probable_grade_is_the_grade_of_the_predicted_marks(data, fitted):
    X, _, _ = data
    low, high = STUDENT_TASK.marks_range
    predicted_marks = np.clip(fitted.regressor_.predict(X), low, high)
    assert predicted_marks.min() >= low and predicted_marks.max() <= high
    of_marks = STUDENT_TASK.grade_of_marks(X, predicted_marks)
    agreement = np.mean(fitted.predict(X) == of_marks)
    assert agreement >= 0.9


def test_a_grade_missing_from_training_moves_to_the_nearest_present_grade(data):
    """A cohort without any F must still give a failing student the lowest grade it knows, not a guess."""
    X, grades, marks = data
    passed = grades != "F"
    model = MarksGradeClassifier(_ridge(), STUDENT_TASK).fit(X[passed], grades[passed], marks=marks[passed])
    assert "F" not in model.classes_
    zero = _student(0.0, attendance=0, cgpa=0.0)
    assert model.predict(zero)[0] == "D"
    assert model.predict_proba(zero)[0, list(model.classes_).index("D")] > 0.99


def test_grades_given_as_indices_give_the_same_probabilities(data, fitted):
    """Temperature calibration fits the model on the grades' indices, not their names."""
    X, grades, marks = data
    indices = np.searchsorted(fitted.classes_, grades)
    coded = MarksGradeClassifier(_ridge(), STUDENT_TASK).fit(X, indices, marks=marks)
    assert coded.classes_.tolist() == list(range(len(fitted.classes_)))
    np.testing.assert_array_equal(coded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(fitted.classes_[coded.predict(X)], fitted.predict(X))


def test_a_band_goes_to_the_grade_most_of_its_rows_carry(data):
    """One row whose given grade disagrees with its marks does not take its band's probability."""
    X, grades, marks = data
    relabelled = grades.copy()
    band = STUDENT_TASK.grade_of_marks(X, marks)
    row = int(np.flatnonzero(band == "B")[0])
    relabelled[row] = "A+"
    model = MarksGradeClassifier(_ridge(), STUDENT_TASK).fit(X, relabelled, marks=marks)
    matrix = model.band_to_class_
    b_band = STUDENT_TASK.grades.index("B")
    assert matrix[b_band, list(model.classes_).index("B")] == 1.0
    assert matrix.sum(axis=1).tolist() == [1.0] * len(STUDENT_TASK.grades)


def test_residuals_come_from_folds_that_keep_each_students_rows_together(recording):
    """Ungrouped folds would predict a student from their other rows and understate the spread."""
    frame = example_data.generate(students=12, seed=1)
    X = by_student(frame, STUDENT_TASK.features, "student_id")
    MarksGradeClassifier(recording.wrap(_ridge()), STUDENT_TASK, residual_folds=3).fit(
        X, frame["final_grade"].astype(str).to_numpy(), marks=frame["final_marks"].to_numpy())
    assert len(recording.fits()) == 4 and set(recording.fits()[-1]) == set(X.index)  # 3 folds, then all rows
    pairs = recording.fitted_and_predicted()
    assert len(pairs) == 3
    assert sorted(np.concatenate([predicted for _, predicted in pairs])) == sorted(X.index)
    for fitted, predicted in pairs:
        assert not set(fitted) & set(predicted)


PASS_MARK_TASK = Task(
    name="pass_mark", numeric_features=("x",), categorical_features=(), marks_target="marks",
    marks_range=(0.0, 20.0), grade_bands=(("pass", 10.0), ("fail", 0.0)),
    known_total=lambda frame: np.zeros(len(frame["x"])),
)


def _pass_mark_classifier(whole_marks: bool) -> MarksGradeClassifier:
    """Fitted where the marks are x plus a little noise, recorded as whole marks or as they are."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.uniform(0, 20, 600)})
    marks = np.clip(X["x"].to_numpy() + rng.normal(0, 0.3, len(X)), 0, 20)
    if whole_marks:
        marks = np.round(marks)
    grades = PASS_MARK_TASK.grade_of_marks(X, marks)
    return MarksGradeClassifier(LinearRegression(), PASS_MARK_TASK).fit(X, grades, marks=marks)


def test_whole_marks_are_read_as_recorded_marks():
    # 9.7 is recorded as a 10, a pass; as a continuous mark it is below 10, most likely a fail.
    near_the_pass_mark = pd.DataFrame({"x": [9.3, 9.7, 10.3]})
    whole = _pass_mark_classifier(whole_marks=True)
    assert whole.marks_step_ == 1.0
    assert whole.predict(near_the_pass_mark).tolist() == ["fail", "pass", "pass"]
    continuous = _pass_mark_classifier(whole_marks=False)
    assert continuous.marks_step_ == 0.0
    assert continuous.predict(near_the_pass_mark).tolist() == ["fail", "fail", "pass"]


def test_a_classifier_fitted_before_the_grid_was_read_still_predicts_as_it_did():
    old = _pass_mark_classifier(whole_marks=True)
    del old.marks_step_  # an artifact pickled before marks_grid has no such attribute
    assert old.predict(pd.DataFrame({"x": [9.3, 9.7, 10.3]})).tolist() == ["fail", "fail", "pass"]
