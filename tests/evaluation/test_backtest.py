import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

from studyrec_lib.evaluation import backtest as forward
from studyrec_lib.evaluation import tables
from studyrec_lib.modeling.student_folds import by_student
from studyrec_lib.modeling.training import TrainingResult, calibrated_classifier

SEEN: list[tuple[set, set, int]] = []  # (semesters fitted on, semesters predicted, rows predicted)


class _SemesterSpy(BaseEstimator):
    """Records the semesters it was fitted on beside those of every prediction (the frame's index is students')."""

    def fit(self, X: pd.DataFrame, y: np.ndarray):
        self.fitted_ = set(X["semester"])
        return self

    def _seen(self, X: pd.DataFrame) -> int:
        SEEN.append((self.fitted_, set(X["semester"]), len(X)))
        return len(X)


class _RegressorSpy(RegressorMixin, _SemesterSpy):
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.zeros(self._seen(X))


class _ClassifierSpy(ClassifierMixin, _SemesterSpy):
    def fit(self, X: pd.DataFrame, y: np.ndarray):
        self.classes_ = np.unique(y)
        return super().fit(X, y)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.full((self._seen(X), len(self.classes_)), 1 / len(self.classes_))


def _with(result: TrainingResult, frame: pd.DataFrame | None = None, regressor: BaseEstimator | None = None,
          classifier: BaseEstimator | None = None) -> TrainingResult:
    """The result with its rows or chosen models replaced (a copy: the shared result stays as trained)."""
    frame = result.frame if frame is None else frame
    regressor = result.regression.model if regressor is None else regressor
    classifier = result.classification.model if classifier is None else classifier
    return dataclasses.replace(
        result, frame=frame, classes=np.unique(frame[result.task.grade_target].astype(str)),
        regression=dataclasses.replace(result.regression, model=regressor),
        classification=dataclasses.replace(result.classification, model=classifier))


@pytest.fixture
def cheap(result, ridge_models):
    """``cheap(frame)``: the result on ``frame`` with Ridge and grade-from-marks-on-Ridge as its chosen models."""
    regressor, classifier = (clone(model) for model in ridge_models)
    return lambda frame=None: _with(result, frame, regressor, classifier)


def test_every_later_semester_is_a_row_with_its_counts(result, backtest):
    frame = result.frame
    assert list(backtest.columns) == forward.COLUMNS
    assert list(backtest["semester"]) == sorted(frame["semester"].unique())[1:]
    for row in backtest.itertuples():
        assert row.training_rows == (frame["semester"] < row.semester).sum()
        assert row.scored_rows == (frame["semester"] == row.semester).sum()
        assert row.students_scored == frame.loc[frame["semester"] == row.semester, "student_id"].nunique()


def test_semesters_with_too_few_earlier_rows_are_named_with_the_reason(backtest):
    few = backtest["training_rows"] < forward.MIN_EARLIER_ROWS
    assert list(backtest.loc[few, "semester"]) == [2, 3, 4]  # 20 students: 60 rows a semester
    for row in backtest[few].itertuples():
        assert row.note == f"skipped: {row.training_rows} earlier rows, fewer than the 200 training needs"
    assert backtest.loc[few, forward.METRICS].isna().all().all()
    assert (backtest.loc[~few, "note"] == "").all()


def test_the_chosen_models_beat_the_naive_ones_on_every_scored_semester(backtest):
    scored = backtest[backtest["note"] == ""]
    assert len(scored) == 4
    assert scored[forward.METRICS].notna().all().all()
    assert (scored["rmse_model"] < scored["rmse_naive"]).all()
    assert (scored["f1_weighted_model"] > scored["f1_weighted_naive"]).all()
    assert (scored["mae_model"] <= scored["rmse_model"]).all()


def test_no_model_is_fitted_on_the_semester_it_scores_or_a_later_one(result):
    SEEN.clear()
    table = forward.forward_backtest(_with(result, regressor=_RegressorSpy(), classifier=_ClassifierSpy()))
    scored = table.loc[table["note"] == "", ["semester", "scored_rows"]].itertuples(index=False)
    expected = [({semester}, rows) for semester, rows in scored for _ in ("marks", "grade")]
    assert [(predicted, rows) for _, predicted, rows in SEEN] == expected
    assert all(max(fitted) < min(predicted) for fitted, predicted, _ in SEEN)
    assert all(fitted == set(range(1, min(predicted))) for fitted, predicted, _ in SEEN)


@pytest.mark.filterwarnings("ignore:A single label was found")  # every tampered grade is F
def test_later_semesters_change_no_earlier_semester_s_figures(result, cheap):
    absurd = result.frame.copy()
    later = absurd["semester"] >= 7
    absurd.loc[later, "final_marks"] = 50 - absurd.loc[later, "final_marks"]
    absurd.loc[later, "final_grade"] = "F"
    honest, tampered = (forward.forward_backtest(cheap(frame)) for frame in (result.frame, absurd))
    earlier = honest["semester"] < 7
    pd.testing.assert_frame_equal(tampered[earlier], honest[earlier])
    assert (tampered.loc[~earlier, "rmse_model"] > 2 * honest.loc[~earlier, "rmse_model"]).all()


def test_a_grade_the_earlier_semesters_lack_keeps_every_other_grade_in_its_column(result, cheap):
    frame = result.frame.copy()
    frame.loc[(frame["semester"] < 8) & (frame["final_grade"] == "A+"), "final_grade"] = "A"
    assert (frame["final_grade"] == "A+").any()  # so it is still one of the result's grades, second of them
    trained = cheap(frame)
    last = forward.forward_backtest(trained).iloc[-1]
    assert last["semester"] == 8 and last["note"] == ""
    # The model's own predict reads its own grades: the table's accuracy must be the same.
    X, grades = by_student(frame, trained.task.features, "student_id"), frame["final_grade"].to_numpy()
    earlier, scored = (frame["semester"] < 8).to_numpy(), (frame["semester"] == 8).to_numpy()
    model = clone(trained.classification.model).fit(X[earlier], grades[earlier],
                                                    marks=frame["final_marks"].to_numpy()[earlier])
    assert last["accuracy_model"] == pytest.approx(np.mean(model.predict(X[scored]) == grades[scored]))


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("student_id", lambda frame: np.where(frame.index % 2, "S-1", "S-2"), "skipped: 2 earlier students, fewer than 3"),
    ("final_grade", lambda frame: "B", "skipped: the earlier rows have a single grade"),
])
def test_earlier_semesters_too_thin_to_fit_are_skipped_with_the_reason(result, cheap, column, value, reason):
    frame = result.frame.copy()
    first = frame["semester"] <= 4
    frame.loc[first, column] = value(frame[first])
    table = forward.forward_backtest(cheap(frame)).set_index("semester")
    assert table.loc[5, "note"] == reason
    assert table.loc[6, "note"] == ""  # semester 5's 20 students and grades make 6 fit


def test_a_single_semester_has_nothing_to_score(result, cheap):
    table = forward.forward_backtest(cheap(result.frame[result.frame["semester"] == 1]))
    assert table.empty and list(table.columns) == forward.COLUMNS


def test_a_calibrated_classifier_is_refitted_with_the_marks(result, ridge_models):
    _, marks_classifier = ridge_models
    calibrated = calibrated_classifier(clone(marks_classifier), result.classes)
    late = result.frame[result.frame["semester"] >= 4]  # 240 earlier rows for semester 8 only: one fit
    table = forward.forward_backtest(_with(result, late, clone(ridge_models[0]), calibrated))
    assert table.iloc[-1]["note"] == "" and table.iloc[-1]["f1_weighted_model"] > table.iloc[-1]["f1_weighted_naive"]


def test_plot_backtest_draws_model_and_naive_per_task(backtest):
    figure = tables.plot_backtest(backtest)
    left, right = figure.axes
    assert [line.get_label() for line in left.lines] == ["chosen model", "naive"]
    assert list(left.lines[0].get_ydata()) == pytest.approx(list(backtest["rmse_model"]), nan_ok=True)
    assert list(right.lines[1].get_ydata()) == pytest.approx(list(backtest["f1_weighted_naive"]), nan_ok=True)
    assert "semester" in left.get_xlabel() and "RMSE" in left.get_ylabel() and "F1" in right.get_ylabel()
    assert figure.texts[0].get_text().startswith("Forward in time")
