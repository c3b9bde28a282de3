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
from pandas.io.formats.style import Styler
from sklearn.inspection import permutation_importance
from sklearn.metrics import classification_report, confusion_matrix

from studyrec_lib.core import metrics
from studyrec_lib.core.metric_words import metric_words
from studyrec_lib.evaluation.candidates import compared_candidates
from studyrec_lib.ingest.report import full_text
from studyrec_lib.modeling.candidates import NAIVE
from studyrec_lib.modeling.training import CandidateResult, TaskResult, TrainingResult

RELIABILITY_BINS = 10


def _truth(result: TrainingResult) -> tuple[np.ndarray, np.ndarray]:
    task = result.task
    return (result.frame[task.marks_target].to_numpy(dtype=float),
            result.frame[task.grade_target].astype(str).to_numpy())


def _grade_order(result: TrainingResult) -> list[str]:
    return [g for g in result.task.grades if g in set(result.classes)]


def _predicted_grades(result: TrainingResult) -> np.ndarray:
    return result.classes[np.argmax(result.classification.best.out_of_fold, axis=1)]


def _mean_std(candidate: CandidateResult, metric: str) -> str:
    return f"{candidate.mean(metric):.3f} ± {candidate.std(metric):.3f}"


def _model_and_naive(task_result: TaskResult, rows: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """A table of the chosen model beside the naive baseline, one row per measure (in words)."""
    rows = {"model": (task_result.chosen, NAIVE), **rows}
    return pd.DataFrame(rows.values(), index=pd.Index(list(rows), name="measure"),
                        columns=["chosen model", "naive baseline"])


def regression_metrics(result: TrainingResult) -> pd.DataFrame:
    """The chosen marks model's cross-validated figures beside the naive baseline's, in words.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        One row per measure (:func:`~studyrec_lib.core.metric_words.metric_words`: words, technical name in
        brackets), the model's name first; columns ``chosen model`` and ``naive baseline``: CV mean ± std over
        folds (3 decimals), the interval and its coverage for the model alone.
    """
    reg, interval = result.regression, result.interval
    rows = {metric_words(f"cv_{metric}"): (_mean_std(reg.best, metric), _mean_std(reg.candidates[NAIVE], metric))
            for metric in ("rmse", "mae", "r2")}
    rows[metric_words("interval_half_width")] = (f"± {interval['half_width']:.2f} marks", "")
    rows[metric_words("interval_coverage")] = (f"{interval['coverage']:.1%} (target {interval['level']:.0%})", "")
    return _model_and_naive(reg, rows)


def classification_metrics(result: TrainingResult) -> pd.DataFrame:
    """The chosen grade model's cross-validated figures beside the naive baseline's, in words.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        One row per measure in words, the model's name first; columns ``chosen model`` and ``naive baseline``:
        CV mean ± std (3 decimals), the calibration error, how often the grade disagrees with the predicted
        marks, and whether calibration was applied.
    """
    _, grades = _truth(result)
    clf = result.classification
    chosen, naive = clf.best, clf.candidates[NAIVE]
    rows = {metric_words(f"cv_{metric}"): (_mean_std(chosen, metric), _mean_std(naive, metric))
            for metric in chosen.fold_scores}
    rows[metric_words("ece")] = tuple(
        f"{metrics.expected_calibration_error(grades, candidate.out_of_fold, result.classes):.3f}"
        for candidate in (chosen, naive))
    coherence = result.coherence
    rows[metric_words("grade_marks_disagreement")] = (f"{coherence['disagreement_rate']:.1%}",
                                                      f"{coherence['by_candidate'][NAIVE]:.1%}")
    calibration = clf.extra.get("calibration", {})
    done = "applied" if calibration.get("applied") else "not applied" if "brier_before" in calibration else "not tried"
    rows[f"{calibration.get('method', 'no')} calibration (its effect: the summary, the model card)"] = (done, "")
    return _model_and_naive(clf, rows)


def _ranked(task_result: TaskResult) -> list[CandidateResult]:
    """The candidates best first by the selection metric (the chosen one need not be first: one-SE rule)."""
    metric, lower_is_better = task_result.selection_metric, task_result.kind == "regression"
    return sorted(compared_candidates(task_result).values(),
                  key=lambda candidate: candidate.mean(metric) * (1 if lower_is_better else -1))


def cv_comparison(task_result: TaskResult) -> pd.DataFrame:
    """Every candidate once, best first: each metric's CV mean ± std over folds, in words.

    Args:
        task_result: ``result.regression`` or ``result.classification``.

    Returns:
        One row per candidate, indexed by name (a calibrated chosen model replaces the model it calibrated:
        ``candidates.compared_candidates``): ``chosen`` (yes or empty), one column per metric (3 decimals), fit
        seconds and fit warnings.
    """
    rows = {candidate.name: {"chosen": "yes" if candidate.name == task_result.chosen else "",
                             **{metric_words(f"cv_{metric}"): _mean_std(candidate, metric)
                                for metric in candidate.fold_scores},
                             "fit seconds": round(candidate.seconds, 1), "fit warnings": len(candidate.warnings)}
            for candidate in _ranked(task_result)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("candidate")


def fit_warnings_table(result: TrainingResult) -> Styler:
    """What the fits warned about (a ConvergenceWarning means that candidate's figures are suspect).

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        One row per (task, candidate, warning), each warning in full; empty when no fit warned (a Styler; the
        frame is ``.data``).
    """
    rows = [{"task": kind, "candidate": name, "chosen": name == getattr(result, kind).chosen, "warning": text}
            for kind, candidates in result.fit_warnings().items()
            for name, texts in candidates.items() for text in texts]
    return full_text(pd.DataFrame(rows, columns=["task", "candidate", "chosen", "warning"]))


def plot_cv_comparison(result: TrainingResult) -> plt.Figure:
    """Bar charts of every candidate's CV score with its fold spread, the chosen one in green.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        The figure (marks left, grade right), one bar per candidate as in :func:`cv_comparison`.
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4))
    for axis, task_result, title in ((left, result.regression, "Final marks"),
                                     (right, result.classification, "Final grade")):
        metric = task_result.selection_metric
        ranked = _ranked(task_result)
        axis.barh([c.name for c in ranked], [c.mean(metric) for c in ranked], xerr=[c.std(metric) for c in ranked],
                  color=["tab:green" if c.name == task_result.chosen else "tab:gray" for c in ranked])
        axis.set_xlabel(metric_words(f"cv_{metric}", direction=True))
        axis.set_ylabel("candidate")
        axis.set_title(f"{title}: candidates (chosen in green)")
        axis.invert_yaxis()
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
        One row per grade and average (3 decimals; support in rows).
    """
    _, grades = _truth(result)
    order = _grade_order(result)
    report = classification_report(grades, _predicted_grades(result), labels=order, output_dict=True,
                                   zero_division=0)
    return pd.DataFrame(report).T.round(3).astype({"support": int})


def brier_per_grade(result: TrainingResult) -> pd.DataFrame:
    """One-vs-rest Brier score per grade of the chosen model beside the naive model's.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        One row per grade present, in grade order: ``chosen model`` and ``naive baseline`` (3 decimals).
    """
    _, grades = _truth(result)
    model = metrics.brier_per_class(grades, result.classification.best.out_of_fold, result.classes)
    naive = metrics.brier_per_class(grades, result.classification.candidates[NAIVE].out_of_fold, result.classes)
    frame = pd.DataFrame({"chosen model": model, "naive baseline": naive},
                         index=pd.Index(result.classes, name="grade")).round(3)
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
        One row per grade, in grade order: ``share (%)`` (1 decimal) and ``severe (< 5%)``.
    """
    shares = pd.Series(result.imbalance["shares"]).loc[_grade_order(result)]
    return pd.DataFrame({"share (%)": (shares * 100).round(1),
                         "severe (< 5%)": shares < metrics.SEVERE_IMBALANCE_SHARE}).rename_axis("grade")


def errors_by(result: TrainingResult, column: str) -> pd.DataFrame:
    """Out-of-fold errors per subject or per semester: where the models are weakest.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).
        column: ``subject`` or ``semester`` (any column of the training frame).

    Returns:
        Rows, RMSE, MAE and grade accuracy per value of ``column`` (3 decimals), headed in words.
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
    return table.round(3).rename(columns={name: metric_words(name) for name in ("rmse", "mae")}
                                 | {"grade_accuracy": metric_words("accuracy")})


def permutation_importance_frame(result: TrainingResult, repeats: int = 5) -> pd.DataFrame:
    """Drop in score when one feature is shuffled, on the first fold's held-out students.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).
        repeats: shuffles per feature.

    Returns:
        One row per feature: the rise in the marks' typical error (RMSE) and the drop in grade agreement
        (weighted F1), most important first (3 decimals).
    """
    _, test = result.folds[0]
    X = result.frame[result.task.features].iloc[test]
    marks, grades = _truth(result)
    columns = {}
    for label, task_result, y, scoring in (
        (f"final marks: rise in the {metric_words('rmse')}", result.regression, marks[test],
         "neg_root_mean_squared_error"),
        (f"final grade: drop in {metric_words('f1_weighted')}", result.classification, grades[test], "f1_weighted"),
    ):
        found = permutation_importance(task_result.best.first_fold_model, X, y, scoring=scoring,
                                       n_repeats=repeats, random_state=0)
        columns[label] = found.importances_mean
    frame = pd.DataFrame(columns, index=pd.Index(result.task.features, name="feature"))
    return frame.sort_values(next(iter(columns)), ascending=False).round(3)


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
        axis.set_xlabel("change when the feature is shuffled (larger: more important)")
        axis.set_ylabel("feature")
    figure.suptitle("Permutation feature importance (held-out students of fold 1)")
    figure.tight_layout()
    return figure


def interval_coverage(result: TrainingResult) -> pd.DataFrame:
    """How often the prediction interval held the true final marks, fold by fold.

    Args:
        result: the training result (out-of-fold predictions of every candidate, grouped by student).

    Returns:
        One row per fold and the mean: ``coverage (%)`` beside ``target (%)`` (1 decimal).
    """
    interval = result.interval
    return pd.DataFrame({
        "fold": [*range(1, len(interval["coverage_by_fold"]) + 1), "mean"],
        "coverage (%)": [*interval["coverage_by_fold"], interval["coverage"]],
        "target (%)": interval["level"],
    }).set_index("fold").mul(100).round(1)


def _model_naive(model: float, naive: float) -> str:
    return "" if pd.isna(model) else f"{model:.3f} ({naive:.3f})"


def backtest_table(backtest: pd.DataFrame) -> Styler:
    """The forward-in-time backtest for reading: each figure beside the naive one's, every note in full.

    Args:
        backtest: what :func:`~studyrec_lib.evaluation.backtest.forward_backtest` returned.

    Returns:
        One row per semester scored: rows trained on and scored, students, then "model (naive)" for the marks'
        typical error and the grade's agreement and accuracy, the model's average error (3 decimals), and why a
        semester was skipped (a Styler; the frame is ``.data``).
    """
    pairs = {metric_words(metric): [_model_naive(model, naive) for model, naive in
                                    zip(backtest[f"{metric}_model"], backtest[f"{metric}_naive"], strict=True)]
             for metric in ("rmse", "f1_weighted", "accuracy")}
    frame = pd.DataFrame({"semester scored": backtest["semester"], "trained on rows": backtest["training_rows"],
                          "scored rows": backtest["scored_rows"], "students scored": backtest["students_scored"],
                          **{f"{words}: model (naive)": column for words, column in pairs.items()},
                          f"{metric_words('mae')}: model": backtest["mae_model"].map(
                              lambda value: "" if pd.isna(value) else f"{value:.3f}"),
                          "note": backtest["note"]})
    return full_text(frame)


def plot_backtest(backtest: pd.DataFrame) -> plt.Figure:
    """The forward-in-time scores per semester, model beside naive: does the model hold up on the next cohort?

    Args:
        backtest: what :func:`~studyrec_lib.evaluation.backtest.forward_backtest` returned (a skipped
            semester's NaN leaves a gap).

    Returns:
        The figure: RMSE of the final marks left, weighted F1 of the grade right.
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for axis, metric in ((left, "rmse"), (right, "f1_weighted")):
        axis.plot(backtest["semester"], backtest[f"{metric}_model"], marker="o", label="chosen model")
        axis.plot(backtest["semester"], backtest[f"{metric}_naive"], marker="o", linestyle="--", color="gray",
                  label="naive")
        axis.set_xlabel("semester scored (trained on the semesters before it)")
        axis.set_ylabel(metric_words(metric, direction=True))
        axis.set_xticks(backtest["semester"])
        axis.legend()
    left.set_title("Final marks")
    right.set_title("Final grade")
    figure.suptitle("Forward in time: trained on earlier semesters, scored on the next")
    figure.tight_layout()
    return figure
