"""Monitoring jobs end to end: real warehouse, real papermill runs of 04_monitor, real retraining runs.

04_monitor judges and decides; the job (runs.jobs.run_monitor) starts the retrain it decided on. Each run's
report is read as a person reads it: each plot once, no dict or bare None, the summary cell tagged ``summary``.
"""

import html
import json
import os
import re
import struct
import subprocess
from pathlib import Path

import nbformat
from playwright.sync_api import expect, sync_playwright

from studyrec_lib import registry
from studyrec_lib.core.config import PROJECT_ROOT, load_settings
from studyrec_lib.demo import example as example_data
from studyrec_lib.demo.shifted import shift_frame
from studyrec_lib.monitoring.history import history
from studyrec_lib.monitoring.recent import active_baseline
from studyrec_lib.runs.jobs import run_monitor
from tests.monitoring.trained_warehouse import runs_table as _runs
from tests.monitoring.trained_warehouse import upload as _upload
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

MONITOR = {"lookback_days": 30, "min_samples": 50, "drift_threshold": 0.35, "auto_retrain": True}
SUMMARY_HEADING = "Summary of this monitoring run"
SCREENSHOT = PROJECT_ROOT / "test-artifacts" / "monitor_report.png"


def _shown(output: nbformat.NotebookNode) -> str:
    """What an output shows in the report: its Markdown or HTML, else its text (a figure's is its image)."""
    data = output.get("data", {})
    if any(mime.startswith("image/") for mime in data):
        return ""
    return data.get("text/markdown") or data.get("text/html") or data.get("text/plain", "")


def read_report(folder: Path, images: int) -> str:
    """Check the run's HTML report and executed notebook as a person reads them; the summary cell's Markdown.

    ``images``: how many plots the report must show, each once (a figure the inline backend also showed
    came twice).
    """
    page = html.unescape((folder / "04_monitor.html").read_text(encoding="utf-8"))
    assert page.count("<img") == images
    assert "{'" not in page  # no dict printed as it is
    assert page.count(SUMMARY_HEADING) == 1
    notebook = nbformat.read(folder / "04_monitor.ipynb", as_version=4)
    shown = [_shown(output) for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
             if output.output_type in ("execute_result", "display_data")]
    assert [text for text in shown if re.search(r"\bNone\b|\bNaN\b|\bnan\b", text)] == []
    summary = [cell for cell in notebook.cells if "summary" in cell.metadata.get("tags", [])]
    assert len(summary) == 1 and len(summary[0].outputs) == 1  # the export moves this cell to the top
    text = summary[0].outputs[0]["data"]["text/markdown"]
    assert text.startswith(f"## {SUMMARY_HEADING}")
    for point in ("What was checked", "What was found", "What was decided", "What changed"):
        assert f"- **{point}**: " in text
    return text


def screenshot(report: Path, path: Path) -> tuple[int, int]:
    """The report in Debian's Chromium: every plot decoded, the summary shown; saved whole as a PNG (width, height)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(report.as_uri())
            expect(page.get_by_role("heading", name=SUMMARY_HEADING)).to_be_visible()
            widths = page.locator("img").evaluate_all("images => images.map(image => image.naturalWidth)")
            assert len(widths) == 2 and min(widths) > 0
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            page.screenshot(path=str(path), full_page=True)
        finally:
            browser.close()
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_unshifted_data_raises_no_alert_and_retrains_nothing(monitored, tmp_path):
    settings, versions = monitored
    _upload(settings, example_data.generate(students=10, seed=21, open_semesters=1), tmp_path / "new.csv")
    summary = run_monitor(settings, progress=False, **MONITOR)
    assert summary["status"] == "succeeded", summary["error"]
    assert summary["drift"]["status"] == "ok" and summary["drift"]["alerts"] == []
    assert summary["drift"]["samples"] == 240 and summary["drift"]["rows_by_origin"] == {"upload": 240}
    assert summary["decision"]["retrain"] is False
    assert set(_runs(settings)["kind"]) == {"monitor"}  # no training run started
    assert {t: r["version"] for t, r in registry.active_versions(settings).items()} == versions
    folder = settings.runs_dir / summary["run_id"]
    assert (folder / "04_monitor.html").is_file() and (folder / "monitor.json").is_file()
    assert json.loads((folder / "monitor.json").read_text())["drift"]["model_version"] == versions["regression"]
    summary_text = read_report(folder, images=2)  # the distributions and the trend
    assert "- **What was checked**: drift: 240 rows of the last 30 days (240 uploaded, none from prediction " \
           f"requests) against the active model {versions['regression']}" in summary_text
    assert "- **What was decided**: no retrain: no feature drifted beyond the threshold." in summary_text
    assert "- **What changed**: nothing to compare with: this is the first monitoring run." in summary_text


def test_too_few_rows_are_insufficient_samples_and_nothing_is_retrained(monitored, tmp_path):
    settings, versions = monitored
    small = example_data.generate(students=2, seed=22)  # 48 rows, shifted hard
    _upload(settings, shift_frame(small, {"attendance_percentage": -2.0}), tmp_path / "small.csv")
    summary = run_monitor(settings, progress=False, **MONITOR)
    assert summary["drift"]["status"] == "insufficient_samples" and summary["drift"]["samples"] == 48
    assert "insufficient samples" in summary["decision"]["reasons"][0]
    assert summary["decision"]["retrain"] is False
    summary_text = read_report(settings.runs_dir / summary["run_id"], images=1)  # no distributions: the trend only
    assert "Too few rows to judge drift (48, at least 50 needed)" in summary_text
    assert set(_runs(settings)["kind"]) == {"monitor"}
    assert {t: r["version"] for t, r in registry.active_versions(settings).items()} == versions


def _project_runs() -> set[str]:
    folder = PROJECT_ROOT / "runs"
    return {path.name for path in folder.iterdir()} if folder.is_dir() else set()


def test_shifted_data_with_auto_retrain_trains_links_and_activates_past_the_gate(monitored, tmp_path, monkeypatch):
    settings, old_versions = monitored
    decoy = tmp_path / "environment-runs"  # the configured folder wins over the environment, as in the CLI
    monkeypatch.setenv("STUDYREC_RUNS", str(decoy))
    project_runs = _project_runs()
    shifted = shift_frame(example_data.generate(students=12, seed=23), {"attendance_percentage": -1.5},
                          new_subject="Robotics", new_subject_share=0.2, seed=23)
    _upload(settings, shifted, tmp_path / "shifted.csv")
    pinned = registry.activate(old_versions["classification"], "classification", reason="by hand", settings=settings,
                               pinned=True)
    summary = run_monitor(settings, progress=False, **MONITOR)
    assert summary["status"] == "succeeded", summary["error"]
    drift = summary["drift"]
    assert drift["status"] == "drift" and drift["score"] >= 0.35
    alerted = {row["feature"] for row in drift["features"] if row["alert"]}
    assert "attendance_percentage" in alerted and "subject" in alerted
    retrain = summary["decision"]["retrain_run"]
    assert retrain["status"] == "succeeded", retrain["error"]
    # The retrain's run folder lands in the configured runs folder, and nowhere else.
    assert Path(retrain["folder"]).parent == settings.runs_dir
    assert (settings.runs_dir / retrain["run_id"] / "02_train.html").is_file()
    assert _project_runs() == project_runs and not decoy.exists()
    monitor_json = json.loads((settings.runs_dir / summary["run_id"] / "monitor.json").read_text())
    assert monitor_json["decision"]["retrain_run"]["run_id"] == retrain["run_id"]
    report = settings.runs_dir / summary["run_id"] / "04_monitor.html"
    summary_text = read_report(report.parent, images=2)
    assert summary_text.splitlines()[2].endswith(": a retrain will be started.**")
    assert f"Drift score (largest standardised shift) {drift['score']:.2f} training SDs, threshold 0.35" in summary_text
    assert "- **What was decided**: retrain: the monitoring job starts a training run after this report" in summary_text
    width, height = screenshot(report, SCREENSHOT)
    assert width == 1280 and height > 2000  # the whole report, not one screen
    runs = _runs(settings).set_index("run_id")
    assert runs.loc[retrain["run_id"], "kind"] == "train"
    assert runs.loc[retrain["run_id"], "parent_run_id"] == summary["run_id"]  # linked to the monitor run
    new_versions = retrain["versions"]
    assert new_versions != old_versions
    gate_passed = {task for task, gate in retrain["quality_gate"].items() if gate["passed"]}
    assert gate_passed == {"regression", "classification"}
    assert retrain["challenge"]["regression"]["verdict"] != "challenger_worse"
    assert 0 < retrain["challenge"]["regression"]["rows"] <= len(shifted)  # rows of the upload new to the champion
    # The version a person activated by hand is kept; the other task's new version goes live.
    assert set(retrain["activated"]) == {"regression"} and retrain["kept_pinned"] == pinned
    assert f"classification: pinned version {old_versions['classification']} kept" in summary["decision"]["reasons"][-1]
    assert registry.active_versions(settings)["classification"]["version"] == old_versions["classification"]
    activations = registry.activation_history(settings)
    latest = activations.sort_values("activation_id").groupby("task").tail(1).set_index("task")
    assert (latest.loc["regression", "reason"], latest.loc["regression", "run_id"]) == ("retrain", retrain["run_id"])
    baseline_version, baseline, trained_on = active_baseline(settings)
    assert baseline_version == new_versions["regression"] and "Robotics" in baseline["categorical"]["subject"]["shares"]
    assert len(trained_on) == 2  # the old upload and the shifted one
    trend = history(settings)
    assert trend["run_id"].iloc[-1] == summary["run_id"] and trend["drift_status"].iloc[-1] == "drift"

    # The next run does not see the same drift again: the new model learned from that upload.
    again = run_monitor(settings, progress=False, **MONITOR)
    assert again["drift"]["status"] == "insufficient_samples" and again["drift"]["samples"] == 0
    assert f"drift score {drift['score']:.2f} (drift) → 0.00 (too few to judge)" in read_report(
        settings.runs_dir / again["run_id"], images=1)
    assert again["decision"]["retrain"] is False
    assert (_runs(settings)["kind"] == "train").sum() == 1


def test_monitor_without_an_active_model_fails_with_what_to_do(tmp_path):
    settings = load_settings(warehouse=tmp_path / "w.duckdb", runs_dir=tmp_path / "runs")
    summary = run_monitor(settings, progress=False, **MONITOR)
    assert summary["status"] == "failed"
    assert "no active model" in summary["error"] and "make run" in summary["error"]


def test_cron_example_runs_the_feedback_job(monitored):
    settings, _ = monitored
    script = PROJECT_ROOT / "scripts" / "cron_monitor.sh"
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir)}
    completed = subprocess.run(["sh", str(script), "feedback"], capture_output=True, text=True, env=env, timeout=300)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.strip().splitlines()
    assert lines[0].startswith("== ") and lines[-1] == "== exit 0"
    summary = json.loads(lines[-2])
    assert summary["status"] == "succeeded" and summary["drift"] is None
    assert summary["feedback"]["status"] == "insufficient_samples" and summary["feedback"]["samples"] == 0
    runs = _runs(settings)
    assert runs["kind"].tolist() == ["feedback"] and runs["status"].tolist() == ["succeeded"]
    summary_text = read_report(Path(summary["report"]).parent, images=1)  # no drift parts: the trend only
    assert "drift" not in summary_text.split("What was decided")[0].lower()
    assert "no retrain: only drift starts a retrain, and this run checked the predictions only." in summary_text
