"""The API's routes about the caller, and the student app speaking for a signed-in hub user (a real server)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.serving.student_history import student_courses, weak_subjects
from studyrec_lib.web.accounts import link_account
from studyrec_lib.web.api_config import HUB_USER_HEADER
from studyrec_lib.web.tokens import create_token
from tests.web.api_server import serve

SERVICE_TOKEN = "studyrec-test-service-token-0123456789abcdef"
ADA, GRACE, NOBODY = "api-ada", "api-grace", "api-nobody"  # linked, linked, never linked
RATE_LIMIT = 8
GOOD = {"subject": "Mathematics", "semester": 3, "assignment_marks": 3.5, "quiz_marks": 7, "attendance_percentage": 85,
        "midterm_marks": 20, "previous_cgpa": 3.0}


@pytest.fixture(scope="module")
def api(trained_settings, student_with_weak_subjects, free_port) -> Iterator[str]:
    link_account(ADA, student_with_weak_subjects, trained_settings)
    link_account(GRACE, "S00002", trained_settings)
    with serve(trained_settings, rate_limit=RATE_LIMIT, port=free_port(),
               STUDYREC_API_SERVICE_TOKEN=SERVICE_TOKEN) as url:
        yield url


def _as(hub_user: str | None, token: str = SERVICE_TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}", **({HUB_USER_HEADER: hub_user} if hub_user is not None else {})}


def _get(url: str, path: str, headers: dict) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers=headers, timeout=30)


def test_only_the_service_token_speaks_for_a_hub_user(api, trained_settings, student_with_weak_subjects):
    assert _get(api, "/api/me", _as(ADA)).json() == {"student_id": student_with_weak_subjects, "note": None}
    assert _get(api, "/api/me", _as(ADA.upper())).json()["student_id"] == student_with_weak_subjects  # hub names
    unlinked = _get(api, "/api/me", _as(NOBODY)).json()
    assert unlinked["student_id"] is None and "not linked" in unlinked["note"]
    own = create_token("S00007", "own", trained_settings)[1]
    assert _get(api, "/api/me", _as(ADA, token=own)).json()["student_id"] == "S00007"  # the header is ignored
    assert _get(api, "/api/me", _as(ADA, token=SERVICE_TOKEN + "x")).status_code == 401
    assert _get(api, "/api/me", _as(ADA, token=SERVICE_TOKEN[:-1])).status_code == 401
    assert _get(api, "/api/me", _as(None)).status_code == 400  # the service must say for whom
    assert _get(api, "/api/me", _as("x" * 300)).status_code == 400


def test_a_prediction_for_a_hub_user_has_their_weak_subjects_and_is_logged_under_them(
        api, trained_settings, student_with_weak_subjects):
    marker = 0.77  # a previous CGPA no other test of the app sends
    answer = httpx.post(f"{api}/api/predict/", json={**GOOD, "previous_cgpa": marker}, headers=_as(ADA), timeout=30)
    assert answer.status_code == 200
    assert answer.json()["weak_subjects"] == weak_subjects(student_with_weak_subjects, trained_settings)
    unlinked = httpx.post(f"{api}/api/predict/", json={**GOOD, "previous_cgpa": marker}, headers=_as(NOBODY),
                          timeout=30)
    assert unlinked.status_code == 200 and unlinked.json()["weak_subjects"] is None
    deadline = time.monotonic() + 30
    query = ("SELECT source, student_id FROM prediction_log WHERE source = 'app' "  # the load tests log as api
             "AND json_extract(inputs, '$.previous_cgpa')::DOUBLE = ? ORDER BY student_id NULLS LAST")
    rows: list = []
    while time.monotonic() < deadline and len(rows) < 2:
        with warehouse.connect(trained_settings, read_only=True) as con:
            rows = con.execute(query, [marker]).fetchall()
        time.sleep(0.3)
    assert rows == [("app", student_with_weak_subjects), ("app", None)]


def test_courses_are_the_callers_own(api, trained_settings, student_with_weak_subjects):
    courses = _get(api, "/api/me/courses", _as(ADA)).json()["courses"]
    expected = student_courses(student_with_weak_subjects, trained_settings)
    assert courses and courses == [{key: pytest.approx(value) if isinstance(value, float) else value
                                    for key, value in course.items()} for course in expected]
    assert _get(api, "/api/me/courses", _as(NOBODY)).json() == {"courses": []}


def test_tokens_are_made_and_revoked_only_through_the_app_and_only_ones_own(api, trained_settings):
    own = create_token("S00002", "own", trained_settings)[1]
    for refused in (_get(api, "/api/me/tokens", _as(None, token=own)),
                    httpx.post(f"{api}/api/me/tokens", headers=_as(None, token=own), timeout=30)):
        assert refused.status_code == 403 and "student app" in refused.json()["detail"]
    assert httpx.post(f"{api}/api/me/tokens", headers=_as(NOBODY), timeout=30).status_code == 403  # no record
    made = httpx.post(f"{api}/api/me/tokens", headers=_as(GRACE), timeout=30)
    assert made.status_code == 201
    token_id, token = made.json()["token_id"], made.json()["token"]
    assert _get(api, "/api/me", _as(None, token=token)).json()["student_id"] == "S00002"
    listed = _get(api, "/api/me/tokens", _as(GRACE)).json()["tokens"]
    assert token_id in [t["token_id"] for t in listed] and all("token" not in t for t in listed)
    assert httpx.delete(f"{api}/api/me/tokens/{token_id}", headers=_as(ADA), timeout=30).status_code == 404
    assert _get(api, "/api/me", _as(None, token=token)).status_code == 200  # another student cannot revoke it
    assert httpx.delete(f"{api}/api/me/tokens/{token_id}", headers=_as(GRACE), timeout=30).status_code == 204
    assert _get(api, "/api/me", _as(None, token=token)).status_code == 401


def test_each_hub_user_has_their_own_rate_limit(api, trained_settings):
    link_account("api-busy", "S00011", trained_settings)
    time.sleep(0.1)
    answers = [_get(api, "/api/me", _as("api-busy")).status_code for _ in range(RATE_LIMIT + 1)]
    assert answers == [200] * RATE_LIMIT + [429]
    assert _get(api, "/api/me", _as("api-calm")).status_code == 200  # the same service token, another student


def test_a_hub_name_with_letters_beyond_ascii_is_the_same_account(api, trained_settings):
    link_account("josé", "S00012", trained_settings)
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}", HUB_USER_HEADER: quote("josé", safe="")}
    assert _get(api, "/api/me", headers).json()["student_id"] == "S00012"


def test_a_malformed_token_id_is_not_echoed_and_needs_a_sign_in(api):
    long_id = "9" * 3000
    anonymous = httpx.delete(f"{api}/api/me/tokens/{long_id}", timeout=30)
    assert anonymous.status_code == 401 and long_id not in anonymous.text
    for token_id in (long_id, "abc", "-1", "١٢"):  # the last: Arabic-Indic digits, which int() accepts
        answer = httpx.delete(f"{api}/api/me/tokens/{quote(token_id)}", headers=_as(GRACE), timeout=30)
        assert answer.status_code == 404 and token_id not in answer.text

