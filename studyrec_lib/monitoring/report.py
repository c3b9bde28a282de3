"""The plots and tables of 04_monitor: baseline against current distributions, drift, feedback and the trend.

Each plot is closed in pyplot before it is returned: the notebook shows the returned figure, and a figure
left open would be shown a second time by the inline backend at the end of the cell.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from studyrec_lib.monitoring.drift import DriftReport

COLUMNS_PER_ROW = 3
DISTRIBUTIONS_TITLE = "Training against current data: share of rows per bin"
ONE_RUN_MARGIN = pd.Timedelta(days=1)  # one run: a day either side (matplotlib would stretch it over years)
MIN_MARGIN = pd.Timedelta(minutes=1)


def plot_distributions(report: DriftReport) -> plt.Figure | None:
    """One panel per feature: training shares against current shares on the baseline's bins.

    Args:
        report: a drift report (:func:`studyrec_lib.monitoring.drift.compute_drift`).

    Returns:
        The figure (closed in pyplot, so a notebook shows it once), or None when the report has no features
        (too few samples).
    """
    if not report.features:
        return None
    rows = -(-len(report.features) // COLUMNS_PER_ROW)
    figure, axes = plt.subplots(rows, COLUMNS_PER_ROW, figsize=(15, 3.6 * rows + 0.5), squeeze=False,
                                layout="constrained")
    plt.close(figure)
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
        axis.set_ylabel("share of rows")
        axis.legend(fontsize=7)
    for axis in axes.ravel()[len(report.features):]:
        axis.set_visible(False)
    figure.suptitle(DISTRIBUTIONS_TITLE)
    return figure


def trend_limits(started: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The trend's time axis: the runs' span with a 5% margin, or a day either side of a single run.

    Args:
        started: the runs' start times.

    Returns:
        The left and right limits of the time axis.
    """
    first, last = started.min(), started.max()
    margin = max((last - first) * 0.05, MIN_MARGIN) if last > first else ONE_RUN_MARGIN
    return first - margin, last + margin


def _series(axis: Axes, runs: pd.Series, values: pd.Series, empty: str, **style: object) -> list:
    """Plot one figure per run (gaps where a run did not measure it); say so when no run did."""
    values = pd.to_numeric(values, errors="coerce").astype(float)
    if empty and values.isna().all():
        axis.text(0.5, 0.5, empty, transform=axis.transAxes, ha="center", va="center", color="gray")
        axis.set_yticks([])  # no scale for nothing
    return axis.plot(runs, values, **style)


def plot_trend(history: pd.DataFrame) -> plt.Figure | None:
    """Drift score and feedback figures over past monitoring runs (this one included), on a date axis.

    Args:
        history: the trend table of :func:`studyrec_lib.monitoring.history.history`.

    Returns:
        The figure (closed in pyplot, so a notebook shows it once), or None when there is no run to show.
    """
    if history.empty:
        return None
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.2), sharex=True, layout="constrained")
    plt.close(figure)
    runs = pd.to_datetime(history["started_at"])
    count = runs.nunique()
    figure.suptitle("Trend over monitoring runs: " + ("one run so far" if count == 1 else f"{count} runs"))
    _series(left, runs, history["drift_score"], "no drift score yet", marker="o", label="drift score")
    _series(left, runs, history["drift_threshold"], "", marker="_", markersize=24, linestyle="none",
            color="tab:red", label="threshold")
    left.set_title("Drift score (largest standardised shift)")
    left.set_ylabel("training standard deviations")
    left.legend(fontsize=8)
    lines = _series(right, runs, history["feedback_mae"], "no scored prediction yet", marker="o",
                    label="typical error of final marks (MAE)")
    twin = right.twinx()
    lines += _series(twin, runs, history["feedback_accuracy"], "", marker="s", color="tab:green",
                     label="grade accuracy")
    twin.set_ylim(-0.05, 1.05)  # a share: the whole range, so a change looks as big as it is
    twin.yaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_title("Feedback: predictions against real outcomes")
    right.set_ylabel("MAE (marks)")
    twin.set_ylabel("grade accuracy")
    right.legend(lines, [line.get_label() for line in lines], fontsize=8)
    for axis in (left, right):
        locator = mdates.AutoDateLocator()
        axis.xaxis.set_major_locator(locator)
        axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        axis.set_xlabel("monitoring run (UTC)")
    left.set_xlim(trend_limits(runs))  # the axes share it
    return figure


def drift_table(drift: DriftReport | None) -> pd.DataFrame | None:
    """The per-feature drift figures with readable headings, rounded.

    Args:
        drift: the drift report, or None when drift was not checked.

    Returns:
        One row per feature (shift in training SDs, how far it may reach, test, p-value, PSI and its chance
        level, alert), or None when there is no feature to show (not checked, or too few rows).
    """
    if drift is None or not drift.features:
        return None
    return pd.DataFrame([{
        "feature": f.feature,
        "shift (training SDs)": round(f.effect, 2),
        "may reach (SDs)": round(f.detail["effect_upper"], 2) if "effect_upper" in f.detail else "",
        "test": f.test,
        "p-value": f"{f.p_value:.2g}",
        "PSI": round(f.psi, 3),
        "PSI by chance": round(f.psi_noise, 3),
        "alert": "ALERT" if f.alert else ("info only" if f.informational else "no"),
    } for f in drift.features]).set_index("feature")


def per_subject_table(feedback: dict | None) -> pd.DataFrame | None:
    """The feedback scores per subject as a table with readable headings, rounded.

    Args:
        feedback: the feedback report, or None when feedback was not checked.

    Returns:
        One row per subject (predictions, MAE, RMSE, grade accuracy), or None when there is none.
    """
    if not feedback or not feedback.get("per_subject"):
        return None
    table = pd.DataFrame(feedback["per_subject"]).set_index("subject")
    scores = table[["mae", "rmse", "grade_accuracy"]].apply(pd.to_numeric, errors="coerce")
    return pd.DataFrame({"predictions": table["samples"], "MAE (marks)": scores["mae"].round(1),
                         "RMSE (marks)": scores["rmse"].round(1),
                         "grade accuracy": scores["grade_accuracy"].round(2)})
