"""The student app behind the hub: each signed-in student sees their own name and weak subjects, never another's.

A real hub (the project's configuration, DummyAuthenticator for two students) runs the ``student-app`` service:
one Voila server with the hub's identity provider and the prelaunch hook (``web.hub_identity``). Chromium signs
in like a student does. The warehouse is the session's trained one.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from websockets.sync.client import connect

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import ENV_RUNS, ENV_WAREHOUSE, Settings
from studyrec_lib.serving.student_history import weak_subjects
from studyrec_lib.web.accounts import link_account
from tests.web.test_app_server import UI_TIMEOUT_MS
from tests.web.test_hub import Hub, _running_hub, _wait_until, fill_login_form, hub_config, kernels_of

OTHER_STUDENT = "S00001"
UNLINKED = "newcomer"  # in the students group, but no student record linked to the account
APP = "/services/student-app/"
pytestmark = pytest.mark.timeout(300)



@pytest.fixture(scope="module")
def students(student_with_weak_subjects: str) -> tuple[str, str]:
    assert student_with_weak_subjects != OTHER_STUDENT
    return student_with_weak_subjects, OTHER_STUDENT


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int], trained_settings: Settings,
        students: tuple[str, str]) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("hub-app")
    config = root / "test_hub_config.py"
    config.write_text(hub_config({"students": [*students, UNLINKED]}))
    for student in students:  # hub names are lower case; the link says which student each account is
        link_account(student, student, trained_settings)
    env = {ENV_WAREHOUSE: str(trained_settings.warehouse), ENV_RUNS: str(trained_settings.runs_dir)}
    with _running_hub(root, config, free_port(), env) as running:
        _wait_until(lambda: httpx.get(f"{running.url}{APP}", timeout=2).status_code == 302, 60,
                    "the student app answered", running.process)
        yield running


def _sign_in_and_open(browser: Browser, hub: Hub, student: str, query: str = ""):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    fill_login_form(page, hub.url, student, f"{APP}{query}")
    page.locator("#login_submit").click()
    expect(page.locator(".studyrec-predict")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    return context, page


def _logged(settings: Settings, student: str) -> int:
    with warehouse.connect(settings, read_only=True) as con:
        return con.execute("SELECT count(*) FROM prediction_log WHERE source = 'app' AND student_id = ?",
                           [student]).fetchone()[0]


def test_an_anonymous_visitor_is_sent_to_sign_in_and_starts_no_kernel(hub: Hub) -> None:
    before = len(kernels_of(hub))
    for path in (APP, f"{APP}?student=S00002", f"{APP}voila/render/predict_widget.ipynb"):
        response = httpx.get(f"{hub.url}{path}", timeout=20, follow_redirects=True)
        assert "/hub/login" in str(response.url), path
    time.sleep(1)
    assert len(kernels_of(hub)) == before == 0


def test_each_student_sees_their_own_name_and_weak_subjects_and_is_logged_as_themselves(
        hub: Hub, browser: Browser, students: tuple[str, str], trained_settings: Settings) -> None:
    logged_before = {student: _logged(trained_settings, student) for student in students}
    for student, forged in zip(students, reversed(students), strict=True):
        # the page asks to be someone else: the server's identity wins
        context, page = _sign_in_and_open(browser, hub, student, query=f"?student={forged}&user={forged}")
        try:
            expect(page.locator(".studyrec-signed-in")).to_have_text(f"Signed in as {student}")  # not {forged}
            page.locator(".studyrec-predict").click()
            expect(page.locator(".studyrec-grade")).to_be_visible()
            own = [w["subject"] for w in weak_subjects(student, trained_settings)]
            shown = page.locator(".studyrec-weak-subjects li")
            if own:
                expect(shown).to_have_count(len(own))
                for item, subject in zip(shown.all(), own, strict=True):
                    assert item.inner_text().startswith(subject)
            else:
                expect(shown).to_have_count(0)
            assert forged not in page.locator(".studyrec-app").inner_text()
        finally:
            context.close()
    deadline = time.monotonic() + 60  # the app's spool moves lines into the warehouse every half second
    while time.monotonic() < deadline and any(
            _logged(trained_settings, s) != logged_before[s] + 1 for s in students):
        time.sleep(0.5)
    assert {s: _logged(trained_settings, s) - logged_before[s] for s in students} == dict.fromkeys(students, 1)


def test_the_kernel_holds_no_hub_secret(hub: Hub, browser: Browser, students: tuple[str, str]) -> None:
    context, _ = _sign_in_and_open(browser, hub, students[0])
    try:
        kernels = kernels_of(hub)
        assert kernels
        for kernel in kernels:
            assert not {"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"} & set(kernel.environ())
    finally:
        context.close()


def test_an_account_linked_to_no_student_sees_no_ones_records(hub: Hub, browser: Browser) -> None:
    context, page = _sign_in_and_open(browser, hub, UNLINKED)
    try:
        expect(page.locator(".studyrec-note")).to_contain_text(f"Your account {UNLINKED} is not linked")
        expect(page.locator(".studyrec-signed-in")).to_have_count(0)
        page.locator(".studyrec-predict").click()
        expect(page.locator(".studyrec-grade")).to_be_visible()  # what-if predictions still work
        expect(page.locator(".studyrec-weak-subjects li")).to_have_count(0)
        expect(page.locator(".studyrec-tokens")).to_have_count(0)  # no token for nobody
    finally:
        context.close()


def test_a_signed_in_student_cannot_run_code_in_the_kernel(hub: Hub, students: tuple[str, str],
                                                           tmp_path: Path) -> None:
    """The kernels hold the API's service token: Voila must keep refusing execute_request (only widget messages)."""
    client, _ = hub.login(students[0])
    page = client.get(APP, follow_redirects=True)
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', page.text)
    assert page.status_code == 200 and kernel_id, page.text[-500:]
    marker = tmp_path / "ran"
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar if APP.startswith(c.path.rstrip("/") + "/"))
    url = f"{hub.url.replace('http', 'ws', 1)}{APP}api/kernels/{kernel_id[1]}/channels"
    message = {"header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": students[0],
                          "session": uuid.uuid4().hex, "date": "", "version": "5.3"},
               "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
               "content": {"code": f"open({str(marker)!r}, 'w').write('x')", "silent": False,
                           "store_history": False, "user_expressions": {}, "allow_stdin": False,
                           "stop_on_error": True}}
    with connect(url, additional_headers={"Cookie": cookie}, open_timeout=20) as socket:
        socket.send(json.dumps(message))
        replies = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                replies.append(json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic()))))
            except TimeoutError:
                break
    assert not marker.exists()
    assert not [r for r in replies if r.get("msg_type") in ("execute_reply", "execute_input")]
