"""Match a file's headers to the canonical columns, forgiving case, spacing, common aliases and a stated maximum.

A header may carry the most marks its column can hold, as teachers write it: "Mid-Term (30)", "Quiz (10 marks)",
"Attendance (100%)". The number must be the schema's maximum for that column; a column marked out of another
number (say 40) is refused, because its marks would be read on the wrong scale.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from studyrec_lib.core.errors import FileRefused
from studyrec_lib.core.input_limits import echo, echo_list
from studyrec_lib.core.schema import COLUMNS, FIELDS_BY_NAME, OUTCOME_COLUMNS

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

# What ends "Mid-Term (30)", "Quiz (10 marks)", "Attendance [100%]", "Final (out of 50)": a maximum in brackets.
# Anchored at the end and starting at a bracket, so a long hostile header costs one pass, not a backtracking search.
STATED_MAXIMUM = re.compile(
    r"[(\[]\s*(?:out\s+of\s+|max\.?\s*)?(?P<maximum>\d+(?:\.\d+)?)\s*(?:%|marks?|pts|points)?\s*[)\]]\Z",
    re.IGNORECASE,
)


def split_stated_maximum(header: str) -> tuple[str, float | None]:
    """'Mid-Term (30)' -> ('Mid-Term', 30.0); a header without a bracketed maximum comes back whole, with None."""
    text = header.strip()
    stated = STATED_MAXIMUM.search(text)
    if stated is None or not text[: stated.start()].strip():
        return text, None
    return text[: stated.start()].strip(), float(stated["maximum"])


def canonical_column(header: str, explicit: dict[str, str] | None = None) -> tuple[str | None, float | None]:
    """The canonical column a header names (or None), and the maximum it states in brackets (or None).

    ``explicit`` maps normalised headers to columns (a column map): it wins, and a header it names is taken
    as the map says, its bracketed number unchecked. A stated maximum counts only on a numeric column.
    """
    key = normalise_header(header)
    canonical = (explicit or {}).get(key) or LOOKUP.get(key)
    if canonical is not None:
        return canonical, None
    name, maximum = split_stated_maximum(header)
    canonical = LOOKUP.get(normalise_header(name)) if maximum is not None else None
    if canonical not in FIELDS_BY_NAME:
        return None, None
    return canonical, maximum


def missing_columns(found: set[str]) -> list[str]:
    """The columns a header row must have but lacks: all but the outcomes, and both outcomes or neither."""
    missing = [c for c in COLUMNS if c not in OUTCOME_COLUMNS and c not in found]
    if sum(c in found for c in OUTCOME_COLUMNS) == 1:
        missing += [c for c in OUTCOME_COLUMNS if c not in found]
    return missing


def has_required_columns(cells: list[str], column_map: dict[str, str] | None = None) -> bool:
    """Whether a row of cells could be the header: it names every required column (by :func:`match_columns`'
    rules), so title rows above the header are told apart from it."""
    explicit = normalised_map(column_map)
    found = {canonical_column(cell, explicit)[0] for cell in cells}
    return not missing_columns(found - {None})


def normalised_map(column_map: dict[str, str] | None) -> dict[str, str]:
    """A column map keyed by normalised header, as the header matching compares them."""
    return {normalise_header(k): v for k, v in (column_map or {}).items()}


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


def match_columns(
    source: str, headers: list[str], column_map: dict[str, str] | None = None, rows_searched: int = 1
) -> ColumnMatch:
    """Find every canonical column among the headers; refuse the file when one is missing or on another scale.

    ``rows_searched`` is how many rows were looked at for a header before these were taken: when more than
    one, the refusal says that no row had them all.
    """
    explicit = normalised_map(column_map)
    normalised = [normalise_header(h) for h in headers]
    missing_from_file = sorted(k for k in explicit if k not in normalised)
    if missing_from_file:
        raise FileRefused(
            source,
            f"the column map names headers that are not in the file: {echo_list(missing_from_file)}.",
            f"Headers found: {echo_list(headers)}.",
        )
    positions: dict[str, int] = {}
    maxima: dict[str, float] = {}
    ignored: list[str] = []
    for position, header in enumerate(headers):
        canonical, maximum = canonical_column(header, explicit)
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
        if maximum is not None:
            maxima[canonical] = maximum
    missing = missing_columns(set(positions))
    if missing:
        searched = (f" No row among the first {rows_searched} non-blank rows has all the required columns."
                    if rows_searched > 1 else "")
        raise FileRefused(
            source,
            f"required columns are missing: {missing}. Headers found: {echo_list(headers)}.{searched}",
            "Rename the headers, or map them with --column-map FILE.json "
            '(e.g. {"Roll": "student_id"}).',
        )
    _refuse_other_scales(source, headers, positions, maxima)
    return ColumnMatch(positions, ignored)


def _refuse_other_scales(source: str, headers: list[str], positions: dict[str, int], maxima: dict[str, float]) -> None:
    """Refuse columns whose header states a maximum other than the schema's (marks on another scale)."""
    wrong = [(headers[positions[c]], c, m) for c, m in maxima.items() if m != FIELDS_BY_NAME[c].high]
    if not wrong:
        return
    found = "; ".join(
        f"column {echo(header)!r} says its marks are out of {maximum:g}, but the schema's maximum for {column} is "
        f"{FIELDS_BY_NAME[column].high:g}"
        for header, column, maximum in wrong
    )
    header, column, _ = wrong[0]
    high = FIELDS_BY_NAME[column].high
    raise FileRefused(
        source,
        f"{found}.",
        f"Rescale the marks to 0-{high:g} and write the maximum the schema uses in the header (e.g. "
        f"'{echo(split_stated_maximum(header)[0])} ({high:g})'), or, if the marks already are out "
        f"of {high:g}, map the column with --column-map FILE.json (e.g. {json.dumps({echo(header): column})}).",
    )
