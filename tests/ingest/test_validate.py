"""validate.py: every row is loaded or rejected with (row, column, rule, raw value); counts add up."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from studyrec_lib.core.schema import COLUMNS, GRADES, NUMERIC_FIELDS
from studyrec_lib.ingest.columns import match_columns
from studyrec_lib.ingest.reading import read_table
from studyrec_lib.ingest.validate import ValidationResult, validate_rows

GOOD = {
    "student_id": "S1", "semester": "1", "subject": "Math", "assignment_marks": "4", "quiz_marks": "8",
    "attendance_percentage": "90", "midterm_marks": "25", "previous_cgpa": "3.5", "final_marks": "40",
    "final_grade": "A+",
}  # total 4 + 4.5 + 8 + 25 + 40 = 81.5 -> A+
GRADE_RULE = f"must be one of {' '.join(GRADES)}"


def line(sep: str = ",", **changes: str) -> str:
    cells = {**GOOD, **changes}
    return sep.join(cells[c] for c in COLUMNS)


def csv_text(*lines: str, sep: str = ",", header: str | None = None) -> str:
    return "\n".join([header or sep.join(COLUMNS), *lines]) + "\n"


@pytest.fixture
def validate(make_file):
    """validate(text) -> ValidationResult of that CSV text, with the count invariant checked."""

    def run(text: str) -> ValidationResult:
        path = make_file("upload.csv", text)
        table = read_table(path)
        result = validate_rows(table, match_columns(str(path), table.headers))
        assert result.rows_valid + result.rows_rejected == result.rows_total
        assert set(result.valid["source_row"]).isdisjoint(result.rejects["source_row"])
        return result

    return run


def found(result: ValidationResult) -> list[tuple[int, str, str, str]]:
    return [(r.source_row, r.column_name, r.rule, r.raw_value) for r in result.rejects.itertuples()]


def test_generated_cohort_is_valid_and_typed(validate, good_frame):
    result = validate(good_frame.to_csv(index=False))
    assert (result.rows_total, result.rows_valid, result.rows_rejected) == (72, 72, 0)
    assert (result.rows_open, result.grade_mismatches) == (0, 0)
    valid = result.valid
    assert valid["source_row"].tolist() == list(range(2, 74))
    assert valid["semester"].dtype == np.int16
    for column in ("assignment_marks", "quiz_marks", "midterm_marks", "previous_cgpa", "final_marks"):
        np.testing.assert_allclose(valid[column].to_numpy(dtype=float), good_frame[column].to_numpy(dtype=float))
    assert valid["final_grade"].tolist() == good_frame["final_grade"].tolist()
    assert valid["subject"].tolist() == good_frame["subject"].tolist()


def test_fraction_semester_is_rejected_not_truncated(validate):
    result = validate(csv_text(line(semester="2.7"), line(semester="3.0")))
    assert found(result) == [
        (2, "semester", "must be a whole number (a fraction is rejected, not truncated)", "2.7"),
    ]
    assert result.valid["source_row"].tolist() == [3]
    assert result.valid["semester"].tolist() == [3]


@pytest.mark.parametrize("spec", NUMERIC_FIELDS, ids=lambda spec: spec.name)
def test_each_numeric_column_out_of_range_low_and_high(validate, spec):
    low, high = f"{spec.low - 1:g}", f"{spec.high + 1:g}"
    rows = [line(student_id="L", **{spec.name: low}), line(student_id="H", **{spec.name: high}), line()]
    result = validate(csv_text(*rows))
    assert found(result) == [(2, spec.name, spec.rule, low), (3, spec.name, spec.rule, high)]
    assert result.rows_valid == 1


def test_range_bounds_are_inclusive(validate):
    lows = {f.name: f"{f.low:g}" for f in NUMERIC_FIELDS}
    highs = {f.name: f"{f.high:g}" for f in NUMERIC_FIELDS}
    result = validate(csv_text(line(**lows, final_grade="F"), line(student_id="S2", **highs)))
    assert result.rows_rejected == 0
    assert result.grade_mismatches == 0  # 0 -> F and 100 -> A+


@pytest.mark.parametrize(
    "value",
    ["abc", "=1+2", "nan", "NaN", "inf", "-inf", "Infinity", "1e999", "0x1F", "4 marks", '"1,5"', "1_0", "--3"],
)
def test_non_numbers_are_rejected_with_the_raw_value(validate, value):
    result = validate(csv_text(line(quiz_marks=value)))
    assert found(result) == [(2, "quiz_marks", "must be a number", value.strip('"'))]
    assert result.rows_valid == 0


def test_spaces_around_a_number_are_forgiven(validate):
    result = validate(csv_text(line(quiz_marks=" 7.5 ", midterm_marks="+20", previous_cgpa="3.50")))
    assert result.rows_rejected == 0
    assert result.valid.loc[0, ["quiz_marks", "midterm_marks", "previous_cgpa"]].tolist() == [7.5, 20.0, 3.5]


def test_decimal_comma_with_semicolons(validate):
    rows = [line(";", assignment_marks="4,5", previous_cgpa="3,5"), line(";", student_id="S2", quiz_marks="-0,5")]
    result = validate(csv_text(*rows, sep=";"))
    assert result.valid.loc[0, ["assignment_marks", "previous_cgpa"]].tolist() == [4.5, 3.5]
    assert found(result) == [(3, "quiz_marks", "must be a number from 0 to 10", "-0,5")]


def test_empty_required_cells(validate):
    result = validate(csv_text(line(student_id=""), line(student_id="S2", subject=" ", midterm_marks="")))
    assert found(result) == [
        (2, "student_id", "is required", ""),
        (3, "midterm_marks", "is required", ""),
        (3, "subject", "is required", ""),
    ]
    assert (result.rows_rejected, result.rows_valid) == (2, 0)


def test_overlong_text_is_rejected(validate):
    result = validate(csv_text(line(subject="x" * 101), line(student_id="S2", subject="y" * 100)))
    assert found(result) == [(2, "subject", "must be at most 100 characters", "x" * 101)]


def test_inner_whitespace_of_text_is_collapsed(validate):
    result = validate(csv_text(line(student_id="  S 1 ", subject="Data \t  Science")))
    assert result.valid.loc[0, ["student_id", "subject"]].tolist() == ["S 1", "Data Science"]


@pytest.mark.parametrize(("written", "stored"), [("b +", "B+"), (" a- ", "A-"), ("a+", "A+"), ("c", "C")])
def test_grade_case_and_spaces_are_forgiven(validate, written, stored):
    result = validate(csv_text(line(final_grade=written)))
    assert result.rows_rejected == 0
    assert result.valid.loc[0, "final_grade"] == stored


@pytest.mark.parametrize("grade", ["E", "A++", "B-", "pass", "4"])
def test_unknown_grade_is_rejected(validate, grade):
    result = validate(csv_text(line(final_grade=grade)))
    assert found(result) == [(2, "final_grade", GRADE_RULE, grade)]


def test_open_row_is_valid_with_no_outcome(validate):
    result = validate(csv_text(line(final_marks="", final_grade=""), line(student_id="S2")))
    assert (result.rows_valid, result.rows_open, result.rows_rejected) == (2, 1, 0)
    open_row = result.valid.iloc[0]
    assert pd.isna(open_row["final_marks"])
    assert pd.isna(open_row["final_grade"])
    assert not open_row["grade_mismatch"]


def test_half_open_rows_are_rejected(validate):
    result = validate(csv_text(line(final_grade=""), line(student_id="S2", final_marks=" ")))
    assert found(result) == [
        (2, "final_grade", "is required when final_marks is given (leave both empty for an open row)", ""),
        (3, "final_marks", "is required when final_grade is given (leave both empty for an open row)", ""),
    ]


def test_file_without_outcome_columns_is_all_open(validate):
    header = ",".join(COLUMNS[:-2])
    result = validate(csv_text("S1,1,Math,4,8,90,25,3.5", "S2,1,Math,4,8,90,25,3.5", header=header))
    assert (result.rows_valid, result.rows_open) == (2, 2)


def test_duplicate_key_rejects_every_row_and_names_them(validate):
    rows = [line(), line(student_id="S2"), line(quiz_marks="9"), line(subject="Physics"), line(semester="1.0")]
    result = validate(csv_text(*rows))
    rule = "key (student_id, semester, subject) is not unique in the file: rows 2, 4, 6"
    assert found(result) == [(2, "student_id", rule, "S1"), (4, "student_id", rule, "S1"),
                             (6, "student_id", rule, "S1")]
    assert result.valid["source_row"].tolist() == [3, 5]


def test_duplicate_key_ignores_surrounding_spaces(validate):
    result = validate(csv_text(line(), line(student_id=" S1 ", subject="Math ")))
    assert result.rows_rejected == 2
    assert "rows 2, 3" in result.rejects["rule"].iloc[0]


def test_formula_like_text_is_kept_verbatim(validate):
    rows = [line(student_id="=1+2", subject="+SUM(A1)"), line(student_id="-3", subject="@cmd")]
    result = validate(csv_text(*rows))
    assert result.rows_rejected == 0
    assert result.valid[["student_id", "subject"]].values.tolist() == [["=1+2", "+SUM(A1)"], ["-3", "@cmd"]]


def test_formula_in_a_numeric_column_is_not_a_number(validate):
    result = validate(csv_text(line(midterm_marks="=1+2"), line(student_id="S2", midterm_marks="=SUM(A1:A3)")))
    assert [r[:3] for r in found(result)] == [(2, "midterm_marks", "must be a number"),
                                              (3, "midterm_marks", "must be a number")]


def test_row_breaking_several_rules_counts_once(validate):
    result = validate(csv_text(line(semester="0", quiz_marks="x", final_grade="Z"), line(student_id="S2")))
    assert [(r[0], r[1]) for r in found(result)] == [(2, "final_grade"), (2, "quiz_marks"), (2, "semester")]
    assert (result.rows_rejected, result.rows_valid, result.rows_total) == (1, 1, 2)


def test_malformed_lines_are_rejected_with_their_line_number(validate):
    text = csv_text(line(), "", line(student_id="S2") + ",extra", "S3,1,Math", line(student_id="S4"))
    result = validate(text)
    assert result.rows_total == 4
    assert found(result) == [
        (4, "", "has 11 cells where the header has 10", line(student_id="S2") + ",extra"),
        (5, "", "has 3 cells where the header has 10", "S3,1,Math"),
    ]
    assert json.loads(result.rejects["raw_row"].iloc[1]) == {"line": "S3,1,Math"}
    assert result.valid["source_row"].tolist() == [2, 6]


def test_raw_row_is_the_row_as_written(validate):
    header = "Student ID,Sem,Course,Assignment,Quiz,Attendance %,Mid-Term,CGPA,Final,Grade"
    result = validate(csv_text(line(), "S2, 1 ,Math,4,8,90,25,3.5, 99 ,a+", header=header))
    assert found(result) == [(3, "final_marks", "must be a number from 0 to 50", "99")]
    assert json.loads(result.rejects["raw_row"].iloc[0]) == dict(
        zip(header.split(","), ["S2", " 1 ", "Math", "4", "8", "90", "25", "3.5", " 99 ", "a+"], strict=True)
    )


def test_grade_that_disagrees_with_the_total_is_kept_and_flagged(validate):
    result = validate(csv_text(line(final_grade="F"), line(student_id="S2"), line(student_id="S3", final_marks="5")))
    # S3: 4 + 4.5 + 8 + 25 + 5 = 46.5 -> D, but A+ was given.
    assert result.rows_rejected == 0
    assert result.valid["grade_mismatch"].tolist() == [True, False, True]
    assert result.grade_mismatches == 2
