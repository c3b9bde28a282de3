"""Weak signals: the marks that tell a student (and a teacher) where the trouble is, as the old system."""

from __future__ import annotations

import pandas as pd

# column -> (threshold below which the signal fires, plain-words message)
WEAK_SIGNALS: dict[str, tuple[float, str]] = {
    "assignment_marks": (2.5, "assignment marks below 2.5 of 5"),
    "quiz_marks": (5.0, "quiz marks below 5 of 10"),
    "midterm_marks": (15.0, "midterm marks below 15 of 30"),
    "attendance_percentage": (70.0, "attendance below 70%"),
}


def weak_signals(frame: pd.DataFrame) -> pd.Series:
    """For each row, the list of weak-signal messages that apply (empty when none)."""
    fired = pd.DataFrame({column: frame[column] < low for column, (low, _) in WEAK_SIGNALS.items()})
    messages = {column: message for column, (_, message) in WEAK_SIGNALS.items()}
    return fired.apply(lambda row: [messages[c] for c, hit in row.items() if hit], axis=1)
