"""ingest.ingest_file against a real DuckDB file: the corpus of bad and awkward uploads.

Every case checks that rows loaded + rows rejected = rows read, and every refusal that the message
names the file and that the warehouse holds nothing new.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import openpyxl
import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.schema import COLUMNS
from studyrec_lib.ingest.load import IngestResult, ingest_file

HEADER = ",".join(COLUMNS)
GOOD = {
    "student_id": "S1", "semester": "1", "subject": "Math", "assignment_marks": "4", "quiz_marks": "8",
    "attendance_percentage": "90", "midterm_marks": "25", "previous_cgpa": "3.5", "final_marks": "40",
    "final_grade": "A+",
}  # total 4 + 4.5 + 8 + 25 + 40 = 81.5 -> A+
TABLES = ("datasets", "student_performance", "rejected_rows")


def line(sep: str = ",", **changes: str) -> str:
    cells = {**GOOD, **changes}
    return sep.join(cells[c] for c in COLUMNS)


def csv_text(*lines: str, sep: str = ",", header: str | None = None) -> str:
    return "\n".join([header or sep.join(COLUMNS), *lines]) + "\n"


def ingest(path: Path, settings: Settings, **kwargs) -> IngestResult:
    result = ingest_file(path, progress=None, settings=settings, **kwargs)
    summary = result.summary
    assert summary.rows_valid + summary.rows_rejected == summary.rows_total
    assert summary.rows_loaded == (summary.rows_valid if summary.status == "loaded" else 0)
    return result


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with warehouse.connect(settings) as con:
        return con.execute(sql, params or []).fetchall()


def counts(settings: Settings) -> dict[str, int]:
    return {table: query(settings, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


def stored(settings: Settings, columns: str = "student_id, subject") -> list[tuple]:
    return query(settings, f"SELECT {columns} FROM student_performance ORDER BY dataset_id, source_row")


def assert_refused(result: IngestResult, path: Path, settings: Settings, *words: str) -> str:
    summary = result.summary
    assert summary.status == "refused"
    assert summary.dataset_id is None
    assert str(path) in summary.message
    for word in words:
        assert word in summary.message
    assert counts(settings) == dict.fromkeys(TABLES, 0)
    return summary.message


def assert_loaded(result: IngestResult, loaded: int, rejected: int = 0) -> None:
    summary = result.summary
    assert summary.status == "loaded", summary.message
    assert (summary.rows_loaded, summary.rows_rejected) == (loaded, rejected)
    assert summary.dataset_id is not None


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        worksheet = workbook.create_sheet(title)
        for row in rows:
            worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def not_xlsx_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("report.txt", "not a workbook")
    return buffer.getvalue()


# --- files refused whole -----------------------------------------------------------------------------

REFUSED_FILES = [
    ("empty.csv", b"", ["empty (0 bytes)"]),
    ("header_only.csv", HEADER + "\n", ["header but no data rows"]),
    ("whitespace.csv", "  \n\t\n \r\n", ["only blank space"]),
    ("junk.csv", b"\x89" + random.Random(3).randbytes(3000) + b"\x00", ["binary data (NUL bytes)"]),
    ("control.csv", b"x" + bytes(b for b in random.Random(4).randbytes(3000) if b), ["looks like binary data"]),
    ("legacy.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00\x01junk" * 64,
     ["legacy Excel .xls", "save it as .xlsx or CSV", "libreoffice --headless --convert-to xlsx"]),
    ("archive.xlsx", not_xlsx_zip(), ["ZIP archive but not a readable .xlsx"]),
    ("no_midterm.csv", csv_text("S1,1,Math,4,8,90,3.5,40,A+",
                                header="student_id,semester,subject,assignment,quiz,attendance,cgpa,final,grade"),
     ["required columns are missing: ['midterm_marks']",
      "Headers found: ['student_id', 'semester', 'subject', 'assignment', 'quiz', 'attendance', 'cgpa', 'final', "
      "'grade']"]),
    ("two_grades.csv", csv_text(line() + ",A+", header=HEADER + ",Grade"),
     ["columns 'final_grade' and 'Grade' both map to 'final_grade'"]),
    ("all_bad.csv", csv_text(line(semester="13"), line(student_id="", subject="Physics")),
     ["none of the 2 rows is valid", "row 2, column semester: must be an integer from 1 to 12 (value '13')",
      "row 3, column student_id: is required"]),
]


@pytest.mark.parametrize(("name", "content", "words"), REFUSED_FILES, ids=[case[0] for case in REFUSED_FILES])
def test_refused_file(make_file, settings, name, content, words):
    path = make_file(name, content)
    assert_refused(ingest(path, settings), path, settings, *words)


def test_file_over_the_upload_limit(make_file, tmp_path):
    tiny = load_settings(warehouse=tmp_path / "warehouse.duckdb", runs_dir=tmp_path / "runs", max_upload_mb=0.0001)
    path = make_file("big.csv", csv_text(*[line(student_id=f"S{i}") for i in range(50)]))
    message = assert_refused(ingest(path, tiny), path, tiny, "over the upload limit of 104 bytes", "--max-upload-mb")
    assert f"the file is {path.stat().st_size:,} bytes" in message


def test_column_map_naming_a_header_not_in_the_file(make_file, settings):
    path = make_file("marks.csv", csv_text(line()))
    result = ingest(path, settings, column_map={"Roll": "student_id"})
    assert_refused(result, path, settings, "column map names headers that are not in the file: ['roll']",
                   "Headers found")


def test_column_map_file_with_an_unknown_target_names_the_map(make_file, settings):
    path = make_file("marks.csv", csv_text(line()))
    mapping = make_file("map.json", json.dumps({"Roll": "roll_number"}))
    result = ingest(path, settings, column_map=mapping)
    assert result.summary.status == "refused"
    assert str(mapping) in result.summary.message
    assert "unknown columns ['roll_number']" in result.summary.message
    assert counts(settings) == dict.fromkeys(TABLES, 0)


def test_unknown_sheet_lists_the_sheets(make_file, settings):
    path = make_file("book.xlsx", xlsx_bytes({"Marks": [list(COLUMNS), list(GOOD.values())], "Term 2": []}))
    assert_refused(ingest(path, settings, sheet="Term 3"), path, settings,
                   "no sheet named 'Term 3'", "['Marks', 'Term 2']")


def test_strict_refuses_the_whole_file_for_one_bad_row(make_file, settings):
    path = make_file("marks.csv", csv_text(line(), line(student_id="S2", quiz_marks="11"), line(student_id="S3")))
    result = ingest(path, settings, strict=True)
    assert_refused(result, path, settings, "1 of 3 rows break rules and --strict refuses the whole file",
                   "row 3, column quiz_marks: must be a number from 0 to 10 (value '11')")
    assert result.summary.rows_rejected == 1
    assert ingest(path, settings).summary.status == "loaded"  # the same file without --strict


def test_refusal_leaves_earlier_data_alone(make_file, settings):
    assert_loaded(ingest(make_file("good.csv", csv_text(line())), settings), 1)
    before = counts(settings)
    result = ingest(make_file("bad.csv", csv_text(line(quiz_marks="x"))), settings)
    assert result.summary.status == "refused"
    assert counts(settings) == before


# --- encodings, delimiters, headers ------------------------------------------------------------------


def test_utf8_bom(make_file, settings):
    result = ingest(make_file("bom.csv", b"\xef\xbb\xbf" + csv_text(line()).encode()), settings)
    assert_loaded(result, 1)
    assert result.summary.encoding == "utf-8"
    assert stored(settings) == [("S1", "Math")]


def test_latin1_subjects_are_decoded_with_a_warning(make_file, settings):
    text = csv_text(line(subject="Français"), line(subject="Matemáticas"))
    result = ingest(make_file("latin1.csv", text.encode("latin-1")), settings)
    assert_loaded(result, 2)
    assert stored(settings) == [("S1", "Français"), ("S1", "Matemáticas")]
    encoding = result.summary.encoding
    assert encoding in ("cp1252", "latin-1")
    assert any("not UTF-8" in w and encoding in w for w in result.summary.warnings)
    assert query(settings, "SELECT encoding FROM datasets") == [(encoding,)]


def test_utf16_with_bom(make_file, settings):
    result = ingest(make_file("utf16.csv", csv_text(line(subject="Français")).encode("utf-16")), settings)
    assert_loaded(result, 1)
    assert result.summary.encoding == "utf-16"
    assert not any("UTF-8" in w for w in result.summary.warnings)
    assert stored(settings) == [("S1", "Français")]


@pytest.mark.parametrize("sep", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_other_delimiters(make_file, settings, sep):
    result = ingest(make_file("sep.csv", csv_text(line(sep), line(sep, student_id="S2"), sep=sep)), settings)
    assert_loaded(result, 2)
    assert result.summary.delimiter == sep
    assert stored(settings, "student_id, subject, previous_cgpa, final_grade") == [
        ("S1", "Math", 3.5, "A+"), ("S2", "Math", 3.5, "A+"),
    ]


def test_decimal_comma_with_semicolons(make_file, settings):
    text = csv_text(line(";", previous_cgpa="3,5", assignment_marks="4,25"), sep=";")
    assert_loaded(ingest(make_file("comma.csv", text), settings), 1)
    assert stored(settings, "previous_cgpa, assignment_marks") == [(3.5, 4.25)]


def test_header_aliases_case_and_spaces(make_file, settings):
    header = " Student ID ,SEM,Subject,Assignment,Quiz,attendance %,Mid-Term,CGPA,Final Marks,Grade"
    result = ingest(make_file("aliases.csv", csv_text(line(), header=header)), settings)
    assert_loaded(result, 1)
    assert result.summary.ignored_columns == []
    assert stored(settings, "student_id, attendance_percentage, midterm_marks, previous_cgpa, final_grade") == [
        ("S1", 90.0, 25.0, 3.5, "A+"),
    ]


def test_column_map_json_maps_odd_headers(make_file, settings):
    header = "Roll,Sem,Paper,Assignment,Quiz,Attendance,Sessional,CGPA,Final,Grade"
    path = make_file("odd.csv", csv_text(line(student_id="R-7", subject="Optics"), header=header))
    mapping = make_file("map.json", json.dumps({"Roll": "student_id", "Paper": "subject",
                                                "Sessional": "midterm_marks"}))
    assert_loaded(ingest(path, settings, column_map=mapping), 1)
    assert stored(settings, "student_id, subject, midterm_marks") == [("R-7", "Optics", 25.0)]


def test_unknown_columns_are_ignored_and_listed(make_file, settings):
    path = make_file("extra.csv", csv_text(line() + ",late twice,B", header=HEADER + ",Teacher notes,Section"))
    result = ingest(path, settings)
    assert_loaded(result, 1)
    assert result.summary.ignored_columns == ["Teacher notes", "Section"]
    assert any("Teacher notes" in w for w in result.summary.warnings)
    assert "late twice" not in str(stored(settings, "*"))


# --- rows rejected, rows loaded ----------------------------------------------------------------------


def test_fraction_semester_rejected_while_whole_number_loads(make_file, settings):
    result = ingest(make_file("sem.csv", csv_text(line(semester="2.7"), line(semester="3.0"))), settings)
    assert_loaded(result, 1, 1)
    assert stored(settings, "semester, source_row") == [(3, 3)]
    assert query(settings, "SELECT source_row, column_name, rule, raw_value FROM rejected_rows") == [
        (2, "semester", "must be a whole number (a fraction is rejected, not truncated)", "2.7"),
    ]


def test_out_of_range_non_numbers_nan_and_inf(make_file, settings):
    rows = [
        line(student_id="A", assignment_marks="-0.5"), line(student_id="B", attendance_percentage="100.5"),
        line(student_id="C", previous_cgpa="4.01"), line(student_id="D", midterm_marks="nan"),
        line(student_id="E", quiz_marks="inf"), line(student_id="F", final_marks="forty"),
        line(student_id="G", midterm_marks="=1+2"), line(student_id="OK"),
    ]
    result = ingest(make_file("ranges.csv", csv_text(*rows)), settings)
    assert_loaded(result, 1, 7)
    assert query(settings, "SELECT source_row, column_name, rule, raw_value FROM rejected_rows ORDER BY 1") == [
        (2, "assignment_marks", "must be a number from 0 to 5", "-0.5"),
        (3, "attendance_percentage", "must be a number from 0 to 100", "100.5"),
        (4, "previous_cgpa", "must be a number from 0 to 4", "4.01"),
        (5, "midterm_marks", "must be a number", "nan"),
        (6, "quiz_marks", "must be a number", "inf"),
        (7, "final_marks", "must be a number", "forty"),
        (8, "midterm_marks", "must be a number", "=1+2"),
    ]
    assert stored(settings) == [("OK", "Math")]


def test_grades_normalised_and_unknown_grade_rejected(make_file, settings):
    rows = [line(final_grade="a +"), line(student_id="S2", final_marks="28", final_grade="b +"),
            line(student_id="S3", final_grade="E")]
    result = ingest(make_file("grades.csv", csv_text(*rows)), settings)
    assert_loaded(result, 2, 1)
    assert stored(settings, "student_id, final_grade, grade_mismatch") == [("S1", "A+", False), ("S2", "B+", False)]
    assert query(settings, "SELECT source_row, column_name, rule FROM rejected_rows") == [
        (4, "final_grade", "must be one of A+ A A- B+ B C+ C D F"),
    ]


def test_open_rows_load_with_null_outcomes_and_half_open_rows_are_rejected(make_file, settings):
    rows = [line(), line(student_id="S2", final_marks="", final_grade=""),
            line(student_id="S3", final_grade=""), line(student_id="S4", final_marks="")]
    result = ingest(make_file("open.csv", csv_text(*rows)), settings)
    assert_loaded(result, 2, 2)
    assert result.summary.rows_open == 1
    assert stored(settings, "student_id, final_marks, final_grade") == [("S1", 40.0, "A+"), ("S2", None, None)]
    assert query(settings, "SELECT rows_open, rows_loaded, rows_rejected FROM datasets") == [(1, 2, 2)]
    assert query(settings, "SELECT source_row, column_name FROM rejected_rows ORDER BY 1") == [
        (4, "final_grade"), (5, "final_marks"),
    ]


def test_duplicate_key_rejects_both_rows_naming_both(make_file, settings):
    rows = [line(), line(student_id="S2"), line(quiz_marks="9")]
    result = ingest(make_file("dup.csv", csv_text(*rows)), settings)
    assert_loaded(result, 1, 2)
    rule = "key (student_id, semester, subject) is not unique in the file: rows 2, 4"
    assert query(settings, "SELECT source_row, column_name, rule FROM rejected_rows ORDER BY 1") == [
        (2, "student_id", rule), (4, "student_id", rule),
    ]


def test_formula_like_text_is_stored_verbatim(make_file, settings):
    rows = [line(student_id="=1+2", subject="+SUM(A1)"), line(student_id="-3", subject="@cmd"),
            line(student_id="S1", subject="=HYPERLINK(\"http://x\")")]
    result = ingest(make_file("formula.csv", csv_text(*rows)), settings)
    assert_loaded(result, 3)
    assert stored(settings, "student_id, subject, typeof(student_id)") == [
        ("=1+2", "+SUM(A1)", "VARCHAR"), ("-3", "@cmd", "VARCHAR"), ("S1", '=HYPERLINK("http://x")', "VARCHAR"),
    ]


def test_rows_with_too_many_or_too_few_cells(make_file, settings):
    rows = [line(), line(student_id="S2") + ",extra", "S3,1,Math,4", line(student_id="S4")]
    result = ingest(make_file("ragged.csv", csv_text(*rows)), settings)
    assert_loaded(result, 2, 2)
    sql = "SELECT source_row, column_name, rule, raw_value, raw_row FROM rejected_rows ORDER BY 1"
    assert query(settings, sql) == [
        (3, "", "has 11 cells where the header has 10", rows[1], json.dumps({"line": rows[1]})),
        (4, "", "has 4 cells where the header has 10", "S3,1,Math,4", json.dumps({"line": "S3,1,Math,4"})),
    ]


def test_blank_lines_keep_row_numbers_of_the_file(make_file, settings):
    text = "\n" + csv_text(line(), "", "", line(student_id="S2", final_marks="99"), ",,,,,,,,,", line(student_id="S3"))
    result = ingest(make_file("gaps.csv", text), settings)
    assert_loaded(result, 2, 1)
    assert result.summary.rows_blank == 3
    assert stored(settings, "student_id, source_row") == [("S1", 3), ("S3", 8)]
    assert query(settings, "SELECT source_row, raw_value FROM rejected_rows") == [(6, "99")]
    assert query(settings, "SELECT rows_blank FROM datasets") == [(3,)]


def test_old_mac_line_endings(make_file, settings):
    text = csv_text(line(), line(student_id="S2", quiz_marks="12")).replace("\n", "\r")
    result = ingest(make_file("mac.csv", text), settings)
    assert_loaded(result, 1, 1)
    assert query(settings, "SELECT source_row, column_name FROM rejected_rows") == [(3, "quiz_marks")]


def test_grade_mismatch_is_loaded_and_flagged(make_file, settings):
    rows = [line(final_grade="F"), line(student_id="S2")]
    result = ingest(make_file("mismatch.csv", csv_text(*rows)), settings)
    assert_loaded(result, 2)
    assert result.summary.grade_mismatches == 1
    assert any("grade_mismatch" in w for w in result.summary.warnings)
    assert stored(settings, "student_id, final_grade, grade_mismatch") == [("S1", "F", True), ("S2", "A+", False)]
    assert query(settings, "SELECT grade_mismatches FROM datasets") == [(1,)]


def test_rejected_rows_carry_their_dataset_and_the_row_as_written(make_file, settings):
    header = "Student ID,Semester,Subject,Assignment,Quiz,Attendance %,Midterm,CGPA,Final,Grade"
    bad = "S2, 1 ,Math,4,8,90,25,3.5, 51 ,A+"
    result = ingest(make_file("rejects.csv", csv_text(line(), bad, header=header)), settings)
    assert_loaded(result, 1, 1)
    rows = query(settings, "SELECT dataset_id, source_row, column_name, rule, raw_value, raw_row FROM rejected_rows")
    assert len(rows) == 1
    dataset_id, source_row, column, rule, raw_value, raw_row = rows[0]
    assert (dataset_id, source_row, column, rule, raw_value) == (
        result.summary.dataset_id, 3, "final_marks", "must be a number from 0 to 50", "51",
    )
    assert json.loads(raw_row) == dict(zip(header.split(","), bad.split(","), strict=True))


def test_small_file_warns_that_a_model_will_be_weak(make_file, settings, good_frame):
    result = ingest(make_file("small.csv", good_frame.to_csv(index=False)), settings)
    assert_loaded(result, 72)
    assert any("only 72 valid rows" in w and "1000" in w for w in result.summary.warnings)


def test_large_enough_file_has_no_weak_model_warning(make_file, settings):
    from studyrec_lib.demo.example import generate

    result = ingest(make_file("cohort.csv", generate(students=42).to_csv(index=False)), settings)
    assert_loaded(result, 1008)
    assert result.summary.warnings == []


# --- loading the same data again ---------------------------------------------------------------------


def test_same_file_twice_is_loaded_once(make_file, settings, good_frame):
    path = make_file("cohort.csv", good_frame.to_csv(index=False))
    first = ingest(path, settings)
    assert_loaded(first, 72)
    before = counts(settings)
    second = ingest(path, settings)
    assert second.summary.status == "already_loaded"
    assert second.summary.dataset_id == first.summary.dataset_id
    assert second.summary.sha256 == first.summary.sha256
    assert "--force" in second.summary.message
    assert (second.summary.rows_loaded, second.summary.rows_rejected) == (0, 0)
    assert counts(settings) == before


def test_force_loads_the_same_file_as_a_second_dataset(make_file, settings, good_frame):
    path = make_file("cohort.csv", good_frame.to_csv(index=False))
    first = ingest(path, settings)
    second = ingest(path, settings, force=True)
    assert_loaded(second, 72)
    assert second.summary.dataset_id != first.summary.dataset_id
    assert query(settings, "SELECT dataset_id, count(*) FROM student_performance GROUP BY 1 ORDER BY 1") == [
        (first.summary.dataset_id, 72), (second.summary.dataset_id, 72),
    ]
    assert query(settings, "SELECT count(*) FROM training_examples") == [(72,)]


def test_training_examples_hold_the_latest_finished_row_per_key(make_file, settings):
    first = [line(), line(student_id="S2"), line(student_id="S3", final_marks="", final_grade=""),
             line(student_id="S4")]
    # Later: S1's final mark corrected, S2 sent again still open (the finished row stays), S4 not resent.
    later = [line(final_marks="30", final_grade="A-"), line(student_id="S2", final_marks="", final_grade=""),
             line(student_id="S3", final_marks="", final_grade="")]
    assert_loaded(ingest(make_file("first.csv", csv_text(*first)), settings), 4)
    second = ingest(make_file("later.csv", csv_text(*later)), settings)
    assert_loaded(second, 3)
    assert query(
        settings, "SELECT student_id, final_marks, final_grade, dataset_id FROM training_examples ORDER BY 1"
    ) == [("S1", 30.0, "A-", second.summary.dataset_id), ("S2", 40.0, "A+", 1), ("S4", 40.0, "A+", 1)]


# --- Excel -------------------------------------------------------------------------------------------


def workbook_row(student_id: str = "S1", semester: object = 1, subject: object = "Math") -> list[object]:
    return [student_id, semester, subject, 4, 8, 90, 25, 3.5, 40, "A+"]


def test_xlsx_first_sheet_is_the_default(make_file, settings):
    data = xlsx_bytes({"Marks": [list(COLUMNS), workbook_row(), workbook_row("S2", semester=2.7)],
                       "Term 2": [list(COLUMNS), workbook_row("T9")]})
    result = ingest(make_file("book.xlsx", data), settings)
    assert_loaded(result, 1, 1)
    assert (result.summary.file_format, result.summary.sheet) == ("xlsx", "Marks")
    assert stored(settings, "student_id, semester, previous_cgpa") == [("S1", 1, 3.5)]
    assert query(settings, "SELECT source_row, column_name, raw_value FROM rejected_rows") == [
        (3, "semester", "2.7"),
    ]
    assert query(settings, "SELECT file_format, sheet FROM datasets") == [("xlsx", "Marks")]


def test_xlsx_named_sheet(make_file, settings):
    data = xlsx_bytes({"Marks": [list(COLUMNS), workbook_row()], "Term 2": [list(COLUMNS), workbook_row("T9")]})
    result = ingest(make_file("book.xlsx", data), settings, sheet="Term 2")
    assert_loaded(result, 1)
    assert result.summary.sheet == "Term 2"
    assert stored(settings) == [("T9", "Math")]


def test_xlsx_formula_cell_is_stored_as_its_text(make_file, settings):
    data = xlsx_bytes({"Marks": [list(COLUMNS), workbook_row(subject="=1+2"), workbook_row("=2*3")]})
    assert_loaded(ingest(make_file("formula.xlsx", data), settings), 2)
    assert stored(settings) == [("S1", "=1+2"), ("=2*3", "Math")]


# --- messy teacher files: titles above the header, headers that state their maximum ------------------

TITLE = "Department of Computing - Semester 8 Results"
TEACHER_HEADER = ["Student ID", "Semester", "Subject", "Assignment (5)", "Quiz (10 marks)", "Attendance (%)",
                  "Mid-Term (30)", "CGPA", "Final (50)", "Grade"]
HEADER_WARNING = "the header is on row 3; the 2 rows above it (1 title row, 1 blank) were skipped."


def messy_rows() -> list[list[object]]:
    """Seven rows as a teacher's sheet holds them (attendance as a fraction shown as a percentage); three are bad."""
    good = [[f"S{i}", 8, subject, 4, 8, 0.9, 25, 3.5, 40, "A+"] for i in (1, 2) for subject in ("Math", "Physics")]
    return [*good,
            ["S3", 8, "Math", 4, 12, 0.9, 25, 3.5, 40, "A+"],  # quiz over 10
            ["S3", 8, "Physics", 4, 8, 0.9, 25, 3.5, 40, "E"],  # no such grade
            ["S4", 8.5, "Math", 4, 8, 0.9, 25, 3.5, 40, "A+"]]  # a fraction of a semester


def messy_workbook(header: list[str] = TEACHER_HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Semester 8"
    sheet.append([TITLE])
    sheet.merge_cells("A1:J1")
    sheet.append([])
    sheet.append(header)
    for row in messy_rows():
        sheet.append(row)
        sheet.cell(sheet.max_row, 6).number_format = "0%"
    workbook.create_sheet("Moderation notes").append(["Checked by", "HoD"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def messy_csv() -> str:
    def cell(value: object) -> str:
        return "90" if value == 0.9 else str(value)

    lines = [TITLE, "", ",".join(TEACHER_HEADER)] + [",".join(map(cell, row)) for row in messy_rows()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_messy_teacher_file_loads_below_its_title_with_rows_numbered_as_in_the_file(make_file, settings, kind):
    path = make_file(f"semester8.{kind}", messy_workbook() if kind == "xlsx" else messy_csv())
    result = ingest(path, settings)
    assert_loaded(result, 4, 3)
    summary = result.summary
    assert (summary.rows_total, summary.header_row, summary.title_rows, summary.rows_blank) == (7, 3, 1, 0)
    assert summary.warnings[0] == HEADER_WARNING
    assert summary.ignored_columns == []
    assert stored(settings, "student_id, subject, attendance_percentage, midterm_marks, source_row") == [
        ("S1", "Math", 90.0, 25.0, 4), ("S1", "Physics", 90.0, 25.0, 5),
        ("S2", "Math", 90.0, 25.0, 6), ("S2", "Physics", 90.0, 25.0, 7),
    ]
    assert query(settings, "SELECT source_row, column_name, raw_value FROM rejected_rows ORDER BY 1") == [
        (8, "quiz_marks", "12"), (9, "final_grade", "E"), (10, "semester", "8.5"),
    ]
    if kind == "xlsx":
        assert summary.sheet == "Semester 8"


def test_a_header_marked_out_of_another_maximum_refuses_the_file(make_file, settings):
    header = ["Mid-Term (40)" if h == "Mid-Term (30)" else h for h in TEACHER_HEADER]
    path = make_file("midterm40.xlsx", messy_workbook(header))
    assert_refused(ingest(path, settings), path, settings,
                   "column 'Mid-Term (40)' says its marks are out of 40, but the schema's maximum for midterm_marks "
                   "is 30", "Rescale the marks to 0-30", "--column-map")


def test_no_header_in_the_first_rows_keeps_todays_message_and_says_so(make_file, settings):
    path = make_file("nohead.csv", "\n".join([TITLE, "", "Roll,Mark", "S1,40"]) + "\n")
    assert_refused(ingest(path, settings), path, settings,
                   f"required columns are missing: {[c for c in COLUMNS if c not in ('final_marks', 'final_grade')]}",
                   f"Headers found: {[TITLE]}",
                   "No row among the first 3 non-blank rows has all the required columns.")


def test_a_title_row_above_a_header_that_needs_the_column_map(make_file, settings):
    path = make_file("roll.csv", "\n".join([TITLE, "Roll," + ",".join(COLUMNS[1:]), line(student_id="R-7")]) + "\n")
    result = ingest(path, settings, column_map={"Roll": "student_id"})
    assert_loaded(result, 1)
    assert (result.summary.header_row, result.summary.title_rows) == (2, 1)
    assert "the header is on row 2; the row above it (1 title row) was skipped." in result.summary.warnings
    assert stored(settings, "student_id, source_row") == [("R-7", 3)]


# --- who uploaded ------------------------------------------------------------------------------------


def test_the_uploader_is_stored_with_the_dataset_and_listed(make_file, settings):
    from studyrec_lib.ingest import list_datasets

    ingest(make_file("a.csv", csv_text(line())), settings, uploaded_by="  t.okafor  ")
    ingest(make_file("b.csv", csv_text(line(student_id="S2"))), settings)
    ingest(make_file("c.csv", csv_text(line(student_id="S3"))), settings, uploaded_by="x" * 300)
    assert query(settings, "SELECT uploaded_by FROM datasets ORDER BY dataset_id") == [
        ("t.okafor",), (None,), ("x" * 100,),
    ]
    listed = list_datasets(settings)
    assert listed["uploaded_by"].tolist()[0] == "t.okafor"
