"""input_limits.py: hostile files are refused cheaply by the reader and the ingest, and messages stay short."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from studyrec_lib.core import input_limits, warehouse
from studyrec_lib.core.errors import FileRefused
from studyrec_lib.core.input_limits import MAX_CELL_CHARS, MAX_COLUMNS, MAX_ECHO_CHARS, echo, echo_list
from studyrec_lib.core.schema import COLUMNS
from studyrec_lib.ingest import ingest_file, reading, validate
from studyrec_lib.ingest.columns import match_columns
from studyrec_lib.ingest.reading import read_table

HEADER = ",".join(COLUMNS)
ROW = "S1,1,Math,4,8,90,25,3.5,40,A+"
XLSX_ROW = ["S1", 1, "Math", 4, 8, 90, 25, 3.5, 40, "A+"]


def xlsx(rows: list[list[object]], edit=None) -> bytes:
    """A real workbook; ``edit(name, data) -> data`` may rewrite any of its parts (e.g. the sheet XML)."""
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    if edit is None:
        return buffer.getvalue()
    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            target.writestr(member.filename, edit(member.filename, source.read(member.filename)))
    return out.getvalue()


def refusal(path: Path, **kwargs) -> str:
    with pytest.raises(FileRefused) as caught:
        read_table(path, **kwargs)
    message = str(caught.value)
    assert str(path) in message
    return message


def test_echo_cuts_long_text_and_says_how_long_it_was():
    assert echo("short") == "short"
    cut = echo("x" * 5000)
    assert cut.startswith("x" * MAX_ECHO_CHARS) and "5,000 characters" in cut and len(cut) < 120
    listed = echo_list([f"h{i}" for i in range(50)])
    assert "'h19'" in listed and "'h20'" not in listed and "30 more" in listed


def test_a_declared_sheet_dimension_is_not_read_as_rows_or_columns(make_file):
    """A sheet declaring A1:XFD500 (16,384 columns) with one data row is read as the cells it has."""

    def declare_large(name: str, data: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            return re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD500"/>', data)
        return data

    path = make_file("declared.xlsx", xlsx([list(COLUMNS), XLSX_ROW], declare_large))
    workbook = openpyxl.load_workbook(path, read_only=True)
    assert workbook.active.max_column == 16384  # what the file declares
    assert [len(row) for row in reading._sheet_rows(path, workbook.active)] == [len(COLUMNS)] * 2
    workbook.close()
    table = read_table(path)
    assert len(table.frame) == 1 and table.blank_rows == 0 and table.headers == list(COLUMNS)


def test_a_workbook_that_expands_beyond_the_limit_is_refused_before_reading(make_file):
    """A cell text of 3 MB compresses to a few KB; unpacked it is over a 2 MB upload limit."""

    def inflate(name: str, data: bytes) -> bytes:
        return data.replace(b"BOMB", b"x" * 3_000_000) if name == "xl/worksheets/sheet1.xml" else data

    path = make_file("strings-bomb.xlsx", xlsx([list(COLUMNS), ["BOMB", *XLSX_ROW[1:]]], inflate))
    assert path.stat().st_size < 100_000
    message = refusal(path, max_bytes=2 * 2**20)
    assert "expands to" in message and "2.0 MB" in message
    assert len(message) < 400


def test_an_overlong_excel_cell_is_refused_naming_row_and_column(make_file):
    path = make_file("long-cell.xlsx", xlsx([list(COLUMNS), XLSX_ROW, [*XLSX_ROW[:2], "m" * (MAX_CELL_CHARS + 1)]]))
    message = refusal(path)
    assert "row 3" in message and "column 'C'" in message and f"{MAX_CELL_CHARS + 1:,} characters" in message
    assert "mmmm" not in message


def test_an_excel_sheet_over_the_row_limit_is_refused(make_file, monkeypatch):
    monkeypatch.setattr(reading, "MAX_SHEET_ROWS", 5)
    path = make_file("tall.xlsx", xlsx([list(COLUMNS), *[[f"S{i}", *XLSX_ROW[1:]] for i in range(6)]]))
    assert "more than 5 rows" in refusal(path)
    ok = make_file("five.xlsx", xlsx([list(COLUMNS), *[[f"S{i}", *XLSX_ROW[1:]] for i in range(5)]]))
    assert len(read_table(ok).frame) == 5


def test_an_excel_row_wider_than_the_limit_is_refused(make_file):
    path = make_file("wide.xlsx", xlsx([[*COLUMNS, *[f"x{i}" for i in range(MAX_COLUMNS)]], XLSX_ROW]))
    assert f"over the limit of {MAX_COLUMNS}" in refusal(path)


def test_a_percent_formatted_excel_cell_is_read_as_the_percent_it_shows(make_file):
    workbook = openpyxl.Workbook()
    workbook.active.append(list(COLUMNS))
    workbook.active.append([*XLSX_ROW[:5], 0.81, *XLSX_ROW[6:]])
    workbook.active.append([*XLSX_ROW[:5], 0.875, *XLSX_ROW[6:]])
    workbook.active["F2"].number_format = "0%"
    workbook.active["F3"].number_format = "0.0%"
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_table(make_file("percent.xlsx", buffer.getvalue()))
    assert table.frame["c5"].tolist() == ["81", "87.5"]


def test_a_csv_header_field_over_the_csv_module_limit_is_refused_not_a_crash(make_file):
    path = make_file("huge-header.csv", '"' + "h" * 200_000 + '",' + HEADER + "\n" + "x," + ROW + "\n")
    message = refusal(path)
    assert "row 1" in message and "field larger than field limit" in message and "hhhh" * 30 not in message


def test_an_overlong_csv_cell_is_refused_naming_row_and_column(make_file):
    path = make_file("long.csv", f"{HEADER}\n{ROW}\nS2,1,{'m' * (MAX_CELL_CHARS + 5)},4,8,90,25,3.5,40,A+\n")
    message = refusal(path)
    assert "row 3" in message and "'subject'" in message and "mmmm" * 30 not in message


def test_a_csv_wider_than_the_limit_is_refused_before_its_rows_are_parsed(make_file):
    extra = ",".join(f"x{i}" for i in range(MAX_COLUMNS))
    path = make_file("wide.csv", f"{HEADER},{extra}\n{ROW}{',' * MAX_COLUMNS}\n")
    assert f"{len(COLUMNS) + MAX_COLUMNS:,} columns" in refusal(path)


def test_a_malformed_line_is_kept_only_in_part(make_file):
    path = make_file("ragged.csv", f"{HEADER}\n{ROW}\n{ROW}{',z' * 5000}\n")
    table = read_table(path)
    assert len(table.malformed) == 1 and len(table.malformed[0].text) < reading.MALFORMED_TEXT_CHARS + 40


def test_a_refusal_lists_only_the_first_headers_each_cut_short(make_file):
    headers = [f"{i}-" + "q" * 3000 for i in range(150)]
    message = ""
    with pytest.raises(FileRefused) as caught:
        match_columns("f.csv", headers)
    message = str(caught.value)
    assert "130 more" in message and len(message) < 4000


def test_rejected_rows_keep_detail_up_to_the_cap_and_the_counts_stay_exact(make_file, monkeypatch, settings):
    monkeypatch.setattr(validate, "MAX_REJECTED_ROWS_DETAIL", 3)
    bad = [f"B{i},1,Math,9,99,90,25,3.5,40,A+" for i in range(10)]  # each breaks two rules
    path = make_file("bad.csv", "\n".join([HEADER, ROW, *bad]) + "\n")
    table = read_table(path)
    result = validate.validate_rows(table, match_columns(str(path), table.headers))
    assert result.rows_rejected == 10 and result.rows_valid == 1 and result.rows_total == 11
    assert sorted(result.rejects["source_row"].unique()) == [3, 4, 5]
    assert result.rows_rejected_without_detail == 7
    summary = ingest_file(path, settings=settings, progress=None).summary
    assert (summary.rows_rejected, summary.rows_rejected_undetailed) == (10, 7)
    assert any("7 more rejected rows are counted only" in warning for warning in summary.warnings)


def test_the_raw_row_is_stored_once_per_rejected_row(make_file):
    path = make_file("two-rules.csv", f"{HEADER}\nS1,1,Math,9,99,90,25,3.5,40,A+\n")
    table = read_table(path)
    rejects = validate.validate_rows(table, match_columns(str(path), table.headers)).rejects
    assert len(rejects) == 2
    assert rejects["raw_row"].notna().sum() == 1
    assert json.loads(rejects["raw_row"].dropna().iloc[0])["quiz_marks"] == "99"


def test_a_hostile_file_is_a_refusal_with_a_small_report_and_an_unchanged_warehouse(make_file, settings, tmp_path):
    path = make_file("bomb.csv", '"' + "h" * 300_000 + '",' + HEADER + "\n" + "x," + ROW + "\n")
    run_dir = tmp_path / "run"
    result = ingest_file(path, settings=settings, run_dir=run_dir, progress=None)
    assert result.summary.status == "refused"
    assert "row 1" in result.summary.message
    assert (run_dir / "ingest.json").stat().st_size < 5_000
    assert not (run_dir / "rejected_rows.csv").exists()


def test_studyrec_ingest_refuses_a_bomb_with_exit_1_a_finished_run_and_an_unchanged_warehouse(make_file, settings):
    """The whole command, as the issue measured it: a strings bomb must not leave a run 'running' or a huge report."""

    def inflate(name: str, data: bytes) -> bytes:
        return data.replace(b"BOMB", b"x" * 3_000_000) if name == "xl/worksheets/sheet1.xml" else data

    path = make_file("strings-bomb.xlsx", xlsx([list(COLUMNS), ["BOMB", *XLSX_ROW[1:]]], inflate))
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir),
           "STUDYREC_MAX_UPLOAD_MB": "2"}
    done = subprocess.run([sys.executable, "-m", "studyrec_lib.cli", "ingest", str(path), "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ingest_status"] == "refused" and summary["status"] != "running"
    run_dir = settings.runs_dir / summary["run_id"]
    assert (run_dir / "ingest.json").is_file()
    assert sum(f.stat().st_size for f in run_dir.rglob("*") if f.is_file()) < 2_000_000
    with warehouse.connect(settings) as con:
        assert con.execute("SELECT count(*) FROM datasets WHERE status = 'loaded'").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM student_performance").fetchone()[0] == 0


def test_the_limits_are_documented_where_they_are_defined():
    assert input_limits.__doc__ and "refused" in input_limits.__doc__
    assert len(COLUMNS) <= MAX_COLUMNS and MAX_CELL_CHARS >= validate.MAX_TEXT_LENGTH


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_a_tall_sheet_is_counted_in_its_xml_before_openpyxl_opens_the_workbook(make_file, monkeypatch, prefix):
    monkeypatch.setattr(reading, "MAX_SHEET_ROWS", 5)

    def prefixed(name: str, data: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml" or not prefix:
            return data
        return data.replace(b"<row ", b"<x:row ").replace(b"</row>", b"</x:row>")

    def no_openpyxl(*_args, **_kwargs):
        raise AssertionError("openpyxl opened a workbook that the row count refuses")

    tall = make_file("tall.xlsx", xlsx([list(COLUMNS), *[[f"S{i}", *XLSX_ROW[1:]] for i in range(6)]], prefixed))
    monkeypatch.setattr(openpyxl, "load_workbook", no_openpyxl)
    with pytest.raises(FileRefused, match="more than 5 rows"):
        reading._check_workbook_bounds(tall, None)
    fits = make_file("fits.xlsx", xlsx([list(COLUMNS), *[[f"S{i}", *XLSX_ROW[1:]] for i in range(5)]], prefixed))
    reading._check_workbook_bounds(fits, None)


def test_a_member_that_unpacks_to_more_than_it_declares_is_cut_at_its_declared_size(make_file):
    """Declared sizes bound what is read: a sheet declaring 100 bytes yields at most 100, then fails its CRC."""
    data = bytearray(xlsx([list(COLUMNS), XLSX_ROW]))
    entry = data.find(b"PK\x01\x02")
    while entry != -1:
        name_length = int.from_bytes(data[entry + 28: entry + 30], "little")
        if bytes(data[entry + 46: entry + 46 + name_length]) == b"xl/worksheets/sheet1.xml":
            data[entry + 24: entry + 28] = (100).to_bytes(4, "little")  # the uncompressed size it declares
        entry = data.find(b"PK\x01\x02", entry + 4)
    path = make_file("lying.xlsx", bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size == 100
        with pytest.raises(zipfile.BadZipFile), archive.open("xl/worksheets/sheet1.xml") as part:
            assert len(part.read(10_000)) <= 100
            part.read()
    assert "cannot be read" in refusal(path) or "not a readable .xlsx" in refusal(path)
