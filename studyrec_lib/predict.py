"""The one prediction core behind the API, the Voila app and batch scoring.

Active models are loaded once and cached; a new activation (seen through the registry's sidecar file)
is picked up on the next call, without a restart and without touching the DuckDB file. Unpickling runs
code, so an artifact is loaded only from inside the configured runs folder and only when its bytes hash
to the sha256 the registry recorded (the sidecar is the registry's copy of both).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import registry
from .config import Settings, load_settings
from .errors import StudyRecError
from .fast_models import FastModels
from .files import file_stamp
from .inputs import InputError, check_features
from .schema import FIELDS_BY_NAME, GRADES
from .signals import WEAK_SIGNALS
from .study_plan import SIGNAL_COMPONENT, build_plan, read_resources
from .tasks import Task

# Single changes a student can still make before the final exam: (field, step, words).
IMPROVEMENTS = (
    ("quiz_marks", 2.0, "+2 quiz marks"),
    ("assignment_marks", 1.0, "+1 assignment mark"),
    ("attendance_percentage", 10.0, "+10% attendance"),
)
GRADE_RANK = {grade: rank for rank, grade in enumerate(reversed(GRADES))}  # F=0 ... A+=8


class InvalidInput(StudyRecError):
    def __init__(self, errors: list[InputError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.rule}" for e in errors))


class NoActiveModel(StudyRecError):
    """No model has been trained and activated yet."""


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
        raise registry.RegistryError(
            f"refusing to load the {label} artifact {path}: it is not inside the runs folder {settings.runs_dir} "
            "(set STUDYREC_RUNS or --runs-dir to the folder the models were trained into).")
    return resolved


def load_active_models(settings: Settings) -> ActiveModels:
    active = registry.read_active_sidecar(settings)
    if set(active) != set(registry.TASKS):
        raise NoActiveModel("no trained model is active yet. Run `make run` (or `studyrec pipeline FILE`) first.")
    labels = {task: f"{task} (version {entry['version']})" for task, entry in active.items()}
    paths = {task: _inside_runs(entry["artifact_path"], settings, labels[task]) for task, entry in active.items()}
    registry.confirm_sidecar(active, settings)
    artifacts = {task: registry.load_verified(paths[task], entry["artifact_sha256"], labels[task])
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


class Predictor:
    """Thread-safe; reloads the models when the active versions change."""

    def __init__(self, settings: Settings | None = None, resources: list[dict] | None = None):
        self.settings = settings or load_settings()
        self.resources = resources
        self._models: ActiveModels | None = None
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _sidecar_stamp(self) -> tuple[int, int] | None:
        try:
            return file_stamp(registry.active_sidecar(self.settings))
        except FileNotFoundError:
            return None

    def models(self) -> ActiveModels:
        stamp = self._sidecar_stamp()
        if self._models is None or stamp != self._stamp:
            with self._lock:
                if self._models is None or stamp != self._stamp:
                    # The stamp read *before* loading: an activation during the load changes the file
                    # again, so the next call sees a new stamp and loads the new models.
                    self._models = load_active_models(self.settings)
                    self._stamp = stamp
        return self._models

    def _resources(self) -> list[dict]:
        if self.resources is None:
            self.resources = read_resources(self.settings).to_dict("records")
        return self.resources

    def predict(self, payload: dict, weak_subjects: list[dict] | None = None) -> dict:
        """One student's prediction; ``weak_subjects`` only for an identified caller (None otherwise)."""
        features, errors = check_features(payload)
        if errors:
            raise InvalidInput(errors)
        models = self.models()
        names = list(models.task.numeric_features)
        numeric = np.tile(np.array([features[n] for n in names], dtype=float), (1 + len(IMPROVEMENTS), 1))
        for row, (column, step, _) in enumerate(IMPROVEMENTS, start=1):
            index = names.index(column)
            numeric[row, index] = min(numeric[row, index] + step, FIELDS_BY_NAME[column].high)
        marks, known, proba = models.score(numeric, [features["subject"]] * len(numeric))
        grade = GRADES[int(np.argmax(proba[0]))]
        return self._result(models, features, marks, proba, known, grade, weak_subjects)

    def _result(self, models: ActiveModels, features: dict, marks: np.ndarray, proba: np.ndarray,
                known: np.ndarray, grade: str, weak_subjects: list[dict] | None) -> dict:
        half = models.interval_half_width
        low, high = models.task.marks_range
        signals = [{"component": SIGNAL_COMPONENT[column], "field": column, "message": message}
                   for column, (threshold, message) in WEAK_SIGNALS.items() if features[column] < threshold]
        warnings = []
        if features["subject"] not in models.subjects:
            warnings.append(f"subject {features['subject']!r} was not in the training data: the prediction "
                            "ignores the subject and is less reliable.")
        plan = build_plan(self._resources(), features["subject"], [s["component"] for s in signals],
                          [w["subject"] for w in weak_subjects or []])
        return {
            "predicted_final_marks": round(float(marks[0]), 2),
            "interval": {"level": models.interval_level, "low": round(max(low, marks[0] - half), 2),
                         "high": round(min(high, marks[0] + half), 2)},
            "predicted_total": round(float(known[0] + marks[0]), 2),
            "predicted_grade": grade,
            "grade_probabilities": {g: round(float(p), 4) for g, p in zip(GRADES, proba[0], strict=True)},
            "weak_signals": signals,
            "weak_subjects": weak_subjects,
            "study_plan": plan,
            "best_improvement": _best_improvement(features, marks, proba, known, grade),
            "warnings": warnings,
            "model_versions": dict(models.versions),
        }

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Batch scoring: every row gets marks, interval, grade and probabilities, or its input errors."""
        models = self.models()
        checked = [check_features(row, allow_extra=True) for row in frame.to_dict("records")]
        good = [i for i, (_, errors) in enumerate(checked) if not errors]
        out = frame.reset_index(drop=True)  # positions below; the caller's index is put back at the end
        out["errors"] = ["; ".join(f"{e.field}: {e.rule}" for e in errors) for _, errors in checked]
        if good:
            rows = pd.DataFrame([checked[i][0] for i in good])
            numeric = rows[list(models.task.numeric_features)].to_numpy(dtype=float)
            marks, known, proba = models.score(numeric, rows["subject"].tolist())
            low, high = models.task.marks_range
            out.loc[good, "predicted_final_marks"] = marks.round(2)
            out.loc[good, "interval_low"] = np.clip(marks - models.interval_half_width, low, high).round(2)
            out.loc[good, "interval_high"] = np.clip(marks + models.interval_half_width, low, high).round(2)
            out.loc[good, "predicted_total"] = (known + marks).round(2)
            out.loc[good, "predicted_grade"] = np.array(GRADES)[np.argmax(proba, axis=1)]
            for j, g in enumerate(GRADES):
                out.loc[good, f"p_{g}"] = proba[:, j].round(4)
            out.loc[good, "unknown_subject"] = ~rows["subject"].isin(models.subjects).to_numpy()
        out["model_versions"] = f"regression {models.versions['regression']}, " \
                                f"classification {models.versions['classification']}"
        out.index = frame.index
        return out


def _best_improvement(features: dict, marks: np.ndarray, proba: np.ndarray, known: np.ndarray,
                      grade: str) -> dict | None:
    """The single change that raises the most probable grade most (ties: the larger predicted total)."""
    best = None
    for i, (column, step, words) in enumerate(IMPROVEMENTS, start=1):
        if features[column] >= FIELDS_BY_NAME[column].high:
            continue
        new_grade = GRADES[int(np.argmax(proba[i]))]
        key = (GRADE_RANK[new_grade] - GRADE_RANK[grade], known[i] + marks[i])
        if best is None or key > best[0]:
            best = (key, {"change": words, "field": column, "step": step, "new_grade": new_grade,
                          "grade_steps": key[0], "new_predicted_total": round(float(known[i] + marks[i]), 2)})
    return best[1] if best else None
