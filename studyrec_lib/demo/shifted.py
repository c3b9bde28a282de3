"""Shifted copies of example data, for drift and feedback demonstrations and tests.

A shift moves one feature by a number of its own standard deviations (lower attendance, say); a scale
multiplies a mark (a harder quiz); a new subject replaces the subject of a share of rows. Values stay
within the ingest ranges, so a shifted file still loads; grades follow the shifted totals.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from studyrec_lib.core.schema import FIELDS_BY_NAME, grade_for_total, total_marks

SHIFTABLE = ("assignment_marks", "quiz_marks", "attendance_percentage", "midterm_marks", "previous_cgpa")


def shift_frame(frame: pd.DataFrame, shifts: Mapping[str, float] | None = None,
                scales: Mapping[str, float] | None = None, new_subject: str | None = None,
                new_subject_share: float = 0.2, seed: int = 0) -> pd.DataFrame:
    """A shifted copy of ``frame``: values clipped to the ingest ranges, grades recomputed from the totals.

    Args:
        frame: rows of the example data (the columns of ``core.schema.COLUMNS``).
        shifts: feature -> standard deviations (of the feature in ``frame``) to add.
        scales: feature -> factor to multiply by (applied before the shifts).
        new_subject: a subject the models never saw, given to a share of rows.
        new_subject_share: the share of rows that take ``new_subject`` (at most one per student and semester).
        seed: the seed that chooses those rows.

    Returns:
        The shifted rows, with a fresh index.

    Raises:
        ValueError: a feature that cannot be shifted, or a share that is out of range.
    """
    shifted = frame.copy()
    for column, factor in (scales or {}).items():
        _check(column)
        shifted[column] = shifted[column] * factor
    for column, sds in (shifts or {}).items():
        _check(column)
        shifted[column] = shifted[column] + sds * frame[column].std()
    for column in {*(shifts or {}), *(scales or {})}:
        spec = FIELDS_BY_NAME[column]
        digits = 0 if column == "attendance_percentage" else 2 if column == "previous_cgpa" else 1
        shifted[column] = shifted[column].clip(spec.low, spec.high).round(digits)
    if new_subject:
        shifted["subject"] = _with_new_subject(shifted, new_subject, new_subject_share, seed)
    finished = shifted["final_marks"].notna()
    total = total_marks(shifted)
    shifted.loc[finished, "final_grade"] = grade_for_total(total[finished.to_numpy()])
    return shifted.reset_index(drop=True)


def _with_new_subject(frame: pd.DataFrame, subject: str, share: float, seed: int) -> pd.Series:
    """At most one row per student and semester takes the new subject, so no key is repeated."""
    per_group = frame.groupby(["student_id", "semester"]).size()
    most = float(1 / per_group.max())
    if not 0 < share <= most:
        raise ValueError(f"new_subject_share must be in (0, {most:.2f}] here, got {share}")
    rng = np.random.default_rng(seed)
    one_row = frame.assign(_draw=rng.random(len(frame))).groupby(["student_id", "semester"])["_draw"].idxmin()
    groups = one_row[rng.random(len(one_row)) < share * per_group.loc[one_row.index].to_numpy()]
    subjects = frame["subject"].copy()
    subjects.loc[groups.to_numpy()] = subject
    return subjects


def _check(column: str) -> None:
    if column not in SHIFTABLE:
        raise ValueError(f"cannot shift {column!r}: choose one of {', '.join(SHIFTABLE)}")


def parse_assignments(items: list[str] | None, what: str) -> dict[str, float]:
    """``["attendance_percentage=-0.5"]`` -> ``{"attendance_percentage": -0.5}``, with a clear error."""
    parsed = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            parsed[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"{what} {item!r} must look like FIELD=NUMBER, e.g. attendance_percentage=-0.5")
        _check(name.strip())
    return parsed
