"""``studyrec predict``, ``tokens`` and ``resources`` as a user runs them: real subprocesses."""

import json
import os
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest

from studyrec_lib import registry
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import PROJECT_ROOT, Settings
from studyrec_lib.core.files import file_sha256
from studyrec_lib.core.schema import GRADES
from studyrec_lib.demo.example import generate
from studyrec_lib.serving.study_plan import read_resources
from studyrec_lib.web.tokens import TokenStore, list_tokens

STUDYREC = [sys.executable, "-m", "studyrec_lib.cli"]
PAYLOAD = {"semester": 4, "subject": "Mathematics", "assignment_marks": 3.5, "quiz_marks": 4.0,
           "attendance_percentage": 82.0, "midterm_marks": 17.5, "previous_cgpa": 3.0}


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir)}
    return subprocess.run([*STUDYREC, *args], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT,
                          timeout=300)


@pytest.fixture
def own(copy_of_trained: Settings) -> Settings:
    return copy_of_trained


def _log(settings: Settings) -> pd.DataFrame:
    return warehouse.query_frame("SELECT * FROM prediction_log ORDER BY logged_at", settings=settings)


def test_predict_json_prints_the_result_and_logs_it(own):
    done = _run(own, "predict", "--json", json.dumps(PAYLOAD))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert list(result["grade_probabilities"]) == list(GRADES)
    assert result["predicted_grade"] in GRADES
    assert 0 <= result["predicted_final_marks"] <= 50
    assert [s["field"] for s in result["weak_signals"]] == ["quiz_marks"]
    version = registry.active_versions(own)["regression"]["version"]
    assert result["model_versions"] == {"regression": version, "classification": version}
    log = _log(own)  # logged by the time the command returned
    assert len(log) == 1
    row = log.iloc[0]
    assert (row["source"], row["status"]) == ("cli", "ok")
    assert json.loads(row["inputs"]) == PAYLOAD
    assert json.loads(row["result"])["predicted_final_marks"] == result["predicted_final_marks"]
    assert json.loads(row["model_versions"]) == result["model_versions"]
    assert list(own.warehouse.parent.glob("*.spool/*.jsonl")) == []


def test_predict_json_with_a_bad_payload_prints_the_errors(own):
    bad = {**PAYLOAD, "quiz_marks": 11, "semester": 2.5}
    del bad["subject"]
    done = _run(own, "predict", "--json", json.dumps(bad))
    assert done.returncode == 1
    errors = json.loads(done.stdout)["errors"]
    assert sorted(e["field"] for e in errors) == ["quiz_marks", "semester", "subject"]
    assert {"field": "quiz_marks", "rule": "must be a number from 0 to 10", "value": 11} in errors
    assert _log(own).empty


def test_predict_file_writes_every_row_with_predictions_or_errors(own, tmp_path):
    frame = generate(students=1, seed=4).head(6).drop(columns=["final_marks", "final_grade"])
    frame["student_id"] = [f"S{i}" for i in range(len(frame))]
    frame.loc[1, "quiz_marks"] = 11
    frame["semester"] = frame["semester"].astype(object)
    frame.loc[3, "semester"] = 2.5
    frame.loc[4, "subject"] = ""
    rows = tmp_path / "rows.csv"
    frame.to_csv(rows, index=False)
    output = tmp_path / "out.xlsx"
    done = _run(own, "predict", "--input", str(rows), "--output", str(output), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    version = registry.active_versions(own)["regression"]["version"]
    assert summary == {"input": str(rows), "input_sha256": file_sha256(rows), "output": str(output), "rows": 6,
                       "scored": 3, "rows_with_errors": 3,
                       "model_versions": {"regression": version, "classification": version}}

    scored = pd.read_excel(output)
    assert len(scored) == len(frame)
    assert scored["student_id"].tolist() == frame["student_id"].tolist()
    for column in ("predicted_final_marks", "interval_low", "interval_high", "predicted_total", "predicted_grade",
                   *[f"p_{g}" for g in GRADES], "errors", "model_versions"):
        assert column in scored.columns
    errors = scored["errors"].fillna("")
    bad = [1, 3, 4]
    good = [0, 2, 5]
    assert errors[1] == "quiz_marks: must be a number from 0 to 10"
    assert errors[3].startswith("semester:")
    assert errors[4] == "subject: is required"
    assert (errors[good] == "").all()
    assert scored.loc[bad, "predicted_final_marks"].isna().all()
    assert scored.loc[good, "predicted_final_marks"].between(0, 50).all()
    assert scored.loc[good, "predicted_grade"].isin(GRADES).all()

    log = _log(own)
    assert len(log) == 3
    assert set(log["source"]) == {"batch"}
    assert sorted(log["student_id"]) == ["S0", "S2", "S5"]
    logged = {row["student_id"]: json.loads(row["result"]) for _, row in log.iterrows()}
    for index in good:
        assert logged[f"S{index}"]["predicted_grade"] == scored.loc[index, "predicted_grade"]


TEACHER_HEADERS = ["Student ID", "Sem", "Course", "Assignment", "Quiz", "Attendance %", "Mid-Term", "CGPA", "Name"]


def _teacher_rows(count: int) -> list[list[object]]:
    frame = generate(students=1, seed=4).head(count)
    return [[f"S{i}", row.semester, row.subject, row.assignment_marks, row.quiz_marks, row.attendance_percentage,
             row.midterm_marks, row.previous_cgpa, f"Pupil {i}"] for i, row in enumerate(frame.itertuples())]


def test_predict_xlsx_with_a_teachers_aliased_headers(own, tmp_path):
    """Headers as teachers write them, which ingest accepts, score every row (the old reader scored none)."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "cover"
    sheet = workbook.create_sheet("marks")
    for row in [TEACHER_HEADERS, *_teacher_rows(4)]:
        sheet.append(row)
    source = tmp_path / "teacher.xlsx"
    workbook.save(source)
    output = tmp_path / "scored.csv"
    done = _run(own, "predict", "--input", str(source), "--sheet", "marks", "--output", str(output), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["rows"], summary["scored"], summary["rows_with_errors"]) == (4, 4, 0)
    scored = pd.read_csv(output, keep_default_na=False)
    assert scored["source_row"].tolist() == [2, 3, 4, 5]  # rows as Excel numbers them
    assert scored["student_id"].tolist() == ["S0", "S1", "S2", "S3"]
    assert scored["Name"].tolist() == ["Pupil 0", "Pupil 1", "Pupil 2", "Pupil 3"]  # the file's other columns stay
    assert scored["predicted_grade"].isin(GRADES).all()
    assert scored["errors"].eq("").all()
    log = _log(own)
    assert sorted(log["student_id"]) == ["S0", "S1", "S2", "S3"]
    assert set(json.loads(log["inputs"].iloc[0])) == {"student_id", "semester", "subject", "assignment_marks",
                                                      "quiz_marks", "attendance_percentage", "midterm_marks",
                                                      "previous_cgpa"}


def test_predict_csv_with_a_column_map_keeps_a_malformed_line_as_a_row(own, tmp_path):
    headers = ["Pupil", "Term", "Module", "HW", "Tutorial", "Present", "Mid", "GPA"]
    lines = [",".join(map(str, row[:8])) for row in _teacher_rows(3)]
    lines.insert(1, lines[1] + ",extra")  # one cell too many: not scored, but not lost either
    source = tmp_path / "odd.csv"
    source.write_text("\n".join([",".join(headers), *lines]) + "\n")
    column_map = tmp_path / "map.json"
    column_map.write_text(json.dumps({"Pupil": "student_id", "Term": "semester", "Module": "subject",
                                      "HW": "assignment_marks", "Tutorial": "quiz_marks",
                                      "Present": "attendance_percentage", "Mid": "midterm_marks",
                                      "GPA": "previous_cgpa"}))
    output = tmp_path / "scored.xlsx"
    done = _run(own, "predict", "--input", str(source), "--column-map", str(column_map), "--output", str(output))
    assert done.returncode == 0, done.stderr
    assert f"scored 3 of 4 rows into {output}; 1 rows have input errors" in done.stdout
    scored = pd.read_excel(output)
    assert scored["source_row"].tolist() == [2, 3, 4, 5]
    assert scored["errors"].fillna("").tolist() == ["", "the row has 9 cells where the header has 8", "", ""]
    assert scored.loc[[0, 2, 3], "predicted_grade"].isin(GRADES).all()
    assert len(_log(own)) == 3


def test_predict_exits_1_when_no_row_can_be_scored(own, tmp_path):
    source = tmp_path / "bad.csv"
    rows = [[*row[:4], 11, *row[5:8]] for row in _teacher_rows(2)]  # quiz out of range on every row
    source.write_text("\n".join(",".join(map(str, r)) for r in [TEACHER_HEADERS[:8], *rows]) + "\n")
    output = tmp_path / "scored.csv"
    done = _run(own, "predict", "--input", str(source), "--output", str(output))
    assert done.returncode == 1
    assert f"error: {source}: none of the 2 rows could be scored" in done.stderr
    assert "row 2: quiz_marks: must be a number from 0 to 10" in done.stderr
    assert pd.read_csv(output)["errors"].tolist() == ["quiz_marks: must be a number from 0 to 10"] * 2
    assert _log(own).empty


def test_predict_refuses_a_file_without_the_required_columns(own, tmp_path):
    source = tmp_path / "wrong.csv"
    source.write_text("Name,Score\nAda,3\n")
    output = tmp_path / "scored.csv"
    done = _run(own, "predict", "--input", str(source), "--output", str(output))
    assert done.returncode == 1
    assert f"error: {source}: required columns are missing" in done.stderr
    assert not output.exists()


def test_tokens_create_list_revoke(settings):
    created = _run(settings, "tokens", "create", "--student-id", "S1", "--name", "laptop", "--json")
    assert created.returncode == 0, created.stderr
    token = json.loads(created.stdout)
    assert token["student_id"] == "S1"
    assert TokenStore(settings).student_for(token["token"]) == "S1"

    listed = _run(settings, "tokens", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["token_id"], r["student_id"], r["name"], r["revoked_at"]) for r in rows] == [
        (token["token_id"], "S1", "laptop", None)]
    assert token["token"] not in listed.stdout

    revoked = _run(settings, "tokens", "revoke", "--token-id", str(token["token_id"]))
    assert revoked.returncode == 0, revoked.stderr
    assert f"token {token['token_id']} revoked" in revoked.stdout
    assert TokenStore(settings).student_for(token["token"]) is None
    assert list_tokens(settings)["revoked_at"].notna().tolist() == [True]


def test_resources_load(settings, make_file):
    path = make_file("resources.csv", "subject,component,title,url\n"
                                      "Mathematics,quiz,Drills,https://example.edu/drills\n"
                                      "*,general,Sleep,https://example.edu/sleep\n")
    done = _run(settings, "resources", "load", str(path))
    assert done.returncode == 0, done.stderr
    assert f"loaded 2 study resources from {path}" in done.stdout
    assert sorted(read_resources(settings)["url"]) == ["https://example.edu/drills", "https://example.edu/sleep"]

    bad = make_file("bad.csv", "subject,component,title,url\nMathematics,quiz,Click,javascript:alert(1)\n")
    refused = _run(settings, "resources", "load", str(bad))
    assert refused.returncode == 2
    assert "row 2, column url" in refused.stderr
    assert len(read_resources(settings)) == 2
