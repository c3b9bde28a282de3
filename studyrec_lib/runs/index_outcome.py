"""What a run's summary.json says, in words: its outcome and its headline figures.

Pure functions of the summary the jobs write (``runs.jobs``: the ingest's counts, the training's ``versions``,
``quality_gate`` and ``challenge``, the monitoring's ``decision``, ``drift`` and ``feedback``), so a run that
"succeeded" but found drift, retrained or warned says so. Nothing here reads the warehouse.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from studyrec_lib.core.metric_words import metric_figure, technical_name

TASK_WORDS = {"regression": "final mark", "classification": "grade"}
HEADLINE_METRICS = ("cv_rmse", "cv_f1_weighted")  # what a training's summary reports (runs.jobs)
# The row classes from the mildest to the gravest: a run's outcome is the gravest of its parts.
SEVERITY = ("ok", "thin", "warning", "drift", "retrained", "failed")


@dataclass(frozen=True)
class Outcome:
    """A run's outcome: a label for people, the row's CSS class (one of SEVERITY, or ``running``), and why."""

    label: str
    css: str
    notes: tuple[str, ...] = ()


def _known(value: object) -> bool:
    """A figure worth showing: not missing, not NaN (old or partial summaries lack some)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _count(value: object) -> str:
    """Thousands separated: 2,880 rows reads at a glance."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def _ingest(summary: dict) -> Outcome:
    """Rows rejected or warnings about the file are a warning; a file loaded before is said so."""
    warnings = list(summary.get("ingest_warnings") or [])
    notes = [summary["message"]] if summary.get("ingest_status") == "already_loaded" and summary.get("message") else []
    warned = bool(warnings) or bool(summary.get("rows_rejected"))
    return Outcome("warning" if warned else "ok", "warning" if warned else "ok", (*notes, *warnings))


def _gate_note(task: str, gate: dict) -> str:
    metric = technical_name(gate["metric"]) if gate.get("metric") in HEADLINE_METRICS else gate.get("metric")
    return (f"the {TASK_WORDS.get(task, task)} model did not beat its naive baseline ({metric} {gate['model']:.3g}, "
            f"naive {gate['naive']:.3g}): never activated")


def _activation_note(summary: dict) -> str:
    activated = summary.get("activated") or {}
    if not activated:
        return "nothing activated"
    tasks = " and ".join(TASK_WORDS.get(task, task) for task in activated)
    return f"activated version {', '.join(sorted(set(activated.values())))} ({tasks})"


def _fit_warnings(summary: dict) -> list[str]:
    count = sum(len(messages) for per_task in (summary.get("fit_warnings") or {}).values()
                for messages in per_task.values())
    return [f"{count} warnings while fitting the candidates (03_evaluate lists them)"] if count else []


def _training(summary: dict) -> Outcome:
    """A model that failed its quality gate is a warning; the champion's verdicts and pins say what was kept."""
    gates = summary.get("quality_gate") or {}
    failed = [_gate_note(task, gate) for task, gate in gates.items() if gate.get("passed") is False]
    verdicts = [challenge["reason"] for challenge in (summary.get("challenge") or {}).values()
                if challenge and challenge.get("reason")]
    pinned = [f"the {TASK_WORDS.get(task, task)} model's pinned version {version} was kept"
              for task, version in (summary.get("kept_pinned") or {}).items()]
    notes = (_activation_note(summary), *failed, *verdicts, *pinned, *_fit_warnings(summary))
    return Outcome("warning", "warning", notes) if failed else Outcome("ok", "ok", notes)


def _drift_notes(drift: dict) -> list[str]:
    if not drift:
        return []
    if drift.get("status") == "insufficient_samples":
        return list(drift.get("alerts") or [])[:1]
    figures = f"score {drift['score']:.2f}, threshold {drift['threshold']:g}, {_count(drift['samples'])} rows"
    if drift.get("status") == "drift":
        moved = ", ".join(row["feature"] for row in drift.get("features") or [] if row.get("alert"))
        return [f"drift in {moved or 'the features'} ({figures})"]
    return [f"no drift ({figures})"]


def _retrain_notes(decision: dict, drift: dict) -> list[str]:
    retrain = decision.get("retrain_run")
    if retrain:
        if retrain.get("status") != "succeeded":
            return [f"the retrain (run {retrain.get('run_id')}) failed: {retrain.get('error') or 'see its row'}"]
        return [f"retrained in run {retrain.get('run_id')}: {_activation_note(retrain)}"]
    if decision.get("retrain_skipped"):
        return [f"retrain skipped: {(decision.get('reasons') or ['another retrain was running'])[-1]}"]
    if drift.get("status") == "drift":
        return ["not retrained: run studyrec train, or monitor with --auto-retrain"]
    return []


def _monitoring_outcome(drift: dict, feedback: dict, decision: dict) -> tuple[str, str]:
    """(label, css): a retrain's result first, then drift, then a feedback warning, then too few samples."""
    retrain = decision.get("retrain_run")
    if retrain:
        return (("drift found, retrained", "retrained") if retrain.get("status") == "succeeded"
                else ("drift found, retrain failed", "failed"))
    if drift.get("status") == "drift":
        return ("drift found, retrain skipped" if decision.get("retrain_skipped") else "drift found"), "drift"
    if feedback.get("status") == "warning":
        return "warning", "warning"
    checked = [section["status"] for section in (drift, feedback) if section]
    if checked and all(status == "insufficient_samples" for status in checked):
        return "too few samples", "thin"
    return "ok", "ok"


def _monitoring(summary: dict) -> Outcome:
    """Drift, feedback and the retrain the job started, as ``decision``, ``drift`` and ``feedback`` record them."""
    decision, drift, feedback = summary.get("decision") or {}, summary.get("drift") or {}, summary.get("feedback") or {}
    feedback_notes = [f"feedback: {alert}" for alert in feedback.get("alerts") or []]
    notes = (*_drift_notes(drift), *feedback_notes, *_retrain_notes(decision, drift))
    return Outcome(*_monitoring_outcome(drift, feedback, decision), notes)


PARTS: tuple[tuple[str, Callable[[dict], Outcome]], ...] = (
    ("ingest_status", _ingest), ("versions", _training), ("decision", _monitoring))


def outcome(status: str, summary: dict) -> Outcome:
    """What the run came to: its status in the runs table, sharpened by what its summary found.

    Args:
        status: the runs table's status (running, succeeded or failed).
        summary: the run's summary.json ({} while it runs).

    Returns:
        The gravest outcome of its parts (ingest, training, monitoring) with all their notes; a run that did
        not succeed is its status (the error column says why), a refused file said as such.
    """
    if status == "failed" and summary.get("ingest_status") == "refused":
        return Outcome("failed: file refused", "failed")
    if status != "succeeded":
        return Outcome(status, status)
    parts = [part(summary) for key, part in PARTS if key in summary]
    if not parts:
        return Outcome("ok", "ok")
    gravest = max(parts, key=lambda part: SEVERITY.index(part.css))
    return Outcome(gravest.label, gravest.css, tuple(note for part in parts for note in part.notes))


def _ingest_figures(summary: dict) -> list[str]:
    if not _known(summary.get("rows_loaded")):
        return []
    rejected = summary.get("rows_rejected") or 0
    total = f" of {_count(summary['rows_total'])}" if _known(summary.get("rows_total")) else ""
    return [f"{_count(summary['rows_loaded'])} rows loaded, {_count(rejected)} rejected{total}"]


def _training_figures(summary: dict) -> list[str]:
    figures = [metric_figure(key, f"{summary[key]:.2f}") for key in HEADLINE_METRICS if _known(summary.get(key))]
    counts = {"at_risk_rows": "{:,} at-risk rows", "training_rows": "trained on {:,} rows"}
    return figures + [words.format(summary[key]) for key, words in counts.items() if _known(summary.get(key))]


def _monitoring_figures(summary: dict) -> list[str]:
    drift, feedback = summary.get("drift") or {}, summary.get("feedback") or {}
    figures = []
    if _known(drift.get("score")) and drift.get("status") != "insufficient_samples":
        figures.append(f"drift score {drift['score']:.2f} (threshold {drift['threshold']:g})")
    if feedback.get("samples"):
        scores = [f"{name} {feedback[key]:.2f}" for key, name in (("mae", "MAE of the final mark"),
                                                                   ("grade_accuracy", "grade accuracy"))
                  if _known(feedback.get(key))]
        figures.append(f"feedback on {_count(feedback['samples'])} predictions: {', '.join(scores)}")
    return figures


def headline_figures(summary: dict) -> list[str]:
    """The figures a person looks for, in words: rows loaded, the models' errors, at-risk rows, drift, feedback.

    Args:
        summary: the run's summary.json.

    Returns:
        One phrase per figure the summary holds (none for a missing or NaN figure).
    """
    return [*_ingest_figures(summary), *_training_figures(summary), *_monitoring_figures(summary)]
