"""The plots of 04_monitor: baseline against current distributions, and the trend over past runs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from studyrec_lib.monitoring.drift import DriftReport

COLUMNS_PER_ROW = 3


def plot_distributions(report: DriftReport) -> plt.Figure | None:
    """One panel per feature: training shares against current shares on the baseline's bins.

    Args:
        report: a drift report (:func:`studyrec_lib.monitoring.drift.compute_drift`).

    Returns:
        The figure, or None when the report has no features (too few samples).
    """
    if not report.features:
        return None
    rows = -(-len(report.features) // COLUMNS_PER_ROW)
    figure, axes = plt.subplots(rows, COLUMNS_PER_ROW, figsize=(15, 3.6 * rows), squeeze=False)
    for axis, feature in zip(axes.ravel(), report.features, strict=False):
        shares = pd.DataFrame({
            "bin": feature.bins * 2,
            "share": feature.baseline_shares + feature.current_shares,
            "data": ["training"] * len(feature.bins) + ["current"] * len(feature.bins),
        })
        sns.barplot(shares, x="bin", y="share", hue="data", ax=axis, palette=["tab:gray", "tab:orange"])
        flag = "ALERT" if feature.alert else ("info only" if feature.informational else "ok")
        axis.set_title(f"{feature.feature}: {feature.effect:.2f} SD, PSI {feature.psi:.2f} ({flag})",
                       color="tab:red" if feature.alert else "black")
        axis.tick_params(axis="x", labelrotation=45, labelsize=7)
        axis.set_xlabel("")
        axis.legend(fontsize=7)
    for axis in axes.ravel()[len(report.features):]:
        axis.set_visible(False)
    figure.tight_layout()
    return figure


def plot_trend(history: pd.DataFrame) -> plt.Figure | None:
    """Drift score and feedback figures over past monitoring runs (this one included).

    Args:
        history: the trend table of :func:`studyrec_lib.monitoring.history.history`.

    Returns:
        The figure, or None when there is no run to show.
    """
    if history.empty:
        return None
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 3.6))
    runs = pd.to_datetime(history["started_at"])
    left.plot(runs, history["drift_score"].astype(float), marker="o")
    left.set_title("Drift score per monitoring run")
    left.set_ylabel("largest significant shift (SD)")
    right.plot(runs, history["feedback_mae"].astype(float), marker="o", label="MAE of final marks")
    twin = right.twinx()
    twin.plot(runs, history["feedback_accuracy"].astype(float), marker="s", color="tab:green", label="grade accuracy")
    right.set_title("Feedback: predictions against real outcomes")
    right.set_ylabel("MAE (marks)")
    twin.set_ylabel("grade accuracy")
    for axis in (left, right):
        axis.tick_params(axis="x", labelrotation=30, labelsize=7)
    figure.tight_layout()
    return figure


def drift_markdown(drift: DriftReport | None, context: dict | None) -> str:
    """The drift result in a few lines of Markdown: status, rows, model, score and alerts.

    Args:
        drift: the drift report, or None when drift was not checked.
        context: the report's context (:func:`studyrec_lib.monitoring.recent.drift_section`).

    Returns:
        Markdown text.
    """
    if drift is None:
        return "Drift not checked in this run."
    head = (f"**{drift.status}**: {drift.samples} current rows ({context['rows_by_origin']}), model "
            f"{context['model_version']}, score {drift.score:.2f} (threshold {drift.threshold:g})")
    return "\n".join([head, "", *[f"- {alert}" for alert in drift.alerts]])


def decision_markdown(decision: dict) -> str:
    """The decision's reasons as a Markdown list.

    Args:
        decision: the decision of :func:`studyrec_lib.monitoring.decision.decide`.

    Returns:
        Markdown text.
    """
    return "\n".join(f"- {reason}" for reason in decision["reasons"])


def per_subject_table(feedback: dict | None) -> pd.DataFrame | None:
    """The feedback scores per subject as a table.

    Args:
        feedback: the feedback report, or None when feedback was not checked.

    Returns:
        One row per subject (samples, MAE, RMSE, grade accuracy), or None when there is none.
    """
    return pd.DataFrame(feedback["per_subject"]) if feedback and feedback.get("per_subject") else None
