import numpy as np
import pandas as pd

from studyrec_lib.core.tasks import Task
from studyrec_lib.modeling.feature_baseline import effective_rows, feature_baseline


def test_effective_rows_count_a_students_alike_rows_as_one():
    students = pd.Series(np.repeat(np.arange(50), 4))
    alike = np.repeat(np.random.default_rng(0).normal(size=50), 4)  # every row of a student the same
    assert effective_rows(alike, students) == 50
    independent = np.random.default_rng(1).normal(size=200)
    assert 150 < effective_rows(independent, students) <= 200
    assert effective_rows(independent, None) == 200


def test_baseline_bins_are_the_training_deciles_and_subjects_their_shares():
    values = np.random.default_rng(3).exponential(2.0, 1000)  # skewed: equal-width bins would not hold 10% each
    frame = pd.DataFrame({"x": values, "subject": ["Maths"] * 750 + ["Art"] * 250})
    task = Task(name="t", numeric_features=("x",), categorical_features=("subject",), marks_target="m",
                marks_range=(0.0, 1.0), grade_bands=(("pass", 0.5), ("fail", 0.0)),
                known_total=lambda f: np.zeros(len(f["x"])))
    baseline = feature_baseline(frame, task)
    stats = baseline["numeric"]["x"]
    np.testing.assert_allclose(stats["inner_edges"], np.quantile(values, np.linspace(0.1, 0.9, 9)))
    np.testing.assert_allclose(stats["shares"], 0.1, atol=0.002)
    assert stats["effective_rows"] == 1000  # no student column: every row counts
    assert baseline["categorical"]["subject"]["shares"] == {"Maths": 0.75, "Art": 0.25}
    assert baseline["rows"] == 1000
