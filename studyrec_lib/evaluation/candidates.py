"""Which candidates a training compared: a calibrated chosen model is the model it calibrated, not one more.

Calibration registers the chosen model again under ``name+method``; with temperature scaling it predicts the
same grades as the model it calibrated, so listing both read as a duplicate row and counted one candidate twice.
"""

from __future__ import annotations

from studyrec_lib.modeling.training import CandidateResult, TaskResult


def _calibrated_suffix(task_result: TaskResult) -> str | None:
    calibration = task_result.extra.get("calibration", {})
    return f"+{calibration['method']}" if calibration.get("applied") else None


def uncalibrated_name(task_result: TaskResult) -> str:
    """The chosen candidate's name before calibration (``grade_from_marks`` for ``grade_from_marks+temperature``)."""
    suffix = _calibrated_suffix(task_result)
    return task_result.chosen.removesuffix(suffix) if suffix else task_result.chosen


def compared_candidates(task_result: TaskResult) -> dict[str, CandidateResult]:
    """Every candidate once, by name: the calibrated chosen model stands in for the model it calibrated."""
    if _calibrated_suffix(task_result) is None:
        return task_result.candidates
    base = uncalibrated_name(task_result)
    return {name: candidate for name, candidate in task_result.candidates.items() if name != base}
