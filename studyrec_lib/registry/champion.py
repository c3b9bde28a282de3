"""Champion against challenger: a new version replaces the active one only if it is not worse on new rows.

Both are scored on the same finished rows the active version (the champion) never trained on: rows whose
(student, semester, subject) was in none of its datasets. The challenger's figure on those rows comes from
its out-of-fold predictions, made by fold models that never saw that student, so neither side has seen the
rows it is scored on. The difference is paired (same rows) and its 95% interval comes from a bootstrap
over students (a student's rows are not independent). The challenger is held back only when the whole
interval lies on the worse side: a difference that sampling noise could produce does not decide.

Too few new rows, or no active version, is no fair comparison: then the quality gate alone decides, and
the summary says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings
from studyrec_lib.core.metric_words import METRICS, metric_words
from studyrec_lib.core.schema import KEY_COLUMNS
from studyrec_lib.registry.artifacts import load_verified
from studyrec_lib.registry.versions import active_versions, registered_version

if TYPE_CHECKING:  # a training result exists only where scikit-learn is loaded; the CLI imports this package
    from studyrec_lib.modeling.training import TrainingResult

MIN_NEW_ROWS = 30
MIN_NEW_STUDENTS = 5  # the bootstrap resamples students: fewer give an interval that means little
RESAMPLES = 2000
LEVEL = 0.95
SEED = 0
METRIC = {"regression": "rmse", "classification": "f1_weighted"}
HIGHER_IS_BETTER = {metric: METRICS[metric].higher_is_better for metric in METRIC.values()}


def _champion_keys(dataset_ids: list[int], settings: Settings | None) -> pd.DataFrame:
    """Every finished (student, semester, subject) of the champion's datasets: what it may have trained on."""
    marks = ", ".join("?" for _ in dataset_ids)
    return warehouse.query_frame(
        f"SELECT DISTINCT {', '.join(KEY_COLUMNS)} FROM student_performance "
        f"WHERE final_marks IS NOT NULL AND dataset_id IN ({marks})", params=list(dataset_ids), settings=settings)


def unseen_rows(frame: pd.DataFrame, champion_keys: pd.DataFrame) -> np.ndarray:
    """Positions of ``frame``'s rows whose key the champion never trained on."""
    keys = frame[list(KEY_COLUMNS)].astype(str)
    seen = pd.MultiIndex.from_frame(champion_keys[list(KEY_COLUMNS)].astype(str))
    return np.flatnonzero(~pd.MultiIndex.from_frame(keys).isin(seen))


def _students_weights(students: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's student index, and bootstrap weights (resample x student) drawn over students."""
    codes, uniques = pd.factorize(students)
    rng = np.random.default_rng(SEED)
    return codes, rng.multinomial(len(uniques), np.full(len(uniques), 1 / len(uniques)), size=RESAMPLES)


def _rmse_draws(truth: np.ndarray, predicted: np.ndarray, codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    squared = np.bincount(codes, weights=(truth - predicted) ** 2, minlength=weights.shape[1])
    counts = np.bincount(codes, minlength=weights.shape[1])
    return np.sqrt((weights @ squared) / (weights @ counts))


def weighted_f1_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """Weighted F1 of confusion matrices (..., true, predicted), as scikit-learn's with zero_division=0."""
    hits = np.diagonal(confusion, axis1=-2, axis2=-1)
    support, predicted = confusion.sum(axis=-1), confusion.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(support + predicted > 0, 2 * hits / (support + predicted), 0.0)
    return (f1 * support).sum(axis=-1) / support.sum(axis=-1)


def _f1_draws(truth: np.ndarray, predicted: np.ndarray, codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    labels = np.unique(np.concatenate([truth, predicted]))
    true_index, predicted_index = np.searchsorted(labels, truth), np.searchsorted(labels, predicted)
    per_student = np.zeros((weights.shape[1], len(labels), len(labels)))
    np.add.at(per_student, (codes, true_index, predicted_index), 1.0)
    return weighted_f1_from_confusion(np.einsum("bs,sij->bij", weights, per_student))


def paired_comparison(metric: str, truth: np.ndarray, champion: np.ndarray, challenger: np.ndarray,
                      students: np.ndarray) -> dict:
    """Both models' figure on the same rows, the difference (challenger - champion) and its bootstrap interval."""
    codes, weights = _students_weights(students)
    draws = _rmse_draws if metric == "rmse" else _f1_draws
    whole = np.ones((1, weights.shape[1]))
    champion_value, challenger_value = (float(draws(truth, p, codes, whole)[0]) for p in (champion, challenger))
    differences = draws(truth, challenger, codes, weights) - draws(truth, champion, codes, weights)
    low, high = np.quantile(differences, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    worse_side = high < 0 if HIGHER_IS_BETTER[metric] else low > 0
    better_side = low > 0 if HIGHER_IS_BETTER[metric] else high < 0
    verdict = "challenger_worse" if worse_side else "challenger_better" if better_side else "within_noise"
    return {"metric": metric, "champion_value": champion_value, "challenger_value": challenger_value,
            "difference": challenger_value - champion_value, "interval": [float(low), float(high)],
            "level": LEVEL, "resamples": RESAMPLES, "verdict": verdict, "activate": verdict != "challenger_worse"}


def _no_fair_comparison(task: str, reason: str, champion: str | None = None) -> dict:
    return {"verdict": "no_fair_comparison", "activate": True, "champion": champion,
            "reason": f"{task}: no fair comparison with the active version ({reason}); the quality gate alone "
                      "decides"}


def _reason(task: str, found: dict) -> str:
    words = metric_words(found["metric"])
    low, high = found["interval"]
    figures = (f"{words} {found['challenger_value']:.3f} against {found['champion_value']:.3f} for active version "
               f"{found['champion']} on {found['rows']} rows of {found['students']} students it never trained on "
               f"(difference {found['difference']:+.3f}, {found['level']:.0%} interval {low:+.3f} to {high:+.3f})")
    if found["verdict"] == "challenger_worse":
        return (f"{task}: the new version is worse than the active one beyond sampling noise, so it is not "
                f"activated: {figures}")
    if found["verdict"] == "challenger_better":
        return f"{task}: the new version is better than the active one: {figures}"
    return f"{task}: the new version is as good as the active one within sampling noise: {figures}"


def _champion_predictions(task: str, artifact: dict, features: pd.DataFrame) -> np.ndarray:
    model = artifact["model"]
    if task == "regression":
        return np.clip(model.predict(features), *artifact["task"].marks_range)
    return np.asarray(artifact["classes"])[np.argmax(model.predict_proba(features), axis=1)]


def _challenger_predictions(task: str, result: TrainingResult, rows: np.ndarray) -> np.ndarray:
    if task == "regression":
        return result.regression.best.out_of_fold[rows]
    return result.classes[np.argmax(result.classification.best.out_of_fold[rows], axis=1)]


def challenge(result: TrainingResult, settings: Settings | None = None) -> dict[str, dict]:
    """Per task, the new version against the active one on rows the active one never trained on.

    Args:
        result: the new training (its chosen models' out-of-fold predictions are the challenger's).
        settings: where the warehouse and the active versions are.

    Returns:
        Per task: verdict (challenger_worse, within_noise, challenger_better or no_fair_comparison), whether
        the gate lets it be activated, the champion's version, both figures, the difference, its interval,
        the rows and students compared, and a sentence saying all that.
    """
    from studyrec_lib.modeling.student_folds import by_student

    task_def = result.task
    outcome = {}
    for task, active in active_versions(settings).items():
        version = active["version"]
        record = registered_version(task, version, settings)
        dataset_ids = record.dataset_ids if record else None
        if dataset_ids is None:
            outcome[task] = _no_fair_comparison(
                task, f"active version {version} does not record the datasets it learned from", version)
            continue
        rows = unseen_rows(result.frame, _champion_keys(dataset_ids, settings))
        students = result.frame[task_def.group_column].astype(str).to_numpy()[rows]
        if len(rows) < MIN_NEW_ROWS or len(np.unique(students)) < MIN_NEW_STUDENTS:
            outcome[task] = _no_fair_comparison(
                task, f"{len(rows)} finished rows of {len(np.unique(students))} students that active version {version} "
                f"never trained on (at least {MIN_NEW_ROWS} rows of {MIN_NEW_STUDENTS} students are needed)",
                version)
            continue
        artifact = load_verified(active["artifact_path"], active["artifact_sha256"], f"active {task} {version}")
        new = result.frame.iloc[rows]
        features = by_student(new, list(artifact["task"].features), task_def.group_column)
        truth = (new[task_def.marks_target].to_numpy(dtype=float) if task == "regression"
                 else new[task_def.grade_target].astype(str).to_numpy())
        found = paired_comparison(METRIC[task], truth, _champion_predictions(task, artifact, features),
                                  _challenger_predictions(task, result, rows), students)
        found.update(champion=version, rows=len(rows), students=len(np.unique(students)))
        found["reason"] = _reason(task, found)
        outcome[task] = found
    for task in ("regression", "classification"):
        outcome.setdefault(task, _no_fair_comparison(task, "no version is active yet"))
    return outcome
