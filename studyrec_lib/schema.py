"""The one definition of the student-results columns, their ranges and the grade scale.

Ingest validation, prediction input checks and the API all read these rules from here, so a range
can never disagree between two places.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NumericField:
    name: str
    low: float
    high: float
    integer: bool = False
    label: str = ""

    @property
    def rule(self) -> str:
        kind = "an integer" if self.integer else "a number"
        return f"must be {kind} from {self.low:g} to {self.high:g}"


KEY_COLUMNS = ("student_id", "semester", "subject")

NUMERIC_FIELDS: tuple[NumericField, ...] = (
    NumericField("semester", 1, 12, integer=True, label="Semester"),
    NumericField("assignment_marks", 0, 5, label="Assignment marks"),
    NumericField("quiz_marks", 0, 10, label="Quiz marks"),
    NumericField("attendance_percentage", 0, 100, label="Attendance %"),
    NumericField("midterm_marks", 0, 30, label="Midterm marks"),
    NumericField("previous_cgpa", 0, 4, label="Previous CGPA"),
    NumericField("final_marks", 0, 50, label="Final marks"),
)
FIELDS_BY_NAME = {f.name: f for f in NUMERIC_FIELDS}

OUTCOME_COLUMNS = ("final_marks", "final_grade")
COLUMNS = (
    "student_id",
    "semester",
    "subject",
    "assignment_marks",
    "quiz_marks",
    "attendance_percentage",
    "midterm_marks",
    "previous_cgpa",
    "final_marks",
    "final_grade",
)
# What a prediction needs: everything but the student's id and the outcomes.
FEATURE_COLUMNS = tuple(c for c in COLUMNS if c not in ("student_id", *OUTCOME_COLUMNS))

# Grade letters best first, with the lowest total (out of 100) that earns each.
GRADE_SCALE: tuple[tuple[str, float], ...] = (
    ("A+", 80),
    ("A", 75),
    ("A-", 70),
    ("B+", 65),
    ("B", 60),
    ("C+", 55),
    ("C", 50),
    ("D", 40),
    ("F", 0),
)
GRADES: tuple[str, ...] = tuple(letter for letter, _ in GRADE_SCALE)

# Largest total the marks can reach: 5 + 5 (attendance) + 10 + 30 + 50.
MAX_TOTAL = 100.0


def total_marks(
    assignment_marks: np.ndarray | float,
    attendance_percentage: np.ndarray | float,
    quiz_marks: np.ndarray | float,
    midterm_marks: np.ndarray | float,
    final_marks: np.ndarray | float,
) -> np.ndarray | float:
    """Course total out of 100, as the old system computed it (attendance is worth 5 marks)."""
    return assignment_marks + 5 * np.asarray(attendance_percentage) / 100 + quiz_marks + midterm_marks + final_marks


def grade_for_total(total: np.ndarray | float) -> np.ndarray:
    """Grade letter(s) for course total(s) on the scale of :data:`GRADE_SCALE`."""
    totals = np.atleast_1d(np.asarray(total, dtype=float))
    thresholds = np.array([low for _, low in GRADE_SCALE])
    # thresholds are descending; count how many thresholds each total fails to reach.
    index = (totals[:, None] < thresholds[None, :]).sum(axis=1)
    index = np.minimum(index, len(GRADES) - 1)
    return np.array(GRADES, dtype=object)[index]
