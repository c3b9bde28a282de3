import os
import stat

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from studyrec_lib.core.schema import COLUMNS
from studyrec_lib.core.signals import WEAK_SIGNALS
from studyrec_lib.core.tasks import STUDENT_TASK
from studyrec_lib.demo import example as example_data
from studyrec_lib.evaluation import at_risk
from studyrec_lib.ingest import load as ingest
from studyrec_lib.modeling import training_data

ALL_WEAK = [message for _, message in WEAK_SIGNALS.values()]


def _open_row(student: str, assignment: float, quiz: float, attendance: float, midterm: float, cgpa: float) -> dict:
    return {"student_id": student, "semester": 8, "subject": "Physics", "assignment_marks": assignment,
            "quiz_marks": quiz, "attendance_percentage": attendance, "midterm_marks": midterm,
            "previous_cgpa": cgpa, "final_marks": None, "final_grade": None}


@pytest.fixture
def open_rows() -> pd.DataFrame:
    return pd.DataFrame([
        _open_row("S-top", 5.0, 10.0, 100, 30.0, 4.0),
        _open_row("S-low", 0.5, 1.0, 30, 3.0, 1.2),
        _open_row("S-mid", 3.5, 6.5, 85, 19.0, 2.9),
        _open_row("S-weak", 2.0, 4.0, 65, 12.0, 2.2),
    ])


def test_low_marks_are_flagged_with_their_weak_signals_and_top_marks_are_not(ridge_models, open_rows):
    regressor, classifier = ridge_models
    found = at_risk.find_at_risk(open_rows, regressor, classifier)
    assert len(found) == len(open_rows)
    by_student = found.set_index("student_id")
    low = by_student.loc["S-low"]
    assert bool(low["at_risk"])
    assert low["predicted_grade"] in at_risk.FAILING_GRADES
    assert low["p_d_or_f"] > 0.9
    assert low["weak_signals"] == "; ".join(ALL_WEAK)
    top = by_student.loc["S-top"]
    assert not bool(top["at_risk"])
    assert top["predicted_grade"] == "A+"
    assert top["p_d_or_f"] < 0.01
    assert top["weak_signals"] == ""
    assert by_student.loc["S-mid", "weak_signals"] == ""
    assert not bool(by_student.loc["S-mid", "at_risk"])


def test_predictions_follow_the_models(ridge_models, open_rows):
    regressor, classifier = ridge_models
    found = at_risk.find_at_risk(open_rows, regressor, classifier).set_index("student_id").loc[open_rows["student_id"]]
    X = open_rows[STUDENT_TASK.features]
    marks = np.clip(regressor.predict(X), 0, 50)
    np.testing.assert_allclose(found["predicted_final_marks"], marks.round(1))
    np.testing.assert_allclose(found["predicted_total"], (STUDENT_TASK.known_total(X) + marks).round(1))
    proba = classifier.predict_proba(X)
    failing = np.isin(classifier.classes_, ["D", "F"])
    np.testing.assert_allclose(found["p_d_or_f"], proba[:, failing].sum(axis=1).round(3))
    assert found["predicted_grade"].tolist() == classifier.predict(X).tolist()
    for column in ("semester", "subject", "assignment_marks", "midterm_marks", "previous_cgpa"):
        assert found[column].tolist() == open_rows[column].tolist()


def test_a_likely_failure_is_flagged_even_when_a_pass_is_most_probable(ridge_models, open_rows):
    regressor, classifier = ridge_models
    found = at_risk.find_at_risk(open_rows, regressor, classifier, threshold=0.0)
    assert found["at_risk"].all()
    strict = at_risk.find_at_risk(open_rows, regressor, classifier, threshold=1.01)
    flagged = strict[strict["at_risk"]]
    assert flagged["predicted_grade"].isin(at_risk.FAILING_GRADES).all()


def test_rows_are_sorted_most_at_risk_first(ridge_models, open_rows):
    regressor, classifier = ridge_models
    found = at_risk.find_at_risk(open_rows.iloc[::-1], regressor, classifier)
    assert found.index.tolist() == list(range(len(found)))
    flags = found["at_risk"].tolist()
    assert flags == sorted(flags, reverse=True)
    assert flags[0]
    for _, group in found.groupby("at_risk"):
        assert group["p_d_or_f"].is_monotonic_decreasing
    assert found.loc[0, "student_id"] == "S-low"
    assert found.iloc[-1]["student_id"] == "S-top"


def test_no_open_rows_give_an_empty_table(ridge_models, open_rows):
    regressor, classifier = ridge_models
    assert at_risk.find_at_risk(open_rows.iloc[:0], regressor, classifier).empty


def test_export_writes_only_the_flagged_rows(ridge_models, open_rows, tmp_path):
    regressor, classifier = ridge_models
    found = at_risk.find_at_risk(open_rows, regressor, classifier)
    flagged = found[found["at_risk"]]
    assert 0 < len(flagged) < len(found)
    paths = at_risk.export(found, tmp_path)
    assert paths == {"csv": tmp_path / "at_risk.csv", "xlsx": tmp_path / "at_risk.xlsx"}
    csv = pd.read_csv(paths["csv"], keep_default_na=False)
    assert csv["student_id"].tolist() == flagged["student_id"].tolist()
    assert csv["at_risk"].tolist() == [True] * len(flagged)
    assert csv.columns.tolist() == found.columns.tolist()
    worksheet = load_workbook(paths["xlsx"])["at risk"]
    rows = list(worksheet.values)
    assert list(rows[0]) == found.columns.tolist()
    assert [row[0] for row in rows[1:]] == flagged["student_id"].tolist()


def test_export_neutralises_formula_like_student_ids(ridge_models, open_rows, tmp_path):
    regressor, classifier = ridge_models
    open_rows.loc[open_rows["student_id"] == "S-low", "student_id"] = "=HYPERLINK(\"x\")"
    found = at_risk.find_at_risk(open_rows, regressor, classifier)
    paths = at_risk.export(found, tmp_path)
    assert "'=HYPERLINK" in paths["csv"].read_text()
    cell = load_workbook(paths["xlsx"])["at risk"]["A2"]
    assert cell.value == "=HYPERLINK(\"x\")"
    assert cell.data_type == "s"


def test_export_of_an_empty_table(tmp_path):
    paths = at_risk.export(pd.DataFrame(), tmp_path)
    assert paths["csv"].is_file() and paths["xlsx"].is_file()


def _ingest(settings, tmp_path, frame: pd.DataFrame, name: str) -> int:
    path = example_data.write(frame, tmp_path / f"{name}.csv")
    result = ingest.ingest_file(path, progress=None, settings=settings)
    assert result.summary.status == "loaded", result.summary.message
    return result.summary.dataset_id


def _other_students(frame: pd.DataFrame) -> pd.DataFrame:
    """The generator numbers students S00001...; these are T00001...: nobody else's rows."""
    return frame.assign(student_id=frame["student_id"].str.replace("S", "T"))


def test_load_open_rows_returns_the_open_rows_of_the_latest_dataset_with_any(settings, tmp_path):
    def ingest_frame(frame: pd.DataFrame, name: str) -> int:
        return _ingest(settings, tmp_path, frame, name)

    assert training_data.load_open_rows(settings).empty
    first = ingest_frame(example_data.generate(students=3, seed=1, open_semesters=1), "first")
    second_frame = example_data.generate(students=3, seed=2, open_semesters=1)
    second = ingest_frame(second_frame, "second")
    finished = ingest_frame(_other_students(example_data.generate(students=3, seed=3)), "finished")  # none open
    assert first < second < finished

    rows = training_data.load_open_rows(settings)
    assert len(rows) == 9  # 3 students x 3 subjects of the last semester
    assert set(rows["dataset_id"]) == {second}
    assert rows["final_marks"].isna().all()
    assert rows["final_grade"].isna().all()
    assert (rows["semester"] == 8).all()
    assert rows.columns.tolist() == ["dataset_id", "source_row", *COLUMNS]
    keys = list(zip(rows["student_id"], rows["semester"], rows["subject"], strict=True))
    assert keys == sorted(keys)
    expected = second_frame[second_frame["final_marks"].isna()].sort_values(["student_id", "semester", "subject"])
    np.testing.assert_allclose(rows["midterm_marks"], expected["midterm_marks"])
    assert rows["subject"].tolist() == expected["subject"].tolist()


def test_rows_finished_by_a_later_upload_are_no_longer_open(settings, tmp_path):
    def ingest_frame(frame: pd.DataFrame, name: str) -> int:
        return _ingest(settings, tmp_path, frame, name)

    first = ingest_frame(_other_students(example_data.generate(students=3, seed=1, open_semesters=1)), "first")
    cohort = example_data.generate(students=4, seed=2, open_semesters=1)
    cohort_id = ingest_frame(cohort, "open")
    finished = cohort[cohort["student_id"] != "S00004"].copy()  # S00004's results are not in yet
    outcomes = example_data.generate(students=4, seed=2).iloc[finished.index]
    finished[["final_marks", "final_grade"]] = outcomes[["final_marks", "final_grade"]]
    ingest_frame(finished, "results")

    rows = training_data.load_open_rows(settings)
    assert set(rows["student_id"]) == {"S00004"}
    assert len(rows) == 3 and (rows["semester"] == 8).all()

    ingest_frame(example_data.generate(students=4, seed=2), "all results")
    assert training_data.load_open_rows(settings).empty  # the older dataset's open rows do not come back
    assert first < cohort_id


def test_export_is_private_even_where_no_entry_point_set_the_umask(ridge_models, open_rows, tmp_path):
    regressor, classifier = ridge_models
    previous = os.umask(0o022)  # e.g. an analyst's kernel: files would be created 0644
    try:
        paths = at_risk.export(at_risk.find_at_risk(open_rows, regressor, classifier), tmp_path)
    finally:
        os.umask(previous)
    assert {name: stat.S_IMODE(path.stat().st_mode) for name, path in paths.items()} == {"csv": 0o600,
                                                                                        "xlsx": 0o600}


def test_no_open_rows_give_the_tables_columns_typed(ridge_models, open_rows):
    regressor, classifier = ridge_models
    found = at_risk.find_at_risk(open_rows.iloc[:0], regressor, classifier)
    full = at_risk.find_at_risk(open_rows, regressor, classifier)
    assert found.columns.tolist() == full.columns.tolist()
    assert found.dtypes["at_risk"] == np.dtype(bool) and found.dtypes["p_d_or_f"] == np.dtype(float)
    assert found[found["at_risk"]].columns.tolist() == full.columns.tolist()  # a teacher's filter still works


def test_teacher_table_reads_in_words(ridge_models, open_rows):
    regressor, classifier = ridge_models
    found = at_risk.find_at_risk(open_rows, regressor, classifier)
    table = at_risk.teacher_table(found)
    assert table.columns.tolist() == [
        "Student", "Subject", "Semester", "At risk", "Predicted grade", "Chance of D or F (%)",
        "Predicted final marks (of 50)", "Predicted total (of 100)", "Assignment marks", "Quiz marks", "Attendance %",
        "Midterm marks", "Previous CGPA", "Weak signals"]
    assert table["Student"].tolist() == found["student_id"].tolist()
    assert table["At risk"].tolist() == ["yes" if flag else "no" for flag in found["at_risk"]]
    np.testing.assert_allclose(table["Chance of D or F (%)"], (found["p_d_or_f"] * 100).round(1))
    assert set(at_risk.TEACHER_HEADERS) == set(found.columns)  # every column, none invented


def _dangerous(open_rows: pd.DataFrame) -> pd.DataFrame:
    open_rows.loc[open_rows["student_id"] == "S-low", "student_id"] = '=HYPERLINK("http://evil.example","x")'
    open_rows.loc[open_rows["student_id"] == "S-top", "subject"] = "@SUM(A1)"
    return open_rows


def test_xlsx_download_is_readable_filterable_and_safe(ridge_models, open_rows, tmp_path):
    from io import BytesIO

    regressor, classifier = ridge_models
    found = at_risk.find_at_risk(_dangerous(open_rows), regressor, classifier)
    worksheet = load_workbook(BytesIO(at_risk.at_risk_download(found, "xlsx")))["at risk"]
    rows = list(worksheet.values)
    assert list(rows[0]) == list(at_risk.TEACHER_HEADERS.values())
    assert len(rows) - 1 == len(found)
    assert [row[0] for row in rows[1:]] == found["student_id"].tolist()
    assert worksheet.freeze_panes == "A2"
    assert worksheet.auto_filter.ref == f"A1:N{len(found) + 1}" == worksheet.dimensions
    cells = [cell for row in worksheet.iter_rows(min_row=2, max_col=2) for cell in row
             if str(cell.value).startswith(("=", "@"))]
    assert {cell.value for cell in cells} == {'=HYPERLINK("http://evil.example","x")', "@SUM(A1)"}
    assert {cell.data_type for cell in cells} == {"s"}  # text, never a formula
    numbers = [row[5] for row in rows[1:]]
    assert numbers == (found["p_d_or_f"] * 100).round(1).tolist()


def test_csv_download_neutralises_formula_like_text(ridge_models, open_rows):
    from io import StringIO

    regressor, classifier = ridge_models
    found = at_risk.find_at_risk(_dangerous(open_rows), regressor, classifier)
    text = at_risk.at_risk_download(found, "csv").decode("utf-8")
    back = pd.read_csv(StringIO(text), keep_default_na=False)
    assert back.columns.tolist() == list(at_risk.TEACHER_HEADERS.values())
    assert len(back) == len(found)
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in back["Student"].tolist()
    assert "'@SUM(A1)" in back["Subject"].tolist()
    assert not back["Student"].str.startswith("=").any()


def test_downloads_of_no_rows_hold_the_headers(ridge_models, open_rows):
    from io import BytesIO

    regressor, classifier = ridge_models
    empty = at_risk.find_at_risk(open_rows.iloc[:0], regressor, classifier)
    worksheet = load_workbook(BytesIO(at_risk.at_risk_download(empty)))["at risk"]
    assert list(worksheet.values) == [tuple(at_risk.TEACHER_HEADERS.values())]
    assert worksheet.auto_filter.ref == "A1:N1"
    assert at_risk.at_risk_download(empty, "csv").decode().splitlines() == [",".join(at_risk.TEACHER_HEADERS.values())]
    with pytest.raises(ValueError, match="unknown download format 'pdf'"):
        at_risk.at_risk_download(empty, "pdf")


def test_the_evaluation_face_loads_no_plotting_for_the_at_risk_list():
    """The teachers' console scores the at-risk list: it must not pay for matplotlib through the face."""
    import subprocess
    import sys

    code = ("import sys; from studyrec_lib.evaluation import at_risk_download, find_at_risk; "
            "print(sorted(m for m in ('matplotlib', 'seaborn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
