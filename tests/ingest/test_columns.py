"""columns.py: headers as teachers write them are matched; anything ambiguous or missing is refused."""

from __future__ import annotations

import json

import pytest

from studyrec_lib.core.errors import FileRefused
from studyrec_lib.core.schema import COLUMNS, OUTCOME_COLUMNS
from studyrec_lib.ingest.columns import (
    canonical_column,
    has_required_columns,
    load_column_map,
    match_columns,
    normalise_header,
)

SOURCE = "/data/marks.csv"


def refused(headers: list[str], column_map: dict[str, str] | None = None) -> str:
    with pytest.raises(FileRefused) as caught:
        match_columns(SOURCE, headers, column_map)
    message = str(caught.value)
    assert message.startswith(SOURCE + ": ")
    return message


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Student ID", "student_id"),
        ("  attendance %  ", "attendance_percentage"),
        ("Mid-Term", "mid_term"),
        ("CGPA", "cgpa"),
        ("Roll #", "roll_no"),
        ("FINAL  Marks", "final_marks"),
    ],
)
def test_normalise_header(header, expected):
    assert normalise_header(header) == expected


def test_canonical_headers_match_in_order():
    match = match_columns(SOURCE, list(COLUMNS))
    assert match.positions == {c: i for i, c in enumerate(COLUMNS)}
    assert match.ignored == []
    assert all(column in match.positions for column in OUTCOME_COLUMNS)


def test_aliases_case_and_spacing():
    headers = ["Student ID", "Sem", " Course ", "Assignment", "QUIZ", "attendance %", "Mid-Term", "CGPA",
               "Final", "Grade"]
    match = match_columns(SOURCE, headers)
    assert match.positions == dict(zip(COLUMNS, range(10), strict=True))


def test_unknown_columns_are_ignored_and_listed():
    headers = ["Teacher notes", *COLUMNS, "Section"]
    match = match_columns(SOURCE, headers)
    assert match.ignored == ["Teacher notes", "Section"]
    assert match.positions["student_id"] == 1
    assert match.positions["final_grade"] == 10


def test_column_map_maps_odd_headers_whatever_their_case():
    headers = ["Roll", "Sem", "Paper", "Assignment", "Quiz", "Attendance", "Sessional", "CGPA", "Final", "Grade"]
    match = match_columns(SOURCE, headers, {"roll": "student_id", "PAPER": "subject", "Sessional": "midterm_marks"})
    assert match.positions == dict(zip(COLUMNS, range(10), strict=True))
    assert match.ignored == []


def test_column_map_overrides_an_alias():
    # "ID" is normally student_id; the map says it is the subject code here.
    headers = ["Roll", "Sem", "ID", *COLUMNS[3:]]
    match = match_columns(SOURCE, headers, {"Roll": "student_id", "ID": "subject"})
    assert match.positions["student_id"] == 0
    assert match.positions["subject"] == 2


def test_column_map_naming_a_header_not_in_the_file_is_refused():
    message = refused(list(COLUMNS), {"Roll No": "student_id"})
    assert "the column map names headers that are not in the file: ['roll_no']" in message
    assert f"Headers found: {list(COLUMNS)}" in message


def test_missing_required_column_lists_missing_and_found_headers():
    headers = [c for c in COLUMNS if c not in ("midterm_marks", "quiz_marks")] + ["Notes"]
    message = refused(headers)
    assert "required columns are missing: ['quiz_marks', 'midterm_marks']" in message
    assert f"Headers found: {headers}" in message
    assert "--column-map" in message


def test_one_outcome_column_without_the_other_is_refused():
    headers = [c for c in COLUMNS if c != "final_grade"]
    assert "required columns are missing: ['final_grade']" in refused(headers)


def test_no_outcome_columns_at_all_is_an_open_only_file():
    match = match_columns(SOURCE, [c for c in COLUMNS if c not in ("final_marks", "final_grade")])
    assert not any(column in match.positions for column in OUTCOME_COLUMNS)
    assert "final_marks" not in match.positions


def test_two_headers_for_one_column_are_refused():
    message = refused([*COLUMNS[:-1], "Grade", "final_grade"])
    assert "columns 'Grade' and 'final_grade' both map to 'final_grade'" in message


def test_column_map_target_already_in_the_file_is_refused():
    message = refused(["Roll", *COLUMNS], {"Roll": "student_id"})
    assert "columns 'Roll' and 'student_id' both map to 'student_id'" in message


def test_load_column_map_reads_json(tmp_path):
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"Roll": "student_id", "Paper": "subject"}), encoding="utf-8")
    assert load_column_map(path) == {"Roll": "student_id", "Paper": "subject"}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "could not be read as JSON"),
        ('["Roll", "student_id"]', "must be a JSON object"),
        ('{"Roll": 3}', "must be a JSON object"),
        ('{"Roll": "student_number"}', "names unknown columns ['student_number']"),
    ],
    ids=["bad-json", "list", "non-string", "unknown-target"],
)
def test_bad_column_map_is_refused_naming_the_map_file(tmp_path, content, words):
    path = tmp_path / "map.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FileRefused) as caught:
        load_column_map(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert words in str(caught.value)


def test_missing_column_map_file_is_refused(tmp_path):
    with pytest.raises(FileRefused, match="could not be read as JSON"):
        load_column_map(tmp_path / "absent.json")


# --- headers that state their maximum ----------------------------------------------------------------

TEACHER_HEADERS = ["Student ID", "Semester", "Subject", "Assignment (5)", "Quiz (10 marks)", "Attendance (%)",
                   "Mid-Term (30)", "CGPA (4.0)", "Final (50)", "Grade"]


def test_headers_stating_the_schemas_maximum_match_without_a_map():
    match = match_columns(SOURCE, TEACHER_HEADERS)
    assert match.positions == dict(zip(COLUMNS, range(10), strict=True))
    assert match.ignored == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Assignment (5)", ("assignment_marks", 5.0)),
        ("Quiz (10 marks)", ("quiz_marks", 10.0)),
        ("Attendance (100%)", ("attendance_percentage", 100.0)),
        ("Attendance (%)", ("attendance_percentage", None)),  # a unit, not a maximum
        ("Final [out of 50]", ("final_marks", 50.0)),
        ("midterm ( max 30 )", ("midterm_marks", 30.0)),
        ("Mid-Term (40)", ("midterm_marks", 40.0)),  # found, so that its scale can be refused
        ("Subject (2)", (None, None)),  # a bracketed number names a maximum only on a numeric column
        ("(30)", (None, None)),
        ("Notes (5)", (None, None)),
    ],
)
def test_canonical_column_splits_off_a_stated_maximum(header, expected):
    assert canonical_column(header) == expected


def test_a_maximum_other_than_the_schemas_is_refused_saying_what_to_do():
    headers = [h if h != "Mid-Term (30)" else "Mid-Term (40)" for h in TEACHER_HEADERS]
    message = refused(headers)
    assert "column 'Mid-Term (40)' says its marks are out of 40, but the schema's maximum for midterm_marks is 30" \
        in message
    assert "Rescale the marks to 0-30" in message and "'Mid-Term (30)'" in message
    assert '--column-map FILE.json (e.g. {"Mid-Term (40)": "midterm_marks"})' in message


def test_every_column_on_another_scale_is_named():
    headers = ["Final (100)" if h == "Final (50)" else "Quiz (20)" if h.startswith("Quiz") else h
               for h in TEACHER_HEADERS]
    message = refused(headers)
    assert "'Quiz (20)' says its marks are out of 20, but the schema's maximum for quiz_marks is 10" in message
    assert "'Final (100)' says its marks are out of 100, but the schema's maximum for final_marks is 50" in message


def test_a_column_map_takes_a_header_as_it_says_without_its_maximum():
    headers = [h if h != "Mid-Term (30)" else "Mid-Term (40)" for h in TEACHER_HEADERS]
    match = match_columns(SOURCE, headers, {"Mid-Term (40)": "midterm_marks"})
    assert match.positions["midterm_marks"] == 6


# --- telling the header from the title rows above it -------------------------------------------------


def test_has_required_columns_tells_a_header_from_a_title():
    assert has_required_columns(TEACHER_HEADERS)
    assert has_required_columns([*TEACHER_HEADERS[:8], "", "Notes"])  # an open-only file has no outcomes
    assert not has_required_columns(["Department of Computing - Semester 8 Results", "", ""])
    assert not has_required_columns(TEACHER_HEADERS[:-1])  # final marks without the grade: not a header
    assert not has_required_columns(["S1", "1", "Math", "4", "8", "90", "25", "3.5", "40", "A+"])


def test_has_required_columns_uses_the_column_map():
    headers = ["Roll", *TEACHER_HEADERS[1:]]
    assert not has_required_columns(headers)
    assert has_required_columns(headers, {"Roll": "student_id"})


def test_missing_columns_say_that_the_rows_below_were_searched_too():
    message = match_columns_refusal(["Results of semester 8"], rows_searched=12)
    assert "required columns are missing" in message
    assert "No row among the first 12 non-blank rows has all the required columns." in message
    assert "No row among" not in match_columns_refusal(["Results of semester 8"], rows_searched=1)


def match_columns_refusal(headers: list[str], rows_searched: int) -> str:
    with pytest.raises(FileRefused) as caught:
        match_columns(SOURCE, headers, rows_searched=rows_searched)
    return str(caught.value)
