"""The one definition of the student-results columns, their rules, the course total, the grade scale and risk.

Ingest validation, prediction input checks, the API's request model, the app's field checks, batch scoring,
the warehouse's SQL and the reports all read these rules from here, so a range, a rule's wording or the
course total can never disagree between two places.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

KEY_COLUMNS = ("student_id", "semester", "subject")
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
TEXT_FIELDS = ("student_id", "subject")
MAX_TEXT_LENGTH = 100

# The wording of each rule, the same in an ingest report, an API error and the app.
REQUIRED = "is required"
NOT_A_NUMBER = "must be a number"
NOT_WHOLE = "must be a whole number (a fraction is rejected, not truncated)"
TOO_LONG = f"must be at most {MAX_TEXT_LENGTH} characters"
UNKNOWN_FIELD = "is not a known field"


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

    def check(self, number: float) -> str | None:
        """The rule a number breaks (range first, then wholeness), or None.

        NaN and infinity are not numbers; an integer too large for a float is out of range.
        """
        try:
            value = float(number)
        except OverflowError:
            return self.rule
        if not math.isfinite(value):
            return NOT_A_NUMBER
        if not self.low <= value <= self.high:
            return self.rule
        if self.integer and value % 1 != 0:
            return NOT_WHOLE
        return None


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
GRADE_RULE = f"must be one of {' '.join(GRADES)}"

# Who is at risk: a predicted D or F, or a chance of D or F at or above RISK_PROBABILITY.
FAILING_GRADES = ("D", "F")
RISK_PROBABILITY = 0.4

# The course total out of 100, as the old system computed it: each part times a factor over a divisor, summed
# in this order (attendance, a percentage, is worth 5 marks). The final exam's part comes last.
TOTAL_PARTS: tuple[tuple[str, int, int], ...] = (
    ("assignment_marks", 1, 1),
    ("attendance_percentage", 5, 100),
    ("quiz_marks", 1, 1),
    ("midterm_marks", 1, 1),
    ("final_marks", 1, 1),
)
MAX_TOTAL = 100.0  # 5 + 5 (attendance) + 10 + 30 + 50


def marks_before_final(columns: Mapping[str, object]) -> np.ndarray:
    """The part of the course total known before the final exam (a DataFrame or a dict of columns)."""
    known = np.zeros(np.shape(columns["midterm_marks"]), dtype=float)
    for name, factor, divisor in TOTAL_PARTS[:-1]:
        known = known + _part(np.asarray(columns[name], dtype=float), factor, divisor)
    return known


def total_marks(columns: Mapping[str, object]) -> np.ndarray:
    """The course total of each row: the marks before the final plus the final marks."""
    return marks_before_final(columns) + np.asarray(columns["final_marks"], dtype=float)


def _part(values: np.ndarray, factor: int, divisor: int) -> np.ndarray:
    return values if factor == divisor == 1 else factor * values / divisor


def total_sql() -> str:
    """The course total as a SQL expression over the warehouse's columns (for queries that rank by it)."""
    return " + ".join(name if factor == divisor == 1 else f"{factor} * {name} / {divisor}"
                      for name, factor, divisor in TOTAL_PARTS)


def grade_for_total(total: np.ndarray | float, bands: tuple[tuple[str, float], ...] = GRADE_SCALE) -> np.ndarray:
    """Grade label(s) of course total(s) on ``bands`` ((label, lowest total), best first)."""
    totals = np.atleast_1d(np.asarray(total, dtype=float))
    thresholds = np.array([low for _, low in bands])
    # thresholds are descending; count how many thresholds each total fails to reach.
    index = np.minimum((totals[:, None] < thresholds[None, :]).sum(axis=1), len(bands) - 1)
    return np.array([label for label, _ in bands], dtype=object)[index]
