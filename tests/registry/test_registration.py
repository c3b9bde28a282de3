import copy
import json
import shutil

import numpy as np
import pytest

from studyrec_lib import registry
from studyrec_lib.core import metrics, run_files, warehouse
from studyrec_lib.core.config import load_settings
from studyrec_lib.core.files import file_sha256
from studyrec_lib.core.schema import GRADES
from studyrec_lib.demo import example as example_data
from studyrec_lib.modeling.training import TrainingResult, train
from studyrec_lib.modeling.training_data import TrainingData, content_sha256
from studyrec_lib.registry import RegistryError, registration, versions
from tests.artifacts import load_artifact

ROWS = 288


@pytest.fixture(scope="module")
def trained():
    frame = example_data.generate(students=12, seed=1)
    assert len(frame) == ROWS
    data = TrainingData(frame=frame, dataset_ids=[1, 2], sha256=content_sha256(frame))
    return train(frame, n_folds=3), data


@pytest.fixture(scope="module")
def registered(trained, tmp_path_factory):
    """The trained result registered once into a warehouse of this module."""
    result, data = trained
    root = tmp_path_factory.mktemp("registration")
    module_settings = load_settings(warehouse=root / "warehouse.duckdb", runs_dir=root / "runs")
    run_dir = module_settings.runs_dir / "run-1"
    summary = registration.register_training(result, data, run_dir, "run-1", settings=module_settings)
    return summary, run_dir, module_settings


@pytest.fixture(scope="module")
def entries(trained):
    result, data = trained
    return registration.entries(result, data)


def test_register_training_writes_the_summary_and_the_training_state(trained, registered):
    result, data = trained
    summary, run_dir, module_settings = registered
    on_disk = json.loads((run_dir / "train.json").read_text())
    assert on_disk == json.loads(json.dumps(summary, default=str))
    state = run_dir / "artifacts" / run_files.TRAINING_STATE
    assert state.is_file()
    assert on_disk["training_state"] == str(state)
    with warehouse.connect(module_settings, read_only=True) as con:
        stored = con.execute("SELECT path, sha256, run_id FROM training_states").fetchall()
    assert stored == [(str(state), file_sha256(state), "run-1")]
    assert on_disk["training_rows"] == ROWS
    assert on_disk["dataset_ids"] == [1, 2]
    assert on_disk["data_sha256"] == data.sha256
    assert on_disk["chosen"] == {"regression": result.regression.chosen,
                                 "classification": result.classification.chosen}
    assert set(on_disk["versions"]) == {"regression", "classification"}
    for task, version in on_disk["versions"].items():
        assert (run_dir / "artifacts" / f"{task}-{version}.joblib").is_file()
    assert registration.load_training_summary(run_dir) == on_disk


def test_registered_versions_are_inactive_with_their_metrics(trained, registered):
    result, _ = trained
    summary, _, module_settings = registered
    listed = registry.list_versions(module_settings).set_index("task")
    assert listed.loc["regression", "version"] == summary["versions"]["regression"]
    assert listed.loc["classification", "version"] == summary["versions"]["classification"]
    assert not listed["active"].any()
    assert (listed["run_id"] == "run-1").all()
    assert (listed["training_rows"] == ROWS).all()
    assert listed.loc["regression", "algorithm"] == result.regression.chosen
    assert listed.loc["regression", "cv_rmse"] == pytest.approx(result.regression.best.mean("rmse"))
    assert listed.loc["classification", "cv_f1_weighted"] == pytest.approx(
        result.classification.best.mean("f1_weighted"))
    assert registry.active_versions(module_settings) == {}


def test_every_registry_column_is_stored_as_the_entries_give_it(trained, registered, entries):
    """Read back from the warehouse: a column dropped from the INSERT, or not JSON round-tripped, fails here."""
    summary, _, module_settings = registered
    entries = registration.entries(*trained, summary["quality_gate"])  # as registered: with the challenge
    with warehouse.connect(module_settings, read_only=True) as con:
        stored = con.execute("SELECT * FROM model_versions").fetchdf().set_index("task")
    json_columns = ("hyperparameters", "metrics", "cv_scores", "imbalance", "feature_baseline", "quality_gate",
                    "dataset_ids")
    for task in registry.TASKS:
        row = stored.loc[task]
        assert row["version"] == summary["versions"][task]
        for column in json_columns:
            assert json.loads(row[column]) == json.loads(json.dumps(entries[task][column], default=versions._jsonable))
        assert row["data_sha256"] == entries[task]["data_sha256"]
        assert row["artifact_sha256"] == file_sha256(row["artifact_path"])
    classification = stored.loc["classification"]
    for column in ("confusion_matrix", "classification_report", "brier_per_grade"):
        assert json.loads(classification[column]) == json.loads(
            json.dumps(entries["classification"][column], default=versions._jsonable))
    assert json.loads(classification["confusion_matrix"])["labels"] == list(GRADES)


def test_a_registered_artifact_loads_and_predicts(trained, registered):
    result, _ = trained
    summary, _, module_settings = registered
    X = result.frame[result.task.features].head(5)
    regression, _ = load_artifact("regression", summary["versions"]["regression"], settings=module_settings)
    assert regression["kind"] == "regression"
    np.testing.assert_allclose(regression["model"].predict(X), result.regression.model.predict(X))
    assert sorted(regression["subjects"]) == regression["subjects"]
    assert set(regression["subjects"]) == set(result.frame["subject"])
    classification, _ = load_artifact("classification", summary["versions"]["classification"],
                                               settings=module_settings)
    assert classification["classes"] == result.classes.tolist()
    proba = classification["model"].predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_load_training_state_returns_the_result(trained, registered):
    result, _ = trained
    _, run_dir, module_settings = registered
    loaded = registry.load_training_state(run_dir, module_settings)
    assert isinstance(loaded, TrainingResult)
    assert loaded.regression.chosen == result.regression.chosen
    assert loaded.classification.chosen == result.classification.chosen
    assert loaded.frame.equals(result.frame)
    np.testing.assert_array_equal(loaded.regression.best.out_of_fold, result.regression.best.out_of_fold)


def test_load_training_state_refuses_a_tampered_state(trained, tmp_path, settings):
    result, data = trained
    run_dir = tmp_path / "run-tampered"
    registration.register_training(result, data, run_dir, None, settings=settings)
    state = run_dir / "artifacts" / run_files.TRAINING_STATE
    with state.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(RegistryError, match="does not match the registered") as refused:
        registry.load_training_state(run_dir, settings)
    assert str(state) in str(refused.value)


def test_training_again_into_the_same_run_folder_replaces_its_state(trained, tmp_path, settings):
    """An analyst re-running 02_train's cells keeps the run folder: the newer state is the one that loads."""
    result, data = trained
    run_dir = tmp_path / "run-again"
    first = registration.register_training(result, data, run_dir, "run-again", settings=settings)
    result.seconds = first["seconds"] + 1.0  # other bytes than the first state
    try:
        second = registration.register_training(result, data, run_dir, "run-again", settings=settings)
    finally:
        result.seconds = first["seconds"]
    assert second["versions"] != first["versions"]
    assert registration.load_training_summary(run_dir)["versions"] == second["versions"]
    assert registry.load_training_state(run_dir, settings).seconds == first["seconds"] + 1.0
    with warehouse.connect(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM training_states").fetchone()[0] == 1


def test_load_training_state_refuses_a_state_the_warehouse_never_registered(registered, tmp_path, settings):
    # A genuine state and its summary copied into another run folder: its own train.json cannot vouch for it.
    _, run_dir, module_settings = registered
    copied = tmp_path / "run-copied"
    shutil.copytree(run_dir, copied)
    with pytest.raises(RegistryError, match="no training registered it") as refused:
        registry.load_training_state(copied, module_settings)
    assert str(copied / "artifacts" / run_files.TRAINING_STATE) in str(refused.value)
    with pytest.raises(RegistryError, match="no training registered it"):
        registry.load_training_state(run_dir, settings)  # another warehouse never registered it either


def test_confusion_matrix_is_in_grade_order_and_counts_every_row(trained, entries):
    result, _ = trained
    confusion = entries["classification"]["confusion_matrix"]
    assert confusion["labels"] == [g for g in GRADES if g in set(result.classes)]
    assert confusion["labels"][0] == "A+"  # grade order, not alphabetical
    matrix = np.array(confusion["matrix"])
    assert matrix.shape == (len(confusion["labels"]), len(confusion["labels"]))
    assert matrix.sum() == ROWS
    truth = result.frame["final_grade"].astype(str)
    for label, row in zip(confusion["labels"], matrix, strict=True):
        assert row.sum() == (truth == label).sum()
    predicted = result.classes[np.argmax(result.classification.best.out_of_fold, axis=1)]
    assert np.trace(matrix) == (predicted == truth.to_numpy()).sum()


def test_classification_report_and_brier_per_grade(trained, entries):
    result, _ = trained
    clf = entries["classification"]
    report = clf["classification_report"]
    for label in clf["confusion_matrix"]["labels"]:
        assert {"precision", "recall", "f1-score", "support"} <= set(report[label])
    assert report["weighted avg"]["support"] == ROWS
    truth = result.frame["final_grade"].astype(str).to_numpy()
    brier = clf["brier_per_grade"]
    assert list(brier) == result.classes.tolist()
    expected = metrics.brier_per_class(truth, result.classification.best.out_of_fold, result.classes)
    np.testing.assert_allclose(list(brier.values()), expected)
    assert all(0 <= value <= 1 for value in brier.values())
    assert clf["metrics"]["cv_brier_macro"] == pytest.approx(result.classification.best.mean("brier_macro"))


def test_cv_scores_for_every_candidate(trained, entries):
    result, _ = trained
    for task, task_result, metric in (("regression", result.regression, "rmse"),
                                      ("classification", result.classification, "f1_weighted")):
        scores = entries[task]["cv_scores"]
        assert set(scores) == set(task_result.candidates)
        assert {"naive", "hist_gradient_boosting", "random_forest", "gradient_boosting"} <= set(scores)
        for name, fold_scores in scores.items():
            assert len(fold_scores[metric]) == len(result.folds) == 3
            assert fold_scores == task_result.candidates[name].fold_scores
    assert "ridge" in entries["regression"]["cv_scores"]
    assert {"logistic_regression", "grade_from_marks"} <= set(entries["classification"]["cv_scores"])


def test_quality_gate_passes_when_the_model_beats_naive(trained, entries):
    result, _ = trained
    gate = registration.quality_gate(result)
    assert gate["regression"]["metric"] == "cv_rmse"
    assert gate["regression"]["model"] < gate["regression"]["naive"]
    assert gate["regression"]["passed"] is True
    assert gate["classification"]["metric"] == "cv_f1_weighted"
    assert gate["classification"]["model"] > gate["classification"]["naive"]
    assert gate["classification"]["passed"] is True
    assert entries["regression"]["quality_gate"] == gate["regression"]
    assert entries["classification"]["quality_gate"] == gate["classification"]
    assert entries["regression"]["metrics"]["naive_cv_rmse"] == gate["regression"]["naive"]


def test_entries_record_data_and_regression_metrics(trained, entries):
    result, data = trained
    for task in ("regression", "classification"):
        entry = entries[task]
        assert entry["training_rows"] == ROWS
        assert entry["dataset_ids"] == [1, 2]
        assert entry["data_sha256"] == data.sha256
        assert entry["imbalance"] == result.imbalance
        assert entry["artifact"]["kind"] == task
        assert json.loads(json.dumps(entry["hyperparameters"])) == entry["hyperparameters"]
    reg_metrics = entries["regression"]["metrics"]
    assert reg_metrics["cv_rmse"] == pytest.approx(result.regression.best.mean("rmse"))
    assert reg_metrics["interval_level"] == 0.9
    assert reg_metrics["interval_half_width"] == result.interval["half_width"]
    assert entries["classification"]["metrics"]["grade_marks_disagreement"] == result.coherence["disagreement_rate"]


def test_registered_table_has_one_row_per_task(registered):
    summary, _, _ = registered
    table = registration.registered_table(summary)
    assert table["task"].tolist() == ["regression", "classification"]
    assert table["version"].tolist() == [summary["versions"]["regression"], summary["versions"]["classification"]]
    assert table["metric"].tolist() == ["cv_rmse", "cv_f1_weighted"]
    assert table["passes_gate"].tolist() == [True, True]
    assert (table.loc[0, "model_value"] < table.loc[0, "naive_value"])
    assert (table.loc[1, "model_value"] > table.loc[1, "naive_value"])
    assert table.loc[0, "model"] == summary["chosen"]["regression"]
    assert table["against_active"].tolist() == ["no_fair_comparison"] * 2  # nothing was active
    assert table["may_activate"].tolist() == [True, True]


def test_the_summary_keeps_each_candidates_fit_warnings(trained, settings):
    result, data = trained
    warned = copy.deepcopy(result)
    warned.classification.candidates["logistic_regression"].warnings = ["ConvergenceWarning: lbfgs failed"]
    summary = registration.register_training(warned, data, settings.runs_dir / "run-w", "run-w", settings=settings)
    expected = {"classification": {"logistic_regression": ["ConvergenceWarning: lbfgs failed"]}}
    assert summary["fit_warnings"] == expected
    assert json.loads((settings.runs_dir / "run-w" / "train.json").read_text())["fit_warnings"] == expected
