import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import ingest_file
from studyrec_lib.modeling.training import train
from studyrec_lib.modeling.training_data import load_training_examples
from studyrec_lib.registry import champion, registration
from tests.champions import activate_champion

NUMERIC = list(STUDENT_TASK.numeric_features)


def test_a_clearly_worse_challenger_is_held_back_and_a_clearly_better_one_is_not():
    rng = np.random.default_rng(0)
    truth = rng.normal(30, 8, 400)
    students = np.repeat(np.arange(40), 10)
    good, bad = truth + rng.normal(0, 2, 400), truth + rng.normal(0, 6, 400)
    worse = champion.paired_comparison("rmse", truth, good, bad, students)
    assert worse["verdict"] == "challenger_worse" and worse["activate"] is False
    assert worse["difference"] == pytest.approx(worse["challenger_value"] - worse["champion_value"])
    assert worse["interval"][0] > 0
    better = champion.paired_comparison("rmse", truth, bad, good, students)
    assert better["verdict"] == "challenger_better" and better["activate"] is True


def test_a_difference_within_sampling_noise_does_not_hold_the_challenger_back():
    rng = np.random.default_rng(1)
    truth = rng.normal(30, 8, 200)
    students = np.repeat(np.arange(20), 10)
    one, other = truth + rng.normal(0, 4, 200), truth + rng.normal(0, 4, 200)
    found = champion.paired_comparison("rmse", truth, one, other, students)
    assert found["verdict"] == "within_noise" and found["activate"] is True
    assert found["interval"][0] < 0 < found["interval"][1]


def test_the_bootstrap_resamples_students_not_rows():
    """One student's ten rows move together: the interval must be wider than if they were ten students."""
    rng = np.random.default_rng(2)
    truth = np.repeat(rng.normal(30, 8, 30), 10)
    shared_error = np.repeat(rng.normal(0, 4, 30), 10)
    champion_marks, challenger_marks = truth + 1.0, truth + shared_error
    grouped = champion.paired_comparison("rmse", truth, champion_marks, challenger_marks, np.repeat(np.arange(30), 10))
    by_row = champion.paired_comparison("rmse", truth, champion_marks, challenger_marks, np.arange(300))
    assert np.diff(grouped["interval"])[0] > 2 * np.diff(by_row["interval"])[0]


def test_weighted_f1_from_confusion_counts_is_scikit_learns():
    rng = np.random.default_rng(3)
    truth, predicted = rng.choice(list("ABCD"), 300, p=[0.5, 0.3, 0.15, 0.05]), rng.choice(list("ABCE"), 300)
    labels = np.unique(np.concatenate([truth, predicted]))
    confusion = np.zeros((len(labels), len(labels)))
    np.add.at(confusion, (np.searchsorted(labels, truth), np.searchsorted(labels, predicted)), 1)
    assert champion.weighted_f1_from_confusion(confusion) == pytest.approx(
        f1_score(truth, predicted, average="weighted", zero_division=0))


def test_grade_agreement_is_compared_as_weighted_f1():
    rng = np.random.default_rng(4)
    truth = rng.choice(list("ABCF"), 300)
    right = np.where(rng.random(300) < 0.9, truth, "F")
    found = champion.paired_comparison("f1_weighted", truth, right, rng.choice(list("ABCF"), 300),
                                       np.repeat(np.arange(30), 10))
    assert found["champion_value"] == pytest.approx(f1_score(truth, right, average="weighted"))
    assert found["verdict"] == "challenger_worse" and found["interval"][1] < 0


def test_rows_whose_key_the_champion_had_are_not_new():
    frame = pd.DataFrame({"student_id": ["S1", "S1", "S2", "S3"], "semester": [1, 2, 1, 1],
                          "subject": ["Maths", "Maths", "Maths", "Physics"]})
    seen = pd.DataFrame({"student_id": ["S1", "S3"], "semester": [1, 1], "subject": ["Maths", "Maths"]})
    assert champion.unseen_rows(frame, seen).tolist() == [1, 2, 3]


@pytest.fixture(scope="module")
def two_uploads(tmp_path_factory):
    """Dataset 1: 12 students; dataset 2: 12 other students, loaded after the champion was trained."""
    from studyrec_lib.core.config import load_settings

    root = tmp_path_factory.mktemp("champion")
    settings = load_settings(warehouse=root / "warehouse.duckdb", runs_dir=root / "runs")
    first, second = example_data.generate(students=12, seed=1), example_data.generate(students=12, seed=2)
    second["student_id"] = "N" + second["student_id"]
    for number, frame in ((1, first), (2, second)):
        path = example_data.write(frame, root / f"upload{number}.csv")
        ingest_file(path, settings=settings, progress=None)
    data = load_training_examples(settings)
    return settings, data, train(data.frame, n_folds=3), root


def test_a_challenger_worse_on_the_new_rows_is_held_back_with_its_figures(two_uploads):
    """A champion that secretly saw the new rows (1-nearest neighbour) beats any honest challenger there."""
    settings, data, result, root = two_uploads
    version = activate_champion(settings, result, data, root / "memorising", memorising=True, dataset_ids=[1])
    found = champion.challenge(result, settings)
    for task in ("regression", "classification"):
        assert found[task]["verdict"] == "challenger_worse", found[task]
        assert found[task]["activate"] is False
        assert found[task]["champion"] == version
        assert found[task]["rows"] == 12 * 24 and found[task]["students"] == 12
        assert version in found[task]["reason"] and "not activated" in found[task]["reason"]
    assert found["regression"]["champion_value"] == pytest.approx(0.0)


def test_a_challenger_better_on_the_new_rows_is_let_through(two_uploads):
    settings, data, result, root = two_uploads
    frame = data.frame
    activate_champion(settings, result, data, root / "constant", memorising=False, dataset_ids=[1])
    found = champion.challenge(result, settings)
    assert {task: found[task]["verdict"] for task in found} == {"regression": "challenger_better",
                                                                "classification": "challenger_better"}
    new = result.frame["student_id"].str.startswith("N").to_numpy()
    rmse = np.sqrt(np.mean((result.regression.best.out_of_fold[new] - frame["final_marks"][new]) ** 2))
    assert found["regression"]["challenger_value"] == pytest.approx(rmse)


def test_without_new_rows_or_an_active_version_the_gate_alone_decides(two_uploads, tmp_path):
    from studyrec_lib.core.config import load_settings

    settings, data, result, root = two_uploads
    gate = registration.quality_gate(result, champion.challenge(result, load_settings(
        warehouse=tmp_path / "empty.duckdb", runs_dir=tmp_path / "runs")))
    assert gate["regression"]["challenge"]["verdict"] == "no_fair_comparison"
    assert "no version is active yet" in gate["regression"]["challenge"]["reason"]
    version = activate_champion(settings, result, data, root / "all", memorising=False, dataset_ids=[1, 2])
    found = champion.challenge(result, settings)
    assert found["classification"]["verdict"] == "no_fair_comparison" and found["classification"]["activate"]
    assert f"0 finished rows of 0 students that active version {version} never trained on" in (
        found["classification"]["reason"])


def test_an_active_version_that_does_not_record_its_datasets_is_no_fair_comparison(two_uploads, tmp_path):
    settings, data, result, root = two_uploads
    version = activate_champion(settings, result, data, root / "unrecorded", memorising=True, dataset_ids=None)
    found = champion.challenge(result, settings)
    assert found["regression"]["verdict"] == "no_fair_comparison" and found["regression"]["activate"]
    assert f"active version {version} does not record the datasets it learned from" in found["regression"]["reason"]
