"""What a prediction advises: the weak signals, the study plan, and the one change that helps most.

The improvements are scored with the student's own row in one call (see :func:`with_improvements`), so
advice costs no extra model call.
"""

from __future__ import annotations

import numpy as np

from studyrec_lib.core.schema import FIELDS_BY_NAME, GRADE_SCALE, GRADES
from studyrec_lib.core.signals import WEAK_SIGNALS
from studyrec_lib.serving.study_plan import SIGNAL_COMPONENT, build_plan

# Single changes a student can still make before the final exam: (field, step, words).
IMPROVEMENTS = (
    ("quiz_marks", 2.0, "+2 quiz marks"),
    ("assignment_marks", 1.0, "+1 assignment mark"),
    ("attendance_percentage", 10.0, "+10% attendance"),
)
GRADE_RANK = {grade: rank for rank, grade in enumerate(reversed(GRADES))}  # F=0 ... A+=8


def with_improvements(features: dict, names: list[str]) -> np.ndarray:
    """The student's numeric row (``names`` in order), then one row per improvement, capped at the field's maximum."""
    numeric = np.tile(np.array([features[n] for n in names], dtype=float), (1 + len(IMPROVEMENTS), 1))
    for row, (column, step, _) in enumerate(IMPROVEMENTS, start=1):
        index = names.index(column)
        numeric[row, index] = min(numeric[row, index] + step, FIELDS_BY_NAME[column].high)
    return numeric


def best_improvement(features: dict, marks: np.ndarray, proba: np.ndarray, known: np.ndarray,
                     grade: str) -> dict | None:
    """The single change that raises the most probable grade most (ties: the larger predicted total).

    ``marks``, ``proba`` and ``known`` are the scores of the rows of :func:`with_improvements`, in its order.
    With it come the next grade above ``grade`` and the lowest course total that earns it (None at the top),
    so a student whom no single change lifts is told how far that grade is.
    """
    rank = GRADES.index(grade)
    next_grade, next_grade_total = GRADE_SCALE[rank - 1] if rank > 0 else (None, None)
    best = None
    for i, (column, step, words) in enumerate(IMPROVEMENTS, start=1):
        if features[column] >= FIELDS_BY_NAME[column].high:
            continue
        new_grade = GRADES[int(np.argmax(proba[i]))]
        key = (GRADE_RANK[new_grade] - GRADE_RANK[grade], known[i] + marks[i])
        if best is None or key > best[0]:
            best = (key, {"change": words, "field": column, "step": step, "new_grade": new_grade,
                          "grade_steps": key[0], "new_predicted_total": round(float(known[i] + marks[i]), 2),
                          "next_grade": next_grade, "next_grade_total": next_grade_total})
    return best[1] if best else None


def weak_signals(features: dict) -> list[dict]:
    """The weak signals one student's marks fire, in :data:`WEAK_SIGNALS` order, with their study component."""
    return [{"component": SIGNAL_COMPONENT[column], "field": column, "message": message}
            for column, (threshold, message) in WEAK_SIGNALS.items() if features[column] < threshold]


def study_plan(resources: list[dict], subject: str, signals: list[dict],
               weak_subjects: list[dict] | None) -> list[dict]:
    """The plan for this subject: resources for the fired signals' components first, then the weak subjects'."""
    return build_plan(resources, subject, [s["component"] for s in signals],
                      [w["subject"] for w in weak_subjects or []])
