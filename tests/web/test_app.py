"""The student app's widgets, driven from Python (the browser tests are in test_app_server.py)."""

import json
import logging
import os
import time
from pathlib import Path

import nbformat
import papermill
import pytest

from studyrec_lib import registry
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import PROJECT_ROOT, load_settings
from studyrec_lib.serving.predictor import Predictor
from studyrec_lib.serving.student_history import weak_subjects
from studyrec_lib.web import app as app_module
from studyrec_lib.web.app import StudentApp, build_app
from studyrec_lib.web.local_backend import ENV_APP_TOKEN, ENV_HUB_USER, LocalBackend, app_identity
from studyrec_lib.web.tokens import create_token, revoke_token

APP_NOTEBOOK = PROJECT_ROOT / "apps" / "predict_widget.ipynb"
PAYLOAD = {"subject": None, "semester": 4.0, "assignment_marks": 2.0, "quiz_marks": 4.5,
           "attendance_percentage": 66.0, "midterm_marks": 14.0, "previous_cgpa": 2.61}


@pytest.fixture
def app(trained_settings):
    student_app = StudentApp(LocalBackend(trained_settings, {}))
    yield student_app
    student_app.close()


def _fill(student_app: StudentApp, payload: dict) -> None:
    """As a student types: numbers into text boxes, the subject chosen from the list."""
    for name, value in payload.items():
        student_app.fields[name].value = value if name == "subject" else f"{value:g}"


def test_form_offers_the_subjects_the_active_model_knows_and_shows_ranges(app, trained_settings):
    known = sorted(Predictor(trained_settings).models().subjects)
    assert list(app.fields["subject"].options) == known
    labels = [row.children[0].value for row in app.widget.children if hasattr(row, "children") and row.children]
    assert "Attendance % (0-100)" in labels and "Semester (1-12)" in labels


def test_prediction_shown_equals_the_prediction_core(app, trained_settings):
    payload = {**PAYLOAD, "subject": app.fields["subject"].options[-1]}
    _fill(app, payload)
    result = app.predict()
    expected = Predictor(trained_settings).predict(payload)
    assert result["predicted_grade"] == expected["predicted_grade"]
    assert result["grade_probabilities"] == expected["grade_probabilities"]
    assert f'data-grade="{expected["predicted_grade"]}"' in app.result.value
    for grade, p in expected["grade_probabilities"].items():
        assert f'data-grade="{grade}" data-p="{p:.4f}"' in app.result.value
    assert result["weak_subjects"] is None  # no identity given to the app


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("attendance_percentage", 130.0, "must be a number from 0 to 100"),
    ("semester", 2.5, "must be a whole number"),
    ("quiz_marks", -1.0, "must be a number from 0 to 10"),
])
def test_out_of_range_input_is_explained_next_to_the_field(app, field, value, rule):
    app.predict()
    assert "studyrec-grade" in app.result.value
    app.fields[field].value = f"{value:g}"
    assert rule in app.field_errors[field].value  # shown as soon as the value changes
    assert all(not error.value for name, error in app.field_errors.items() if name != field)
    assert app.predict() is None
    assert "studyrec-fix" in app.result.value and "studyrec-grade" not in app.result.value  # no stale result
    app.fields[field].value = f"{PAYLOAD[field]:g}"
    assert app.field_errors[field].value == ""


@pytest.mark.parametrize(("typed", "rule"), [("abc", "must be a number"), ("", "is required"), ("  ", "is required")])
def test_letters_or_a_cleared_field_are_explained_not_reverted(app, typed, rule):
    app.fields["quiz_marks"].value = typed
    assert rule in app.field_errors["quiz_marks"].value
    assert app.fields["quiz_marks"].value == typed  # what the student typed stays, with the reason beside it
    assert app.predict() is None


def test_no_model_says_how_to_train_one_and_check_again_shows_the_form(tmp_path, request):
    settings = load_settings(warehouse=tmp_path / "own" / "warehouse.duckdb", runs_dir=tmp_path / "own" / "runs")
    student_app = StudentApp(LocalBackend(settings, {}))
    message, again = student_app.widget.children
    assert "No prediction available yet" in message.value and "make run" in message.value
    assert not student_app.fields
    again.click()
    assert len(student_app.widget.children) == 2  # still no model
    request.getfixturevalue("copy_of_trained")  # activates models in this very warehouse
    again.click()
    assert "subject" in student_app.fields and student_app.button in student_app.widget.children
    assert student_app.predict()["predicted_grade"]
    student_app.close()


def test_weak_subjects_come_from_the_server_identity_only(trained_settings, student_with_weak_subjects):
    student_app = StudentApp(LocalBackend(trained_settings, {ENV_HUB_USER: student_with_weak_subjects}))
    try:
        result = student_app.predict()
    finally:
        student_app.close()
    assert result["weak_subjects"] == weak_subjects(student_with_weak_subjects, trained_settings)
    assert result["weak_subjects"]
    assert "Your weak subjects" in student_app.result.value


def test_app_token_identifies_the_student_and_a_revoked_one_is_explained(trained_settings,
                                                                         student_with_weak_subjects):
    token_id, token = create_token(student_with_weak_subjects, "app test", trained_settings)
    assert app_identity(trained_settings, {ENV_APP_TOKEN: token}) == (student_with_weak_subjects, None)
    revoke_token(token_id=token_id, settings=trained_settings)
    student, note = app_identity(trained_settings, {ENV_APP_TOKEN: token})
    assert student is None and "not valid or was revoked" in note
    assert app_identity(trained_settings, {}) == (None, None)
    assert app_identity(trained_settings, {ENV_HUB_USER: "S00002", ENV_APP_TOKEN: token}) == ("S00002", None)


def test_predictions_are_logged_like_the_api(trained_settings):
    student_app = StudentApp(LocalBackend(trained_settings, {ENV_HUB_USER: "S00003"}))
    _fill(student_app, {**PAYLOAD, "subject": student_app.fields["subject"].options[0], "previous_cgpa": 3.41})
    result = student_app.predict()
    student_app.close()  # flushes the spool into prediction_log
    logged = warehouse.query_frame(
        "SELECT student_id, inputs, result, model_versions, status FROM prediction_log "
        "WHERE source = 'app' AND json_extract(inputs, '$.previous_cgpa')::DOUBLE = 3.41", settings=trained_settings)
    assert len(logged) == 1
    row = logged.iloc[0]
    assert row["student_id"] == "S00003" and row["status"] == "ok"
    assert json.loads(row["result"])["predicted_grade"] == result["predicted_grade"]
    assert json.loads(row["model_versions"]) == result["model_versions"]


def test_build_app_returns_the_widget_with_its_app(trained_settings):
    widget = build_app(warehouse=str(trained_settings.warehouse), environ={})
    try:
        assert widget.app.backend.settings.warehouse == trained_settings.warehouse
        assert widget.app.predict()["model_versions"]
    finally:
        widget.app.close()


def test_notebook_is_thin_committed_without_outputs_and_runs_under_papermill(tmp_path, trained_settings):
    notebook = nbformat.read(APP_NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert sum(len(cell.source.splitlines()) for cell in code) <= 6
    output = tmp_path / "executed.ipynb"
    papermill.execute_notebook(str(APP_NOTEBOOK), str(output), cwd=str(APP_NOTEBOOK.parent), progress_bar=False,
                               parameters={"warehouse": str(trained_settings.warehouse)}, kernel_name="python3")
    executed = nbformat.read(output, as_version=4)
    mime_types = {key for cell in executed.cells if cell.cell_type == "code" for out in cell.outputs
                  for key in out.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in mime_types
    assert Path(output).stat().st_size > 0


def _no_detail_in(html: str, settings) -> None:
    """What a student sees: the plain message, no path, no exception text, no traceback."""
    assert "Something went wrong on the server" in html
    for detail in (str(settings.warehouse.parent), "/", "Traceback", "Error", "sha256", "does not match"):
        assert detail not in html.replace("</", "<")


def _tamper(settings) -> str:
    path = registry.active_versions(settings)["classification"]["artifact_path"]
    with open(path, "ab") as handle:
        handle.write(b"tampered")
    return path


def test_a_tampered_model_shows_students_a_plain_message_and_logs_the_details(copy_of_trained, caplog):
    path = _tamper(copy_of_trained)
    with caplog.at_level(logging.ERROR, logger="studyrec_lib.web.app"):
        student_app = StudentApp(LocalBackend(copy_of_trained, {}))
    message, again = student_app.widget.children
    _no_detail_in(message.value, copy_of_trained)
    assert "studyrec-check-again" in again._dom_classes
    assert path in caplog.text and "does not match" in caplog.text


def test_a_model_tampered_while_the_page_is_open_shows_a_plain_message(copy_of_trained, caplog):
    student_app = StudentApp(LocalBackend(copy_of_trained, {}))
    try:
        assert student_app.predict()["predicted_grade"]
        path = _tamper(copy_of_trained)
        registry.write_active_sidecar(copy_of_trained)  # the servers see a new activation and reload
        time.sleep(0.01)
        os.utime(registry.active_sidecar(copy_of_trained))
        with caplog.at_level(logging.ERROR, logger="studyrec_lib.web.app"):
            student_app.button.click()
    finally:
        student_app.close()
    _no_detail_in(student_app.result.value, copy_of_trained)
    assert path in caplog.text


def test_an_unexpected_error_in_a_callback_shows_the_plain_message_not_a_traceback(app, monkeypatch, caplog,
                                                                                    trained_settings):
    def broken(_result):
        raise RuntimeError(f"cannot render {trained_settings.warehouse}")

    monkeypatch.setattr(app_module, "render_result", broken)
    with caplog.at_level(logging.ERROR, logger="studyrec_lib.web.app"):
        app.button.click()
    _no_detail_in(app.result.value, trained_settings)
    assert "Traceback" in caplog.text and str(trained_settings.warehouse) in caplog.text


def test_build_app_that_cannot_start_shows_the_plain_message(tmp_path, monkeypatch, caplog):
    def unavailable(*_args, **_kwargs):
        raise OSError(f"{tmp_path}/warehouse.duckdb: Permission denied")

    monkeypatch.setattr(app_module, "StudentApp", unavailable)
    with caplog.at_level(logging.ERROR, logger="studyrec_lib.web.app"):
        widget = build_app(warehouse=str(tmp_path / "warehouse.duckdb"), environ={})
    assert not hasattr(widget, "app")
    assert "Something went wrong on the server" in widget.value and str(tmp_path) not in widget.value
    assert "Permission denied" in caplog.text


def test_a_signed_in_student_picks_a_recorded_course_and_the_form_holds_its_marks(trained_settings,
                                                                                  student_with_weak_subjects):
    from studyrec_lib.serving.student_history import student_courses
    from studyrec_lib.web.app import NUMBER_FIELDS

    student = student_with_weak_subjects
    app = StudentApp(LocalBackend(trained_settings, {"JUPYTERHUB_USER": student}))
    try:
        courses = student_courses(student, trained_settings)
        assert courses and courses == app.courses
        semesters = [c["semester"] for c in courses]
        assert semesters == sorted(semesters, reverse=True)  # latest semester first
        latest = [c for c in courses if c["semester"] == semesters[0]]
        assert latest == sorted(latest, key=lambda c: (c["final_marks"] is not None, c["subject"]))  # open first
        picker = next(w for row in app.widget.children if hasattr(row, "children")
                      for w in row.children if "studyrec-courses" in w._dom_classes)
        assert len(picker.options) == 1 + len(courses) and picker.value is None
        picker.value = len(courses) - 1  # the oldest course
        oldest = courses[-1]
        assert app.fields["subject"].value == oldest["subject"]
        assert {name: float(app.fields[name].value) for name in NUMBER_FIELDS} == {
            name: pytest.approx(oldest[name]) for name in NUMBER_FIELDS}
        app.fields["quiz_marks"].value = "10"  # a what-if edit after filling
        assert app.predict() is not None
    finally:
        app.close()
    anonymous = StudentApp(LocalBackend(trained_settings, {}))
    try:
        assert anonymous.courses == []  # nobody's courses without a signed-in student
    finally:
        anonymous.close()
