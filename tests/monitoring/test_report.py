"""The monitor plots: one panel per feature with the report's shares, and the trend of past runs."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo.example import generate
from studyrec_lib.demo.shifted import shift_frame
from studyrec_lib.modeling.feature_baseline import feature_baseline
from studyrec_lib.monitoring.drift import compute_drift
from studyrec_lib.monitoring.report import plot_distributions, plot_trend


@pytest.fixture(autouse=True)
def agg_backend():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


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


def history_frame(scores: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame({
        "run_id": [f"run-{i}" for i in range(len(scores))],
        "started_at": pd.date_range("2025-01-01", periods=len(scores), freq="7D"),
        "drift_score": scores,
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
    assert left.get_title() == "Drift score per monitoring run"
    score_line = left.get_lines()[0]
    np.testing.assert_allclose(score_line.get_ydata(), [0.1, 0.2, np.nan, 0.5])
    np.testing.assert_allclose(right.get_lines()[0].get_ydata(), [5, 6, 7, 8])
    np.testing.assert_allclose(twin.get_lines()[0].get_ydata(), [0.5, 0.45, 0.4, 0.35])


def test_trend_of_an_empty_history_is_none():
    assert plot_trend(history_frame([]).iloc[0:0]) is None
