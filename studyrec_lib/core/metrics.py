"""Metric definitions shared by training, evaluation and benchmarks."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    root_mean_squared_error,
)

SEVERE_IMBALANCE_SHARE = 0.05


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)),
    }


def one_hot(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return (np.asarray(y)[:, None] == classes[None, :]).astype(float)


def brier_per_class(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """One-vs-rest Brier score of each class."""
    return np.mean((proba - one_hot(y, classes)) ** 2, axis=0)


def classification_scores(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    predicted = classes[np.argmax(proba, axis=1)]
    with warnings.catch_warnings():
        # A fold may lack a rare grade that is still predicted; the scores handle that correctly.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return _classification_scores(y, proba, classes, predicted)


def _classification_scores(y: np.ndarray, proba: np.ndarray, classes: np.ndarray,
                           predicted: np.ndarray) -> dict[str, float]:
    return {
        "f1_weighted": float(f1_score(y, predicted, average="weighted", zero_division=0)),
        "accuracy": float(accuracy_score(y, predicted)),
        "f1_macro": float(f1_score(y, predicted, average="macro", zero_division=0)),
        "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
        "log_loss": float(log_loss(y, np.clip(proba, 1e-15, 1), labels=classes)),
        "brier_macro": float(brier_per_class(y, proba, classes).mean()),
    }


def conformal_quantile(abs_residuals: np.ndarray, level: float) -> float:
    """The split-conformal quantile: the ceil((n+1) level)-th smallest absolute residual."""
    n = len(abs_residuals)
    rank = min(int(np.ceil((n + 1) * level)), n)
    return float(np.sort(abs_residuals)[rank - 1])


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, classes: np.ndarray, bins: int = 10) -> float:
    """Top-label ECE: the gap between confidence and accuracy, weighted over confidence bins."""
    confidence = proba.max(axis=1)
    correct = classes[np.argmax(proba, axis=1)] == np.asarray(y)
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            gap += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(gap)


def imbalance(labels: np.ndarray) -> dict:
    values, counts = np.unique(np.asarray(labels).astype(str), return_counts=True)
    shares = counts / counts.sum()
    smallest = int(np.argmin(shares))
    return {
        "shares": {str(v): float(s) for v, s in zip(values, shares, strict=True)},
        "smallest_class": str(values[smallest]),
        "smallest_share": float(shares[smallest]),
        "largest_to_smallest": float(shares.max() / shares.min()),
        "severe": bool(shares[smallest] < SEVERE_IMBALANCE_SHARE),
    }
