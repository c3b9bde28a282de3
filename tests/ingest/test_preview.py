"""A file's header before loading, as the console's column mapping shows it."""

from __future__ import annotations

import pytest

from studyrec_lib.core.errors import FileRefused
from studyrec_lib.demo.example import generate
from studyrec_lib.ingest.preview import preview_headers
from tests.console.test_upload import messy_workbook


def test_a_messy_workbook_shows_its_header_row_and_its_sheets(tmp_path):
    preview = preview_headers(messy_workbook(tmp_path / "messy.xlsx"))
    assert preview.header_row == 3 and preview.sheets == ["Results", "Notes"]
    assert preview.missing == [] and preview.unmatched == []


def test_unknown_headers_are_listed_with_what_the_teachers_map_says(tmp_path):
    path = tmp_path / "odd.csv"
    generate(students=1).rename(columns={"student_id": "Learner", "quiz_marks": "Tests"}).to_csv(path, index=False)
    bare = preview_headers(path)
    assert bare.unmatched == ["Learner", "Tests"] and bare.mapped == {} and bare.sheets == []
    assert bare.missing == ["student_id", "quiz_marks"]
    mapped = preview_headers(path, column_map={"learner": "student_id"})  # keys as the teacher's file wrote them
    assert mapped.mapped == {"Learner": "student_id"} and mapped.missing == ["quiz_marks"]


def test_an_unreadable_file_is_refused_with_ingests_reason(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(FileRefused, match="empty"):
        preview_headers(path)
