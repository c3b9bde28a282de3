"""Monitoring: does today's data still look like the training data, and did the predictions come true?

What ``notebooks/04_monitor.ipynb`` calls: :func:`drift_section` (recent rows against the active model's
baseline), :func:`feedback_report` (logged predictions against the outcomes uploaded later), :func:`decide`
and :func:`write_summary` (the decision the job reads back: the job, not the notebook, starts a retrain),
:func:`history` (the trend over past runs), the report's plots and tables (loaded on first use: matplotlib)
and its words (:func:`summary_markdown`: what was checked, found and decided, on top of the report). The
teachers' console reads :func:`current_at_risk`: the open rows now, scored with the active models (loaded on
first use: scikit-learn).
"""

from typing import TYPE_CHECKING

from studyrec_lib.core.lazy import lazy_attributes
from studyrec_lib.monitoring.decision import decide, write_summary
from studyrec_lib.monitoring.drift import DEFAULT_ALPHA, DriftError, DriftReport, FeatureDrift, compute_drift
from studyrec_lib.monitoring.feedback import compute_feedback, feedback_overview, feedback_report, load_feedback_pairs
from studyrec_lib.monitoring.history import history
from studyrec_lib.monitoring.recent import active_baseline, current_rows, drift_section, invalid_share
from studyrec_lib.monitoring.text import (
    data_quality_markdown,
    decision_markdown,
    drift_markdown,
    feedback_markdown,
    summary_markdown,
)

if TYPE_CHECKING:  # the report's plots load matplotlib, the at-risk list scikit-learn: imported on first use
    from studyrec_lib.monitoring.at_risk_now import current_at_risk
    from studyrec_lib.monitoring.report import drift_table, per_subject_table, plot_distributions, plot_trend

__getattr__ = lazy_attributes(__name__)

__all__ = [
    "DEFAULT_ALPHA",
    "DriftError",
    "DriftReport",
    "FeatureDrift",
    "active_baseline",
    "compute_drift",
    "compute_feedback",
    "current_at_risk",
    "current_rows",
    "data_quality_markdown",
    "decide",
    "decision_markdown",
    "drift_markdown",
    "drift_section",
    "drift_table",
    "feedback_markdown",
    "feedback_overview",
    "feedback_report",
    "history",
    "invalid_share",
    "load_feedback_pairs",
    "per_subject_table",
    "plot_distributions",
    "plot_trend",
    "summary_markdown",
    "write_summary",
]
