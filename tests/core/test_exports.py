import pandas as pd
import pytest
from openpyxl import load_workbook

from studyrec_lib.core import exports

DANGEROUS = ["=1+2", "+A1", "-3", "@x"]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "text": [*DANGEROUS, "plain"],
        "number": [1.5, -2.0, 3.0, -4.25, 5.0],
        "count": [1, -2, 3, 4, 5],
    })


def test_xlsx_stores_formula_like_text_as_text(frame, tmp_path):
    path = exports.write_xlsx(frame, tmp_path / "out.xlsx", sheet="at risk")
    worksheet = load_workbook(path)["at risk"]
    rows = list(worksheet.iter_rows())
    assert [cell.value for cell in rows[0]] == ["text", "number", "count"]
    for cell, expected in zip((row[0] for row in rows[1:]), [*DANGEROUS, "plain"], strict=True):
        assert cell.data_type == "s", cell.value
        assert cell.value == expected
    numbers = [(row[1].value, row[1].data_type, row[2].value) for row in rows[1:]]
    assert numbers == [(1.5, "n", 1), (-2, "n", -2), (3, "n", 3), (-4.25, "n", 4), (5, "n", 5)]


def test_xlsx_writes_missing_values_as_empty_cells(tmp_path):
    frame = pd.DataFrame({"text": ["=A1", None], "number": [float("nan"), 2.0]})
    worksheet = load_workbook(exports.write_xlsx(frame, tmp_path / "gaps.xlsx")).active
    assert worksheet.title == "data"
    assert [[cell.value for cell in row] for row in worksheet.iter_rows(min_row=2)] == [["=A1", None], [None, 2]]
    assert worksheet["A2"].data_type == "s"


def test_csv_prefixes_formula_like_text_and_leaves_numbers_alone(frame, tmp_path):
    path = exports.write_csv(frame, tmp_path / "out.csv")
    lines = path.read_text().splitlines()
    assert lines == [
        "text,number,count",
        "'=1+2,1.5,1",
        "'+A1,-2.0,-2",
        "'-3,3.0,3",
        "'@x,-4.25,4",
        "plain,5.0,5",
    ]
    back = pd.read_csv(path)
    assert back["number"].tolist() == frame["number"].tolist()
    assert back["count"].tolist() == frame["count"].tolist()
    # The caller's frame is not changed.
    assert frame["text"].tolist() == [*DANGEROUS, "plain"]


@pytest.mark.parametrize(("value", "expected"), [
    ("=SUM(A1:A2)", "'=SUM(A1:A2)"), ("+1", "'+1"), ("-1", "'-1"), ("@cmd", "'@cmd"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("a=b", "a=b"), ("", ""), (-3, -3), (None, None),
])
def test_neutralise(value, expected):
    assert exports.neutralise(value) == expected


def test_headers_from_a_teachers_file_are_neutralised_too(tmp_path):
    """Batch predictions keep the input file's extra columns: a header can be a formula as well."""
    frame = pd.DataFrame({'=HYPERLINK("http://evil.example/h","h")': ["x"], "marks": [1.0]})
    csv_header = exports.write_csv(frame, tmp_path / "out.csv").read_text().splitlines()[0]
    assert csv_header == '"\'=HYPERLINK(""http://evil.example/h"",""h"")",marks'
    header = next(load_workbook(exports.write_xlsx(frame, tmp_path / "out.xlsx")).active.iter_rows())
    assert [(cell.value, cell.data_type) for cell in header] == [
        ('=HYPERLINK("http://evil.example/h","h")', "s"), ("marks", "s")]


def test_xlsx_header_row_is_frozen_and_filters_the_whole_table(frame, tmp_path):
    worksheet = load_workbook(exports.write_xlsx(frame, tmp_path / "out.xlsx")).active
    assert worksheet.freeze_panes == "A2"
    assert worksheet.auto_filter.ref == "A1:C6"
    assert worksheet.column_dimensions["A"].width == exports.MIN_COLUMN_WIDTH


def test_a_table_without_columns_still_writes_a_workbook(tmp_path):
    worksheet = load_workbook(exports.write_xlsx(pd.DataFrame(), tmp_path / "none.xlsx")).active
    assert worksheet.auto_filter.ref is None
    assert worksheet.freeze_panes is None


def test_bytes_for_a_download_are_the_files_bytes(frame, tmp_path):
    """A browser download and a file on disk are the same export: one writer, so one neutralisation."""
    from io import BytesIO

    assert exports.csv_bytes(frame) == exports.write_csv(frame, tmp_path / "out.csv").read_bytes()
    from_bytes = load_workbook(BytesIO(exports.xlsx_bytes(frame, sheet="s")))["s"]
    from_file = load_workbook(exports.write_xlsx(frame, tmp_path / "out.xlsx", sheet="s"))["s"]
    assert list(from_bytes.values) == list(from_file.values)
    assert [c.data_type for c in from_bytes["A"]] == [c.data_type for c in from_file["A"]] == ["s"] * 6
