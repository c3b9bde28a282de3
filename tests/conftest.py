"""Shared fixtures: settings for a throw-away warehouse, a file writer, a small valid cohort, and a fit spy."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.demo.example import generate
from tests.artifacts import load_artifact

MakeFile = Callable[[str, str | bytes], Path]


@pytest.fixture(scope="session", autouse=True)
def entry_point_umask() -> Iterator[None]:
    """The library runs as every entry point runs it: under the configured umask (files 0600, folders 0700)."""
    from studyrec_lib.core.config import configured_umask

    previous = os.umask(configured_umask())
    yield
    os.umask(previous)


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """``free_port()``: an unused loopback port for a server under test to bind."""

    def pick() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    return pick


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A warehouse and runs folder of this test only."""
    return load_settings(warehouse=tmp_path / "warehouse.duckdb", runs_dir=tmp_path / "runs")


@pytest.fixture
def make_file(tmp_path: Path) -> MakeFile:
    """``make_file(name, content)``: write text (as UTF-8, newlines untouched) or bytes into tmp_path."""

    def make(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return make


@pytest.fixture
def good_frame() -> pd.DataFrame:
    """72 valid, finished rows (3 students x 8 semesters x 3 subjects)."""
    return generate(students=3)


@pytest.fixture(scope="session")
def ridge_models() -> tuple[BaseEstimator, BaseEstimator]:
    """The chosen models of a small training: a Ridge marks model and the grade-from-marks classifier."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline

    from studyrec_lib.core.tasks import STUDENT_TASK
    from studyrec_lib.modeling import MarksGradeClassifier, preprocessor

    frame = generate(students=12, seed=1)
    X = frame[STUDENT_TASK.features]
    marks = frame["final_marks"].to_numpy(dtype=float)
    regressor = Pipeline([("features", preprocessor(STUDENT_TASK)), ("model", Ridge())]).fit(X, marks)
    classifier = MarksGradeClassifier(regressor, STUDENT_TASK).fit(X, frame["final_grade"], marks=marks)
    return regressor, classifier


@pytest.fixture(scope="session")
def monitoring_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict]:
    """A warehouse trained once for the monitoring and monitoring-job tests (monitoring/trained_warehouse.py)."""
    from tests.monitoring.trained_warehouse import trained_template

    return trained_template(tmp_path_factory.mktemp("monitor-template"))


@pytest.fixture
def monitored(tmp_path: Path, monitoring_template: tuple[Settings, dict]) -> tuple[Settings, dict]:
    """A copy of the trained monitoring warehouse this test may change, and the versions active in it."""
    from tests.monitoring.trained_warehouse import copy_of

    template, versions = monitoring_template
    return copy_of(template, tmp_path), versions


@pytest.fixture(scope="session")
def trained_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A warehouse with 20 students' results ingested and trained, registered and active models.

    Shared by the prediction, API and app tests; they must not change what is active in it.
    """
    from studyrec_lib import registry
    from studyrec_lib.demo.example import write
    from studyrec_lib.ingest import ingest_file
    from studyrec_lib.modeling.training import train
    from studyrec_lib.modeling.training_data import load_training_examples
    from studyrec_lib.registry.registration import register_training

    root = tmp_path_factory.mktemp("trained")
    settings = load_settings(warehouse=root / "warehouse.duckdb", runs_dir=root / "runs")
    ingest_file(write(generate(students=20, seed=5, open_semesters=1), root / "cohort.csv"), settings=settings,
                progress=None)
    data = load_training_examples(settings)
    summary = register_training(train(data.frame, n_folds=3), data, root / "runs" / "train-1", "train-1", settings)
    registry.activate(summary["versions"]["regression"], "both", reason="trained", settings=settings)
    return settings


@pytest.fixture(scope="session")
def student_with_weak_subjects(trained_settings: Settings) -> str:
    """The student of ``trained_settings`` with the most finished courses under a total of 50."""
    from studyrec_lib.core import warehouse

    frame = warehouse.query_frame(
        """SELECT student_id, count(*) AS n FROM training_examples
           WHERE assignment_marks + 5 * attendance_percentage / 100 + quiz_marks + midterm_marks + final_marks < 50
           GROUP BY student_id ORDER BY n DESC, student_id LIMIT 1""", settings=trained_settings)
    return frame["student_id"].iloc[0]


HOLD_WAREHOUSE = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.readline()"


@pytest.fixture
def hold_warehouse():
    """``with hold_warehouse(path):`` another real process holds the DuckDB file until the block ends."""
    import subprocess
    import sys
    from contextlib import contextmanager

    @contextmanager
    def held(path: Path):
        process = subprocess.Popen([sys.executable, "-c", HOLD_WAREHOUSE, str(path)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout.readline().strip() == "held"
            yield process
        finally:
            process.stdin.close()  # the holder's readline returns: it exits and lets go of the file
            process.wait(timeout=30)

    return held


@pytest.fixture
def copy_of_trained(tmp_path: Path, trained_settings: Settings) -> Settings:
    """An own warehouse whose active models are the trained ones, registered afresh (safe to tamper with)."""
    from studyrec_lib import registry

    artifacts = {task: load_artifact(task, settings=trained_settings)[0] for task in registry.TASKS}
    settings = load_settings(warehouse=tmp_path / "own" / "warehouse.duckdb", runs_dir=tmp_path / "own" / "runs")
    entries = {task: {"artifact": artifact, "algorithm": artifact["algorithm"], "training_rows": 456,
                      "data_sha256": "0" * 64} for task, artifact in artifacts.items()}
    version = registry.register(entries, settings.runs_dir / "run-1" / "artifacts", "run-1", settings)["regression"]
    registry.activate(version, "both", reason="trained", settings=settings)
    return settings


SEEN_ROWS: list[tuple[str, int, np.ndarray]] = []  # (fit | predict, which fit, the index labels it saw)


class _Recording(BaseEstimator):
    """Delegates to ``estimator`` and records the index labels of every fit and of the predictions after it."""

    def __init__(self, estimator: BaseEstimator):
        self.estimator = estimator

    def fit(self, X: pd.DataFrame, y, **params):
        self.fit_number_ = sum(kind == "fit" for kind, _, _ in SEEN_ROWS)
        SEEN_ROWS.append(("fit", self.fit_number_, X.index.to_numpy()))
        self.estimator_ = clone(self.estimator).fit(X, y, **params)
        return self

    def predict(self, X: pd.DataFrame):
        SEEN_ROWS.append(("predict", self.fit_number_, X.index.to_numpy()))
        return self.estimator_.predict(X)


class _RecordingRegressor(RegressorMixin, _Recording):
    pass


class _RecordingClassifier(ClassifierMixin, _Recording):
    def fit(self, X: pd.DataFrame, y, **params):
        super().fit(X, y, **params)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame):
        SEEN_ROWS.append(("predict", self.fit_number_, X.index.to_numpy()))
        return self.estimator_.predict_proba(X)


class Recording:
    """Wraps estimators so every clone logs the index labels it fits and predicts."""

    def __init__(self):
        SEEN_ROWS.clear()
        self.seen = SEEN_ROWS

    @staticmethod
    def wrap(estimator: BaseEstimator) -> BaseEstimator:
        return (_RecordingClassifier if hasattr(estimator, "predict_proba") else _RecordingRegressor)(estimator)

    def fits(self) -> list[np.ndarray]:
        return [labels for kind, _, labels in self.seen if kind == "fit"]

    def fitted_and_predicted(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(rows fitted, rows predicted) of every prediction, by the model that made it."""
        fitted = {number: labels for kind, number, labels in self.seen if kind == "fit"}
        return [(fitted[number], labels) for kind, number, labels in self.seen if kind == "predict"]


@pytest.fixture
def recording() -> Recording:
    return Recording()
