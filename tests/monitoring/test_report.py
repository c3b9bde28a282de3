"""The monitor plots and tables: one panel per feature with the report's shares, the trend of past runs on a time
axis that spans them, readable tables; every figure is closed in pyplot so a notebook shows it once."""

from __future__ import annotations

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo.example import generate
from studyrec_lib.demo.shifted import shift_frame
from studyrec_lib.modeling.feature_baseline import feature_baseline
from studyrec_lib.monitoring.drift import compute_drift
from studyrec_lib.monitoring.report import drift_table, per_subject_table, plot_distributions, plot_trend


@pytest.fixture(autouse=True)
def agg_backend():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    yield
    plt.close("all")


def shown_by_pyplot() -> list[int]:
    """Figures pyplot still holds: the inline backend would show each again after the returned figure."""
    import matplotlib.pyplot as plt

    return plt.get_fignums()


@pytest.fixture(scope="module")
def report():
    baseline = feature_baseline(generate(students=300, seed=7), STUDENT_TASK)
    current = generate(students=100, seed=21).sample(400, random_state=21)
    return compute_drift(baseline, shift_frame(current, {"attendance_percentage": -1.0}))


def visible(figure) -> list:
    return [axis for axis in figure.axes if axis.get_visible()]


def test_distributions_one_visible_panel_per_feature(report):
    figure = plot_distributions(report)
    assert isinstance(figure, Figure)
    axes = visible(figure)
    assert len(report.features) == 7
    assert len(axes) == 7
    assert len(figure.axes) == 9  # a 3 x 3 grid, the last two panels hidden
    assert figure.get_suptitle() == "Training against current data: share of rows per bin"
    assert shown_by_pyplot() == []
    for axis, feature in zip(axes, report.features, strict=True):
        assert axis.get_title().startswith(f"{feature.feature}: ")
        heights = sorted(round(p.get_height(), 9) for p in axis.patches if p.get_height() > 0)
        shares = sorted(round(s, 9) for s in feature.baseline_shares + feature.current_shares if s > 0)
        assert heights == shares  # the bars are the report's shares, training and current
        assert [t.get_text() for t in axis.get_legend().get_texts()] == ["training", "current"]


def test_distributions_flag_alerts_and_informational_features(report):
    figure = plot_distributions(report)
    titles = {f.feature: axis.get_title() for axis, f in zip(visible(figure), report.features, strict=True)}
    assert "(ALERT)" in titles["attendance_percentage"]
    assert "(info only)" in titles["semester"]
    assert "(ok)" in titles["midterm_marks"]
    colours = {f.feature: axis.title.get_color() for axis, f in zip(visible(figure), report.features, strict=True)}
    assert colours["attendance_percentage"] == "tab:red"
    assert colours["midterm_marks"] == "black"


def test_distributions_of_an_insufficient_report_is_none():
    baseline = feature_baseline(generate(students=20, seed=7), STUDENT_TASK)
    report = compute_drift(baseline, generate(students=1, seed=8))  # 24 rows < 50
    assert report.status == "insufficient_samples"
    assert plot_distributions(report) is None


def history_frame(scores: list[float | None], freq: str = "7D") -> pd.DataFrame:
    return pd.DataFrame({
        "run_id": [f"run-{i}" for i in range(len(scores))],
        "started_at": pd.date_range("2025-01-01", periods=len(scores), freq=freq),
        "drift_score": scores,
        "drift_threshold": [0.35] * len(scores),
        "drift_status": ["ok"] * len(scores),
        "feedback_mae": [5.0 + i for i in range(len(scores))],
        "feedback_accuracy": [0.5 - 0.05 * i for i in range(len(scores))],
        "feedback_status": ["ok"] * len(scores),
    })


def test_trend_plots_the_scores_and_feedback():
    figure = plot_trend(history_frame([0.1, 0.2, None, 0.5]))  # a feedback-only run has no drift score
    assert isinstance(figure, Figure)
    assert len(visible(figure)) == 3  # drift score, MAE and (on a twin axis) grade accuracy
    left, right, twin = figure.axes
    assert left.get_title() == "Drift score (largest standardised shift)"
    assert figure.get_suptitle() == "Trend over monitoring runs: 4 runs"
    assert shown_by_pyplot() == []
    assert all(axis.get_xlabel() == "monitoring run (UTC)" for axis in (left, right))
    assert (left.get_ylabel(), right.get_ylabel(), twin.get_ylabel()) == (
        "training standard deviations", "MAE (marks)", "grade accuracy")
    score_line = left.get_lines()[0]
    np.testing.assert_allclose(score_line.get_ydata(), [0.1, 0.2, np.nan, 0.5])
    np.testing.assert_allclose(right.get_lines()[0].get_ydata(), [5, 6, 7, 8])
    np.testing.assert_allclose(twin.get_lines()[0].get_ydata(), [0.5, 0.45, 0.4, 0.35])


def _time_limits(figure) -> tuple[pd.Timestamp, pd.Timestamp]:
    return tuple(pd.Timestamp(mdates.num2date(x)).tz_localize(None) for x in figure.axes[0].get_xlim())


@pytest.mark.parametrize("freq", ["7D", "3min"])  # weekly runs, and runs minutes apart as in the tests
def test_trend_time_axis_spans_the_runs(freq):
    trend = history_frame([0.1, 0.2, 0.4, 0.5], freq=freq)
    figure = plot_trend(trend)
    first, last = trend["started_at"].iloc[0], trend["started_at"].iloc[-1]
    left, right = _time_limits(figure)
    assert left < first and last < right  # every run inside, none on the edge
    assert (right - left) <= (last - first) * 1.1 + pd.Timedelta(minutes=2)  # not stretched over years
    assert _time_limits(figure) == tuple(pd.Timestamp(mdates.num2date(x)).tz_localize(None)
                                         for x in figure.axes[1].get_xlim())  # both panels share the axis


def test_trend_of_one_run_shows_a_day_either_side():
    trend = history_frame([0.3])
    figure = plot_trend(trend)
    run = trend["started_at"].iloc[0]
    assert _time_limits(figure) == (run - pd.Timedelta(days=1), run + pd.Timedelta(days=1))
    assert figure.get_suptitle() == "Trend over monitoring runs: one run so far"


def test_tables_have_readable_headings_and_nothing_for_nothing(report):
    table = drift_table(report)
    assert table.index.tolist() == [f.feature for f in report.features]
    assert table.loc["attendance_percentage", "alert"] == "ALERT" and table.loc["semester", "alert"] == "info only"
    effects = {f.feature: f.effect for f in report.features}
    assert table.loc["attendance_percentage", "shift (training SDs)"] == round(effects["attendance_percentage"], 2)
    assert drift_table(None) is None
    feedback = {"per_subject": [{"subject": "Maths", "samples": 3, "mae": 4.123, "rmse": 5.0, "grade_accuracy": None}]}
    subjects = per_subject_table(feedback)
    assert subjects.columns.tolist() == ["predictions", "MAE (marks)", "RMSE (marks)", "grade accuracy"]
    assert subjects.loc["Maths", "MAE (marks)"] == 4.1 and np.isnan(subjects.loc["Maths", "grade accuracy"])
    assert per_subject_table(None) is None and per_subject_table({"per_subject": []}) is None


def test_trend_of_an_empty_history_is_none():
    assert plot_trend(history_frame([]).iloc[0:0]) is None
