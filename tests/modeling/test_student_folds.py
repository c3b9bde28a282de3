import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, StratifiedKFold

from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo import example as example_data
from studyrec_lib.modeling.student_folds import StudentFolds, by_student


@pytest.fixture(scope="module")
def students():
    frame = example_data.generate(students=20, seed=5)
    return frame, by_student(frame, STUDENT_TASK.features, "student_id")


def test_by_student_indexes_rows_by_a_code_per_student_not_the_id(students):
    frame, X = students
    assert list(X.columns) == STUDENT_TASK.features
    codes = pd.Series(X.index, index=frame.index)
    assert frame.groupby("student_id")["student_id"].size().size == codes.nunique() == 20
    assert (codes.groupby(frame["student_id"]).nunique() == 1).all()  # one code per student, distinct
    assert not set(frame["student_id"].astype(str)) & set(X.index.astype(str))


@pytest.mark.parametrize("stratify", [False, True])
def test_no_student_is_on_both_sides_and_every_row_is_tested_once(students, stratify):
    frame, X = students
    grades = frame["final_grade"].astype(str).to_numpy()
    tested = np.zeros(len(X), dtype=int)
    splits = list(StudentFolds(3, stratify=stratify, shuffle=True, random_state=0).split(X, grades))
    assert len(splits) == 3
    for train_rows, test_rows in splits:
        assert not set(X.index[train_rows]) & set(X.index[test_rows])
        tested[test_rows] += 1
    assert (tested == 1).all()


def test_rows_of_their_own_students_get_ordinary_folds_unchanged(students):
    """One row per student: the same folds as scikit-learn's own, so results elsewhere do not move."""
    frame, X = students
    X = X.reset_index(drop=True)
    grades = frame["final_grade"].astype(str).to_numpy()
    pairs = [(StudentFolds(3, shuffle=True, random_state=4), KFold(3, shuffle=True, random_state=4)),
             (StudentFolds(3, stratify=True), StratifiedKFold(3))]
    for ours, theirs in pairs:
        for (a_train, a_test), (b_train, b_test) in zip(ours.split(X, grades), theirs.split(X, grades), strict=True):
            np.testing.assert_array_equal(a_train, b_train)
            np.testing.assert_array_equal(a_test, b_test)
