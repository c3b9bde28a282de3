"""Real papermill runs of the notebooks, and the reports a reviewer reads."""

import http.server
import json
import threading

import nbformat
import pandas as pd
import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import PROJECT_ROOT, Settings, load_settings
from studyrec_lib.core.notebook_config import settings_parameters
from studyrec_lib.demo import example as example_data
from studyrec_lib.runs.jobs import run_ingest
from tests.reports import assert_reviewer_html, visible_text

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
AT_RISK_KEY_HEADERS = ("Student", "Subject", "Predicted grade", "Chance of D or F (%)", "Predicted final marks",
                       "Predicted total", "Weak signals")


def test_ingest_run_executes_the_notebook_into_a_run_folder(settings, tmp_path):
    path = example_data.write(example_data.generate(students=10, seed=2), tmp_path / "cohort.csv")
    summary = run_ingest(path, name="cohort", settings=settings, progress=False)
    assert summary["status"] == "succeeded"
    assert summary["rows_loaded"] == 240
    assert summary["rows_rejected"] == 0
    folder = settings.runs_dir / summary["run_id"]
    for name in ("params.json", "summary.json", "provenance.json", "packages.json", "01_ingest.ipynb",
                 "01_ingest.html", "ingest.json"):
        assert (folder / name).is_file(), name
    assert summary["report"] == str(folder / "01_ingest.html")
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["inputs"]["sha256"] == summary["sha256"]
    executed = nbformat.read(folder / "01_ingest.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    # The notebook got the job's whole configuration, not only the warehouse.
    assert settings_parameters(settings).items() <= executed.metadata["papermill"]["parameters"].items()
    html = (folder / "01_ingest.html").read_text()
    assert "rows loaded" in html and "240" in html
    assert "data:image/png" in html  # the distribution plots
    with warehouse.connect(settings, read_only=True) as con:
        dataset = con.execute("SELECT name, run_id, rows_loaded FROM datasets").fetchall()
        run_status = con.execute("SELECT status FROM runs WHERE run_id = ?", [summary["run_id"]]).fetchone()
    assert dataset == [("cohort", summary["run_id"], 240)]
    assert run_status == ("succeeded",)


def test_refused_file_fails_the_run_and_leaves_the_warehouse_unchanged(settings, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    summary = run_ingest(empty, settings=settings, progress=False)
    assert summary["status"] == "failed"
    assert summary["ingest_status"] == "refused"
    assert "empty" in summary["error"]
    folder = settings.runs_dir / summary["run_id"]
    assert (folder / "01_ingest.html").is_file()
    assert "warehouse is unchanged" in (folder / "01_ingest.html").read_text()
    with warehouse.connect(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM datasets").fetchone()[0] == 0
        assert con.execute("SELECT status, error FROM runs").fetchone()[0] == "failed"


def test_notebook_runs_as_is_with_its_default_parameters(settings, tmp_path, monkeypatch):
    """What an analyst gets by opening 01_ingest.ipynb in JupyterLab and running all cells."""
    import papermill

    from studyrec_lib.core.config import EXAMPLE_DATASET, NOTEBOOKS_DIR

    monkeypatch.setenv("STUDYREC_WAREHOUSE", str(settings.warehouse))
    papermill.execute_notebook(str(NOTEBOOKS_DIR / "01_ingest.ipynb"), str(tmp_path / "out.ipynb"),
                               progress_bar=False, cwd=str(NOTEBOOKS_DIR))
    assert EXAMPLE_DATASET.is_file()
    with warehouse.connect(settings, read_only=True) as con:
        rows = con.execute("SELECT rows_loaded, source_file FROM datasets").fetchall()
    assert rows == [(len(pd.read_csv(EXAMPLE_DATASET)), EXAMPLE_DATASET.name)]


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict]:
    """One real pipeline (01-03 through papermill and nbconvert), whose warehouse and reports several tests read."""
    from studyrec_lib.runs.jobs import run_pipeline

    root = tmp_path_factory.mktemp("pipeline")
    settings = load_settings(warehouse=root / "warehouse.duckdb", runs_dir=root / "runs")
    path = example_data.write(example_data.generate(students=15, seed=4, open_semesters=1), root / "c.csv")
    return settings, run_pipeline(path, settings=settings, progress=False)


def test_pipeline_ingests_trains_evaluates_and_activates(pipeline_run, tmp_path):
    from studyrec_lib import registry
    from studyrec_lib.runs.jobs import run_pipeline

    settings, summary = pipeline_run
    assert summary["status"] == "succeeded", summary["error"]
    folder = settings.runs_dir / summary["run_id"]
    for name in ("01_ingest.html", "02_train.html", "03_evaluate.html", "train.json", "model_card.md",
                 "at_risk.csv", "at_risk.xlsx"):
        assert (folder / name).is_file(), name
    assert summary["report"] == str(folder / "03_evaluate.html")
    assert summary["activated"] == summary["versions"]
    assert {challenge["verdict"] for challenge in summary["challenge"].values()} == {"no_fair_comparison"}
    active = registry.active_versions(settings)
    assert {task: row["version"] for task, row in active.items()} == summary["versions"]
    history = registry.activation_history(settings)
    assert set(history["reason"]) == {"trained"}
    assert set(history["run_id"]) == {summary["run_id"]}
    at_risk = pd.read_csv(folder / "at_risk.csv")
    assert len(at_risk) > 0  # 45 open rows of the last semester; some are weak
    assert set(at_risk["predicted_grade"]) <= {"D", "F", "C", "C+", "B", "B+", "A-", "A", "A+"}
    assert summary["at_risk_rows"] == len(at_risk)
    registered = registry.list_versions(settings).set_index("task")
    assert summary["cv_rmse"] == pytest.approx(registered.loc["regression", "cv_rmse"])
    assert 0.8 <= summary["interval_coverage"] <= 1
    grade_metrics = registry.version_metrics(summary["versions"]["classification"], settings)["classification"]
    assert summary["cv_brier_macro"] == grade_metrics["cv_brier_macro"] < grade_metrics["naive_cv_brier_macro"]
    assert summary["cv_accuracy"] == grade_metrics["cv_accuracy"] > 1 / 9
    index = (settings.runs_dir / "index.html").read_text()
    assert summary["run_id"] in index and "03_evaluate.html" in index and "at_risk.xlsx" in index
    assert f"grade agreement {summary['cv_f1_weighted']:.2f} (CV weighted F1)" in index

    # A later run that fails changes nothing that is active.
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    failed = run_pipeline(empty, settings=settings, progress=False)
    assert failed["status"] == "failed"
    assert {t: r["version"] for t, r in registry.active_versions(settings).items()} == summary["versions"]


def test_every_report_opens_with_its_summary_and_shows_no_code_logs_or_parameters(pipeline_run):
    settings, summary = pipeline_run
    folder = settings.runs_dir / summary["run_id"]
    for name in ("01_ingest", "02_train", "03_evaluate"):
        assert_reviewer_html((folder / f"{name}.html").read_text())
    executed = nbformat.read(folder / "01_ingest.ipynb", as_version=4)  # the analysts' copy keeps code and logs
    assert any(output.get("name") == "stderr" for cell in executed.cells for output in cell.get("outputs", []))
    assert any("ingest.ingest_file(" in cell.source for cell in executed.cells)
    ingest = visible_text((folder / "01_ingest.html").read_text())
    assert "Summary c.csv was loaded as dataset 1 (\"c\"): 360 rows read, 360 loaded, 0 rejected; 15 students, " \
           "semesters 1 to 8; 45 open rows (no final marks yet)." in ingest
    assert "This is the warehouse's first upload." in ingest
    version = summary["versions"]["regression"]
    for name in ("02_train", "03_evaluate"):
        text = visible_text((folder / f"{name}.html").read_text())
        assert "Summary Data. 315 finished rows (the latest per student, semester and subject) of 15 students, " \
               "semesters 1 to 7, from dataset 1 c.csv." in text
        assert "No version was active when this training ran" in text
        assert f"Final marks (version {version}): will be activated when this run succeeds" in text
        parameters = text.split("Parameters of this run", 1)[1]  # what the notebook got, at the end
        assert f'run_id "{summary["run_id"]}"' in parameters and "Summary" not in parameters


def _search_filters_rows(page, flagged: pd.DataFrame) -> None:
    rows = page.locator(".studyrec-at-risk tbody tr")
    student = flagged["student_id"].iloc[0]
    page.locator(".studyrec-at-risk input[type=search]").fill(student, timeout=10_000)
    shown = [row for row in rows.all() if row.is_visible()]
    assert len(shown) == (flagged["student_id"] == student).sum() < len(flagged)
    assert page.locator(".studyrec-at-risk-shown").inner_text() == f"{len(shown)} of {len(flagged)} rows match."


def test_the_evaluate_report_lists_every_at_risk_row_and_fits_a_1280_px_screen(pipeline_run):
    from playwright.sync_api import sync_playwright

    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

    settings, summary = pipeline_run
    report = settings.runs_dir / summary["run_id"] / "03_evaluate.html"
    flagged = pd.read_csv(report.parent / "at_risk.csv")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(report.as_uri(), wait_until="domcontentloaded")
            rows = page.locator(".studyrec-at-risk tbody tr")
            assert rows.count() == len(flagged) > 10  # every row, not 5 + 5
            page.locator(".studyrec-at-risk").scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "evaluate_report.png"))
            visible = page.locator(".studyrec-at-risk-box").bounding_box()  # what its sideways scroll shows
            assert visible["x"] >= 0 and visible["x"] + visible["width"] <= 1280
            for header in AT_RISK_KEY_HEADERS:
                box = page.locator(".studyrec-at-risk th", has_text=header).bounding_box()
                assert visible["x"] <= box["x"] and box["x"] + box["width"] <= visible["x"] + visible["width"], header
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # no sideways page scroll
            _search_filters_rows(page, flagged)
        finally:
            browser.close()


def test_behind_the_reports_service_policy_the_search_runs_and_no_other_script_does(pipeline_run, tmp_path):
    """The report served with the reports service's headers (the hub test checks the service sends them)."""
    from playwright.sync_api import sync_playwright

    from studyrec_lib.web.reports_service import HEADERS
    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

    settings, summary = pipeline_run
    report = settings.runs_dir / summary["run_id"] / "03_evaluate.html"
    flagged = pd.read_csv(report.parent / "at_risk.csv")
    foreign = report.read_text().replace("</body>", "<script>document.title = 'foreign script ran';</script>"
                                         "<img src=x onerror=\"document.title = 'handler ran'\"></body>")
    (tmp_path / "foreign.html").write_text(foreign)
    (tmp_path / "03_evaluate.html").write_bytes(report.read_bytes())

    class ReportsHeaders(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def end_headers(self):
            for name, value in HEADERS.items():
                self.send_header(name, value)
            super().end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ReportsHeaders)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                blocked = []
                page.on("console", lambda message: blocked.append(message.text)
                        if "Content Security Policy" in message.text else None)
                page.goto(f"{base}/03_evaluate.html", wait_until="load")
                _search_filters_rows(page, flagged)
                assert page.evaluate("window.origin") == "null"  # sandboxed: not the service's origin
                page.goto(f"{base}/foreign.html", wait_until="load")
                assert page.title() not in ("foreign script ran", "handler ran")
                assert blocked  # the browser refused them, by the policy
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()


def test_a_failing_training_step_fails_the_run_and_activates_nothing(settings, tmp_path):
    from studyrec_lib import registry
    from studyrec_lib.runs.jobs import run_pipeline

    path = example_data.write(example_data.generate(students=4, seed=4), tmp_path / "small.csv")  # 96 rows
    summary = run_pipeline(path, settings=settings, progress=False)
    assert summary["status"] == "failed"
    assert "TrainingRefused" in summary["error"] and "200" in summary["error"]
    assert [step["status"] for step in summary["steps"]] == ["succeeded", "failed"]
    report = visible_text((settings.runs_dir / summary["run_id"] / "02_train.html").read_text())
    assert report.index("This step failed: TrainingRefused only 96 training rows") < report.index("Registered")
    assert registry.active_versions(settings) == {}
    assert registry.list_versions(settings).empty


def test_a_failing_evaluation_after_training_fails_the_run_and_activates_nothing(settings, tmp_path, monkeypatch):
    """02_train has registered both versions when 03_evaluate fails: they stay registered and inactive."""
    from pathlib import Path

    from studyrec_lib import registry
    from studyrec_lib.runs import jobs as pipeline

    real_execute = pipeline.execute_notebook

    def execute_then_change_the_training_state(run, notebook, parameters, progress):
        done = real_execute(run, notebook, parameters, progress=progress)
        if notebook == pipeline.TRAIN_NOTEBOOK:  # what 03_evaluate loads no longer matches its sha256
            state = Path(json.loads((run.folder / "train.json").read_text())["training_state"])
            state.write_bytes(state.read_bytes() + b"\0")
        return done

    monkeypatch.setattr(pipeline, "execute_notebook", execute_then_change_the_training_state)
    path = example_data.write(example_data.generate(students=12, seed=4), tmp_path / "cohort.csv")
    summary = pipeline.run_pipeline(path, settings=settings, progress=False, n_folds=3)
    assert summary["status"] == "failed"
    assert "does not match the registered" in summary["error"]
    assert [step["status"] for step in summary["steps"]] == ["succeeded", "succeeded", "failed"]
    assert len(registry.list_versions(settings)) == 2
    assert registry.active_versions(settings) == {}
    assert registry.activation_history(settings).empty


def test_an_unexpected_error_after_evaluation_fails_the_run_activates_nothing_and_is_raised(
        settings, tmp_path, monkeypatch):
    """Not a notebook's failure: the at-risk table cannot be read. Activation comes after, so it never happens."""
    from studyrec_lib import registry
    from studyrec_lib.runs import jobs as pipeline

    def unreadable(table):
        raise PermissionError(f"cannot read {table.name}")

    monkeypatch.setattr(pipeline, "_rows_in", unreadable)
    path = example_data.write(example_data.generate(students=12, seed=4), tmp_path / "cohort.csv")
    with pytest.raises(PermissionError, match=r"cannot read at_risk\.csv"):
        pipeline.run_pipeline(path, settings=settings, progress=False, n_folds=3)
    (folder,) = [f for f in settings.runs_dir.iterdir() if f.is_dir()]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert summary["error"] == "PermissionError: cannot read at_risk.csv"
    with warehouse.connect(settings, read_only=True) as con:
        assert con.execute("SELECT status FROM runs").fetchall() == [("failed",)]
    assert "failed" in (settings.runs_dir / "index.html").read_text()
    assert len(registry.list_versions(settings)) == 2
    assert registry.active_versions(settings) == {}


@pytest.mark.parametrize(("regression", "classification", "activated"), [
    (True, True, "both"), (True, False, "regression"), (False, True, "classification"), (False, False, None),
])
def test_only_the_tasks_that_beat_their_naive_baseline_are_activated(regression, classification, activated):
    from studyrec_lib.runs.jobs import activation_target

    gate = {"regression": {"passed": regression}, "classification": {"passed": classification}}
    assert activation_target(gate) == activated


@pytest.mark.parametrize(("regression", "classification", "activated"), [
    (True, True, "both"), (False, True, "classification"), (None, False, "regression"),
])
def test_a_task_whose_new_version_is_worse_than_the_active_one_is_not_activated(regression, classification,
                                                                                activated):
    from studyrec_lib.runs.jobs import activation_target

    gate = {"regression": {"passed": True}, "classification": {"passed": True}}
    for task, may in (("regression", regression), ("classification", classification)):
        if may is not None:
            gate[task]["challenge"] = {"activate": may}
    assert activation_target(gate) == activated


def test_a_training_worse_than_the_active_version_on_new_rows_is_registered_not_activated(settings, tmp_path,
                                                                                         capsys):
    from studyrec_lib import cli, registry
    from studyrec_lib.ingest import ingest_file
    from studyrec_lib.modeling.training import train
    from studyrec_lib.modeling.training_data import load_training_examples
    from studyrec_lib.runs.jobs import run_train
    from tests.champions import activate_champion

    for number in (1, 2):
        cohort = example_data.generate(students=10, seed=number)
        cohort["student_id"] = f"U{number}-" + cohort["student_id"]
        ingest_file(example_data.write(cohort, tmp_path / f"upload{number}.csv"), settings=settings, progress=None)
    data = load_training_examples(settings)
    champion = activate_champion(settings, train(data.frame, n_folds=3), data, tmp_path / "champion",
                                 memorising=True, dataset_ids=[1])
    summary = run_train(settings, n_folds=3, progress=False)
    assert summary["status"] == "succeeded", summary["error"]
    assert summary["activated"] == {}
    assert {task: row["version"] for task, row in registry.active_versions(settings).items()} == {
        "regression": champion, "classification": champion}
    for task in ("regression", "classification"):
        challenge = summary["challenge"][task]
        assert (challenge["verdict"], challenge["champion"], challenge["rows"]) == ("challenger_worse", champion, 240)
    versions = registry.list_versions(settings).set_index("version").loc[summary["versions"]["regression"]]
    assert versions["challenge"].tolist() == ["challenger_worse"] * 2
    assert versions["champion"].tolist() == [champion] * 2
    cli._report_run(summary, as_json=False, keys=cli.TRAIN_KEYS)
    printed = capsys.readouterr().out
    assert printed.count("registered, NOT activated") == 2
    assert printed.count("worse than the active one beyond sampling noise, so it is not activated") == 2
    html = (settings.runs_dir / summary["run_id"] / "02_train.html").read_text()
    assert_reviewer_html(html)
    text = visible_text(html)
    for task in ("Final marks", "Final grade"):
        assert (f"{task} (version {summary['versions']['regression']}): held back: the new version is worse than the "
                "active one beyond sampling noise, so it is not activated") in text
    assert f"What changed since active version {champion}. Data: 480 → 480 rows; added dataset 2 upload2.csv." in text


@pytest.mark.parametrize(("pinned", "activated"), [
    ({"regression": "v1"}, "classification"), ({"classification": "v1"}, "regression"),
    ({"regression": "v1", "classification": "v1"}, None),
])
def test_a_pinned_task_is_never_activated_by_a_training(pinned, activated):
    from studyrec_lib.runs.jobs import activation_target

    gate = {"regression": {"passed": True}, "classification": {"passed": True}}
    assert activation_target(gate, pinned) == activated
