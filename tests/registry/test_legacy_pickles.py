"""Artifacts and a training state pickled by the code before the stage layout (commit fdfb04f) still load.

The fixtures in ``fixtures/legacy_artifacts`` were made by that commit's ``train`` and ``registration.entries``
on ``generate(students=12, seed=3)`` (3 folds): a ridge regressor, a grade-from-marks classifier, a calibrated
logistic regression (its folds are ``StudentFolds``) and the whole training result that 03_evaluate loads.
Their pickles name the old module paths (``studyrec_lib.tasks``, ``studyrec_lib.train``, ...).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studyrec_lib import registry
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings
from studyrec_lib.evaluation import regression_metrics
from studyrec_lib.serving import Predictor

FIXTURES = Path(__file__).parent.parent / "fixtures" / "legacy_artifacts"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
FEATURES = ["semester", "assignment_marks", "quiz_marks", "attendance_percentage", "midterm_marks",
            "previous_cgpa", "subject"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(name: str) -> object:
    path = FIXTURES / f"{name}.joblib"
    return registry.load_verified(path, _sha256(path), name)


@pytest.fixture
def probe() -> pd.DataFrame:
    return pd.DataFrame(EXPECTED["rows"])[FEATURES]


def test_old_artifacts_predict_what_they_predicted(probe: pd.DataFrame) -> None:
    regression, classification = _load("regression"), _load("classification")
    assert regression["algorithm"] == EXPECTED["regression_algorithm"]
    assert classification["algorithm"] == EXPECTED["classification_algorithm"]
    np.testing.assert_allclose(regression["model"].predict(probe), EXPECTED["predicted_final_marks"])
    np.testing.assert_allclose(classification["model"].predict_proba(probe), EXPECTED["grade_probabilities"])


def test_old_calibrated_classifier_predicts_what_it_predicted(probe: pd.DataFrame) -> None:
    np.testing.assert_allclose(_load("calibrated_classifier").predict_proba(probe),
                               EXPECTED["calibrated_probabilities"])


def test_old_training_state_feeds_the_evaluation() -> None:
    result = _load("training")
    table = regression_metrics(result)
    assert table.loc["model", "chosen model"] == EXPECTED["regression_algorithm"]
    assert table.loc["typical error of the final mark (CV RMSE)", "chosen model"].startswith(
        f"{EXPECTED['cv_rmse']:.3f} ± ")


def test_old_artifacts_serve_predictions_once_activated(settings: Settings, probe: pd.DataFrame) -> None:
    """The prediction service (fast path included) takes old artifacts registered before the move."""
    folder = settings.runs_dir / "old-run" / "artifacts"
    folder.mkdir(parents=True)
    with warehouse.transaction(settings) as con:
        for task in registry.TASKS:
            path = Path(shutil.copy(FIXTURES / f"{task}.joblib", folder))
            con.execute(
                "INSERT INTO model_versions (task, version, algorithm, training_rows, data_sha256, artifact_path, "
                "artifact_sha256, created_at, quality_gate) VALUES (?, '20261101000000', ?, 288, 'x', ?, ?, ?, ?)",
                [task, EXPECTED[f"{task}_algorithm"], str(path), _sha256(path), datetime(2026, 11, 1),
                 json.dumps({"passed": True})])
    registry.activate("20261101000000", settings=settings)
    row = probe.iloc[0].to_dict()
    result = Predictor(settings).predict(row)
    assert result["predicted_final_marks"] == pytest.approx(
        float(np.clip(EXPECTED["predicted_final_marks"][0], 0, 50)), abs=0.01)
    by_class = dict(zip(EXPECTED["classes"], EXPECTED["grade_probabilities"][0], strict=True))
    assert result["grade_probabilities"]["F"] == pytest.approx(by_class.get("F", 0.0), abs=1e-3)


def test_the_old_module_paths_exist_only_while_an_old_pickle_loads() -> None:
    """No code can import ``studyrec_lib.tasks`` and friends: they stand in only inside ``load_verified``."""
    _load("training")
    assert not {"studyrec_lib.tasks", "studyrec_lib.train", "studyrec_lib.grade_from_marks",
                "studyrec_lib.student_folds"} & set(sys.modules)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("studyrec_lib.tasks")
