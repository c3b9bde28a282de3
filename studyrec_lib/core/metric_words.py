"""Metrics in a reader's words with the technical name beside: one definition for every report, panel and message.

Reviewers and teachers read "typical error of the final mark"; analysts look for "RMSE". Saying both, the same
way everywhere, lets each find theirs. Light (no pandas, no scikit-learn): the registry and the console use it.
"""

from __future__ import annotations

from dataclasses import dataclass

CV_PREFIX = "cv_"


@dataclass(frozen=True)
class MetricName:
    words: str  # what a reader without statistics understands
    technical: str  # what an analyst searches for
    higher_is_better: bool | None = None  # None: neither (a coverage should meet its level, not exceed it)


METRICS = {
    "rmse": MetricName("typical error of the final mark", "RMSE", higher_is_better=False),
    "mae": MetricName("average error of the final mark", "MAE", higher_is_better=False),
    "r2": MetricName("share of the final marks' spread explained", "R²", higher_is_better=True),
    # 90%: modeling.training.INTERVAL_LEVEL (core comes first; tests/core/test_metric_words.py holds them equal)
    "interval_half_width": MetricName("marks either side of a prediction", "90% interval half-width",
                                      higher_is_better=False),
    "interval_coverage": MetricName("true marks inside the 90% interval", "coverage"),
    "f1_weighted": MetricName("grade agreement", "weighted F1", higher_is_better=True),
    "f1_macro": MetricName("grade agreement, every grade counted alike", "macro F1", higher_is_better=True),
    "accuracy": MetricName("grades predicted exactly", "accuracy", higher_is_better=True),
    "balanced_accuracy": MetricName("grades predicted exactly, every grade counted alike", "balanced accuracy",
                                    higher_is_better=True),
    "brier_macro": MetricName("error of the grade probabilities", "Brier score", higher_is_better=False),
    "log_loss": MetricName("surprise at the true grade", "log loss", higher_is_better=False),
    "ece": MetricName("gap between stated confidence and accuracy", "ECE", higher_is_better=False),
    "grade_marks_disagreement": MetricName("grade differs from the grade of the predicted marks",
                                           "grade/marks disagreement", higher_is_better=False),
}


def technical_name(name: str, direction: bool = False) -> str:
    """``cv_rmse`` -> "CV RMSE"; with ``direction``, "CV RMSE, lower is better" (nothing added for no better side)."""
    metric = METRICS[name.removeprefix(CV_PREFIX)]
    technical = f"CV {metric.technical}" if name.startswith(CV_PREFIX) else metric.technical
    if direction and metric.higher_is_better is not None:
        technical += ", higher is better" if metric.higher_is_better else ", lower is better"
    return technical


def metric_words(name: str, direction: bool = False) -> str:
    """``cv_rmse`` -> "typical error of the final mark (CV RMSE)"; with ``direction``, "(CV RMSE, lower is better)".

    Args:
        name: a metric's technical key (:data:`METRICS`), with ``cv_`` in front for its cross-validated mean.
        direction: add which way is better (nothing for a metric with no better side).

    Returns:
        The words, the technical name in brackets.
    """
    return f"{METRICS[name.removeprefix(CV_PREFIX)].words} ({technical_name(name, direction)})"


def metric_figure(name: str, value: str) -> str:
    """``cv_rmse`` and "3.99" -> "typical error of the final mark 3.99 (CV RMSE)": a figure in a sentence."""
    return f"{METRICS[name.removeprefix(CV_PREFIX)].words} {value} ({technical_name(name)})"
