"""The monitor report in words: what 04_monitor says above its tables and plots, and the summary on top.

Numbers are rounded and metrics named for people (the drift score is the largest standardised shift; the
MAE the typical error of predicted final marks); nothing here prints a dict or a bare None.
"""

from __future__ import annotations

import math

import pandas as pd

from studyrec_lib.monitoring.drift import DriftReport
from studyrec_lib.monitoring.recent import INVALID_SHARE_ALERT

SUMMARY_HEADING = "## Summary of this monitoring run"
DRIFT_STATUS = {"ok": "no drift", "drift": "drift found", "insufficient_samples": "too few rows to judge drift"}
FEEDBACK_STATUS = {"ok": "feedback ok", "warning": "feedback warns",
                   "insufficient_samples": "too few outcomes to judge the predictions"}
STATUS_WORDS = {"ok": "ok", "drift": "drift", "warning": "warning", "insufficient_samples": "too few to judge"}
ORIGINS = {"upload": "uploaded", "prediction": "from prediction requests"}
ALERTING_NAMES = {"mae": "the MAE", "grade_accuracy": "the grade accuracy"}
NOT_SHOWN = "\N{EN DASH}"


def _known(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _marks(value: float | None) -> str:
    return f"{value:.1f} marks" if _known(value) else NOT_SHOWN


def _score(value: float | None) -> str:
    return f"{value:.2f}" if _known(value) else NOT_SHOWN


def _share(value: float | None) -> str:
    return f"{value:.0%}" if _known(value) else NOT_SHOWN


def _origins(rows_by_origin: dict[str, int]) -> str:
    """``{"upload": 960}`` as "960 uploaded, none from prediction requests"."""
    return ", ".join(f"{rows_by_origin.get(origin, 0) or 'none'} {words}" for origin, words in ORIGINS.items())


def _with_outcome(feedback: dict) -> str:
    """How many logged predictions of the lookback have a known outcome, as a sentence without its full stop."""
    days = f"{feedback['lookback_days']:g}"
    if not feedback["samples"]:
        return f"no prediction logged in the last {days} days has a known outcome yet"
    return f"{feedback['samples']} predictions logged in the last {days} days have a known outcome"


def _checked_drift(drift: DriftReport, context: dict) -> str:
    """Which rows were compared with which model (uploads the model learned from are not new to it)."""
    days, model = f"{context['lookback_days']:g}", context["model_version"]
    if not drift.samples:
        return f"no rows of the last {days} days that the active model {model} has not learned from"
    return (f"{drift.samples} rows of the last {days} days ({_origins(context['rows_by_origin'])}) against the "
            f"active model {model}")


def _alerted(drift: DriftReport) -> list[str]:
    return [feature.feature for feature in drift.features if feature.alert]


def _found_drift(drift: DriftReport) -> str:
    if drift.status == "insufficient_samples":
        return f"too few rows to judge drift ({drift.samples}, at least {drift.min_samples} needed)"
    score = (f"drift score (largest standardised shift) {drift.score:.2f} training SDs, "
             f"threshold {drift.threshold:g}")
    if drift.status == "drift":
        return f"{score}; features that alerted (their shift may reach the threshold): {', '.join(_alerted(drift))}"
    return f"{score}; no feature alerted"


def _found_feedback(feedback: dict) -> str:
    thresholds = feedback["thresholds"]
    figures = (f"typical error of predicted final marks (MAE) {_marks(feedback['mae'])}, "
               f"grade accuracy {_share(feedback['grade_accuracy'])}")
    if feedback["status"] == "insufficient_samples":
        so_far = f" ({figures} so far)" if feedback["samples"] else ""
        return (f"too few predictions with a known outcome to judge the model ({feedback['samples']}, at least "
                f"{feedback['min_samples']} needed){so_far}")
    levels = (f"alert at MAE {thresholds['mae_alert']:g} or more, accuracy {_share(thresholds['accuracy_alert'])} "
              "or less")
    alerting = [ALERTING_NAMES[name] for name in feedback["alerting"]]
    verdict = f"{' and '.join(alerting)} alert{'s' if len(alerting) == 1 else ''}" if alerting else "within them"
    return f"{figures} ({levels}): {verdict}"


def drift_markdown(drift: DriftReport | None, context: dict | None) -> str:
    """The drift result in a few lines of Markdown: status, rows, model, score and the features that alerted.

    Args:
        drift: the drift report, or None when drift was not checked.
        context: the report's context (:func:`studyrec_lib.monitoring.recent.drift_section`).

    Returns:
        Markdown text.
    """
    if drift is None or context is None:
        return "Drift was not checked in this run (`studyrec feedback` checks the predictions only)."
    head = f"**{DRIFT_STATUS[drift.status].capitalize()}**: {_checked_drift(drift, context)}"
    if drift.status == "insufficient_samples":
        return f"{head}; at least {drift.min_samples} needed, so nothing is decided on drift."
    return "\n".join([f"{head}; {_found_drift(drift)}.", "", *[f"- {alert}" for alert in drift.alerts]])


def data_quality_markdown(context: dict) -> str:
    """The share of rejected rows in recent uploads as a sentence (a warning above INVALID_SHARE_ALERT).

    Args:
        context: the drift report's context (:func:`studyrec_lib.monitoring.recent.drift_section`).

    Returns:
        Markdown text.
    """
    invalid, days = context["invalid_rows"], context["lookback_days"]
    if not invalid["uploads"]:
        return f"Data quality: no upload in the last {days:g} days."
    uploads = "the upload" if invalid["uploads"] == 1 else f"the {invalid['uploads']} uploads"
    sentence = (f"{invalid['rows_rejected']:,} of {invalid['rows_total']:,} rows in {uploads} of the last {days:g} "
                f"days were rejected ({invalid['share']:.1%})")
    if invalid["alert"]:
        return (f"**Data-quality warning**: {sentence}, more than {INVALID_SHARE_ALERT:.0%}: see the rejected rows "
                "in those uploads' "
                "run folders (`rejected_rows.csv`).")
    return f"Data quality: {sentence}."


def feedback_markdown(feedback: dict | None) -> str:
    """The feedback figures as a sentence and a small table: value and alert level of each.

    Args:
        feedback: the feedback report (:func:`studyrec_lib.monitoring.feedback.feedback_report`), or None when
            feedback was not checked.

    Returns:
        Markdown text.
    """
    if feedback is None:
        return "Feedback was not checked in this run."
    head = (f"**{FEEDBACK_STATUS[feedback['status']].capitalize()}**: {_with_outcome(feedback)} "
            f"(at least {feedback['min_samples']} needed to judge the model).")
    if not feedback["samples"]:
        return head + " Nothing to score yet."
    thresholds, alerting = feedback["thresholds"], feedback["alerting"]
    rows = [
        ("typical error of predicted final marks (MAE)", _marks(feedback["mae"]),
         f"{thresholds['mae_alert']:g} marks or more", "mae" in alerting),
        ("root mean squared error of final marks (RMSE)", _marks(feedback["rmse"]), NOT_SHOWN, False),
        ("grade accuracy (predicted grade was right)", _share(feedback["grade_accuracy"]),
         f"{_share(thresholds['accuracy_alert'])} or less", "grade_accuracy" in alerting),
        ("at-risk flags that were real D/F results (precision)", _share(feedback["fail_precision"]), NOT_SHOWN,
         False),
        ("real D/F results that were flagged at risk (recall)", _share(feedback["fail_recall"]), NOT_SHOWN, False),
        (f"Brier score of grade probabilities, 0 best to 2 worst ({feedback['brier_samples']} predictions)",
         f"{feedback['brier']:.2f}" if _known(feedback["brier"]) else NOT_SHOWN, NOT_SHOWN, False),
    ]
    table = ["| figure | value | alert when | alert |", "| --- | --- | --- | --- |",
             *[f"| {name} | {value} | {level} | {'**yes**' if alert else 'no'} |"
               for name, value, level, alert in rows]]
    return "\n".join([head, "", *table])


def decision_markdown(decision: dict) -> str:
    """The decision's reasons as a Markdown list.

    Args:
        decision: the decision of :func:`studyrec_lib.monitoring.decision.decide`.

    Returns:
        Markdown text.
    """
    return "\n".join(f"- {reason}" for reason in decision["reasons"])


def _decided(drift: DriftReport | None, feedback: dict | None, decision: dict) -> tuple[str, str]:
    """The decision as a headline and a sentence saying why."""
    if decision["retrain"]:
        return ("a retrain will be started",
                f"retrain: the monitoring job starts a training run after this report, because "
                f"{', '.join(_alerted(drift))} drifted (score {drift.score:.2f}, threshold {drift.threshold:g}); "
                "its new versions go live only past the quality gate")
    if drift is not None and drift.status == "drift":
        return ("retraining recommended, auto-retrain is off",
                "no retrain started: auto-retrain is off. Retraining is recommended: run `studyrec train` "
                "(or monitor with `--auto-retrain`)")
    why = {None: "only drift starts a retrain, and this run checked the predictions only",
           "ok": "no feature drifted beyond the threshold",
           "insufficient_samples": "too few current rows to judge drift"}[drift.status if drift else None]
    sentence = f"no retrain: {why}"
    if feedback is not None and feedback["status"] == "warning":
        sentence += ("; the feedback warning does not start one by itself: check the errors per subject in the "
                     "feedback section, and retrain (`studyrec train`) once the new outcomes are uploaded if it "
                     "persists")
    return "no retrain", sentence


def _previous(trend: pd.DataFrame, status: str) -> pd.Series | None:
    """The latest earlier run that checked drift (``drift_status``) or feedback (``feedback_status``)."""
    earlier = trend.iloc[:-1]
    earlier = earlier[earlier[status].notna()]
    return earlier.iloc[-1] if len(earlier) else None


def _when(run: pd.Series) -> str:
    return f"{pd.Timestamp(run['started_at']):%Y-%m-%d %H:%M} UTC"


def _changed(drift: DriftReport | None, feedback: dict | None, trend: pd.DataFrame) -> str:
    """Each checked figure before (the latest earlier run that checked it) and now."""
    changes = []
    before = _previous(trend, "drift_status") if drift is not None else None
    if before is not None:
        changes.append((before, f"drift score {_score(before['drift_score'])} "
                                f"({STATUS_WORDS[before['drift_status']]}) → {drift.score:.2f} "
                                f"({STATUS_WORDS[drift.status]})"))
    before = _previous(trend, "feedback_status") if feedback is not None else None
    if before is not None:
        figures = [f"{name} {show(before[column])} → {show(now)}" for name, column, now, show in (
            ("MAE", "feedback_mae", feedback["mae"], _marks),
            ("grade accuracy", "feedback_accuracy", feedback["grade_accuracy"], _share),
        ) if _known(before[column]) or _known(now)]
        status = f"feedback {STATUS_WORDS[before['feedback_status']]} → {STATUS_WORDS[feedback['status']]}"
        changes.append((before, ", ".join([*figures, status])))
    if not changes:
        return "nothing to compare with: this is the first monitoring run"
    if len({run["run_id"] for run, _ in changes}) == 1:
        return f"since the run of {_when(changes[0][0])}: " + "; ".join(change for _, change in changes)
    return "; ".join(f"{change} (since the run of {_when(run)})" for run, change in changes)


def summary_markdown(drift: DriftReport | None, context: dict | None, feedback: dict | None, decision: dict,
                     trend: pd.DataFrame) -> str:
    """What was checked, found and decided, and what changed since the previous run: the report's first words.

    Args:
        drift: the drift report, or None when drift was not checked.
        context: the drift report's context (:func:`studyrec_lib.monitoring.recent.drift_section`), or None.
        feedback: the feedback report, or None when feedback was not checked.
        decision: the decision of :func:`studyrec_lib.monitoring.decision.decide`.
        trend: :func:`studyrec_lib.monitoring.history.history` with this run last.

    Returns:
        Markdown text: a heading, the decision in one line, and four points.
    """
    checked, found = [], []
    if drift is not None and context is not None:
        checked.append(f"drift: {_checked_drift(drift, context)}")
        found.append(_found_drift(drift))
        if context["invalid_rows"]["alert"]:
            found.append(f"{context['invalid_rows']['share']:.0%} of recently uploaded rows were rejected "
                         f"(data-quality warning above {INVALID_SHARE_ALERT:.0%})")
    if feedback is not None:
        checked.append(f"feedback: {_with_outcome(feedback)}")
        found.append(_found_feedback(feedback))
    headline, decided = _decided(drift, feedback, decision)
    statuses = [DRIFT_STATUS[drift.status]] if drift is not None else []
    statuses += [FEEDBACK_STATUS[feedback["status"]]] if feedback is not None else []
    return "\n".join([
        SUMMARY_HEADING, "", f"**{', '.join(statuses).capitalize()}: {headline}.**", "",
        f"- **What was checked**: {'; '.join(checked) or 'nothing'}.",
        f"- **What was found**: {'. '.join(part[0].upper() + part[1:] for part in found) or 'nothing'}.",
        f"- **What was decided**: {decided}.",
        f"- **What changed**: {_changed(drift, feedback, trend)}.",
    ])
