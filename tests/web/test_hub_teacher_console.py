"""The teacher console behind the hub: a teacher signs in, uploads, withdraws, trains, downloads the at-risk list.

A real hub (the project's configuration, DummyAuthenticator) runs the ``teacher-console`` service: one Voila
server with the hub's identity provider and the teacher prelaunch hook (``web.hub_identity``), which writes the
signed-in teacher and whether they are a hub admin into ``apps/teacher_console.ipynb``. Chromium signs in through
the login form like a teacher does. The warehouse is the module's own: the session's trained models registered
afresh (plus a second, inactive version to roll back to) and one upload of 10 students with their last semester
open, as ``tests/console/conftest.py`` builds it; a copy made before the hub starts is the command line's.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openpyxl
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from studyrec_lib import registry
from studyrec_lib.console.upload import rejected_rows
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import ENV_RUNS, ENV_WAREHOUSE, Settings, load_settings
from studyrec_lib.demo.example import generate
from studyrec_lib.ingest import ingest_file
from studyrec_lib.monitoring.at_risk_now import current_at_risk
from studyrec_lib.runs import list_runs
from tests.artifacts import load_artifact
from tests.console.test_upload import messy_workbook
from tests.web.test_hub import Hub, _running_hub, _wait_until, fill_login_form, hub_config, kernels_of

CONSOLE = "/services/teacher-console/"
TEACHER, ADMIN, STUDENT = "tea", "boss", "stu"
UI_TIMEOUT_MS = 90_000  # a page waits for its kernel to start and run the console (imports, the at-risk list)
UPLOAD_TIMEOUT_MS = 60_000
TRAIN_TIMEOUT_MS = 240_000  # the module's small warehouse trains in ~30-60 s on 2 cores
CLI_TIMEOUT_S = 120
OUTCOME = re.compile(r"Loaded ([\d,]+) of ([\d,]+) rows \(([\d,]+) rejected, ([\d,]+) blank rows skipped\) "
                     r"as upload (\d+)\.")
pytestmark = pytest.mark.timeout(300)


@dataclass
class Console:
    """The module's warehouse as the hub's console sees it, and a pristine copy of it for the command line."""

    settings: Settings
    cli_copy: Path  # the folder holding a copy of warehouse.duckdb (and its sidecars) made before the hub started
    versions: list[str]  # registered versions: the active one first, then the inactive one


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, trained_settings: Settings) -> Console:
    """As ``copy_of_trained`` + ``console_settings``, module-scoped: never the session's warehouse itself."""
    root = tmp_path_factory.mktemp("console-warehouse")
    settings = load_settings(warehouse=root / "own" / "warehouse.duckdb", runs_dir=root / "own" / "runs")
    artifacts = {task: load_artifact(task, settings=trained_settings)[0] for task in registry.TASKS}
    versions = []
    for run_id, algorithm in (("run-1", None), ("run-2", "again")):
        entries = {task: {"artifact": artifact, "algorithm": algorithm or artifact["algorithm"],
                          "training_rows": 456, "data_sha256": "0" * 64} for task, artifact in artifacts.items()}
        versions.append(registry.register(entries, settings.runs_dir / run_id / "artifacts", run_id,
                                          settings)["regression"])
    registry.activate(versions[0], "both", reason="trained", settings=settings)
    source = root / "class_of_10.csv"
    generate(students=10, seed=3, open_semesters=1).to_csv(source, index=False)
    ingest_file(source, settings=settings, uploaded_by="first-teacher", progress=None)
    cli_copy = root / "cli"
    cli_copy.mkdir()
    for path in settings.warehouse.parent.glob(f"{settings.warehouse.name}*"):  # the file and its sidecars
        if path.is_file():
            shutil.copy2(path, cli_copy / path.name)
    return Console(settings, cli_copy, versions)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int], console: Console) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("hub-console")
    config = root / "test_hub_config.py"
    config.write_text(hub_config({"teachers": [TEACHER, ADMIN], "students": [STUDENT]},
                                 f"c.Authenticator.admin_users = {{{ADMIN!r}}}\n"))
    env = {ENV_WAREHOUSE: str(console.settings.warehouse), ENV_RUNS: str(console.settings.runs_dir)}
    with _running_hub(root, config, free_port(), env) as running:
        _wait_until(lambda: httpx.get(f"{running.url}{CONSOLE}", timeout=2).status_code == 302, 60,
                    "the teacher console answered", running.process)
        yield running


def _sign_in(browser: Browser, hub: Hub, name: str) -> tuple[BrowserContext, Page, float]:
    """A fresh context signed in as ``name`` and on the console; the seconds from the login click to usable
    (the Upload tab's file picker visible)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    fill_login_form(page, hub.url, name, CONSOLE)
    started = time.monotonic()
    page.locator("#login_submit").click()
    expect(page.locator(".studyrec-upload-file")).to_be_visible(timeout=UI_TIMEOUT_MS)
    return context, page, time.monotonic() - started


def _choose_file(page: Page, path: Path) -> None:
    """Pick ``path`` as a teacher does: the picker button opens the browser's file chooser."""
    with page.expect_file_chooser() as chooser:
        page.locator(".studyrec-upload-file").click()
    chooser.value.set_files(str(path))


def _tab(page: Page, title: str) -> None:
    """Open a tab (a tab other than Upload is built when first opened: wait for what it shows)."""
    page.get_by_role("tab", name=title, exact=True).click()


def _training_rows(settings: Settings) -> list[tuple]:
    """What models learn from: each key's latest finished row, and the upload it comes from."""
    frame = warehouse.query_frame("SELECT student_id, semester, subject, dataset_id, source_row FROM training_examples "
                                  "ORDER BY ALL", settings=settings)
    return list(frame.itertuples(index=False, name=None))


def _cli_ingest(path: Path, copy: Path) -> dict:
    """``studyrec ingest --json`` of ``path`` into the pristine copy of the warehouse (its own runs folder)."""
    done = subprocess.run([sys.executable, "-m", "studyrec_lib.cli", "ingest", str(path), "--json",
                           "--warehouse", str(copy / "warehouse.duckdb"), "--runs-dir", str(copy / "runs")],
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cells(table) -> list[list[str]]:
    """The body rows of an HTML table, as the browser shows their cells' text."""
    return table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.querySelectorAll('td')).map(c => c.innerText))")


def _header(table) -> list[str]:
    return table.locator("thead th").all_inner_texts()


@pytest.fixture(scope="module")
def teacher(browser: Browser, hub: Hub) -> Iterator[tuple[Page, float]]:
    """One non-admin teacher's console page, shared by the tests below (one kernel for them all)."""
    context, page, seconds = _sign_in(browser, hub, TEACHER)
    try:
        yield page, seconds
    finally:
        context.close()


def test_a_student_is_refused_the_console_and_starts_no_kernel(hub: Hub, browser: Browser) -> None:
    before = len(kernels_of(hub))
    client, landing = hub.login(STUDENT)
    assert landing == "/services/student-app/"
    response = client.get(CONSOLE, follow_redirects=True)
    assert response.status_code == 403, (response.status_code, str(response.url))
    assert "studyrec-console" not in response.text
    context = browser.new_context()
    try:
        page = context.new_page()
        fill_login_form(page, hub.url, STUDENT, CONSOLE)
        with page.expect_response(lambda r: r.status == 403, timeout=UI_TIMEOUT_MS):
            page.locator("#login_submit").click()
        expect(page.locator("body")).to_contain_text("403")
        expect(page.locator(".studyrec-console")).to_have_count(0)
    finally:
        context.close()
    time.sleep(1)
    assert len(kernels_of(hub)) == before == 0


def test_sign_in_to_a_usable_console(teacher: tuple[Page, float]) -> None:
    page, seconds = teacher
    expect(page.locator(".studyrec-signed-in")).to_have_text(f"Signed in as {TEACHER} (teacher)")
    for title in ("Upload", "Uploads", "Training", "At-risk students", "Models", "Reports"):
        expect(page.get_by_role("tab", name=title, exact=True)).to_be_visible()
    expect(page.locator(".studyrec-upload-file")).to_be_enabled()  # the picker (its <input type=file> is
    # detached: ipywidgets' FileUpload is a button that clicks an input kept out of the DOM)
    print(f"\nteacher sign-in to usable console: {seconds:.1f} s")


def test_a_messy_workbook_uploads_as_the_cli_loads_it_and_a_withdrawal_takes_its_rows_out(
        teacher: tuple[Page, float], console: Console, tmp_path: Path) -> None:
    page, _ = teacher
    _tab(page, "Upload")
    path = messy_workbook(tmp_path / "semester 8.xlsx")
    before = _training_rows(console.settings)
    _choose_file(page, path)
    load = page.locator(".studyrec-upload-load")
    expect(page.locator(".studyrec-upload-status")).to_contain_text("header on row 3")
    expect(load).to_be_enabled()
    started = time.monotonic()
    load.click()
    outcome = page.locator(".studyrec-upload-outcome")
    expect(outcome).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    seconds = time.monotonic() - started
    expect(page.locator(".studyrec-upload-done")).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)  # the report written
    assert outcome.get_attribute("data-status") == "loaded"
    shown = OUTCOME.search(outcome.inner_text())
    assert shown, outcome.inner_text()
    loaded, total, rejected, _blank, dataset_id = (int(value.replace(",", "")) for value in shown.groups())

    cli = _cli_ingest(path, console.cli_copy)
    assert cli["ingest_status"] == "loaded"
    assert (cli["rows_total"], cli["rows_loaded"], cli["rows_rejected"]) == (total, loaded, rejected)
    assert rejected == 2

    rejects = page.locator(".studyrec-upload-result table.studyrec-rejects")
    assert _header(rejects) == ["row in the file", "column", "rule broken", "value as sent"]
    rows = _cells(rejects)
    assert sorted(row[0] for row in rows) == ["4", "5"]  # as the spreadsheet numbers them
    cli_rules = sorted(rejected_rows(console.cli_copy / "runs" / cli["run_id"])["rule broken"])
    assert sorted(row[2] for row in rows) == cli_rules  # every rule in full, never cut
    assert "must be a number from 0 to 10" in cli_rules
    after = _training_rows(console.settings)
    assert sum(row[3] == dataset_id for row in after) == loaded  # its rows are the latest of their keys now
    assert {row[:3] for row in before} <= {row[:3] for row in after}  # ... some replacing the class's rows
    assert cli["rows_superseding"] > 0
    print(f"\nmessy workbook: click -> outcome {seconds:.1f} s; {loaded} of {total} rows, {rejected} rejected")

    _tab(page, "Uploads")
    history = page.locator(".studyrec-history-table table")
    expect(history.locator("tbody tr").first).to_be_visible()
    listed = {row[0]: row for row in _cells(history)}
    assert str(dataset_id) in listed, listed
    assert listed[str(dataset_id)][2] == TEACHER and listed[str(dataset_id)][6] == "loaded"
    choices = page.locator(".studyrec-withdraw-upload select option").evaluate_all("o => o.map(e => e.value)")
    choice = next((label for label in choices if label.startswith(f"{dataset_id}: ")), None)  # the labels
    assert choice, choices
    page.locator(".studyrec-withdraw-upload select").select_option(value=choice)
    page.locator(".studyrec-withdraw-reason input").fill("the wrong class's file")
    page.locator(".studyrec-withdraw-confirm input[type=checkbox]").check()
    page.locator(".studyrec-withdraw").click()
    expect(page.locator(".studyrec-withdraw-done")).to_contain_text(f"Upload {dataset_id} is withdrawn")
    assert _training_rows(console.settings) == before  # exactly its rows out; the rows it replaced are back
    kept = warehouse.query_frame("SELECT count(*) AS n FROM student_performance WHERE dataset_id = ?",
                                 [dataset_id], settings=console.settings)["n"][0]
    assert kept == loaded  # nothing is deleted from the audit trail
    expect(history).to_contain_text(f"by {TEACHER}: the wrong class's file")  # the table follows the message
    row = {r[0]: r for r in _cells(history)}[str(dataset_id)]
    assert row[6] == "withdrawn" and row[-1] == f"by {TEACHER}: the wrong class's file"
    # the file as the teacher knows it (not the name the server stored its bytes under)
    assert row[1] == "semester 8.xlsx" and choice == f"{dataset_id}: semester 8.xlsx", (row[1], choice)


def _xlsx_rows(page: Page) -> list[tuple]:
    """The rows of the at-risk XLSX link (a data: URI), its header first."""
    href = page.locator(".studyrec-at-risk-xlsx").get_attribute("href")
    prefix = "data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64,"
    assert href and href.startswith(prefix), (href or "")[:100]
    return list(openpyxl.load_workbook(io.BytesIO(base64.b64decode(href[len(prefix):]))).active.values)


def _at_risk_matches_its_download(page: Page) -> int:
    """The XLSX link's rows are the table's rows: the header, the count, the students (subject, semester) in order."""
    table = page.locator(".studyrec-at-risk-table table.studyrec-at-risk")
    shown = _cells(table)
    deadline = time.monotonic() + 10  # the link is a second widget: its new value may follow the table's
    while len(downloaded := _xlsx_rows(page)) - 1 != len(shown) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [str(c) for c in downloaded[0]] == _header(table)
    assert len(downloaded) - 1 == len(shown)
    assert downloaded[0][:3] == ("Student", "Subject", "Semester")
    assert [tuple(str(c) for c in r[:3]) for r in downloaded[1:]] == [tuple(r[:3]) for r in shown]  # same order
    return len(shown)


def test_the_at_risk_download_holds_the_rows_shown(teacher: tuple[Page, float], console: Console) -> None:
    page, _ = teacher
    _tab(page, "At-risk students")
    now = current_at_risk(console.settings)
    summary = page.locator(".studyrec-at-risk-summary")
    # the list as the warehouse has it now (an upload or a withdrawal before refreshes it, a moment later)
    expect(summary).to_contain_text(f"{int(now['at_risk'].sum())} of {len(now)} open rows are at risk")
    words = re.search(r"(\d+) of (\d+) open rows are at risk; (\d+) shown", summary.inner_text())
    assert words, summary.inner_text()
    flagged, open_rows, shown = (int(v) for v in words.groups())
    assert 0 < flagged < open_rows and shown == flagged
    assert _at_risk_matches_its_download(page) == flagged
    page.get_by_role("checkbox", name="Only students at risk").uncheck()
    expect(summary).to_contain_text(f"; {open_rows} shown")
    assert _at_risk_matches_its_download(page) == open_rows


def test_train_now_shows_its_steps_refuses_a_second_click_and_shows_the_decision(
        teacher: tuple[Page, float], console: Console) -> None:
    page, _ = teacher
    _tab(page, "Training")
    runs_before = list_runs(console.settings)
    trains_before = int((runs_before["kind"] == "train").sum()) if len(runs_before) else 0
    button = page.locator(".studyrec-train-now")
    expect(button).to_be_enabled()
    started = time.monotonic()
    button.click()
    expect(page.locator(".studyrec-train-progress")).to_contain_text("Step", timeout=60_000)
    expect(button).to_be_disabled()  # while the job runs
    button.click(force=True)  # a disabled button sends nothing
    expect(page.locator(".studyrec-train-decision")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    seconds = time.monotonic() - started
    expect(page.locator(".studyrec-train-progress")).to_contain_text("Finished after")
    expect(button).to_be_enabled()
    assert page.locator(".studyrec-train-refused").count() == 0
    runs = list_runs(console.settings)
    train_runs = runs[runs["kind"] == "train"]
    assert len(train_runs) == trains_before + 1  # one job for the clicks
    assert train_runs["status"].iloc[-1] == "succeeded"
    print(f"\ntrain now: click -> decision {seconds:.1f} s: {page.locator('.studyrec-train-decision').inner_text()}")


def test_only_a_hub_admin_sees_the_rollback_and_it_activates_the_chosen_version(
        teacher: tuple[Page, float], browser: Browser, hub: Hub, console: Console) -> None:
    page, _ = teacher
    _tab(page, "Models")
    expect(page.locator(".studyrec-models-table table")).to_be_visible()
    expect(page.locator(".studyrec-rollback")).to_have_count(0)
    expect(page.locator(".studyrec-rollback-confirm")).to_have_count(0)
    expect(page.locator(".studyrec-models")).to_contain_text(console.versions[1])

    context, admin, _ = _sign_in(browser, hub, ADMIN)
    try:
        expect(admin.locator(".studyrec-signed-in")).to_have_text(f"Signed in as {ADMIN} (teacher, hub admin)")
        _tab(admin, "Models")
        rollback = admin.locator(".studyrec-rollback")
        expect(rollback).to_be_visible()
        active = registry.active_versions(console.settings)["regression"]["version"]
        target = next(version for version in console.versions if version != active)
        admin.locator(".studyrec-models-version select").select_option(target)
        rollback.click()  # not confirmed: refused
        expect(admin.locator(".studyrec-rollback-refused")).to_contain_text("tick the confirmation")
        assert registry.active_versions(console.settings)["regression"]["version"] == active
        admin.locator(".studyrec-rollback-confirm input[type=checkbox]").check()
        rollback.click()
        expect(admin.locator(".studyrec-rollback-done")).to_contain_text(f"Version {target} is now active")
    finally:
        context.close()
    now = registry.active_versions(console.settings)
    assert {task: entry["version"] for task, entry in now.items()} == dict.fromkeys(registry.TASKS, target)
    assert f"rolled back by {ADMIN}" in now["regression"]["reason"]
