"""What a monitoring run concludes, and the summary it leaves in its run folder for the job to read.

The notebook decides; the job that ran it (:func:`studyrec_lib.runs.run_monitor`) reads the decision back
from the summary and starts the retrain, if any: kernels never start jobs.
"""

from __future__ import annotations

import json
from pathlib import Path

from studyrec_lib.core import run_files
from studyrec_lib.monitoring.drift import DriftReport


def decide(drift: DriftReport | None, feedback: dict | None, auto_retrain: bool) -> dict:
    """What the monitoring run concludes, in words and flags; a retrain needs drift beyond the threshold.

    Args:
        drift: the drift report, or None when drift was not checked.
        feedback: the feedback report, or None when feedback was not checked.
        auto_retrain: whether drift beyond the threshold should start a retrain (else it is recommended).

    Returns:
        ``{"retrain": bool, "reasons": [str, ...]}``; the job adds the retrain's outcome to it.
    """
    reasons = []
    if drift is not None:
        if drift.status == "insufficient_samples":
            reasons.append(drift.alerts[0])
        elif drift.status == "drift":
            reasons.append(f"drift beyond the threshold {drift.threshold:g} (score {drift.score:.2f}) in: "
                           + ", ".join(f.feature for f in drift.features if f.alert))
        else:
            reasons.append(f"no drift beyond the threshold {drift.threshold:g} (score {drift.score:.2f})")
    if feedback is not None:
        reasons.append(f"feedback {feedback['status'].replace('_', ' ')}" + (": " + "; ".join(feedback["alerts"])
                                                          if feedback.get("alerts") else ""))
    retrain = bool(auto_retrain and drift is not None and drift.status == "drift")
    if retrain:
        reasons.append("retraining decided: `studyrec monitor --auto-retrain` starts a training run after this "
                       "report (opened by hand: run `studyrec train`)")
    if drift is not None and drift.status == "drift" and not auto_retrain:
        reasons.append("retraining recommended: run `studyrec train` or monitor with --auto-retrain")
    return {"retrain": retrain, "reasons": reasons}


def write_summary(run_dir: str | Path, drift: DriftReport | None, context: dict | None, feedback: dict | None,
                  decision: dict) -> dict:
    """Write monitor.json in the run folder: what the job reads back, and what a reviewer can diff.

    Args:
        run_dir: the run folder.
        drift: the drift report, or None when drift was not checked.
        context: the drift report's context (:func:`studyrec_lib.monitoring.recent.drift_section`), or None.
        feedback: the feedback report, or None when feedback was not checked.
        decision: the decision of :func:`decide`.

    Returns:
        The summary written: the decision, the feedback report and the drift figures with their context.
    """
    summary = {"decision": decision, "feedback": feedback}
    if drift is not None:
        summary["drift"] = {"status": drift.status, "score": drift.score, "samples": drift.samples,
                            "threshold": drift.threshold, "alerts": drift.alerts, **(context or {}),
                            "features": drift.table().to_dict("records")}
    Path(run_dir, run_files.MONITOR_SUMMARY).write_text(json.dumps(summary, indent=2, default=str))
    return summary
