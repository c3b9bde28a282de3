"""Evaluation of a training result from its out-of-fold predictions: the tables and plots of 03_evaluate.

Every figure is out-of-fold (grouped by student), so none of it is measured on rows the model saw. The plot of
the forward-in-time backtest lives here too, beside the other plots (its table is ``backtest.py``'s, which
imports no matplotlib, so the model card pays for none).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.inspection import permutation_importance
from sklearn.metrics import classification_report, confusion_matrix

from studyrec_lib.core import metrics
from studyrec_lib.modeling.training import TaskResult, TrainingResult

RELIABILITY_BINS = 10


def _truth(result: TrainingResult) -> tuple[np.ndarray, np.ndarray]:
    task = result.task
    return (result.frame[task.marks_target].to_numpy(dtype=float),
            result.frame[task.grade_target].astype(str).to_numpy())


def _grade_order(result: TrainingResult) -> list[str]:
    return [g for g in result.task.grades if g in set(result.classes)]


def _predicted_grades(result: TrainingResult) -> np.ndarray:
    return result.classes[np.argmax(result.classification.best.out_of_fold, axis=1)]


def regression_metrics(result: TrainingResult) -> pd.DataFrame:
    """The chosen marks model's out-of-fold scores beside its CV spread and the naive baseline.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        A one-column table (``value``) indexed by metric: RMSE, MAE, R², CV mean and std, naive RMSE, interval.
    """
    marks, _ = _truth(result)
    reg = result.regression
    rows = {
        "model": reg.chosen,
        **{k: round(v, 4) for k, v in metrics.regression_scores(marks, reg.best.out_of_fold).items()},
        "cv_rmse_mean": round(reg.best.mean("rmse"), 4), "cv_rmse_std": round(reg.best.std("rmse"), 4),
        "naive_cv_rmse": round(reg.candidates["naive"].mean("rmse"), 4),
        f"interval_{int(result.interval['level'] * 100)}%_half_width": round(result.interval["half_width"], 3),
        "interval_coverage": round(result.interval["coverage"], 4),
    }
    return pd.DataFrame({"value": list(rows.values())}, index=list(rows))


def classification_metrics(result: TrainingResult) -> pd.DataFrame:
    """The chosen grade model's out-of-fold scores, calibration and agreement with the marks model.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        A one-column table (``value``) indexed by metric.
    """
    _, grades = _truth(result)
    clf = result.classification
    proba = clf.best.out_of_fold
    scores = metrics.classification_scores(grades, proba, result.classes)
    naive = clf.candidates["naive"]
    rows = {
        "model": clf.chosen,
        **{k: round(v, 4) for k, v in scores.items()},
        "ece": round(metrics.expected_calibration_error(grades, proba, result.classes), 4),
        "naive_brier_macro": round(naive.mean("brier_macro"), 4),
        "naive_accuracy": round(naive.mean("accuracy"), 4),
        "grade_vs_marks_disagreement": round(result.coherence["disagreement_rate"], 4),
        "calibration_applied": clf.extra.get("calibration", {}).get("applied"),
    }
    return pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows))


def cv_comparison(task_result: TaskResult) -> pd.DataFrame:
    """Every candidate's CV mean and std, best first.

    Args:
        task_result: ``result.regression`` or ``result.classification``.

    Returns:
        One row per candidate, the chosen one flagged, metrics rounded to 4 places.
    """
    return task_result.comparison().round(4)


def fit_warnings_table(result: TrainingResult) -> pd.DataFrame:
    """What the fits warned about (a ConvergenceWarning means that candidate's figures are suspect).

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        One row per (task, candidate, warning); empty when no fit warned.
    """
    rows = [{"task": kind, "candidate": name, "chosen": name == getattr(result, kind).chosen, "warning": text}
            for kind, candidates in result.fit_warnings().items()
            for name, texts in candidates.items() for text in texts]
    return pd.DataFrame(rows, columns=["task", "candidate", "chosen", "warning"])


def plot_cv_comparison(result: TrainingResult) -> plt.Figure:
    """Bar charts of every candidate's CV score with its fold spread, the chosen one in green.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        The figure (marks left, grade right).
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4))
    for axis, task_result, metric, label in ((left, result.regression, "rmse", "CV RMSE (lower is better)"),
                                             (right, result.classification, "f1_weighted",
                                              "CV weighted F1 (higher is better)")):
        table = task_result.comparison()
        colours = ["tab:green" if chosen else "tab:gray" for chosen in table["chosen"]]
        axis.barh(table["candidate"], table[f"{metric}_mean"], xerr=table[f"{metric}_std"], color=colours)
        axis.set_xlabel(label)
        axis.invert_yaxis()
    left.set_title("Final marks: candidates (chosen in green)")
    right.set_title("Final grade: candidates (chosen in green)")
    figure.tight_layout()
    return figure


def plot_confusion_matrix(result: TrainingResult) -> plt.Figure:
    """The out-of-fold confusion matrix of the chosen grade model, in grade order.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        The heat-map figure.
    """
    _, grades = _truth(result)
    order = _grade_order(result)
    matrix = confusion_matrix(grades, _predicted_grades(result), labels=order)
    figure, axis = plt.subplots(figsize=(7, 6))
    sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", xticklabels=order, yticklabels=order, ax=axis)
    axis.set_xlabel("predicted grade")
    axis.set_ylabel("true grade")
    axis.set_title("Confusion matrix (out-of-fold)")
    return figure


def classification_report_frame(result: TrainingResult) -> pd.DataFrame:
    """Precision, recall and F1 per grade of the chosen grade model (out-of-fold).

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        One row per grade and average.
    """
    _, grades = _truth(result)
    order = _grade_order(result)
    report = classification_report(grades, _predicted_grades(result), labels=order, output_dict=True,
                                   zero_division=0)
    return pd.DataFrame(report).T.round(3)


def brier_per_grade(result: TrainingResult) -> pd.DataFrame:
    """One-vs-rest Brier score per grade of the chosen model beside the naive model's.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        One row per grade present, in grade order.
    """
    _, grades = _truth(result)
    model = metrics.brier_per_class(grades, result.classification.best.out_of_fold, result.classes)
    naive = metrics.brier_per_class(grades, result.classification.candidates["naive"].out_of_fold, result.classes)
    frame = pd.DataFrame({"brier": model, "naive_brier": naive}, index=result.classes).round(4)
    return frame.loc[_grade_order(result)]


def plot_reliability(result: TrainingResult) -> plt.Figure:
    """Top-label reliability: how often the most probable grade was right, by stated confidence.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        The reliability diagram, its ECE in the title.
    """
    _, grades = _truth(result)
    proba = result.classification.best.out_of_fold
    confidence = proba.max(axis=1)
    correct = (result.classes[np.argmax(proba, axis=1)] == grades).astype(float)
    bins = pd.cut(confidence, np.linspace(0, 1, RELIABILITY_BINS + 1), include_lowest=True)
    table = pd.DataFrame({"confidence": confidence, "correct": correct, "bin": bins}).groupby(
        "bin", observed=True).agg(confidence=("confidence", "mean"), accuracy=("correct", "mean"),
                                  rows=("correct", "size"))
    ece = metrics.expected_calibration_error(grades, proba, result.classes)
    figure, axis = plt.subplots(figsize=(6, 5))
    axis.plot([0, 1], [0, 1], linestyle="--", color="gray", label="perfectly calibrated")
    axis.plot(table["confidence"], table["accuracy"], marker="o", label=result.classification.chosen)
    axis.set_xlabel("stated probability of the predicted grade")
    axis.set_ylabel("observed accuracy")
    axis.set_title(f"Reliability diagram (ECE {ece:.3f})")
    axis.legend()
    return figure


def imbalance_table(result: TrainingResult) -> pd.DataFrame:
    """Each grade's share of the training rows and whether it is severely rare (< 5%).

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        One row per grade, in grade order.
    """
    diagnostics = result.imbalance
    shares = pd.Series(diagnostics["shares"]).loc[_grade_order(result)]
    frame = pd.DataFrame({"share": shares.round(4)})
    frame["severe (< 5%)"] = frame["share"] < metrics.SEVERE_IMBALANCE_SHARE
    return frame


def errors_by(result: TrainingResult, column: str) -> pd.DataFrame:
    """Out-of-fold errors per subject or per semester: where the models are weakest.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).
        column: ``subject`` or ``semester`` (any column of the training frame).

    Returns:
        Rows, RMSE, MAE and grade accuracy per value of ``column``.
    """
    marks, grades = _truth(result)
    frame = pd.DataFrame({
        column: result.frame[column].to_numpy(),
        "squared": (result.regression.best.out_of_fold - marks) ** 2,
        "absolute": np.abs(result.regression.best.out_of_fold - marks),
        "grade_correct": _predicted_grades(result) == grades,
    })
    table = frame.groupby(column).agg(rows=("absolute", "size"), rmse=("squared", "mean"),
                                      mae=("absolute", "mean"), grade_accuracy=("grade_correct", "mean"))
    table["rmse"] = np.sqrt(table["rmse"])
    return table.round(3)


def permutation_importance_frame(result: TrainingResult, repeats: int = 5) -> pd.DataFrame:
    """Drop in score when one feature is shuffled, on the first fold's held-out students.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).
        repeats: shuffles per feature.

    Returns:
        One row per feature: RMSE increase (marks) and weighted-F1 drop (grade), most important first.
    """
    _, test = result.folds[0]
    X = result.frame[result.task.features].iloc[test]
    marks, grades = _truth(result)
    columns = {}
    for label, task_result, y, scoring in (
        ("final_marks (RMSE increase)", result.regression, marks[test], "neg_root_mean_squared_error"),
        ("final_grade (weighted F1 drop)", result.classification, grades[test], "f1_weighted"),
    ):
        found = permutation_importance(task_result.best.first_fold_model, X, y, scoring=scoring,
                                       n_repeats=repeats, random_state=0)
        columns[label] = found.importances_mean
    frame = pd.DataFrame(columns, index=result.task.features)
    return frame.sort_values(next(iter(columns)), ascending=False).round(4)


def plot_permutation_importance(importance: pd.DataFrame) -> plt.Figure:
    """Bar charts of the permutation importance table.

    Args:
        importance: what :func:`permutation_importance_frame` returned.

    Returns:
        The figure, one panel per task.
    """
    figure, axes = plt.subplots(1, len(importance.columns), figsize=(12, 4))
    for axis, column in zip(np.atleast_1d(axes), importance.columns, strict=True):
        ordered = importance[column].sort_values()
        axis.barh(ordered.index, ordered.to_numpy(), color="tab:blue")
        axis.set_title(column)
    figure.suptitle("Permutation feature importance (held-out students of fold 1)")
    figure.tight_layout()
    return figure


def interval_coverage(result: TrainingResult) -> pd.DataFrame:
    """How often the prediction interval held the true final marks, fold by fold.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        One row per fold and the mean, beside the target level.
    """
    interval = result.interval
    return pd.DataFrame({
        "fold": [*range(1, len(interval["coverage_by_fold"]) + 1), "mean"],
        "coverage": [*interval["coverage_by_fold"], interval["coverage"]],
        "target": interval["level"],
    }).round(4)


def plot_backtest(backtest: pd.DataFrame) -> plt.Figure:
    """The forward-in-time scores per semester, model beside naive: does the model hold up on the next cohort?

    Args:
        backtest: what :func:`~studyrec_lib.evaluation.backtest.forward_backtest` returned (a skipped
            semester's NaN leaves a gap).

    Returns:
        The figure: RMSE of the final marks left, weighted F1 of the grade right.
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for axis, metric, label in ((left, "rmse", "RMSE of the final marks (lower is better)"),
                                (right, "f1_weighted", "weighted F1 of the grade (higher is better)")):
        axis.plot(backtest["semester"], backtest[f"{metric}_model"], marker="o", label="chosen model")
        axis.plot(backtest["semester"], backtest[f"{metric}_naive"], marker="o", linestyle="--", color="gray",
                  label="naive")
        axis.set_xlabel("semester scored (trained on the semesters before it)")
        axis.set_ylabel(label)
        axis.set_xticks(backtest["semester"])
        axis.legend()
    left.set_title("Final marks")
    right.set_title("Final grade")
    figure.suptitle("Forward in time: trained on earlier semesters, scored on the next")
    figure.tight_layout()
    return figure
