"""Match a file's headers to the canonical columns, forgiving case, spacing and common aliases."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from studyrec_lib.core.errors import FileRefused
from studyrec_lib.core.input_limits import echo, echo_list
from studyrec_lib.core.schema import COLUMNS, OUTCOME_COLUMNS

ALIASES: dict[str, tuple[str, ...]] = {
    "student_id": ("student", "id", "studentid", "student_no", "student_number", "roll_no", "roll_number",
                   "registration_no", "reg_no", "matric_no"),
    "semester": ("sem", "term", "semester_no", "semester_number"),
    "subject": ("course", "subject_name", "course_name", "module", "subject_code", "course_code"),
    "assignment_marks": ("assignment", "assignments", "assignment_mark", "assignment_score", "homework"),
    "quiz_marks": ("quiz", "quizzes", "quiz_mark", "quiz_score", "quizzes_marks"),
    "attendance_percentage": ("attendance", "attendance_percent", "attendance_pct", "attendance_rate",
                              "percentage_attendance"),
    "midterm_marks": ("midterm", "mid_term", "mid", "midterm_mark", "midterm_score", "mid_term_marks",
                      "midterm_exam", "mid_term_exam"),
    "previous_cgpa": ("cgpa", "prev_cgpa", "previous_gpa", "gpa", "cumulative_gpa", "prior_cgpa"),
    "final_marks": ("final", "final_mark", "final_score", "final_exam", "final_exam_marks"),
    "final_grade": ("grade", "letter_grade", "final_letter_grade"),
}


def normalise_header(header: str) -> str:
    """'Attendance %' -> 'attendance_percentage'; 'Student ID' -> 'student_id'."""
    text = header.strip().lower().replace("%", " percentage ").replace("#", " no ")
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


LOOKUP: dict[str, str] = {normalise_header(c): c for c in COLUMNS}
for _canonical, _aliases in ALIASES.items():
    for _alias in _aliases:
        LOOKUP.setdefault(normalise_header(_alias), _canonical)


@dataclass(frozen=True)
class ColumnMatch:
    """Which file column (by position) holds each canonical column, and what was ignored."""

    positions: dict[str, int]
    ignored: list[str]


def load_column_map(path: str | Path) -> dict[str, str]:
    """Read a ``{"header in the file": "canonical column"}`` JSON file and check its targets."""
    path = Path(path)
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FileRefused(str(path), f"the column map could not be read as JSON ({error}).") from error
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise FileRefused(str(path), 'the column map must be a JSON object like {"Header in file": "student_id"}.')
    unknown = sorted(v for v in mapping.values() if v not in COLUMNS)
    if unknown:
        raise FileRefused(str(path), f"the column map names unknown columns {unknown}.", f"Known: {list(COLUMNS)}.")
    return mapping


def match_columns(source: str, headers: list[str], column_map: dict[str, str] | None = None) -> ColumnMatch:
    """Find every canonical column among the headers; refuse the file when one is missing."""
    explicit = {normalise_header(k): v for k, v in (column_map or {}).items()}
    normalised = [normalise_header(h) for h in headers]
    missing_from_file = sorted(k for k in explicit if k not in normalised)
    if missing_from_file:
        raise FileRefused(
            source,
            f"the column map names headers that are not in the file: {echo_list(missing_from_file)}.",
            f"Headers found: {echo_list(headers)}.",
        )
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for position, (header, key) in enumerate(zip(headers, normalised, strict=True)):
        canonical = explicit.get(key) or LOOKUP.get(key)
        if canonical is None:
            ignored.append(header)
            continue
        if canonical in positions:
            first = headers[positions[canonical]]
            raise FileRefused(
                source,
                f"columns {echo(first)!r} and {echo(header)!r} both map to {canonical!r}.",
                "Remove one, or say which is meant with --column-map FILE.json.",
            )
        positions[canonical] = position
    required = [c for c in COLUMNS if c not in OUTCOME_COLUMNS]
    missing = [c for c in required if c not in positions]
    outcomes = [c for c in OUTCOME_COLUMNS if c in positions]
    if len(outcomes) == 1:
        missing += [c for c in OUTCOME_COLUMNS if c not in positions]
    if missing:
        raise FileRefused(
            source,
            f"required columns are missing: {missing}. Headers found: {echo_list(headers)}.",
            "Rename the headers, or map them with --column-map FILE.json "
            '(e.g. {"Roll": "student_id"}).',
        )
    return ColumnMatch(positions, ignored)
