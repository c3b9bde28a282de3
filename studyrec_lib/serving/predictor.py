"""The one prediction core behind the API, the Voila app and batch scoring.

Active models are loaded once and cached (:mod:`studyrec_lib.serving.models`); a new activation (seen
through the registry's sidecar file) is picked up on the next call, without a restart and without touching
the DuckDB file. The advice a prediction carries comes from :mod:`studyrec_lib.serving.advice`.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.core.schema import GRADES
from studyrec_lib.serving.advice import best_improvement, study_plan, weak_signals, with_improvements
from studyrec_lib.serving.inputs import InputError, check_features
from studyrec_lib.serving.models import ActiveModels, active_stamp, load_active_models
from studyrec_lib.serving.study_plan import read_resources


class InvalidInput(StudyRecError):
    """The input breaks the schema's rules; ``errors`` lists every rule broken, by field."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.rule}" for e in errors))


class Predictor:
    """Thread-safe; reloads the models when the active versions change."""

    def __init__(self, settings: Settings | None = None, resources: list[dict] | None = None):
        self.settings = settings or load_settings()
        self.resources = resources
        self._models: ActiveModels | None = None
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def models(self) -> ActiveModels:
        stamp = active_stamp(self.settings)
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
        numeric = with_improvements(features, list(models.task.numeric_features))
        marks, known, proba = models.score(numeric, [features["subject"]] * len(numeric))
        grade = GRADES[int(np.argmax(proba[0]))]
        return self._result(models, features, marks, proba, known, grade, weak_subjects)

    def _result(self, models: ActiveModels, features: dict, marks: np.ndarray, proba: np.ndarray,
                known: np.ndarray, grade: str, weak_subjects: list[dict] | None) -> dict:
        half = models.interval_half_width
        low, high = models.task.marks_range
        signals = weak_signals(features)
        warnings = []
        if features["subject"] not in models.subjects:
            warnings.append(f"subject {features['subject']!r} was not in the training data: the prediction "
                            "ignores the subject and is less reliable.")
        return {
            "predicted_final_marks": round(float(marks[0]), 2),
            "interval": {"level": models.interval_level, "low": round(max(low, marks[0] - half), 2),
                         "high": round(min(high, marks[0] + half), 2)},
            "predicted_total": round(float(known[0] + marks[0]), 2),
            "predicted_grade": grade,
            "grade_probabilities": {g: round(float(p), 4) for g, p in zip(GRADES, proba[0], strict=True)},
            "weak_signals": signals,
            "weak_subjects": weak_subjects,
            "study_plan": study_plan(self._resources(), features["subject"], signals, weak_subjects),
            "best_improvement": best_improvement(features, marks, proba, known, grade),
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
