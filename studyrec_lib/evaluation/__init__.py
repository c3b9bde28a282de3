"""Evaluation: the report tables and plots of 03_evaluate, the at-risk students, the model card."""

from studyrec_lib.evaluation.at_risk import export, find_at_risk
from studyrec_lib.evaluation.model_card import write_model_card
from studyrec_lib.evaluation.tables import (
    brier_per_grade,
    classification_metrics,
    classification_report_frame,
    cv_comparison,
    errors_by,
    fit_warnings_table,
    imbalance_table,
    interval_coverage,
    permutation_importance_frame,
    plot_confusion_matrix,
    plot_cv_comparison,
    plot_permutation_importance,
    plot_reliability,
    regression_metrics,
)

__all__ = [
    "brier_per_grade",
    "classification_metrics",
    "classification_report_frame",
    "cv_comparison",
    "errors_by",
    "export",
    "find_at_risk",
    "fit_warnings_table",
    "imbalance_table",
    "interval_coverage",
    "permutation_importance_frame",
    "plot_confusion_matrix",
    "plot_cv_comparison",
    "plot_permutation_importance",
    "plot_reliability",
    "regression_metrics",
    "write_model_card",
]
