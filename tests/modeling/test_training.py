import warnings
from contextlib import nullcontext

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier

from studyrec_lib.core.tasks import STUDENT_TASK, Task
from studyrec_lib.demo import example as example_data
from studyrec_lib.modeling import candidates
from studyrec_lib.modeling import training as train_module
from studyrec_lib.modeling.student_folds import by_student
from studyrec_lib.modeling.training import (
    INTERVAL_LEVEL,
    MIN_TRAINING_ROWS,
    CandidateResult,
    TrainingRefused,
    best_classifier,
    best_regressor,
    calibrated_classifier,
    calibration_method,
    train,
)

REGRESSION_CANDIDATES = {"naive", "ridge", "decision_tree", "hist_gradient_boosting", "random_forest",
                         "gradient_boosting"}
CLASSIFICATION_CANDIDATES = {"naive", "logistic_regression", "decision_tree", "hist_gradient_boosting",
                             "grade_from_marks", "random_forest", "gradient_boosting"}


OLD_SYSTEM_BANDS = (("A+", 80), ("A", 75), ("A-", 70), ("B+", 65), ("B", 60), ("C+", 55), ("C", 50), ("D", 40),
                    ("F", 0))


@pytest.fixture(scope="module")
def frame():
    data = example_data.generate(students=30, seed=3)
    assert len(data) == 720
    return data


@pytest.fixture(scope="module")
def result(frame):
    return train(frame, n_folds=3)


def test_fewer_than_200_rows_are_refused_with_what_to_do():
    small = example_data.generate(students=8, seed=3)  # 192 rows
    assert len(small) < MIN_TRAINING_ROWS == 200
    with pytest.raises(TrainingRefused) as refused:
        train(small, n_folds=3)
    message = str(refused.value)
    assert "only 192 training rows" in message
    assert "at least 200" in message
    assert "studyrec ingest" in message


def test_too_few_students_are_refused():
    # 200+ rows but only 2 students: grouped folds cannot be built.
    few = example_data.generate(students=2, seed=3)
    few = few.loc[few.index.repeat(5)].reset_index(drop=True)
    assert len(few) >= MIN_TRAINING_ROWS
    with pytest.raises(TrainingRefused, match="only 2 students"):
        train(few, n_folds=3)


def test_folds_are_grouped_by_student_and_cover_every_row_once(result):
    students = result.frame["student_id"].to_numpy()
    assert len(result.folds) == 3
    seen = np.concatenate([test for _, test in result.folds])
    assert sorted(seen.tolist()) == list(range(len(result.frame)))
    for train_rows, test_rows in result.folds:
        assert not set(students[train_rows]) & set(students[test_rows])
        assert len(train_rows) + len(test_rows) == len(result.frame)


@pytest.mark.parametrize("backend", ["default", "threading"])
def test_same_data_gives_identical_cv_metrics(frame, result, backend):
    """Also when the fits run in threads instead of processes (the benchmark runs them sequentially)."""
    with parallel_config(backend="threading") if backend == "threading" else nullcontext():
        again = train(frame, n_folds=3)
    for first, second in ((result.regression, again.regression), (result.classification, again.classification)):
        assert first.chosen == second.chosen
        assert set(first.candidates) == set(second.candidates)
        for name, candidate in first.candidates.items():
            assert candidate.fold_scores == second.candidates[name].fold_scores, name
            np.testing.assert_array_equal(candidate.out_of_fold, second.candidates[name].out_of_fold)
    for (train_a, test_a), (train_b, test_b) in zip(result.folds, again.folds, strict=True):
        np.testing.assert_array_equal(train_a, train_b)
        np.testing.assert_array_equal(test_a, test_b)
    assert result.interval == again.interval
    assert result.coherence == again.coherence


def test_every_candidate_is_cross_validated(result):
    rows = len(result.frame)
    marks_model = candidates.regression_candidates(STUDENT_TASK, rows)["ridge"]
    assert set(candidates.regression_candidates(STUDENT_TASK, rows)) == REGRESSION_CANDIDATES
    assert set(candidates.classification_candidates(STUDENT_TASK, rows, marks_model)) == CLASSIFICATION_CANDIDATES
    # train() adds the average of the non-naive candidates, scored from their fold models.
    assert set(result.regression.candidates) == REGRESSION_CANDIDATES | {"average"}
    # A calibrated copy of the chosen model is added when calibration lowers the Brier score.
    method = result.classification.extra["calibration"]["method"]
    assert {name.removesuffix(f"+{method}") for name in result.classification.candidates} == CLASSIFICATION_CANDIDATES
    for candidate in result.regression.candidates.values():
        assert set(candidate.fold_scores) == {"rmse", "mae", "r2"}
        assert all(len(scores) == 3 for scores in candidate.fold_scores.values())
        assert candidate.out_of_fold.shape == (len(result.frame),)
        low, high = STUDENT_TASK.marks_range
        assert candidate.out_of_fold.min() >= low and candidate.out_of_fold.max() <= high
    for candidate in result.classification.candidates.values():
        assert {"f1_weighted", "accuracy", "brier_macro", "log_loss"} <= set(candidate.fold_scores)
        assert candidate.out_of_fold.shape == (len(result.frame), len(result.classes))
        np.testing.assert_allclose(candidate.out_of_fold.sum(axis=1), 1.0)


def test_the_chosen_models_are_the_best_and_beat_naive(result):
    reg, clf = result.regression, result.classification
    assert reg.chosen == best_regressor(reg.candidates)
    assert reg.passes_gate
    assert reg.best.mean("rmse") < reg.candidates["naive"].mean("rmse")
    assert clf.passes_gate
    assert clf.best.mean("f1_weighted") > clf.candidates["naive"].mean("f1_weighted")
    # Chosen by CV weighted F1 among the uncalibrated candidates; calibration only adds a suffix.
    uncalibrated = {name: c for name, c in clf.candidates.items() if "+" not in name}
    assert clf.chosen.split("+")[0] == best_classifier(uncalibrated)
    assert clf.best.mean("brier_macro") < clf.candidates["naive"].mean("brier_macro")
    calibration = clf.extra["calibration"]
    assert calibration["considered"] is True
    assert calibration["method"] == "temperature"  # the example has more than two grades
    assert calibration["applied"] == clf.chosen.endswith("+temperature")
    table = reg.comparison()
    assert table.loc[0, "candidate"] == reg.chosen
    assert bool(table.loc[0, "chosen"])
    assert clf.comparison().loc[0, "f1_weighted_mean"] == pytest.approx(
        max(c.mean("f1_weighted") for c in clf.candidates.values()))


def _scored(**scores: list[float]) -> CandidateResult:
    return CandidateResult("any", dict(scores), np.empty(0), 0.0)


def test_the_regressor_is_chosen_by_rmse_not_mae():
    results = {"steady": _scored(rmse=[2.0, 2.0], mae=[1.6, 1.6]), "spiky": _scored(rmse=[2.1, 2.1], mae=[1.2, 1.2])}
    assert best_regressor(results) == "steady"


def test_the_classifier_is_chosen_by_weighted_f1_then_brier():
    results = {
        "accurate": _scored(f1_weighted=[0.50, 0.50], accuracy=[0.70, 0.70], brier_macro=[0.05, 0.05]),
        "balanced": _scored(f1_weighted=[0.55, 0.55], accuracy=[0.60, 0.60], brier_macro=[0.09, 0.09]),
        "balanced_sure": _scored(f1_weighted=[0.55, 0.55], accuracy=[0.60, 0.60], brier_macro=[0.08, 0.08]),
    }
    assert best_classifier(results) == "balanced_sure"


NOISY_FOLDS = {"naive": [4.2, 4.2, 3.7, 4.4, 4.05], "ridge": [3.95, 4.3, 3.95, 4.2, 4.05],
               "average": [3.9, 4.35, 3.85, 4.25, 4.0]}


def test_the_regressor_with_the_lowest_rmse_is_chosen_even_when_a_simpler_one_is_within_noise():
    within_noise = {name: _scored(rmse=scores) for name, scores in NOISY_FOLDS.items()}
    assert best_regressor(within_noise) == "average"


def test_the_simplest_classifier_within_one_standard_error_of_the_best_is_chosen():
    f1 = {name: [5 - score for score in scores] for name, scores in NOISY_FOLDS.items()}  # higher is better
    results = {name: _scored(f1_weighted=scores, brier_macro=[0.1] * 5) for name, scores in f1.items()}
    results["logistic_regression"] = results.pop("ridge")
    assert best_classifier(results) == "naive"
    del results["naive"]
    assert best_classifier(results) == "logistic_regression"


def test_the_final_models_are_fitted_on_all_rows_and_predict(result):
    X = result.frame[STUDENT_TASK.features]
    marks = result.regression.model.predict(X)
    assert marks.shape == (len(X),)
    proba = result.classification.model.predict_proba(X)
    assert proba.shape == (len(X), len(result.classes))
    np.testing.assert_array_equal(np.asarray(result.classification.model.classes_).astype(str), result.classes)


def test_interval_coverage_is_close_to_its_level(result):
    interval = result.interval
    assert interval["level"] == INTERVAL_LEVEL == 0.9
    assert 0.8 <= interval["coverage"] <= 0.97
    assert len(interval["coverage_by_fold"]) == 3
    assert interval["coverage"] == pytest.approx(np.mean(interval["coverage_by_fold"]))


def test_the_interval_covers_its_level_of_students_it_never_saw(result):
    """Measured on a fresh cohort (100 new students), not on the residuals that defined the half-width."""
    fresh = example_data.generate(students=100, seed=77)
    predicted = np.clip(result.regression.model.predict(fresh[list(STUDENT_TASK.features)]), *STUDENT_TASK.marks_range)
    covered = np.abs(fresh["final_marks"].to_numpy() - predicted) <= result.interval["half_width"]
    assert 0.86 <= covered.mean() <= 0.96  # 0.911 measured; a half-width for 80% covers 0.825
    assert abs(result.interval["coverage"] - covered.mean()) < 0.04  # the cross-validated estimate is honest


def test_grade_and_marks_predictions_cohere(result):
    coherence = result.coherence
    assert set(coherence["by_candidate"]) == set(result.classification.candidates)
    assert coherence["disagreement_rate"] == coherence["by_candidate"][result.classification.chosen]
    # Computed here from the old system's rule (DESIGN.md): total = assignment + 5 x attendance/100 + quiz +
    # midterm + final, graded by its bands; the predicted final read as a mark recorded to 0.1, as the data is.
    frame = result.frame
    assert np.allclose(frame["final_marks"] * 10, np.round(frame["final_marks"] * 10))
    final = np.floor(result.regression.best.out_of_fold * 10 + 0.5) / 10
    totals = (frame["assignment_marks"] + 5 * frame["attendance_percentage"] / 100 + frame["quiz_marks"]
              + frame["midterm_marks"] + final)
    grade_of_total = np.array([next(grade for grade, low in OLD_SYSTEM_BANDS if total >= low) for total in totals])
    for name, candidate in result.classification.candidates.items():
        most_probable = result.classes[np.argmax(candidate.out_of_fold, axis=1)]
        assert coherence["by_candidate"][name] == pytest.approx(np.mean(most_probable != grade_of_total)), name
    assert coherence["by_candidate"]["grade_from_marks"] < 0.1
    assert coherence["by_candidate"]["naive"] > coherence["by_candidate"]["grade_from_marks"]


def test_diagnostics_imbalance_and_baseline(result):
    assert set(result.imbalance["shares"]) == set(result.classes)
    assert sum(result.imbalance["shares"].values()) == pytest.approx(1.0)
    assert result.baseline["rows"] == len(result.frame)
    assert set(result.baseline["numeric"]) == set(STUDENT_TASK.numeric_features)
    assert result.seconds > 0


def test_calibration_is_skipped_when_a_grade_is_too_rare_in_a_fold():
    """Seed 2 puts all but one F of 12 students in one fold: calibration cannot run there."""
    result = train(example_data.generate(students=12, seed=2), n_folds=3)
    calibration = result.classification.extra["calibration"]
    assert calibration["considered"] is False
    assert "students in a fold" in calibration["skipped"]


def test_the_average_is_scored_as_the_mean_of_its_members_fold_predictions(result):
    regression = result.regression.candidates
    members = [name for name in regression if name not in ("naive", "average")]
    assert len(members) == 5
    stacked = np.array([regression[name].out_of_fold for name in members])
    low, high = STUDENT_TASK.marks_range
    inside = (stacked > low).all(axis=0) & (stacked < high).all(axis=0)  # clipping changes nothing there
    assert inside.mean() > 0.9
    np.testing.assert_allclose(regression["average"].out_of_fold[inside], stacked[:, inside].mean(axis=0))
    assert regression["average"].seconds == pytest.approx(sum(regression[name].seconds for name in members), abs=0.05)


def test_a_chosen_average_is_fitted_with_a_first_fold_model_for_evaluation():
    """Marks = a straight line plus steps: the linear and the tree candidates each miss half of it."""
    rng = np.random.default_rng(5)
    frame = example_data.generate(students=30, seed=4)
    midterm = frame["midterm_marks"].to_numpy()
    frame["final_marks"] = np.clip(0.8 * midterm + 6 * (frame["quiz_marks"].to_numpy() > 5)
                                   + rng.normal(0, 3.0, len(frame)), 0, 50)
    trained = train(frame, n_folds=3)
    assert trained.regression.chosen == "average"
    chosen = trained.regression.best
    assert chosen.first_fold_model is not None
    first_test = trained.folds[0][1]
    X = frame[STUDENT_TASK.features]
    np.testing.assert_allclose(np.clip(chosen.first_fold_model.predict(X.iloc[first_test]), 0, 50),
                               chosen.out_of_fold[first_test])
    assert [name for name, _ in trained.regression.model.estimators] == [
        name for name in trained.regression.candidates if name not in ("naive", "average")]


def test_calibration_of_several_grades_keeps_each_rows_predicted_grade():
    """Temperature scaling only rescales confidence; sigmoid stays for two grades (Platt)."""
    frame = example_data.generate(students=60, seed=3)
    X, grades = frame[STUDENT_TASK.features], frame["final_grade"].astype(str).to_numpy()
    classes = np.unique(grades)
    assert len(classes) > 2
    assert calibration_method(np.array(["fail", "pass"])) == "sigmoid"
    tree = candidates.classification_candidates(STUDENT_TASK, len(X), None)["decision_tree"]
    model = calibrated_classifier(tree, classes).fit(X, grades)
    assert model.method == "temperature"
    assert len(model.calibrated_classifiers_) == 1  # the one tree fitted on all rows, and its temperature
    for fold_model in model.calibrated_classifiers_:
        # The tree is fitted on the grades' indices; its columns are the grades it saw.
        calibrated = fold_model.predict_proba(X)[:, fold_model.estimator.classes_]
        uncalibrated = fold_model.estimator.predict_proba(X)
        np.testing.assert_array_equal(calibrated.argmax(axis=1), uncalibrated.argmax(axis=1))
        assert not np.allclose(calibrated, uncalibrated)  # the confidence did change


@pytest.mark.parametrize("grades_of", ["several", "two"])
def test_calibration_folds_keep_each_students_rows_together(recording, grades_of):
    """Temperature (several grades) and sigmoid (two) both cross-validate inside fit, by student."""
    frame = example_data.generate(students=30, seed=3)
    X = by_student(frame, STUDENT_TASK.features, "student_id")
    grades = frame["final_grade"].astype(str).to_numpy()
    if grades_of == "two":
        grades = np.where(np.isin(grades, ["D", "F"]), "at risk", "not at risk")
    tree = candidates.classification_candidates(STUDENT_TASK, len(X), None)["decision_tree"]
    calibrated_classifier(recording.wrap(tree), np.unique(grades)).fit(X, grades)
    pairs = recording.fitted_and_predicted()
    assert len(pairs) == 3
    for fitted, predicted in pairs:
        assert not set(fitted) & set(predicted)


def test_train_indexes_the_rows_it_gives_models_by_student(recording, monkeypatch, frame):
    """So grade-from-marks' residual folds inside every outer fold keep a student's rows together."""
    original = train_module.classification_candidates
    monkeypatch.setattr(train_module, "classification_candidates",
                        lambda task, rows, marks_model: original(task, rows, recording.wrap(marks_model)))
    with parallel_config(backend="sequential"):  # the log is this process's
        train(frame, n_folds=3)
    student_of_code = dict(zip(by_student(frame, STUDENT_TASK.features, "student_id").index, frame["student_id"],
                               strict=True))
    assert len(recording.fits()) >= 3 * 4  # per outer fold: 3 residual folds and the fit on all its rows
    for labels in recording.fits():
        rows_per_student = pd.Series([student_of_code[label] for label in labels]).value_counts()
        assert (rows_per_student == 24).all()  # each label is one student's code, carrying all their rows
    pairs = recording.fitted_and_predicted()
    assert len(pairs) >= 3 * 3
    for fitted, predicted in pairs:
        assert not set(fitted) & set(predicted)


def test_whole_marks_are_graded_as_recorded_marks_in_the_coherence_check(frame):
    whole = frame.copy()
    whole["final_marks"] = np.round(whole["final_marks"])
    whole["final_grade"] = STUDENT_TASK.grade_of_marks(whole, whole["final_marks"].to_numpy())
    result = train(whole, n_folds=3)
    grade_from_marks = result.classification.candidates["grade_from_marks"]
    most_probable = result.classes[np.argmax(grade_from_marks.out_of_fold, axis=1)]
    read_as_continuous = STUDENT_TASK.grade_of_marks(result.frame, result.regression.best.out_of_fold)
    continuous_rate = float(np.mean(most_probable != read_as_continuous))
    rate = result.coherence["by_candidate"]["grade_from_marks"]
    assert rate < 0.1
    assert continuous_rate > rate + 0.01  # 7.4% against 5.4% when measured


def _no_known_marks(frame) -> np.ndarray:
    return np.zeros(len(frame["g1"]))


OTHER_TASK = Task(
    name="other_school", numeric_features=("g1", "absences"), categorical_features=("school",),
    marks_target="g3", marks_range=(0.0, 20.0), grade_bands=(("good", 14.0), ("pass", 10.0), ("fail", 0.0)),
    known_total=_no_known_marks, naive_marks_feature="g1", group_column="pupil", grade_target="band",
)


def test_another_data_sets_task_trains_on_its_own_columns_and_grades():
    rng = np.random.default_rng(5)
    rows = 260
    g1 = rng.integers(4, 21, rows).astype(float)
    absences = rng.poisson(3, rows).astype(float)
    g3 = np.clip(np.round(g1 + 1.5 + rng.normal(0, 1.5, rows) - 0.2 * absences), 0, 20)
    frame = pd.DataFrame({"pupil": np.arange(rows), "g1": g1, "absences": absences,
                          "school": rng.choice(["GP", "MS"], rows), "g3": g3})
    frame["band"] = OTHER_TASK.grade_of_marks(frame, g3)
    other = train(frame, OTHER_TASK, n_folds=3)
    assert other.classes.tolist() == ["fail", "good", "pass"]
    assert set(other.regression.candidates) == REGRESSION_CANDIDATES | {"average"}
    # Each passes its gate: it is the hand rule (marks from g1, and their band) or beats it.
    assert other.regression.passes_gate and other.classification.passes_gate
    X = frame[OTHER_TASK.features]
    assert set(other.classification.model.predict(X)) <= {"fail", "good", "pass"}
    # Out-of-fold marks are clipped to this task's 0-20 range, not the student schema's 0-50.
    ridge = other.regression.candidates["ridge"]
    first_test = other.folds[0][1]
    assert ridge.first_fold_model.predict(X.iloc[first_test]).max() > 20
    assert ridge.out_of_fold.max() == 20
    assert set(other.baseline["numeric"]) == {"g1", "absences"}
    assert set(other.baseline["categorical"]) == {"school"}


@pytest.fixture
def unconverged_logistic(monkeypatch):
    """Few candidates, one of them a logistic regression stopped after one iteration: a real ConvergenceWarning."""
    regression, classification = train_module.regression_candidates, train_module.classification_candidates

    def few_regressors(task, rows):
        every = regression(task, rows)
        return {name: every[name] for name in ("naive", "ridge")}

    def few_classifiers(task, rows, marks_model):
        every = classification(task, rows, marks_model)
        return {"naive": every["naive"], "decision_tree": every["decision_tree"],
                "logistic_regression": every["logistic_regression"].set_params(model__max_iter=1)}

    monkeypatch.setattr(train_module, "regression_candidates", few_regressors)
    monkeypatch.setattr(train_module, "classification_candidates", few_classifiers)


@pytest.mark.parametrize("backend", ["default", "threading"])
def test_a_fit_that_does_not_converge_is_recorded_for_its_candidate(frame, unconverged_logistic, backend):
    filters_before, shown_before = list(warnings.filters), warnings.showwarning
    with parallel_config(backend="threading") if backend == "threading" else nullcontext():
        trained = train(frame, n_folds=3)
    logistic = trained.classification.candidates["logistic_regression"]
    convergence = [text for text in logistic.warnings if text.startswith("ConvergenceWarning: ")]
    assert len(convergence) == 1  # three folds warned alike: recorded once
    assert "failed to converge" in convergence[0] or "iterations" in convergence[0]
    assert trained.classification.candidates["decision_tree"].warnings == []
    assert trained.regression.candidates["ridge"].warnings == []
    assert trained.fit_warnings()["classification"]["logistic_regression"] == logistic.warnings
    assert "regression" not in trained.fit_warnings()
    comparison = trained.classification.comparison().set_index("candidate")
    assert comparison.loc["logistic_regression", "warnings"] == len(logistic.warnings)
    assert comparison.loc["decision_tree", "warnings"] == 0
    assert list(warnings.filters) == filters_before and warnings.showwarning is shown_before  # nothing leaks


@pytest.fixture
def only_candidate(monkeypatch):
    """``only_candidate(name, **params)``: that classifier with those parameters, against a constant naive grade
    (so it is chosen); the naive regressor and ridge for the marks."""
    regression, classification = train_module.regression_candidates, train_module.classification_candidates
    monkeypatch.setattr(train_module, "regression_candidates",
                        lambda task, rows: {name: regression(task, rows)[name] for name in ("naive", "ridge")})

    def choose(name: str, **params) -> None:
        def candidates_(task, rows, marks_model):
            every = classification(task, rows, marks_model)
            return {"naive": DummyClassifier(strategy="most_frequent"), name: every[name].set_params(**params)}

        monkeypatch.setattr(train_module, "classification_candidates", candidates_)

    return choose


def test_calibration_is_applied_to_an_overconfident_model(frame, only_candidate):
    """Boosting run far past what 720 noisy rows support is sure of grades it often gets wrong: a temperature
    helps (measured CV Brier 0.177 -> 0.096)."""
    only_candidate("hist_gradient_boosting", model__max_iter=200, model__learning_rate=0.5, model__min_samples_leaf=2)
    trained = train(frame, n_folds=3).classification
    calibration = trained.extra["calibration"]
    assert calibration["applied"] is True
    assert trained.chosen == "hist_gradient_boosting+temperature"
    assert calibration["brier_after"] < calibration["brier_before"] - 0.02
    assert trained.best.mean("brier_macro") == pytest.approx(calibration["brier_after"])
    assert isinstance(trained.model, CalibratedClassifierCV)


def test_calibration_is_not_applied_to_a_model_that_is_already_right_and_sure(only_candidate):
    """The band is a step function of g1: an unpruned tree predicts every held-out band with probability 1."""
    only_candidate("decision_tree", model__max_depth=None, model__min_samples_leaf=1)
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"pupil": np.arange(300), "g1": rng.integers(0, 21, 300).astype(float),
                          "absences": rng.poisson(3, 300).astype(float), "school": rng.choice(["GP", "MS"], 300)})
    frame["g3"] = frame["g1"]
    frame["band"] = OTHER_TASK.grade_of_marks(frame, frame["g3"].to_numpy())
    trained = train(frame, OTHER_TASK, n_folds=3).classification
    assert trained.candidates["decision_tree"].mean("brier_macro") == 0.0
    assert trained.extra["calibration"]["considered"] is True
    assert trained.extra["calibration"]["applied"] is False
    assert trained.chosen == "decision_tree"
    assert not isinstance(trained.model, CalibratedClassifierCV)


def test_the_hand_rule_passes_the_gate_when_the_selection_keeps_it(frame, monkeypatch):
    regression, classification = train_module.regression_candidates, train_module.classification_candidates
    monkeypatch.setattr(train_module, "regression_candidates",
                        lambda task, rows: {"naive": regression(task, rows)["naive"]})
    monkeypatch.setattr(train_module, "classification_candidates",
                        lambda task, rows, marks_model: {"naive": classification(task, rows, marks_model)["naive"]})
    trained = train(frame.head(240), n_folds=3)
    assert (trained.regression.chosen, trained.classification.chosen) == ("naive", "naive")
    assert trained.regression.passes_gate and trained.classification.passes_gate
    assert trained.classification.extra["calibration"]["considered"] is False


def test_a_grade_classifier_that_learns_from_the_marks_is_recognised_also_when_calibrated(result):
    from studyrec_lib.modeling.naive_rules import NaiveGradeClassifier
    from studyrec_lib.modeling.training import takes_marks

    marks_classifier = candidates.classification_candidates(STUDENT_TASK, 100, result.regression.model)
    assert takes_marks(calibrated_classifier(marks_classifier["grade_from_marks"], result.classes))
    assert takes_marks(NaiveGradeClassifier(STUDENT_TASK))
    assert not takes_marks(DummyClassifier())
    assert not takes_marks(calibrated_classifier(DummyClassifier(), result.classes))
    assert not takes_marks(result.regression.model)
