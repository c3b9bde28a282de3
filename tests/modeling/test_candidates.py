import numpy as np
import pandas as pd
import pytest

from studyrec_lib.core.tasks import Task
from studyrec_lib.modeling import candidates
from studyrec_lib.modeling.naive_rules import naive_regressor

NOISE_FEATURES = tuple(f"noise_{i}" for i in range(8))
TASK = Task(
    name="one_mark_decides", numeric_features=("mark", *NOISE_FEATURES), categorical_features=("subject",),
    marks_target="final", marks_range=(0.0, 20.0), grade_bands=(("pass", 10.0), ("fail", 0.0)),
    known_total=lambda frame: np.zeros(len(frame["mark"])), naive_marks_feature="mark",
)


@pytest.fixture(scope="module")
def data():
    """One earlier mark decides the grade; 10% of grades are flipped; eight features are pure noise."""
    rng = np.random.default_rng(0)
    rows = 2000
    frame = pd.DataFrame({name: rng.normal(size=rows) for name in NOISE_FEATURES})
    frame["mark"] = rng.uniform(0, 20, rows)
    frame["subject"] = rng.choice(["a", "b", "c"], rows)
    passed = (frame["mark"] >= 10) ^ (rng.random(rows) < 0.1)
    frame["final"] = np.clip(frame["mark"] + rng.normal(0, 1, rows), 0, 20)
    return frame[TASK.features], np.where(passed, "pass", "fail"), frame["final"].to_numpy()


def test_the_classification_tree_is_pruned_to_the_split_that_matters(data):
    X, grades, _ = data
    tree = candidates.classification_candidates(TASK, len(X), naive_regressor(TASK))["decision_tree"]
    fitted = tree.fit(X, grades)["model"]
    # Unpruned, minbucket 7 lets it chase the flipped grades through the noise features (dozens of leaves).
    assert fitted.get_n_leaves() <= 4
    used = {name for name, weight in zip(tree["features"].get_feature_names_out(), fitted.feature_importances_,
                                         strict=True) if weight > 0}
    assert used == {"mark"}


def test_the_regression_tree_is_bounded_in_depth(data):
    X, _, marks = data
    tree = candidates.regression_candidates(TASK, len(X))["decision_tree"].fit(X, marks)["model"]
    assert tree.get_depth() <= 4
    assert tree.get_n_leaves() >= 8  # still deep enough to follow the mark


def test_large_data_tries_only_candidates_that_scale():
    rows = candidates.LARGE_DATA_ROWS + 1
    regression = candidates.regression_candidates(TASK, rows)
    classification = candidates.classification_candidates(TASK, rows, naive_regressor(TASK))
    assert "random_forest" not in regression and "gradient_boosting" not in regression
    assert "random_forest" not in classification and "gradient_boosting" not in classification
    assert {"naive", "decision_tree", "hist_gradient_boosting"} <= set(regression) & set(classification)
