"""The active models, loaded for serving: from the registry's sidecar file, checked before they are unpickled.

Unpickling runs code, so an artifact is loaded only from inside the configured runs folder and only when
its bytes hash to the sha256 the registry recorded (the sidecar is the registry's copy of both). The fast
path (:mod:`studyrec_lib.serving.fast_path`) is built here too, and used only where it agrees with the models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import NoActiveModel
from studyrec_lib.core.files import file_stamp
from studyrec_lib.core.schema import FIELDS_BY_NAME, GRADES
from studyrec_lib.core.tasks import Task
from studyrec_lib.registry import (
    TASKS,
    RegistryError,
    active_sidecar,
    confirm_sidecar,
    load_verified,
    read_active_sidecar,
)
from studyrec_lib.serving.fast_path import FastModels


@dataclass
class ActiveModels:
    versions: dict[str, str]
    task: Task
    regressor: object
    classifier: object
    classes: np.ndarray
    interval_half_width: float
    interval_level: float
    subjects: frozenset[str]
    fast: FastModels | None
    grade_columns: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        # Where each grade (in grade order) sits among the classifier's columns; -1 if never seen.
        position = {c: i for i, c in enumerate(self.classes)}
        self.grade_columns = np.array([position.get(g, -1) for g in GRADES])

    def score(self, numeric: np.ndarray, subjects: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clipped final marks, the marks already known, and every grade's probability in grade order.

        ``numeric`` holds the task's numeric features in order; numpy rows keep one prediction fast.
        """
        task = self.task
        low, high = task.marks_range
        known = task.known_total(dict(zip(task.numeric_features, numeric.T, strict=True)))
        if self.fast is not None:
            marks, proba = self.fast.predict(numeric, subjects, known)
        else:
            rows = pd.DataFrame(numeric, columns=list(task.numeric_features)).assign(subject=subjects)
            marks = self.regressor.predict(rows[task.features])
            proba = self.classifier.predict_proba(rows[task.features])
        by_grade = np.where(self.grade_columns >= 0, proba[:, np.maximum(self.grade_columns, 0)], 0.0)
        by_grade = by_grade / by_grade.sum(axis=1, keepdims=True)
        return np.clip(marks, low, high), known, by_grade


def active_stamp(settings: Settings) -> tuple[int, int] | None:
    """What changes whenever another version is activated (the sidecar's stamp); None while there is none."""
    try:
        return file_stamp(active_sidecar(settings))
    except FileNotFoundError:
        return None


def _probe(subjects: list[str], task: Task) -> pd.DataFrame:
    """A few rows across every field's range and every known subject, to check the fast path."""
    rng = np.random.default_rng(0)
    rows = []
    for i, subject in enumerate([*subjects, "never-seen-subject"]):
        row = {"subject": subject}
        for name in task.numeric_features:
            spec = FIELDS_BY_NAME[name]
            value = rng.uniform(spec.low, spec.high)
            row[name] = float(round(value)) if spec.integer else value
        row["semester"] = float(1 + i % 12)
        rows.append(row)
    return pd.DataFrame(rows)


def _inside_runs(path: str, settings: Settings, label: str) -> Path:
    """``path`` resolved (links followed) if it lies inside the runs folder; else a RegistryError."""
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(settings.runs_dir.resolve()):
        raise RegistryError(
            f"refusing to load the {label} artifact {path}: it is not inside the runs folder {settings.runs_dir} "
            "(set STUDYREC_RUNS or --runs-dir to the folder the models were trained into).")
    return resolved


def load_active_models(settings: Settings) -> ActiveModels:
    """The active regression and classification models, each checked (runs folder, sha256) before unpickling.

    Raises :class:`NoActiveModel` before the first activation, a ``RegistryError`` for an artifact that
    fails a check.
    """
    active = read_active_sidecar(settings)
    if set(active) != set(TASKS):
        raise NoActiveModel("no trained model is active yet. Run `make run` (or `studyrec pipeline FILE`) first.")
    labels = {task: f"{task} (version {entry['version']})" for task, entry in active.items()}
    paths = {task: _inside_runs(entry["artifact_path"], settings, labels[task]) for task, entry in active.items()}
    confirm_sidecar(active, settings)
    artifacts = {task: load_verified(paths[task], entry["artifact_sha256"], labels[task])
                 for task, entry in active.items()}
    regression, classification = artifacts["regression"], artifacts["classification"]
    task = regression["task"]
    subjects = sorted(set(regression["subjects"]))
    fast = FastModels.build(task, regression["model"], classification["model"], _probe(subjects, task))
    return ActiveModels(
        versions={t: e["version"] for t, e in active.items()}, task=task, regressor=regression["model"],
        classifier=classification["model"], classes=np.asarray(classification["classes"]),
        interval_half_width=float(regression["interval"]["half_width"]),
        interval_level=float(regression["interval"]["level"]), subjects=frozenset(subjects), fast=fast,
    )
