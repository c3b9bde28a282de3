"""The student app served by a real Voila on 127.0.0.1, driven in Debian's Chromium with Playwright.

One Voila (preheated pool) serves the trained warehouse and one plain Voila (no preheating) serves an
empty one; each starts once for this module, as does the browser. Every test opens its own page, so each
takes a kernel of its own, as a student would.
"""

from __future__ import annotations

import json
import os
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from studyrec_lib import registry
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import ENV_RUNS, ENV_WAREHOUSE, PROJECT_ROOT, Settings, load_settings
from studyrec_lib.core.schema import GRADES
from studyrec_lib.serving.predictor import Predictor
from studyrec_lib.web.app_server import (
    APP_NOTEBOOK,
    CELL_ERROR_MESSAGE,
    AppServerOptions,
    VoilaProcess,
    voila_command,
    voila_environment,
)

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
START_TIMEOUT_S = 180  # a loaded 2-core machine can take 20-40 s to fill the pool
UI_TIMEOUT_MS = 90_000  # a page may have to wait for a kernel start and the model load
LOG_TIMEOUT_S = 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}
NUMBER_FIELDS = ("semester", "assignment_marks", "quiz_marks", "attendance_percentage", "midterm_marks",
                 "previous_cgpa")


def start_voila(settings: Settings, options: AppServerOptions, root: Path) -> VoilaProcess:
    """Voila ready to serve (port open and, with preheating, the pool filled), or stopped on failure."""
    server = VoilaProcess(settings, options, root, START_TIMEOUT_S)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def app_url(trained_settings: Settings, tmp_path_factory: pytest.TempPathFactory,
            free_port: Callable[[], int]) -> Iterator[str]:
    """The app over the trained warehouse, with a preheated pool of two kernels."""
    options = AppServerOptions(port=free_port(), pool_size=2, preheat=True)
    server = start_voila(trained_settings, options, tmp_path_factory.mktemp("voila-trained"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def empty_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("empty")
    return load_settings(warehouse=root / "warehouse.duckdb", runs_dir=root / "runs")


@pytest.fixture(scope="module")
def no_model_url(empty_settings: Settings, tmp_path_factory: pytest.TempPathFactory,
                 free_port: Callable[[], int]) -> Iterator[str]:
    """The app over a warehouse with no model, served by plain Voila (a kernel starts per page)."""
    options = AppServerOptions(port=free_port(), preheat=False)
    server = start_voila(empty_settings, options, tmp_path_factory.mktemp("voila-empty"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def open_app(page: Page, url: str) -> None:
    """Open the app and wait until the form can be used."""
    page.goto(url, wait_until="commit", timeout=UI_TIMEOUT_MS)
    expect(page.locator(".studyrec-predict")).to_be_enabled(timeout=UI_TIMEOUT_MS)


def fill_form(page: Page, payload: dict) -> None:
    """Type each number and leave the field (a FloatText sends its value on change), choose the subject."""
    page.locator(".studyrec-input-subject select").select_option(label=payload["subject"])
    for name in NUMBER_FIELDS:
        box = page.locator(f".studyrec-input-{name} input")
        box.fill(f"{payload[name]:g}")
        box.press("Tab")


def subjects(page: Page) -> list[str]:
    return [text.strip() for text in page.locator(".studyrec-input-subject select option").all_inner_texts()]


def field_error(page: Page, name: str):
    """The error shown in the same row as the field ``name``."""
    row = page.locator(".widget-hbox", has=page.locator(f".studyrec-input-{name}"))
    return row.locator(f".studyrec-error-{name} .studyrec-field-error")


def full_page_screenshot(page: Page, path: Path) -> tuple[int, int]:
    """Save the whole app as a PNG; returns its (width, height) in pixels.

    Voila scrolls inside ``#rendered_cells``, not the document, so Playwright's full-page screenshot alone
    shows one viewport: grow the viewport to the content first.
    """
    height = page.evaluate("""() => Math.max(document.documentElement.scrollHeight,
                                            document.querySelector('#rendered_cells')?.scrollHeight ?? 0)""")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": height + 40})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert len(data) > 100
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_prediction_in_the_page_is_the_prediction_core(page: Page, app_url: str,
                                                       trained_settings: Settings) -> None:
    open_app(page, app_url)
    options = subjects(page)
    assert len(options) >= 2
    payload = {"semester": 5, "subject": options[-1], "assignment_marks": 4.5, "quiz_marks": 8.5,
               "attendance_percentage": 92, "midterm_marks": 24.5, "previous_cgpa": 3.4}
    fill_form(page, payload)
    page.locator(".studyrec-predict").click()
    grade = page.locator(".studyrec-grade[data-grade]")
    expect(grade).to_be_visible()

    expected = Predictor(trained_settings).predict(payload)
    assert grade.get_attribute("data-grade") == expected["predicted_grade"]
    rows = page.locator("tr.studyrec-prob[data-grade][data-p]")
    shown = {row.get_attribute("data-grade"): row.get_attribute("data-p") for row in rows.all()}
    assert shown == {g: f"{p:.4f}" for g, p in expected["grade_probabilities"].items()}
    assert set(shown) == set(GRADES)
    final = float(page.locator(".studyrec-final[data-value]").get_attribute("data-value"))
    total = float(page.locator(".studyrec-total[data-value]").get_attribute("data-value"))
    assert final == pytest.approx(expected["predicted_final_marks"], abs=1e-9)
    assert total == pytest.approx(expected["predicted_total"], abs=1e-9)

    assert page.title() == "StudyRec: your predicted grade"
    versions = page.locator(".studyrec-versions")
    expect(versions).to_be_hidden()  # model version ids wait behind "Details"
    page.locator(".studyrec-details summary").click()
    expect(versions).to_contain_text(expected["model_versions"]["regression"])

    _, height = full_page_screenshot(page, ARTIFACTS / "app_prediction.png")
    assert height > VIEWPORT["height"]  # the whole result, down to the study plan, not one screen of it


def test_out_of_range_marks_are_explained_next_to_their_field(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    for name, value in (("attendance_percentage", "130"), ("semester", "2.5")):
        box = page.locator(f".studyrec-input-{name} input")
        box.fill(value)
        box.press("Tab")
    expect(field_error(page, "attendance_percentage")).to_have_text("must be a number from 0 to 100")
    expect(field_error(page, "semester")).to_contain_text("whole number")
    expect(page.locator(".studyrec-error-quiz_marks .studyrec-field-error")).to_have_count(0)

    page.locator(".studyrec-predict").click()
    expect(page.locator(".studyrec-fix")).to_be_visible()
    expect(page.locator(".studyrec-grade")).to_have_count(0)
    expect(field_error(page, "attendance_percentage")).to_have_text("must be a number from 0 to 100")


def test_letters_and_a_cleared_field_are_explained_on_a_phone_width(browser: Browser, app_url: str) -> None:
    """At 390 px every label is whole and on screen; letters or an emptied box get their rule, not a revert."""
    context = browser.new_context(viewport=PHONE_VIEWPORT)
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page = context.new_page()
        open_app(page, app_url)
        quiz = page.locator(".studyrec-input-quiz_marks input")
        quiz.fill("abc")
        quiz.press("Tab")
        expect(field_error(page, "quiz_marks")).to_have_text("must be a number")
        assert quiz.input_value() == "abc"
        midterm = page.locator(".studyrec-input-midterm_marks input")
        midterm.fill("")
        midterm.press("Tab")
        expect(field_error(page, "midterm_marks")).to_have_text("is required")
        attendance = page.locator(".studyrec-input-attendance_percentage input")
        attendance.fill("130")  # the longest label, with an error beside it
        attendance.press("Tab")
        expect(field_error(page, "attendance_percentage")).to_have_text("must be a number from 0 to 100")
        labels = page.locator(".studyrec-label")
        assert labels.count() == 1 + len(NUMBER_FIELDS)
        shown = [*labels.all(), *(field_error(page, name) for name in ("quiz_marks", "midterm_marks",
                                                                          "attendance_percentage"))]
        for label in shown:
            fits = label.evaluate("(e) => ({right: e.getBoundingClientRect().right, "
                                  "cut: e.scrollWidth > e.clientWidth})")
            assert fits["right"] <= PHONE_VIEWPORT["width"] and not fits["cut"], label.inner_text()
    finally:
        context.close()


def test_app_predictions_are_logged(page: Page, app_url: str, trained_settings: Settings) -> None:
    open_app(page, app_url)
    payload = {"semester": 7, "subject": subjects(page)[0], "assignment_marks": 2.25, "quiz_marks": 7.75,
               "attendance_percentage": 67.5, "midterm_marks": 13.25, "previous_cgpa": 2.65}
    fill_form(page, payload)
    page.locator(".studyrec-predict").click()
    expect(page.locator(".studyrec-grade")).to_be_visible()

    expected = {name: float(value) if name in NUMBER_FIELDS else value for name, value in payload.items()}
    deadline = time.monotonic() + LOG_TIMEOUT_S
    logged: list[dict] = []
    while time.monotonic() < deadline:
        rows = warehouse.query_frame("SELECT inputs, status FROM prediction_log WHERE source = 'app'",
                                     settings=trained_settings)
        logged = [{**json.loads(row.inputs), "status": row.status} for row in rows.itertuples()]
        if {**expected, "status": "ok"} in logged:
            return
        time.sleep(0.25)
    raise AssertionError(f"no app prediction with inputs {expected} in prediction_log after {LOG_TIMEOUT_S} s; "
                         f"found {logged}")


def test_no_model_page_says_how_to_train(page: Page, no_model_url: str) -> None:
    page.goto(no_model_url, wait_until="commit", timeout=UI_TIMEOUT_MS)
    message = page.locator(".studyrec-no-model")
    expect(message).to_contain_text("make run", timeout=UI_TIMEOUT_MS)
    expect(page.locator(".studyrec-check-again")).to_be_visible()
    expect(page.locator(".studyrec-predict")).to_have_count(0)

    full_page_screenshot(page, ARTIFACTS / "app_no_model.png")


def test_voila_command_serves_the_notebook_on_loopback_with_a_preheated_pool() -> None:
    options = AppServerOptions(port=8123, pool_size=3, cull_interval_s=30, cull_idle_timeout_s=600)
    command = voila_command(options)
    assert Path(command[0]).name == "voila"
    assert command[1] == str(APP_NOTEBOOK)
    for flag in ("--no-browser", "--Voila.ip=127.0.0.1", "--Voila.port=8123", "--preheat_kernel=True",
                 "--pool_size=3", "--MappingKernelManager.cull_interval=30",
                 "--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_connected=False",
                 "--show_tracebacks=False", f"--VoilaExecutor.cell_error_instruction={CELL_ERROR_MESSAGE}"):
        assert flag in command
    assert "--preheat_kernel=False" not in command


@pytest.mark.parametrize("options", [AppServerOptions(preheat=False), AppServerOptions(pool_size=0)])
def test_voila_command_without_preheating(options: AppServerOptions) -> None:
    command = voila_command(options)
    assert "--preheat_kernel=False" in command
    assert "--preheat_kernel=True" not in command
    assert not any(part.startswith("--pool_size") for part in command)
    assert "--MappingKernelManager.cull_idle_timeout=120" in command


def test_voila_command_other_notebook_and_host(tmp_path: Path) -> None:
    notebook = tmp_path / "other.ipynb"
    command = voila_command(AppServerOptions(host="0.0.0.0", port=9000), notebook=notebook)
    assert command[1] == str(notebook)
    assert "--Voila.ip=0.0.0.0" in command
    assert "--Voila.port=9000" in command


def test_voila_environment_points_kernels_at_the_settings_warehouse(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = load_settings(warehouse="here/warehouse.duckdb", runs_dir="here/runs")
    base = {"PATH": "/usr/bin", ENV_WAREHOUSE: "/elsewhere/w.duckdb"}
    env = voila_environment(relative, base=base)
    assert Path(env[ENV_WAREHOUSE]).is_absolute()
    assert env[ENV_WAREHOUSE] == str(tmp_path.resolve() / "here" / "warehouse.duckdb")
    assert env[ENV_RUNS] == str(tmp_path.resolve() / "here" / "runs")
    assert env["PATH"] == "/usr/bin"
    assert base[ENV_WAREHOUSE] == "/elsewhere/w.duckdb"  # the base is not changed


def test_voila_environment_defaults_to_this_process_environment(settings: Settings,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYREC_TEST_MARKER", "kept")
    env = voila_environment(settings)
    assert env["STUDYREC_TEST_MARKER"] == "kept"
    assert env[ENV_WAREHOUSE] == str(settings.warehouse)
    assert os.environ.get(ENV_WAREHOUSE) != env[ENV_WAREHOUSE]


def _umask_of(pid: int) -> str:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(line.split()[1] for line in status if line.startswith("Umask:"))


def test_a_broken_model_shows_a_plain_page_and_the_details_go_to_the_log(
        page: Page, copy_of_trained: Settings, tmp_path: Path, free_port: Callable[[], int]) -> None:
    """A kernel started for the page (no preheating), from a login shell's umask 022."""
    previous = os.umask(0o022)
    try:
        server = start_voila(copy_of_trained, AppServerOptions(port=free_port(), preheat=False), tmp_path / "voila")
    finally:
        os.umask(previous)
    try:
        open_app(page, server.url)  # the form: the model is fine so far
        path = registry.active_versions(copy_of_trained)["classification"]["artifact_path"]
        with open(path, "ab") as handle:
            handle.write(b"tampered")
        registry.write_active_sidecar(copy_of_trained)  # an activation: the open page reloads the models
        os.utime(registry.active_sidecar(copy_of_trained), ns=(time.time_ns(), time.time_ns() + 10**9))
        page.locator(".studyrec-predict").click()
        expect(page.locator(".studyrec-problem")).to_contain_text("Something went wrong on the server")
        page.goto(server.url, wait_until="commit", timeout=UI_TIMEOUT_MS)  # a new page: no model loads at all
        expect(page.locator(".studyrec-problem")).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(page.locator(".studyrec-check-again")).to_be_visible()
        page.locator(".studyrec-check-again").click()
        expect(page.locator(".studyrec-problem")).to_be_visible()
        text = page.locator("body").inner_text()
        for detail in ("Traceback", "sha256", "does not match", str(tmp_path), "/"):
            assert detail not in text
        assert [_umask_of(process.pid) for process in server.tree()] == ["0077"] * len(server.tree())
        assert len(server.tree()) >= 2  # Voila and the page's kernel
    finally:
        server.stop()
    log = server.log()
    assert path in log and "does not match" in log and "Traceback" in log
