"""overlap.py through ingest_file on a real DuckDB file: rows that replace earlier ones, and reused student ids."""

from __future__ import annotations

from studyrec_lib.core import warehouse
from studyrec_lib.ingest.overlap import REUSED_ID_RULE
from tests.ingest.test_load import assert_loaded, counts, csv_text, ingest, line


def rows(*specs: tuple[str, str, str] | tuple[str, str, str, str]) -> str:
    """A file of (student_id, semester, subject[, previous_cgpa]) rows, every other cell as in test_load.GOOD."""
    lines = [line(student_id=spec[0], semester=spec[1], subject=spec[2],
                  **({"previous_cgpa": spec[3]} if len(spec) > 3 else {})) for spec in specs]
    return csv_text(*lines)


# --- rows that replace rows loaded before ------------------------------------------------------------


def test_rows_replacing_earlier_ones_are_counted_per_dataset(make_file, settings):
    assert_loaded(ingest(make_file("term1.csv", rows(("S1", "1", "Math"), ("S2", "1", "Math"))), settings), 2)
    assert_loaded(ingest(make_file("term1-extra.csv", rows(("S3", "1", "Math"), ("S4", "1", "Math"))), settings), 2)
    fix = rows(("S1", "1", "Math"), ("S2", "1", "Math"), ("S3", "1", "Math"), ("S1", "2", "Math"))
    result = ingest(make_file("term1-fixed.csv", fix), settings)
    assert_loaded(result, 4)
    summary = result.summary
    assert summary.rows_superseding == 3
    assert summary.superseded_datasets == [{"dataset_id": 1, "source_file": "term1.csv", "rows": 2},
                                           {"dataset_id": 2, "source_file": "term1-extra.csv", "rows": 1}]
    assert ("3 rows replace rows loaded before for the same student, semester and subject: "
            "2 of dataset 1 'term1.csv', 1 of dataset 2 'term1-extra.csv'.") in summary.warnings


def test_a_new_file_replaces_nothing(make_file, settings):
    assert_loaded(ingest(make_file("a.csv", rows(("S1", "1", "Math"))), settings), 1)
    result = ingest(make_file("b.csv", rows(("S1", "1", "Physics"), ("S1", "2", "Math"))), settings)
    assert (result.summary.rows_superseding, result.summary.superseded_datasets) == (0, [])
    assert not any("replace" in warning for warning in result.summary.warnings)


def test_no_replace_refuses_a_file_that_would_replace_rows_and_changes_nothing(make_file, settings):
    assert_loaded(ingest(make_file("term1.csv", rows(("S1", "1", "Math"), ("S2", "1", "Math"))), settings), 2)
    before = counts(settings)
    path = make_file("again.csv", rows(("S2", "1", "Math"), ("S9", "1", "Math")))
    result = ingest(path, settings, refuse_supersede=True)
    summary = result.summary
    assert (summary.status, summary.dataset_id, summary.rows_loaded) == ("refused", None, 0)
    assert summary.message == (
        f"{path}: 1 rows would replace rows loaded before for the same student, semester and subject "
        "(1 of dataset 1 'term1.csv'), and replacing was not allowed (--no-replace). Remove those rows from the "
        "file, or load it without --no-replace to let them replace the earlier rows."
    )
    assert counts(settings) == before
    assert_loaded(ingest(make_file("new.csv", rows(("S9", "1", "Math"))), settings, refuse_supersede=True), 1)


def test_rows_of_a_dataset_no_longer_loaded_are_not_replaced(make_file, settings):
    assert_loaded(ingest(make_file("mistake.csv", rows(("S1", "1", "Math"))), settings), 1)
    with warehouse.transaction(settings) as con:
        con.execute("UPDATE datasets SET status = 'withdrawn' WHERE dataset_id = 1")
    result = ingest(make_file("right.csv", rows(("S1", "1", "Math"))), settings, refuse_supersede=True)
    assert_loaded(result, 1)
    assert result.summary.rows_superseding == 0


# --- student ids that look reused --------------------------------------------------------------------


def test_ids_whose_earlier_rows_disagree_are_warned_about_in_file_order(make_file, settings):
    earlier = rows(
        ("S1", "3", "Math", "3.5"), ("S1", "3", "Physics", "3.5"),
        ("S2", "3", "Math", "3.0"), ("S2", "3", "Physics", "3.0"),
        ("S3", "3", "Math", "2.0"), ("S3", "3", "Physics", "2.0"),
        ("S4", "3", "Math", "2.5"),
        ("S5", "3", "Math", "1.0"), ("S5", "3", "Physics", "1.0"),
    )
    assert_loaded(ingest(make_file("earlier.csv", earlier), settings), 9)
    upload = rows(
        ("S2", "3", "Chemistry", "3.0"), ("S2", "3", "Biology", "3.0"),  # no subject in common: reused
        ("S3", "3", "Chemistry", "2.005"),  # within 0.01, one course: not compared by subject
        ("S1", "3", "Chemistry", "2.1"),  # another CGPA in the same semester: reused
        ("S4", "3", "Chemistry", "2.5"), ("S4", "3", "Biology", "2.5"),  # earlier only one subject: not compared
        ("S5", "4", "Math", "1.8"),  # another semester: its CGPA may have changed
        ("S6", "3", "Math", "3.9"),  # a new student
    )
    result = ingest(make_file("upload.csv", upload), settings)
    assert_loaded(result, 8)
    summary = result.summary
    assert (summary.reused_student_ids, summary.reused_student_ids_first) == (2, ["S2", "S1"])
    assert (f"2 student ids of this file may belong to other students already loaded ({REUSED_ID_RULE}): "
            "['S2', 'S1']. Check that these ids were not reused.") in summary.warnings
    assert "previous CGPA more than 0.01 away" in REUSED_ID_RULE


def test_a_corrected_cgpa_is_compared_with_the_latest_rows_only(make_file, settings):
    assert_loaded(ingest(make_file("first.csv", rows(("S1", "1", "Math", "3.0"))), settings), 1)
    assert_loaded(ingest(make_file("fix.csv", rows(("S1", "1", "Math", "3.5"))), settings), 1)
    result = ingest(make_file("more.csv", rows(("S1", "1", "Physics", "3.5"))), settings)
    assert_loaded(result, 1)
    assert result.summary.reused_student_ids == 0


def test_many_reused_ids_are_counted_and_a_few_echoed_safely(make_file, settings):
    long_id = "L" * 95
    ids = [long_id, *[f"S{i}" for i in range(1, 8)]]
    assert_loaded(ingest(make_file("earlier.csv", rows(*[(i, "1", "Math", "2.0") for i in ids])), settings), 8)
    result = ingest(make_file("upload.csv", rows(*[(i, "1", "Physics", "3.0") for i in ids])), settings)
    summary = result.summary
    assert summary.reused_student_ids == 8
    assert summary.reused_student_ids_first == ["L" * 80 + "... (95 characters)", "S1", "S2", "S3", "S4"]
    warning = next(w for w in summary.warnings if "may belong to other students" in w)
    assert warning.startswith("8 student ids of this file")
    assert "and 3 more" in warning and long_id not in warning

