import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from studyrec_lib import registry
from studyrec_lib.core.schema import FIELDS_BY_NAME, GRADES
from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo.example import generate
from studyrec_lib.modeling.features import preprocessor
from studyrec_lib.modeling.grade_from_marks import MarksGradeClassifier
from studyrec_lib.modeling.training import calibrated_classifier
from studyrec_lib.serving.fast_path import TOLERANCE, AffineRows, FastModels
from studyrec_lib.serving.predictor import Predictor
from tests.artifacts import load_artifact

TASK = STUDENT_TASK
UNSEEN = "Astrology"


def _random_rows(subjects: list[str], n: int, seed: int) -> pd.DataFrame:
    """Rows across every field's range, cycling through ``subjects``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"subject": [subjects[i % len(subjects)] for i in range(n)]})
    for name in TASK.numeric_features:
        spec = FIELDS_BY_NAME[name]
        values = rng.uniform(spec.low, spec.high, n)
        frame[name] = np.round(values) if spec.integer else values
    return frame


def _fast_outputs(fast: FastModels, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    numeric = rows[list(TASK.numeric_features)].to_numpy(dtype=float)
    return fast.predict(numeric, rows["subject"].tolist(), TASK.known_total(rows))


@pytest.fixture(scope="module")
def active(trained_settings):
    regression, _ = load_artifact("regression", settings=trained_settings)
    classification, _ = load_artifact("classification", settings=trained_settings)
    return regression, classification


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return generate(students=4, seed=3)


def _pipe(model) -> Pipeline:
    return Pipeline([("features", preprocessor(TASK)), ("model", model)])


def test_fast_models_of_the_active_models_equal_scikit_learn(active):
    regression, classification = active
    subjects = [*regression["subjects"], UNSEEN]
    assert UNSEEN not in regression["subjects"]
    probe = _random_rows(subjects, 30, seed=0)
    fast = FastModels.build(TASK, regression["model"], classification["model"], probe)
    assert fast is not None
    rows = _random_rows(subjects, 400, seed=123)  # other rows than the probe
    centre, proba = _fast_outputs(fast, rows)
    X = rows[TASK.features]
    np.testing.assert_allclose(centre, regression["model"].predict(X), rtol=0, atol=1e-7)
    np.testing.assert_allclose(proba, classification["model"].predict_proba(X), rtol=0, atol=1e-7)
    assert proba.shape == (len(rows), len(classification["classes"]))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


def test_unseen_subject_scores_like_an_all_zero_one_hot_row(active):
    regression, classification = active
    fast = FastModels.build(TASK, regression["model"], classification["model"],
                            _random_rows([*regression["subjects"], UNSEEN], 20, seed=1))
    rows = _random_rows([UNSEEN], 50, seed=7)
    centre, proba = _fast_outputs(fast, rows)
    np.testing.assert_allclose(centre, regression["model"].predict(rows[TASK.features]), rtol=0, atol=1e-7)
    np.testing.assert_allclose(proba, classification["model"].predict_proba(rows[TASK.features]), rtol=0,
                               atol=1e-7)


def test_affine_rows_fold_a_linear_pipeline(cohort):
    model = _pipe(Ridge(alpha=1.0)).fit(cohort[TASK.features], cohort["final_marks"])
    affine = AffineRows.from_pipeline(model, TASK)
    assert affine is not None
    assert set(affine.subject_weights) == set(cohort["subject"])
    rows = _random_rows([*sorted(set(cohort["subject"])), UNSEEN], 100, seed=5)
    z = affine(rows[list(TASK.numeric_features)].to_numpy(dtype=float), rows["subject"].tolist())
    assert z.shape == (100, 1)
    np.testing.assert_allclose(z[:, 0], model.predict(rows[TASK.features]), rtol=0, atol=1e-7)


def test_fast_logistic_classifier_equals_scikit_learn(cohort):
    regressor = _pipe(LinearRegression()).fit(cohort[TASK.features], cohort["final_marks"])
    classifier = _pipe(LogisticRegression(max_iter=2000)).fit(cohort[TASK.features], cohort["final_grade"])
    subjects = [*sorted(set(cohort["subject"])), UNSEEN]
    fast = FastModels.build(TASK, regressor, classifier, _random_rows(subjects, 20, seed=2))
    assert fast is not None
    assert fast.logits is not None and fast.grade_from_marks is None
    rows = _random_rows(subjects, 200, seed=9)
    centre, proba = _fast_outputs(fast, rows)
    np.testing.assert_allclose(centre, regressor.predict(rows[TASK.features]), rtol=0, atol=1e-7)
    np.testing.assert_allclose(proba, classifier.predict_proba(rows[TASK.features]), rtol=0, atol=1e-7)


def test_fast_grade_from_marks_classifier_equals_scikit_learn(cohort):
    regressor = _pipe(Ridge()).fit(cohort[TASK.features], cohort["final_marks"])
    classifier = MarksGradeClassifier(_pipe(Ridge()), TASK).fit(cohort[TASK.features], cohort["final_grade"],
                                                                marks=cohort["final_marks"].to_numpy())
    subjects = [*sorted(set(cohort["subject"])), UNSEEN]
    fast = FastModels.build(TASK, regressor, classifier, _random_rows(subjects, 20, seed=2))
    assert fast is not None and fast.grade_from_marks is not None
    rows = _random_rows(subjects, 200, seed=10)
    _, proba = _fast_outputs(fast, rows)
    np.testing.assert_allclose(proba, classifier.predict_proba(rows[TASK.features]), rtol=0, atol=1e-7)


@pytest.mark.parametrize("kind", ["grade_from_marks", "logistic_regression"])
def test_fast_temperature_calibrated_classifier_equals_scikit_learn(kind):
    cohort = generate(students=30, seed=4)
    X, grades, marks = cohort[TASK.features], cohort["final_grade"].astype(str).to_numpy(), cohort["final_marks"]
    regressor = _pipe(Ridge()).fit(X, marks)
    base = (MarksGradeClassifier(_pipe(Ridge()), TASK) if kind == "grade_from_marks"
            else _pipe(LogisticRegression(max_iter=2000)))
    classifier = calibrated_classifier(base, np.unique(grades))
    classifier.fit(X, grades, **({"marks": marks.to_numpy()} if kind == "grade_from_marks" else {}))
    subjects = [*sorted(set(cohort["subject"])), UNSEEN]
    fast = FastModels.build(TASK, regressor, classifier, _random_rows(subjects, 20, seed=2))
    assert fast is not None
    assert abs(fast.inverse_temperature - 1.0) > 1e-3  # a real temperature is applied, not skipped
    rows = _random_rows(subjects, 200, seed=11)
    _, proba = _fast_outputs(fast, rows)
    np.testing.assert_allclose(proba, classifier.predict_proba(rows[TASK.features]), rtol=0, atol=1e-7)


def test_a_classifier_calibrated_per_fold_is_not_folded(cohort):
    """Sigmoid calibration keeps one model per fold: no single affine map, so scikit-learn scores it."""
    X, grades, marks = cohort[TASK.features], cohort["final_grade"].astype(str), cohort["final_marks"]
    regressor = _pipe(Ridge()).fit(X, marks)
    classifier = CalibratedClassifierCV(_pipe(LogisticRegression(max_iter=2000)), method="sigmoid", cv=2)
    classifier.fit(X, grades)
    assert FastModels.build(TASK, regressor, classifier, _random_rows(sorted(set(cohort["subject"])), 20, 2)) is None


def test_affine_rows_refuse_what_is_not_a_linear_pipeline(cohort):
    X, y = cohort[TASK.features], cohort["final_marks"]
    forest = _pipe(RandomForestRegressor(n_estimators=5, random_state=0)).fit(X, y)
    assert AffineRows.from_pipeline(forest, TASK) is None
    assert AffineRows.from_pipeline(Ridge().fit(X[list(TASK.numeric_features)], y), TASK) is None  # no Pipeline
    three_steps = Pipeline([("features", preprocessor(TASK)), ("scale", StandardScaler()),
                            ("model", Ridge())]).fit(X, y)
    assert AffineRows.from_pipeline(three_steps, TASK) is None
    dropping = Pipeline([("features", ColumnTransformer([
        ("numeric", StandardScaler(), list(TASK.numeric_features)),
        ("categorical", OneHotEncoder(drop="first", sparse_output=False), ["subject"]),
    ])), ("model", Ridge())]).fit(X, y)
    assert AffineRows.from_pipeline(dropping, TASK) is None


def test_build_returns_none_for_a_random_forest(active, cohort):
    regression, classification = active
    forest_classifier = _pipe(RandomForestClassifier(n_estimators=5, random_state=0)).fit(
        cohort[TASK.features], cohort["final_grade"])
    forest_regressor = _pipe(RandomForestRegressor(n_estimators=5, random_state=0)).fit(
        cohort[TASK.features], cohort["final_marks"])
    probe = _random_rows([*regression["subjects"], UNSEEN], 10, seed=0)
    assert AffineRows.from_pipeline(forest_classifier, TASK) is None
    assert FastModels.build(TASK, regression["model"], forest_classifier, probe) is None
    assert FastModels.build(TASK, forest_regressor, classification["model"], probe) is None


def test_tolerance_is_tight():
    assert TOLERANCE <= 1e-7


def _register_and_activate(settings, regressor, classifier, subjects: list[str]) -> str:
    common = {"training_rows": 96, "data_sha256": "0" * 64}
    entries = {
        "regression": {**common, "algorithm": "random_forest", "artifact": {
            "kind": "regression", "task": TASK, "model": regressor, "algorithm": "random_forest",
            "interval": {"level": 0.9, "half_width": 6.5, "coverage": 0.9}, "subjects": subjects}},
        "classification": {**common, "algorithm": "random_forest", "artifact": {
            "kind": "classification", "task": TASK, "model": classifier, "algorithm": "random_forest",
            "classes": classifier.classes_.tolist(), "subjects": subjects}},
    }
    version = registry.register(entries, settings.runs_dir / "artifacts", "forest-run", settings)["regression"]
    registry.activate(version, "both", reason="manual", settings=settings)
    return version


def test_predictor_falls_back_to_scikit_learn_for_random_forests(settings, cohort):
    X = cohort[TASK.features]
    regressor = _pipe(RandomForestRegressor(n_estimators=10, random_state=0)).fit(X, cohort["final_marks"])
    classifier = _pipe(RandomForestClassifier(n_estimators=10, random_state=0)).fit(X, cohort["final_grade"])
    subjects = sorted(set(cohort["subject"]))
    version = _register_and_activate(settings, regressor, classifier, subjects)
    missing_grades = [g for g in GRADES if g not in set(classifier.classes_)]

    predictor = Predictor(settings)
    models = predictor.models()
    assert models.fast is None
    assert models.versions == {"regression": version, "classification": version}

    payload = {"semester": 4, "subject": subjects[0], "assignment_marks": 3.0, "quiz_marks": 5.5,
               "attendance_percentage": 75.0, "midterm_marks": 16.0, "previous_cgpa": 2.8}
    result = predictor.predict(payload)
    row = pd.DataFrame([payload])[TASK.features]
    expected_marks = float(np.clip(regressor.predict(row)[0], 0, 50))
    assert result["predicted_final_marks"] == pytest.approx(round(expected_marks, 2), abs=1e-9)
    proba = dict(zip(classifier.classes_, classifier.predict_proba(row)[0], strict=True))
    for grade in GRADES:
        assert result["grade_probabilities"][grade] == pytest.approx(round(float(proba.get(grade, 0.0)), 4),
                                                                      abs=1e-9)
    for grade in missing_grades:
        assert result["grade_probabilities"][grade] == 0.0
    assert list(result["grade_probabilities"]) == list(GRADES)
    assert result["model_versions"] == {"regression": version, "classification": version}

    rows = _random_rows([*subjects, UNSEEN], 25, seed=4)
    scored = predictor.predict_frame(rows)
    assert (scored["errors"] == "").all()
    np.testing.assert_allclose(scored["predicted_final_marks"],
                               np.clip(regressor.predict(rows[TASK.features]), 0, 50).round(2), atol=1e-9)
    assert scored["unknown_subject"].tolist() == [s == UNSEEN for s in rows["subject"]]
