"""reading.py: bad and awkward files are refused with a message naming the file, or read as raw text."""

from __future__ import annotations

import io
import random
import zipfile

import openpyxl
import pytest

from studyrec_lib.core.errors import FileRefused
from studyrec_lib.core.schema import COLUMNS
from studyrec_lib.ingest.reading import read_table

HEADER = ",".join(COLUMNS)
ROW = "S1,1,Math,4,8,90,25,3.5,40,A+"


def rows(*lines: str, header: str = HEADER, newline: str = "\n") -> str:
    return newline.join([header, *lines]) + newline


def refusal(path, **kwargs) -> str:
    with pytest.raises(FileRefused) as caught:
        read_table(path, **kwargs)
    message = str(caught.value)
    assert str(path) in message
    return message


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, sheet_rows in sheets.items():
        worksheet = workbook.create_sheet(title)
        for row in sheet_rows:
            worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- refused files -----------------------------------------------------------------------------------


def test_missing_file_is_refused(tmp_path):
    assert "file not found" in refusal(tmp_path / "nope.csv")


def test_empty_file_is_refused(make_file):
    assert "empty (0 bytes)" in refusal(make_file("empty.csv", b""))


def test_header_only_is_refused(make_file):
    assert "header but no data rows" in refusal(make_file("header.csv", HEADER + "\n\n  \n"))


def test_whitespace_only_is_refused(make_file):
    assert "only blank space" in refusal(make_file("blank.csv", " \n\t\r\n   \n"))


def test_binary_with_nul_bytes_is_refused(make_file):
    junk = b"\x89junk" + random.Random(1).randbytes(2000) + b"\x00"
    assert "binary data (NUL bytes)" in refusal(make_file("junk.csv", junk))


def test_binary_without_nul_bytes_is_refused(make_file):
    junk = bytes(b for b in random.Random(2).randbytes(4000) if b)
    assert b"\x00" not in junk
    assert "looks like binary data" in refusal(make_file("junk.csv", b"x" + junk))


def test_legacy_xls_says_how_to_convert(make_file):
    message = refusal(make_file("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00junk" * 100))
    assert "legacy Excel .xls" in message
    assert "save it as .xlsx or CSV" in message
    assert "--convert-to xlsx" in message


def test_zip_that_is_not_xlsx_is_refused(make_file):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    message = refusal(make_file("results.xlsx", buffer.getvalue()))
    assert "ZIP archive but not a readable .xlsx" in message


def test_truncated_zip_is_refused(make_file):
    message = refusal(make_file("results.xlsx", b"PK\x03\x04" + b"broken" * 50))
    assert "ZIP archive but not a readable .xlsx" in message


def test_file_over_the_size_limit_gives_both_sizes(make_file):
    path = make_file("big.csv", rows(*[ROW] * 200))
    message = refusal(path, max_bytes=100)
    assert f"the file is {path.stat().st_size:,} bytes, over the upload limit of 100 bytes" in message
    assert "--max-upload-mb" in message


def test_size_limit_in_megabytes_reads_as_megabytes(make_file):
    path = make_file("big.csv", rows(*[ROW] * 40_000))  # ~1.2 MB
    assert "MB, over the upload limit of 1.0 MB" in refusal(path, max_bytes=2**20)


def test_file_at_the_size_limit_is_read(make_file):
    path = make_file("ok.csv", rows(ROW))
    assert len(read_table(path, max_bytes=path.stat().st_size).frame) == 1


def test_sheet_option_on_a_csv_is_refused(make_file):
    assert "--sheet 'Marks' was given but this is a text (CSV) file" in refusal(
        make_file("a.csv", rows(ROW)), sheet="Marks"
    )


# --- encodings and delimiters ------------------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_first_header(make_file):
    table = read_table(make_file("bom.csv", b"\xef\xbb\xbf" + rows(ROW).encode()))
    assert table.headers == list(COLUMNS)
    assert table.encoding == "utf-8"


def test_latin1_is_decoded(make_file):
    text = rows("S1,1,Français,4,8,90,25,3.5,40,A+", "S2,1,Matemáticas,4,8,90,25,3.5,40,A+")
    table = read_table(make_file("latin.csv", text.encode("latin-1")))
    assert table.frame["c2"].tolist() == ["Français", "Matemáticas"]
    assert table.encoding in ("cp1252", "latin-1")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_bom_is_decoded(make_file, codec):
    data = rows("S1,1,Français,4,8,90,25,3.5,40,A+").encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    table = read_table(make_file("u16.csv", data))
    assert table.encoding == "utf-16"
    assert table.headers == list(COLUMNS)
    assert table.frame["c2"].tolist() == ["Français"]


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_delimiter_is_detected_from_the_header(make_file, delimiter):
    text = rows(ROW.replace(",", delimiter), header=HEADER.replace(",", delimiter))
    table = read_table(make_file("d.csv", text))
    assert table.delimiter == delimiter
    assert table.headers == list(COLUMNS)
    assert table.frame.iloc[0].tolist() == ROW.split(",")


def test_decimal_comma_cells_stay_text(make_file):
    text = rows("S1;1;Math;4,5;8;90;25;3,5;40;A+", header=HEADER.replace(",", ";"))
    table = read_table(make_file("semi.csv", text))
    assert table.frame.loc[0, "c3"] == "4,5"
    assert table.frame.loc[0, "c7"] == "3,5"


# --- raw text, row numbers ---------------------------------------------------------------------------


def test_cells_are_raw_text_never_converted_or_evaluated(make_file):
    table = read_table(make_file("f.csv", rows("=1+2,007, +SUM(A1) ,-3,@cmd,1e1,90,25,3.50,")))
    assert table.frame.iloc[0].tolist() == ["=1+2", "007", " +SUM(A1) ", "-3", "@cmd", "1e1", "90", "25",
                                            "3.50", ""]
    assert all(isinstance(v, str) for v in table.frame.iloc[0])


def test_blank_lines_keep_row_numbers_of_the_file(make_file):
    text = rows(ROW, "", "", "S2,1,Math,4,8,90,25,3.5,40,A+", ",,,,,,,,,", "S3,1,Math,4,8,90,25,3.5,40,A+", "")
    table = read_table(make_file("gaps.csv", text))
    assert table.frame["c0"].tolist() == ["S1", "S2", "S3"]
    assert table.source_rows.tolist() == [2, 5, 7]
    assert table.blank_rows == 4


def test_blank_lines_above_the_header_keep_row_numbers_of_the_file(make_file):
    table = read_table(make_file("lead.csv", "\n \n" + rows(ROW, "", "S2,1,Math,4,8,90,25,3.5,40,A+")))
    assert table.headers == list(COLUMNS)
    assert table.source_rows.tolist() == [4, 6]


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr-only"])
def test_windows_and_old_mac_line_endings(make_file, newline):
    text = rows(ROW, "", "S2,1,Math,4,8,90,25,3.5,40,A+", newline=newline)
    table = read_table(make_file("eol.csv", text))
    assert table.headers == list(COLUMNS)
    assert table.frame["c0"].tolist() == ["S1", "S2"]
    assert table.frame["c9"].tolist() == ["A+", "A+"]
    assert table.source_rows.tolist() == [2, 4]


def test_rows_with_too_many_or_too_few_cells_are_set_aside_with_their_line(make_file):
    text = rows(ROW, ROW + ",extra", "", "S3,1,Math", "S4,1,Math,4,8,90,25,3.5,40,A+")
    table = read_table(make_file("ragged.csv", text))
    assert table.frame["c0"].tolist() == ["S1", "S4"]
    assert table.source_rows.tolist() == [2, 6]
    assert [(m.source_row, m.expected_columns, m.actual_columns, m.text) for m in table.malformed] == [
        (3, 10, 11, ROW + ",extra"),
        (5, 10, 3, "S3,1,Math"),
    ]
    assert table.blank_rows == 1


def test_format_is_decided_by_content_not_by_name(make_file):
    assert read_table(make_file("really_csv.xlsx", rows(ROW))).file_format == "csv"
    workbook = xlsx_bytes({"Sheet": [list(COLUMNS), ROW.split(",")]})
    assert read_table(make_file("really_xlsx.csv", workbook)).file_format == "xlsx"


# --- XLSX --------------------------------------------------------------------------------------------


def workbook_rows(semester: object = 1, subject: object = "Math") -> list[object]:
    return ["S1", semester, subject, 4, 8, 90, 25, 3.5, 40, "A+"]


def test_xlsx_first_sheet_by_default_and_numbers_as_text(make_file):
    data = xlsx_bytes({"Marks": [list(COLUMNS), workbook_rows()], "Other": [list(COLUMNS)]})
    table = read_table(make_file("book.xlsx", data))
    assert (table.file_format, table.sheet) == ("xlsx", "Marks")
    assert table.frame.iloc[0].tolist() == ROW.split(",")


def test_xlsx_named_sheet(make_file):
    data = xlsx_bytes({"Marks": [list(COLUMNS), workbook_rows()], "Term 2": [list(COLUMNS), workbook_rows(2)]})
    table = read_table(make_file("book.xlsx", data), sheet="Term 2")
    assert table.sheet == "Term 2"
    assert table.frame["c1"].tolist() == ["2"]


def test_xlsx_unknown_sheet_lists_the_sheets(make_file):
    data = xlsx_bytes({"Marks": [list(COLUMNS), workbook_rows()], "Term 2": [list(COLUMNS)]})
    message = refusal(make_file("book.xlsx", data), sheet="Term 3")
    assert "no sheet named 'Term 3'" in message
    assert "['Marks', 'Term 2']" in message


def test_xlsx_formula_is_read_as_its_text(make_file):
    data = xlsx_bytes({"Marks": [list(COLUMNS), workbook_rows(subject="=1+2")]})
    table = read_table(make_file("book.xlsx", data))
    assert table.frame.loc[0, "c2"] == "=1+2"


def test_xlsx_fraction_is_not_rounded(make_file):
    data = xlsx_bytes({"Marks": [list(COLUMNS), workbook_rows(semester=2.7)]})
    assert read_table(make_file("book.xlsx", data)).frame.loc[0, "c1"] == "2.7"


def test_xlsx_rows_keep_excel_row_numbers(make_file):
    sheet = [[], [], list(COLUMNS), workbook_rows(), [], workbook_rows(2), [*workbook_rows(3), "stray"]]
    table = read_table(make_file("book.xlsx", xlsx_bytes({"Marks": sheet})))
    assert table.source_rows.tolist() == [4, 6]
    assert [(m.source_row, m.actual_columns) for m in table.malformed] == [(7, 11)]
    assert table.blank_rows == 1


def test_xlsx_empty_sheet_and_header_only_sheet_are_refused(make_file):
    data = xlsx_bytes({"Empty": [], "Header": [list(COLUMNS)]})
    assert "sheet 'Empty' is empty" in refusal(make_file("book.xlsx", data))
    assert "sheet 'Header' has a header but no data rows" in refusal(make_file("book.xlsx", data), sheet="Header")


# --- title rows above the header ---------------------------------------------------------------------

TITLE = "Department of Computing - Semester 8 Results"


@pytest.mark.parametrize(
    ("above", "header_row", "title_rows"),
    [
        ([TITLE, ""], 3, 1),
        ([TITLE + ",,,,,,,,,", ",,,,,,,,,", "Printed 2025-01-10"], 4, 2),  # titles padded with delimiters
        (["", TITLE, "  "], 4, 1),
        ([], 1, 0),
    ],
    ids=["title-blank", "padded-titles", "blank-title-blank", "no-title"],
)
def test_csv_title_rows_above_the_header_are_skipped_and_counted(make_file, above, header_row, title_rows):
    text = "\n".join([*above, HEADER, ROW, "S2,1,Math,4,8,90,25,3.5,40,A+"]) + "\n"
    table = read_table(make_file("titled.csv", text))
    assert table.headers == list(COLUMNS)
    assert (table.header_row, table.title_rows, table.header_searched) == (header_row, title_rows, 0)
    assert table.source_rows.tolist() == [header_row + 1, header_row + 2]
    assert table.frame["c0"].tolist() == ["S1", "S2"]
    assert table.blank_rows == 0


def test_csv_delimiter_is_sniffed_on_the_header_not_on_a_title_full_of_commas(make_file):
    title = "Department of Computing, Faculty of Science, Semester 8, Results, Final, Draft, Version 2, Copy"
    header = ";".join(["Student ID", "Semester", "Subject", "Assignment (5)", "Quiz (10 marks)", "Attendance (%)",
                       "Mid-Term (30)", "CGPA", "Final (50)", "Grade"])
    text = "\n".join([title, header, "S1;8;Math;4,5;8;90;25;3,5;40;A+"]) + "\n"
    table = read_table(make_file("semi.csv", text))
    assert (table.delimiter, table.header_row, table.title_rows) == (";", 2, 1)
    assert table.frame.iloc[0].tolist() == ["S1", "8", "Math", "4,5", "8", "90", "25", "3,5", "40", "A+"]


def test_csv_header_needing_the_column_map_is_found_with_it(make_file):
    header = "Roll," + ",".join(COLUMNS[1:])
    path = make_file("roll.csv", "\n".join([TITLE, header, ROW]) + "\n")
    assert read_table(path).header_row == 1  # without the map no row names a student id
    table = read_table(path, column_map={"Roll": "student_id"})
    assert (table.header_row, table.title_rows, table.headers[0]) == (2, 1, "Roll")


def test_csv_without_a_header_row_keeps_the_first_non_blank_row_and_says_how_many_were_searched(make_file):
    text = "\n".join(["", TITLE, "Roll,Mark", "S1,40", "S2,30"]) + "\n"
    table = read_table(make_file("nohead.csv", text))
    assert (table.header_row, table.title_rows, table.header_searched) == (2, 0, 4)
    assert table.headers == [TITLE]


def test_csv_header_is_searched_for_in_the_first_30_non_blank_rows_only(make_file):
    titles = [f"note {i}" for i in range(29)]
    found = read_table(make_file("29.csv", "\n".join([*titles, "", HEADER, ROW]) + "\n"))
    assert (found.header_row, found.title_rows) == (31, 29)
    too_deep = read_table(make_file("30.csv", "\n".join([*titles, "note 29", HEADER, ROW]) + "\n"))
    assert (too_deep.header_row, too_deep.header_searched, too_deep.headers) == (1, 30, ["note 0"])


def test_xlsx_merged_title_and_blank_row_above_the_header(make_file):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Semester 8"
    sheet.append([TITLE])
    sheet.merge_cells("A1:J1")
    sheet.append([])
    sheet.append(list(COLUMNS))
    sheet.append(workbook_rows())
    sheet.append([])
    sheet.append(workbook_rows(2))
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_table(make_file("titled.xlsx", buffer.getvalue()))
    assert (table.header_row, table.title_rows, table.header_searched) == (3, 1, 0)
    assert table.headers == list(COLUMNS)
    assert table.source_rows.tolist() == [4, 6]
    assert table.malformed == []
    assert table.blank_rows == 1


def test_xlsx_without_a_header_row_keeps_the_first_non_blank_row(make_file):
    sheet = [[], [TITLE], ["Roll", "Mark"], ["S1", 40]]
    table = read_table(make_file("nohead.xlsx", xlsx_bytes({"Marks": sheet})))
    assert (table.header_row, table.title_rows, table.header_searched, table.headers) == (2, 0, 3, [TITLE])
