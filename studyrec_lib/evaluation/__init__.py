"""Evaluation: 03_evaluate's tables and plots, the forward-in-time backtest, the at-risk students, the model card,
and the summary at the top of the training reports.

Every module loads scikit-learn, and the tables matplotlib and seaborn: each name is imported on first use
(``core.lazy``), so a caller of the at-risk list (the teachers' console) pays for no plotting.
"""

from typing import TYPE_CHECKING

from studyrec_lib.core.lazy import lazy_attributes

if TYPE_CHECKING:  # imported on first use (core.lazy)
    from studyrec_lib.evaluation.at_risk import (
        MEDIA_TYPES,
        TEACHER_HEADERS,
        at_risk_download,
        export,
        find_at_risk,
        teacher_table,
    )
    from studyrec_lib.evaluation.at_risk_view import at_risk_html
    from studyrec_lib.evaluation.backtest import forward_backtest
    from studyrec_lib.evaluation.model_card import write_model_card
    from studyrec_lib.evaluation.summary import training_summary
    from studyrec_lib.evaluation.tables import (
        backtest_table,
        brier_per_grade,
        classification_metrics,
        classification_report_frame,
        cv_comparison,
        errors_by,
        fit_warnings_table,
        imbalance_table,
        interval_coverage,
        permutation_importance_frame,
        plot_backtest,
        plot_confusion_matrix,
        plot_cv_comparison,
        plot_permutation_importance,
        plot_reliability,
        regression_metrics,
    )

__getattr__ = lazy_attributes(__name__)

__all__ = [
    "MEDIA_TYPES",
    "TEACHER_HEADERS",
    "at_risk_download",
    "at_risk_html",
    "backtest_table",
    "brier_per_grade",
    "classification_metrics",
    "classification_report_frame",
    "cv_comparison",
    "errors_by",
    "export",
    "find_at_risk",
    "fit_warnings_table",
    "forward_backtest",
    "imbalance_table",
    "interval_coverage",
    "permutation_importance_frame",
    "plot_backtest",
    "plot_confusion_matrix",
    "plot_cv_comparison",
    "plot_permutation_importance",
    "plot_reliability",
    "regression_metrics",
    "teacher_table",
    "training_summary",
    "write_model_card",
]
