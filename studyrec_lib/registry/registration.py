"""Turn a training result into registry entries: artifacts, metrics, and the quality gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import joblib
import numpy as np
import pandas as pd

from studyrec_lib.core import run_files
from studyrec_lib.core.config import Settings
from studyrec_lib.registry.champion import challenge
from studyrec_lib.registry.training_state import register_training_state, state_path
from studyrec_lib.registry.versions import register

if TYPE_CHECKING:  # a training result exists only where scikit-learn is loaded; the CLI imports this package
    from studyrec_lib.modeling.training import TrainingResult
    from studyrec_lib.modeling.training_data import TrainingData


def quality_gate(result: TrainingResult, challenges: dict[str, dict] | None = None) -> dict[str, dict]:
    """A model that does not beat the hand rule (the naive baseline) in cross-validation is never activated.

    The hand rule itself passes when the selection chose it: it is what a teacher would do anyway. With
    ``challenges`` (:func:`~studyrec_lib.registry.champion.challenge`), each task's gate also carries the
    comparison with the active version, which can hold an activation back.
    """
    reg, clf = result.regression, result.classification
    gate = {
        "regression": {"metric": "cv_rmse", "model": reg.best.mean("rmse"),
                       "naive": reg.candidates["naive"].mean("rmse"), "passed": bool(reg.passes_gate)},
        "classification": {"metric": "cv_f1_weighted", "model": clf.best.mean("f1_weighted"),
                           "naive": clf.candidates["naive"].mean("f1_weighted"), "passed": bool(clf.passes_gate)},
    }
    for task, found in (challenges or {}).items():
        gate[task]["challenge"] = found
    return gate


def _cv_scores(task_result) -> dict:
    return {name: c.fold_scores for name, c in task_result.candidates.items()}


def _subjects(result: TrainingResult) -> list[str]:
    return sorted({str(v) for c in result.task.categorical_features for v in result.frame[c].unique()})


def entries(result: TrainingResult, data: TrainingData, gate: dict[str, dict] | None = None) -> dict[str, dict]:
    """Registry rows (and the artifact to pickle) for both tasks; ``gate`` defaults to the gate without challenge."""
    from sklearn.metrics import classification_report, confusion_matrix

    from studyrec_lib.core import metrics

    reg, clf, task = result.regression, result.classification, result.task
    y = result.frame[task.grade_target].astype(str).to_numpy()
    proba = clf.best.out_of_fold
    predicted = result.classes[np.argmax(proba, axis=1)]
    grade_order = [g for g in task.grades if g in set(result.classes)]
    gate = gate or quality_gate(result)
    common = {"training_rows": len(result.frame), "dataset_ids": data.dataset_ids, "data_sha256": data.sha256,
              "imbalance": result.imbalance, "feature_baseline": result.baseline}
    subjects = _subjects(result)
    reg_metrics = {
        "cv_rmse": reg.best.mean("rmse"), "cv_rmse_std": reg.best.std("rmse"), "cv_mae": reg.best.mean("mae"),
        "cv_r2": reg.best.mean("r2"), "naive_cv_rmse": reg.candidates["naive"].mean("rmse"),
        "interval_level": result.interval["level"], "interval_half_width": result.interval["half_width"],
        "interval_coverage": result.interval["coverage"],
    }
    brier = metrics.brier_per_class(y, proba, result.classes)
    clf_metrics = {
        **{f"cv_{name}": clf.best.mean(name) for name in clf.best.fold_scores},
        "cv_f1_weighted_std": clf.best.std("f1_weighted"),
        "naive_cv_f1_weighted": clf.candidates["naive"].mean("f1_weighted"),
        "naive_cv_brier_macro": clf.candidates["naive"].mean("brier_macro"),
        "ece": metrics.expected_calibration_error(y, proba, result.classes),
        "grade_marks_disagreement": result.coherence["disagreement_rate"],
        "calibration": clf.extra.get("calibration"),
    }
    return {
        "regression": {
            **common, "algorithm": reg.chosen, "hyperparameters": _params(reg.model), "metrics": reg_metrics,
            "cv_scores": _cv_scores(reg), "quality_gate": gate["regression"],
            "artifact": {"kind": "regression", "task": task, "model": reg.model, "algorithm": reg.chosen,
                         "interval": {k: result.interval[k] for k in ("level", "half_width", "coverage")},
                         "subjects": subjects},
        },
        "classification": {
            **common, "algorithm": clf.chosen, "hyperparameters": _params(clf.model), "metrics": clf_metrics,
            "cv_scores": _cv_scores(clf), "quality_gate": gate["classification"],
            "confusion_matrix": {"labels": grade_order,
                                 "matrix": confusion_matrix(y, predicted, labels=grade_order).tolist()},
            "classification_report": classification_report(y, predicted, labels=grade_order, output_dict=True,
                                                           zero_division=0),
            "brier_per_grade": dict(zip(result.classes.tolist(), brier.tolist(), strict=True)),
            "artifact": {"kind": "classification", "task": task, "model": clf.model, "algorithm": clf.chosen,
                         "classes": result.classes.tolist(), "subjects": subjects},
        },
    }


def _params(model) -> dict:
    """Hyper-parameters that fit in JSON (the estimator's own, not nested objects)."""
    params = model.get_params(deep=True)
    return {k: v for k, v in params.items() if isinstance(v, str | int | float | bool | type(None))}


def register_training(result: TrainingResult, data: TrainingData, run_dir: Path, run_id: str | None,
                      settings: Settings | None = None) -> dict:
    """Register both versions (inactive), compared with the active ones, and keep the result for the evaluation.

    Args:
        result: what :func:`~studyrec_lib.modeling.training` returned.
        data: the training examples it learned from (their datasets and content sha256 are recorded).
        run_dir: the run folder: artifacts, the training state and ``train.json`` go there.
        run_id: the run that trained (recorded with the versions).
        settings: where the warehouse is.

    Returns:
        The training summary written to ``train.json``: versions, quality gate, chosen models, data.
    """
    run_dir = Path(run_dir)
    gate = quality_gate(result, challenge(result, settings))  # against the active version, before registering
    versions = register(entries(result, data, gate), run_dir / run_files.ARTIFACTS, run_id, settings)
    state = state_path(run_dir)
    joblib.dump(result, state)
    register_training_state(state, run_id, settings)
    summary = {
        "versions": versions, "quality_gate": gate, "training_rows": len(result.frame),
        "dataset_ids": data.dataset_ids, "data_sha256": data.sha256, "seconds": result.seconds,
        "chosen": {"regression": result.regression.chosen, "classification": result.classification.chosen},
        "training_state": str(state),
        "fit_warnings": result.fit_warnings(),
    }
    (run_dir / run_files.TRAIN_SUMMARY).write_text(json.dumps(summary, indent=2, default=str))
    return summary


def load_training_summary(run_dir: str | Path) -> dict:
    """The training summary a run's 02_train wrote.

    Args:
        run_dir: the run folder.

    Returns:
        The content of ``train.json``: versions, quality gate, chosen models, data.
    """
    return json.loads((Path(run_dir) / run_files.TRAIN_SUMMARY).read_text())


def registered_table(training: dict) -> pd.DataFrame:
    """One row per task: version, chosen model, the gate's figures, and how it compares with the active version.

    Args:
        training: the summary :func:`register_training` returned.

    Returns:
        A table a reviewer reads: task, version, model, metric, its value, the naive value, passes_gate, the
        comparison with the active version (verdict, champion, difference, interval, rows) and whether the
        gate lets it be activated.
    """
    rows = []
    for task, version in training["versions"].items():
        gate = training["quality_gate"][task]
        challenge = gate.get("challenge") or {}
        rows.append({"task": task, "version": version, "model": training["chosen"][task],
                     "metric": gate["metric"], "model_value": round(gate["model"], 4),
                     "naive_value": round(gate["naive"], 4), "passes_gate": gate["passed"],
                     "against_active": challenge.get("verdict"), "active_version": challenge.get("champion"),
                     "difference": _rounded(challenge.get("difference")),
                     "interval": [_rounded(end) for end in challenge["interval"]] if "interval" in challenge else None,
                     "new_rows": challenge.get("rows"),
                     "may_activate": bool(gate["passed"] and challenge.get("activate", True))})
    return pd.DataFrame(rows)


def challenge_sentences(training: dict) -> str:
    """Each task's comparison with the active version in words: why its new version may be activated or not.

    Args:
        training: the summary :func:`register_training` returned.

    Returns:
        A Markdown list, one sentence per task (empty when no comparison was made).
    """
    return "\n".join(f"- {gate['challenge']['reason']}" for gate in training["quality_gate"].values()
                     if gate.get("challenge"))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
