"""runs/index.html tells the story: outcomes, models, the active marker, figures in words, errors in full, a plot.

Runs are recorded through the real ``start_run``/``finish_run`` with summaries shaped as the jobs write them
(copied from a real ``studyrec pipeline`` and ``studyrec monitor --auto-retrain``), and versions through the
real registry; papermill is not needed to write a summary, so the tests stay fast.
"""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import sync_playwright

from studyrec_lib import registry
from studyrec_lib.core.config import PROJECT_ROOT, Settings, load_settings
from studyrec_lib.runs import folders as runs
from studyrec_lib.runs import index as run_index
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LONG_ERROR = "ValueError: " + "the column final_marks holds text where a number belongs; " * 8 + "<script>x</script>"


def _page(settings: Settings) -> str:
    path = run_index.write_index(settings)
    assert path == settings.runs_dir / "index.html"
    return path.read_text(encoding="utf-8")


def _row(page: str, run_id: str) -> str:
    rows = [row for row in re.findall(r"<tr class=.*?</tr>", page) if f"<code>{run_id}</code>" in row]
    assert len(rows) == 1, rows
    return rows[0]


def _label(row: str) -> str:
    return re.search(r"<span class='label'>(.*?)</span>", row).group(1)


def _without_plot(page: str) -> str:
    """The page's text without the PNG's base64 (which may spell anything)."""
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", page)


def _register(settings: Settings, rmse: float, f1: float) -> str:
    """A real registered version of both tasks; the artifact is a stand-in (the index reads only the registry)."""
    entries = {
        "regression": {"artifact": {"stand-in": "regression"}, "algorithm": "ridge", "training_rows": 2520,
                       "data_sha256": "0" * 64, "metrics": {"cv_rmse": rmse}, "quality_gate": {"passed": True}},
        "classification": {"artifact": {"stand-in": "classification"}, "algorithm": "grade_from_marks",
                           "training_rows": 2520, "data_sha256": "0" * 64, "metrics": {"cv_f1_weighted": f1},
                           "quality_gate": {"passed": True}},
    }
    return registry.register(entries, settings.runs_dir / "registered", None, settings)["regression"]


def _challenge(task: str) -> dict:
    return {"verdict": "no_fair_comparison", "activate": True, "champion": None,
            "reason": f"{task}: no fair comparison with the active version (no version is active yet); "
                      "the quality gate alone decides"}


def _training(version: str, rmse: float, f1: float, activated: bool = True, gate_passed: bool = True) -> dict:
    """A train or pipeline summary's training part, as ``runs.jobs._train_steps`` writes it."""
    gate = {"regression": {"metric": "cv_rmse", "model": rmse, "naive": 5.05, "passed": gate_passed,
                           "challenge": _challenge("regression")},
            "classification": {"metric": "cv_f1_weighted", "model": f1, "naive": 0.45, "passed": True,
                               "challenge": _challenge("classification")}}
    return {"versions": {"regression": version, "classification": version},
            "activated": {"regression": version, "classification": version} if activated else {},
            "kept_pinned": {}, "chosen": {"regression": "ridge", "classification": "grade_from_marks+temperature"},
            "quality_gate": gate, "challenge": {task: value["challenge"] for task, value in gate.items()},
            "cv_rmse": rmse, "interval_coverage": 0.9, "cv_f1_weighted": f1, "cv_accuracy": 0.517,
            "cv_brier_macro": 0.064, "at_risk_rows": 89, "training_rows": 2520, "fit_warnings": {}}


INGEST = {"ingest_status": "loaded", "ingest_warnings": ["3 rows rejected; see the rejected rows and their rules."],
          "dataset_id": 1, "rows_total": 2883, "rows_valid": 2880, "rows_loaded": 2880, "rows_rejected": 3,
          "message": "loaded 2880 of 2883 rows as dataset 1."}
FEEDBACK_TOO_FEW = {"status": "insufficient_samples", "samples": 10, "mae": 11.06, "grade_accuracy": 0.0,
                    "alerts": ["only 10 predictions have a known outcome (at least 30 needed): too few to judge "
                               "the model."]}
FEEDBACK_WARNING = {"status": "warning", "samples": 40, "mae": 9.1, "grade_accuracy": 0.6,
                    "alerts": ["MAE of final marks is 9.1, at or above the alert level 8."]}


def _drift(status: str, model_version: str) -> dict:
    alerted = status == "drift"
    return {"status": status, "score": 1.536 if alerted else 0.12, "samples": 288, "threshold": 0.35,
            "alerts": [], "model_version": model_version,
            "features": [{"feature": "attendance_percentage", "alert": alerted},
                         {"feature": "quiz_marks", "alert": False}]}


def _monitoring(drift: dict | None, feedback: dict, retrain: dict | None = None) -> dict:
    """A monitor or feedback summary as ``runs.jobs._monitor_step`` writes it (monitor.json plus the retrain)."""
    decision = {"retrain": retrain is not None, "reasons": ["..."]}
    if retrain is not None:
        decision["retrain_run"] = retrain
    return {"decision": decision, "feedback": feedback, **({"drift": drift} if drift else {})}


def _finish(settings: Settings, kind: str, summary: dict, status: str = "succeeded", error: str | None = None,
            parent: str | None = None) -> str:
    run = runs.start_run(kind, {"parent_run_id": parent} if parent else {}, settings, parent_run_id=parent)
    runs.finish_run(run, status, summary, error=error)
    return run.run_id


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, str], str]:
    """A pipeline, a monitor that found drift and retrained, a feedback warning, a failed train and a running ingest.

    Returns the settings, the run ids by name, and the page.
    """
    root = tmp_path_factory.mktemp("story")
    settings = load_settings(warehouse=root / "warehouse.duckdb", runs_dir=root / "runs")
    first = _register(settings, 4.02, 0.52)
    registry.activate(first, reason="trained", settings=settings)
    ids = {"pipeline": _finish(settings, "pipeline", {**INGEST, **_training(first, 4.02, 0.52)})}
    monitor = runs.start_run("monitor", {}, settings)
    second = _register(settings, 3.99, 0.53)
    registry.activate(second, reason="retrain", settings=settings)
    ids["retrain"] = _finish(settings, "train", _training(second, 3.99, 0.53), parent=monitor.run_id)
    retrain = {"run_id": ids["retrain"], "status": "succeeded", "error": None,
               "versions": {"regression": second, "classification": second},
               "activated": {"regression": second, "classification": second}}
    runs.finish_run(monitor, "succeeded", _monitoring(_drift("drift", first), FEEDBACK_TOO_FEW, retrain))
    ids["monitor"] = monitor.run_id
    ids["feedback"] = _finish(settings, "feedback", _monitoring(None, FEEDBACK_WARNING))
    ids["failed"] = _finish(settings, "train", {}, status="failed", error=LONG_ERROR)
    ids["running"] = runs.start_run("ingest", {}, settings).run_id
    return settings, ids, _page(settings)


def test_a_monitor_run_that_found_drift_and_retrained_says_so(story):
    _, ids, page = story
    monitor = _row(page, ids["monitor"])
    assert monitor.startswith("<tr class='retrained'>")
    assert _label(monitor) == "drift found, retrained"
    assert "succeeded" not in monitor
    assert "drift in attendance_percentage (score 1.54, threshold 0.35, 288 rows)" in monitor
    assert f"retrained in run {ids['retrain']}" in monitor
    assert f"<a href='#{ids['monitor']}'>its monitoring run</a>" in _row(page, ids["retrain"])
    feedback = _row(page, ids["feedback"])
    assert _label(feedback) == "warning" and "feedback: MAE of final marks is 9.1" in feedback


def test_no_nan_none_or_dict_reprs_anywhere(story):
    text = _without_plot(story[2])
    assert not re.search(r"\bnan\b", text, flags=re.IGNORECASE)
    assert not re.search(r"\bNone\b|\bNaT\b", text)
    assert "{'" not in text and "{&#x27;" not in text
    assert "<td class='error'></td>" in _row(story[2], story[1]["pipeline"])  # no error: an empty cell


def test_an_error_appears_in_full_escaped_and_wrapped(story):
    _, ids, page = story
    assert len(LONG_ERROR) > 300
    failed = _row(page, ids["failed"])
    assert failed.startswith("<tr class='failed'>") and _label(failed) == "failed"
    assert "<script>" not in page
    escaped = LONG_ERROR.replace("<", "&lt;").replace(">", "&gt;")
    assert f"<td class='error'>{escaped}</td>" in failed
    assert ".error{white-space:pre-wrap;overflow-wrap:anywhere;" in page


def test_model_names_versions_and_headline_figures_are_in_words(story):
    settings, ids, page = story
    pipeline = _row(page, ids["pipeline"])
    first = registry.list_versions(settings)["version"].min()
    assert f"final mark: ridge <code>{first}</code>" in pipeline
    assert f"grade: grade_from_marks+temperature <code>{first}</code>" in pipeline
    for figure in ("2,880 rows loaded, 3 rejected of 2,883", "typical error of the final mark 4.02 (CV RMSE)",
                   "grade agreement 0.52 (CV weighted F1)", "89 at-risk rows", "trained on 2,520 rows"):
        assert f"<li>{figure}</li>" in pipeline
    assert _label(pipeline) == "warning" and "3 rows rejected; see the rejected rows and their rules." in pipeline
    monitor = _row(page, ids["monitor"])
    assert f"monitored version <code>{first}</code>" in monitor
    assert "<li>drift score 1.54 (threshold 0.35)</li>" in monitor
    assert "<li>feedback on 10 predictions: MAE of the final mark 11.06, grade accuracy 0.00</li>" in monitor


def test_the_page_opens_with_a_plain_summary(story):
    settings, _, page = story
    overview = re.search(r"<p class='overview'>(.*?)</p>", page).group(1)
    second = registry.active_versions(settings)["regression"]["version"]
    assert overview.startswith("6 runs, 1 failed. Last ingest (")
    assert ": running. Last train (" in overview  # the failed train is the last train
    assert "UTC): failed. Last feedback (" in overview and "UTC): warning. Last monitor (" in overview
    assert "UTC): drift found, retrained. Last pipeline (" in overview
    assert f"Active now: the final mark model is ridge version {second}; the grade model is grade_from_marks " \
        f"version {second}." in overview


def test_runs_are_newest_first_with_links_to_their_reports(settings):
    ingest = runs.start_run("ingest", {}, settings)
    for name in ("01_ingest.html", "ingest_report.md", "at_risk.csv"):
        (ingest.folder / name).write_text("report")
    runs.finish_run(ingest, "succeeded", {**INGEST, "ingest_warnings": [], "rows_rejected": 0, "rows_total": 2880})
    training = runs.start_run("train", {}, settings)  # still running
    page = _page(settings)
    assert page.index(training.run_id) < page.index(ingest.run_id)
    done = _row(page, ingest.run_id)
    assert done.startswith("<tr class='ok'>") and _label(done) == "ok"
    for name in ("01_ingest.html", "ingest_report.md", "at_risk.csv"):
        assert f'<a href="{ingest.run_id}/{name}">{name}</a>' in done
    running = _row(page, training.run_id)
    assert running.startswith("<tr class='running'>") and _label(running) == "running"
    assert "<a href" not in running


def test_the_active_marker_sits_on_the_active_versions_run_and_moves(settings):
    first, second = _register(settings, 4.1, 0.5), _register(settings, 4.0, 0.51)
    old = _finish(settings, "train", _training(first, 4.1, 0.5))
    new = _finish(settings, "train", _training(second, 4.0, 0.51))
    registry.activate(first, reason="trained", settings=settings)
    page = _page(settings)
    assert _row(page, old).count("<span class='active'>active</span>") == 2
    assert "class='active'" not in _row(page, new)
    registry.activate(second, reason="trained", settings=settings)
    page = _page(settings)
    assert "class='active'" not in _row(page, old)
    assert _row(page, new).count("<span class='active'>active</span>") == 2
    registry.activate(first, "classification", reason="by hand", settings=settings, pinned=True)
    page = _page(settings)
    assert f"grade: grade_from_marks+temperature <code>{first}</code> <span class='active'>active, pinned</span>" \
        in _row(page, old)
    assert f"final mark: ridge <code>{second}</code> <span class='active'>active</span>" in _row(page, new)
    assert f"the grade model is grade_from_marks version {first} (pinned by a person)" in page


def _plot_png(page: str) -> bytes:
    found = re.findall(r"<img class='plot' alt='[^']+' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>", page)
    assert len(found) == 1
    return base64.b64decode(found[0])


def test_two_versions_are_plotted_and_one_is_not(settings):
    registry.activate(_register(settings, 4.1, 0.5), reason="trained", settings=settings)
    page = _page(settings)
    assert "<img" not in page
    assert "it needs at least two trained versions, and there is 1." in page
    _register(settings, 4.0, 0.51)
    assert _plot_png(_page(settings)).startswith(PNG_SIGNATURE)


def test_a_failed_gate_a_file_loaded_again_too_few_samples_and_a_refused_file_are_told(settings):
    version = _register(settings, 5.5, 0.52)
    gate_failed = _finish(settings, "train", _training(version, 5.5, 0.52, activated=False, gate_passed=False))
    again = _finish(settings, "ingest", {**INGEST, "ingest_status": "already_loaded", "ingest_warnings": [],
                                         "rows_rejected": 0, "message": "this file was loaded before as dataset 1"})
    thin = _finish(settings, "monitor", _monitoring({**_drift("ok", version), "status": "insufficient_samples",
                                                     "alerts": ["insufficient samples: 12 current rows"]},
                                                    FEEDBACK_TOO_FEW))
    drift_only = _finish(settings, "monitor", _monitoring(_drift("drift", version), FEEDBACK_TOO_FEW))
    refused = _finish(settings, "ingest", {"ingest_status": "refused"}, status="failed", error="the file is empty.")
    page = _page(settings)
    failed = _row(page, gate_failed)
    assert _label(failed) == "warning" and "<li>nothing activated</li>" in failed
    assert "the final mark model did not beat its naive baseline (CV RMSE 5.5, naive 5.05): never activated" in failed
    assert _label(_row(page, again)) == "ok" and "this file was loaded before as dataset 1" in _row(page, again)
    assert _label(_row(page, thin)) == "too few samples" and "insufficient samples: 12 current rows" in page
    drifted = _row(page, drift_only)
    assert _label(drifted) == "drift found" and "not retrained: run studyrec train" in drifted
    assert _label(_row(page, refused)) == "failed: file refused"


def test_an_empty_runs_table_still_writes_a_page(settings):
    page = _page(settings)
    assert "<h1>StudyRec runs</h1>" in page and "<tr class=" not in page
    assert "No run yet. No model is active yet." in page and "there are 0." in page


def test_the_page_fits_1280_pixels_in_chromium(story):
    """The reviewer's view: the table wraps into the window, no sideways scrolling; the screenshot is kept."""
    settings, _, _ = story
    artifacts = PROJECT_ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((settings.runs_dir / "index.html").as_uri())
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 1280
            assert page.evaluate("document.querySelector('img.plot').naturalWidth") > 0  # the data URI decodes
            page.screenshot(path=str(artifacts / "runs_index.png"), full_page=True)
        finally:
            browser.close()
    assert (artifacts / "runs_index.png").read_bytes().startswith(PNG_SIGNATURE)
