"""Uploading in the console is the CLI's ingest: the same counts, the full rule text, the uploader recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pandas as pd

from studyrec_lib.console.upload import NOT_USED, UploadPanel, rejected_rows
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.demo.example import generate

REPORTS = "/services/reports/"
HEADERS = ["Roll No", "Semester", "Subject", "Assignment (5)", "Quiz (10)", "Attendance", "Mid-Term (30)",
           "Previous CGPA", "Final (50)", "Grade"]


def messy_workbook(path: Path, students: int = 4) -> Path:
    """Two title rows (one merged), "(5)" headers, attendance formatted as per cent, two bad rows, a 2nd sheet."""
    rows = generate(students=students, seed=11)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Results"
    sheet.append(["Department of Computing - Semester 8 Results"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet.append([])
    sheet.append(HEADERS)
    for number, row in enumerate(rows.itertuples(index=False)):
        values = list(row)
        values[5] = values[5] / 100  # shown as 81%, held as 0.81
        if number == 0:
            values[4] = 14  # quiz over 10
        if number == 1:
            values[6] = "twenty"  # midterm not a number
        sheet.append(values)
        sheet.cell(row=sheet.max_row, column=6).number_format = "0%"
    workbook.create_sheet("Notes").append(["not data"])
    workbook.save(path)
    return path


def pick(panel: UploadPanel, path: Path) -> None:
    """What the browser's file picker sends."""
    panel.picker.value = ({"name": path.name, "type": "", "size": path.stat().st_size,
                           "last_modified": datetime.now(UTC),
                           "content": memoryview(path.read_bytes())},)


def cli_ingest(path: Path, tmp_path: Path) -> dict:
    own = load_settings(warehouse=tmp_path / "cli" / "warehouse.duckdb", runs_dir=tmp_path / "cli" / "runs")
    done = subprocess.run([sys.executable, "-m", "studyrec_lib.cli", "ingest", str(path), "--json",
                           "--warehouse", str(own.warehouse), "--runs-dir", str(own.runs_dir)],
                          capture_output=True, text=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_messy_workbook_loads_as_the_cli_loads_it_with_the_full_rules(console_settings: Settings,
                                                                         tmp_path: Path):
    path = messy_workbook(tmp_path / "semester 8.xlsx")
    panel = UploadPanel(console_settings, "tea", REPORTS)
    pick(panel, path)
    assert "header on row 3" in panel.status.value and not panel.button.disabled
    assert list(panel.sheet.options) == ["Results", "Notes"]
    summary = panel.load()
    cli = cli_ingest(path, tmp_path)
    for key in ("rows_total", "rows_loaded", "rows_rejected", "ingest_status"):
        assert summary[key] == cli[key], key
    assert summary["ingest_status"] == "loaded" and summary["rows_rejected"] == 2
    rejects = rejected_rows(Path(summary["folder"]))
    assert list(rejects.columns) == ["row in the file", "column", "rule broken", "value as sent"]
    assert set(rejects["row in the file"]) == {"4", "5"}  # as the spreadsheet numbers them
    for rule in rejects["rule broken"]:
        assert rule in panel.result.value  # every rule in full, never cut ("is not uni...")
    assert "Download the" in panel.result.value and "data:text/csv;base64," in panel.result.value
    uploaded_by = warehouse.query_frame("SELECT uploaded_by FROM datasets WHERE dataset_id = ?",
                                        [summary["dataset_id"]], settings=console_settings)["uploaded_by"]
    assert uploaded_by.tolist() == ["tea"]


def test_unrecognised_columns_are_mapped_in_the_page_and_remembered(console_settings: Settings, tmp_path: Path):
    frame = generate(students=2, seed=5).rename(columns={"student_id": "Learner", "quiz_marks": "Tests"})
    path = tmp_path / "odd headers.csv"
    frame.to_csv(path, index=False)
    panel = UploadPanel(console_settings, "tea", REPORTS)
    pick(panel, path)
    choices = {choice.header: choice for choice in panel.columns.children if hasattr(choice, "header")}
    assert set(choices) == {"Learner", "Tests"} and all(c.value == NOT_USED for c in choices.values())
    assert "student_id" in panel.status.value and "quiz_marks" in panel.status.value  # still missing
    choices["Learner"].value, choices["Tests"].value = "student_id", "quiz_marks"
    summary = panel.load()
    assert summary["ingest_status"] == "loaded" and summary["rows_loaded"] == len(frame)
    again = UploadPanel(console_settings, "tea", REPORTS)  # next time, the same teacher's choices come back
    pick(again, path)
    remembered = {c.header: c.value for c in again.columns.children if hasattr(c, "header")}
    assert remembered == {"Learner": "student_id", "Tests": "quiz_marks"}
    other = UploadPanel(console_settings, "another teacher", REPORTS)
    pick(other, path)
    assert {c.value for c in other.columns.children if hasattr(c, "header")} == {NOT_USED}


def test_a_refused_file_says_why_and_loads_nothing(console_settings: Settings, tmp_path: Path):
    before = warehouse.query_frame("SELECT count(*) AS n FROM datasets", settings=console_settings)["n"][0]
    path = tmp_path / "again.csv"
    rows = generate(students=10, seed=3, open_semesters=1)  # the fixture's rows again, one mark corrected
    rows.loc[0, "quiz_marks"] = 5.0 if rows.loc[0, "quiz_marks"] != 5.0 else 6.0
    rows.to_csv(path, index=False)
    panel = UploadPanel(console_settings, "tea", REPORTS)
    pick(panel, path)
    panel.no_replace.value = True
    summary = panel.load()
    assert summary["ingest_status"] == "refused"
    assert "Nothing was loaded" in panel.result.value and "replace" in panel.result.value
    after = warehouse.query_frame("SELECT count(*) AS n FROM datasets WHERE status = 'loaded'",
                                  settings=console_settings)["n"][0]
    assert after == before


def test_a_file_over_the_limit_is_refused_before_it_is_kept(console_settings: Settings, tmp_path: Path):
    small = load_settings(warehouse=console_settings.warehouse, runs_dir=console_settings.runs_dir,
                          max_upload_mb=0.001)
    path = tmp_path / "big.csv"
    pd.DataFrame({"a": range(1000)}).to_csv(path, index=False)
    panel = UploadPanel(small, "tea", REPORTS)
    pick(panel, path)
    assert "limit of 0.001 MB" in panel.status.value and panel.button.disabled
    assert panel.path is None


def test_the_consoles_server_takes_a_file_up_to_the_pages_limit_in_one_message(monkeypatch):
    from traitlets.config import PyFileConfigLoader

    from studyrec_lib.console.upload import PAGE_UPLOAD_LIMIT_MB, WEBSOCKET_MESSAGE_BYTES
    from studyrec_lib.core.config import PROJECT_ROOT

    config = PyFileConfigLoader("voila.py", path=str(PROJECT_ROOT / "deploy" / "teacher_console")).load_config()
    allowed = config.Voila.tornado_settings["websocket_max_message_size"]
    assert allowed == WEBSOCKET_MESSAGE_BYTES > PAGE_UPLOAD_LIMIT_MB * 1024 * 1024
