"""The student app over the API (what the hub's kernels run): the same page as the app's own models, lighter."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from studyrec_lib.core.config import PROJECT_ROOT
from studyrec_lib.web.accounts import link_account
from studyrec_lib.web.api_client import ApiBackend
from studyrec_lib.web.api_config import ENV_API_URL, ENV_SERVICE_TOKEN
from studyrec_lib.web.app import COURSES_UNAVAILABLE, StudentApp, build_app
from studyrec_lib.web.local_backend import LocalBackend
from studyrec_lib.web.token_panel import UNAVAILABLE
from tests.web.api_server import serve

SERVICE_TOKEN = "studyrec-test-service-token-for-the-app-0123456789"
HUB_USER, BUSY_USER = "client-ada", "client-busy"
RATE_LIMIT = 30  # per hub user; a page open costs 3 requests, each token action 2


@pytest.fixture(scope="module")
def environ(trained_settings, student_with_weak_subjects, free_port) -> Iterator[dict[str, str]]:
    """What the hub gives the app's kernels: the API's address and the service token."""
    link_account(HUB_USER, student_with_weak_subjects, trained_settings)
    link_account(BUSY_USER, "S00005", trained_settings)
    with serve(trained_settings, rate_limit=RATE_LIMIT, port=free_port(),
               STUDYREC_API_SERVICE_TOKEN=SERVICE_TOKEN) as url:
        yield {ENV_API_URL: url, ENV_SERVICE_TOKEN: SERVICE_TOKEN}


def _courses_picker(app: StudentApp):
    return next(w for row in app.widget.children if hasattr(row, "children")
                for w in row.children if "studyrec-courses" in w._dom_classes)


def test_the_page_over_the_api_is_the_page_of_the_apps_own_models(environ, trained_settings):
    remote = StudentApp(ApiBackend(environ, HUB_USER))
    local = StudentApp(LocalBackend(trained_settings, {}, student=HUB_USER))
    try:
        assert remote.student_id == local.student_id and remote.student_id
        assert remote.fields["subject"].options == local.fields["subject"].options
        assert remote.courses == local.courses and remote.courses
        assert _courses_picker(remote).options == _courses_picker(local).options
        for app in (remote, local):
            _courses_picker(app).value = 0  # the latest course fills the form
            app.fields["quiz_marks"].value = "9"
        assert remote.payload() == local.payload()
        remote_result, local_result = remote.predict(), local.predict()
        for key in ("predicted_final_marks", "predicted_grade", "grade_probabilities", "weak_subjects",
                    "study_plan", "model_versions"):
            assert remote_result[key] == local_result[key], key
        assert remote.result.value == local.result.value
        assert remote.widget.children[0].value == local.widget.children[0].value  # "Signed in as ..."
    finally:
        remote.close()
        local.close()


def test_an_unlinked_hub_user_gets_the_note_and_no_ones_records(environ):
    app = StudentApp(ApiBackend(environ, "client-nobody"))
    try:
        assert app.student_id is None and app.tokens is None and app.courses == []
        assert "not linked" in app.note.value
        assert app.predict()["weak_subjects"] is None
    finally:
        app.close()


def test_the_token_panel_over_the_api_makes_lists_and_revokes(environ):
    app = StudentApp(ApiBackend(environ, HUB_USER))
    try:
        token = app.tokens.create()
        assert token in app.tokens.shown.value
        token_id = app.backend.tokens()[-1]["token_id"]
        assert f"studyrec-token-revoke-{token_id}" in json.dumps([row.children[1]._dom_classes
                                                                  for row in app.tokens.listing.children])
        app.tokens.revoke(token_id)
        assert token_id not in [t["token_id"] for t in app.backend.tokens()]
    finally:
        app.close()


def test_too_many_clicks_ask_the_student_to_wait(environ):
    app = StudentApp(ApiBackend(environ, BUSY_USER))  # the page's own requests count too
    try:
        for _ in range(RATE_LIMIT):
            app.predict()
        assert "Please wait a moment" in app.result.value and "studyrec-grade" not in app.result.value
    finally:
        app.close()


def test_no_model_over_the_api_says_how_to_train_one(settings, free_port):
    with serve(settings, rate_limit=100, port=free_port(), STUDYREC_API_SERVICE_TOKEN=SERVICE_TOKEN) as url:
        app = StudentApp(ApiBackend({ENV_API_URL: url, ENV_SERVICE_TOKEN: SERVICE_TOKEN}, HUB_USER))
        try:
            message, _again = app.widget.children
            assert "No prediction available yet" in message.value and "make run" in message.value
        finally:
            app.close()


def test_a_kernel_that_asks_the_api_imports_no_pandas_duckdb_or_scikit_learn(environ):
    """What a hub app kernel runs (the notebook's cell), in a fresh interpreter."""
    code = (f"from studyrec_lib.web import build_app; import sys\n"
            f"widget = build_app(environ={environ!r}, student={HUB_USER!r})\n"
            "assert widget.app.fields and widget.app.predict()['predicted_grade']\n"
            "print(','.join(m for m in ('pandas', 'duckdb', 'sklearn', 'scipy', 'fastapi') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""


def test_build_app_asks_the_api_only_for_a_signed_in_student(environ, trained_settings):
    signed_in = build_app(warehouse=str(trained_settings.warehouse), environ=environ, student=HUB_USER)
    local = build_app(warehouse=str(trained_settings.warehouse), environ=environ)  # no hub user: its own models
    try:
        assert isinstance(signed_in.app.backend, ApiBackend)
        assert isinstance(local.app.backend, LocalBackend)
    finally:
        signed_in.app.close()
        local.app.close()


def test_a_page_opened_while_the_warehouse_is_held_still_predicts_and_says_what_is_missing(
        trained_settings, free_port, hold_warehouse, caplog):
    """An ingest or a training may hold the DuckDB file for minutes: the courses and tokens wait, then give way."""
    with serve(trained_settings, rate_limit=100, port=free_port(), workers=1,
               STUDYREC_API_SERVICE_TOKEN=SERVICE_TOKEN) as url:
        environ = {ENV_API_URL: url, ENV_SERVICE_TOKEN: SERVICE_TOKEN}
        StudentApp(ApiBackend(environ, HUB_USER)).close()  # the API now knows whose account this is
        with hold_warehouse(trained_settings.warehouse):
            app = StudentApp(ApiBackend(environ, HUB_USER))
            try:
                assert app.student_id and app.courses == []
                assert _courses_picker(app).options[0][0] == COURSES_UNAVAILABLE
                assert UNAVAILABLE in app.tokens.listing.children[0].value
                assert app.predict()["predicted_grade"]
            finally:
                app.close()
    assert "503" in caplog.text  # the details go to the server log
