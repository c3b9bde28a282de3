"""Active versions made by hand for promotion tests: a champion that memorised rows, or a constant one."""

from __future__ import annotations

from pathlib import Path

from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from studyrec_lib import registry
from studyrec_lib.core import Settings
from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.modeling.training import TrainingResult
from studyrec_lib.modeling.training_data import TrainingData
from studyrec_lib.registry import registration


def _memorising(estimator):
    return make_pipeline(make_column_transformer((StandardScaler(), list(STUDENT_TASK.numeric_features))), estimator)


def activate_champion(settings: Settings, result: TrainingResult, data: TrainingData, folder: Path,
                      memorising: bool, dataset_ids: list[int] | None) -> str:
    """Register and activate a version said to be trained on ``dataset_ids`` only, whose models are either
    1-nearest-neighbour fits of every row of ``data`` (it secretly saw the new rows: no honest challenger
    beats it there) or constants (any real model beats it)."""
    frame = data.frame
    if memorising:
        regressor = _memorising(KNeighborsRegressor(1)).fit(frame, frame["final_marks"])
        classifier = _memorising(KNeighborsClassifier(1)).fit(frame, frame["final_grade"])
    else:
        regressor = DummyRegressor().fit(frame, frame["final_marks"])
        classifier = DummyClassifier().fit(frame, frame["final_grade"])
    made = registration.entries(result, TrainingData(frame=frame, dataset_ids=dataset_ids, sha256=data.sha256))
    made["regression"]["artifact"]["model"] = regressor
    made["classification"]["artifact"].update(model=classifier, classes=classifier.classes_.tolist())
    version = registry.register(made, folder, None, settings)["regression"]
    registry.activate(version, "both", reason="test: champion made by hand", settings=settings)
    return version
