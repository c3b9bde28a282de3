"""What a model learns: features, targets, grade bands and naive baselines, defined once per data set.

The training core reads everything data-specific from a :class:`Task`, so the same code trains on the
StudyRec schema and on other data (the UCI benchmark builds its own tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from studyrec_lib.core.schema import FIELDS_BY_NAME, GRADE_SCALE, grade_for_total, marks_before_final


@dataclass(frozen=True)
class Task:
    name: str
    numeric_features: tuple[str, ...]
    categorical_features: tuple[str, ...]
    marks_target: str  # the regression target
    marks_range: tuple[float, float]
    # Grade bands on the course total: (label, lowest total), best first. The total is
    # known_total(X) + the marks target, so a grade follows from predicted marks.
    grade_bands: tuple[tuple[str, float], ...]
    known_total: Callable[[Mapping[str, object]], np.ndarray] = field(repr=False)
    naive_marks_feature: str | None = None  # marks "scaled from" this feature is the naive regressor
    group_column: str = "student_id"
    grade_target: str = "final_grade"

    @property
    def features(self) -> list[str]:
        return [*self.numeric_features, *self.categorical_features]

    @property
    def grades(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.grade_bands)

    def grade_of_marks(self, frame: pd.DataFrame, marks: np.ndarray) -> np.ndarray:
        """Grade letter of each row if its marks target were ``marks``."""
        return grade_for_total(self.known_total(frame) + np.asarray(marks, dtype=float), self.grade_bands)


STUDENT_TASK = Task(
    name="studyrec",
    numeric_features=("semester", "assignment_marks", "quiz_marks", "attendance_percentage", "midterm_marks",
                      "previous_cgpa"),
    categorical_features=("subject",),
    marks_target="final_marks",
    marks_range=(FIELDS_BY_NAME["final_marks"].low, FIELDS_BY_NAME["final_marks"].high),
    grade_bands=GRADE_SCALE,
    known_total=marks_before_final,
    naive_marks_feature="midterm_marks",
)
