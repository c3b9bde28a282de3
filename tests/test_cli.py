"""The console script as a user runs it: a real subprocess, exit codes, JSON on the last line."""

import json
import os
import subprocess
import sys
from pathlib import Path

from studyrec_lib.demo import example as example_data
from tests.reports import assert_reviewer_html, visible_text

STUDYREC = [sys.executable, "-m", "studyrec_lib.cli"]


def _run(args, settings, **kwargs):
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir)}
    return subprocess.run([*STUDYREC, *args], capture_output=True, text=True, env=env, timeout=300, **kwargs)


def test_ingest_json_exit_codes_and_listings(settings, tmp_path):
    path = example_data.write(example_data.generate(students=3), tmp_path / "three.csv")
    first = _run(["ingest", str(path), "--json"], settings)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["rows_loaded"] == 72
    assert summary["rows_total"] == summary["rows_loaded"] + summary["rows_rejected"]
    assert Path(summary["report"]).is_file()
    for key in ("run_id", "dataset_id", "rows_total", "rows_rejected", "status", "report"):
        assert key in summary

    again = _run(["ingest", str(path), "--json"], settings)
    assert again.returncode == 0
    assert json.loads(again.stdout.splitlines()[-1])["ingest_status"] == "already_loaded"

    refused = tmp_path / "header-only.csv"
    refused.write_text("student_id,semester\n")
    bad = _run(["ingest", str(refused), "--json"], settings)
    assert bad.returncode == 1
    assert json.loads(bad.stdout.splitlines()[-1])["ingest_status"] == "refused"

    datasets = json.loads(_run(["datasets", "--json"], settings).stdout)
    assert [d["rows_loaded"] for d in datasets] == [72]
    listed = json.loads(_run(["runs", "--json"], settings).stdout)
    assert [r["status"] for r in listed] == ["succeeded", "succeeded", "failed"]


def test_flag_overrides_environment(settings, tmp_path):
    other = tmp_path / "other.duckdb"
    listed = _run(["datasets", "--json", "--warehouse", str(other)], settings)
    assert listed.returncode == 0
    assert other.exists()
    assert not settings.warehouse.exists()


def _active(settings) -> set[tuple[str, str]]:
    models = json.loads(_run(["models", "--json"], settings).stdout)
    return {(m["task"], m["version"]) for m in models if m["active"]}


def test_train_activates_and_a_version_activated_by_hand_is_pinned_until_replaced_by_hand(settings, tmp_path):
    path = example_data.write(example_data.generate(students=12, seed=8), tmp_path / "twelve.csv")
    assert _run(["ingest", str(path), "--json"], settings).returncode == 0
    trained = _run(["train", "--json", "--folds", "3"], settings)
    assert trained.returncode == 0, trained.stderr
    first = json.loads(trained.stdout.splitlines()[-1])
    assert first["activated"] == first["versions"] and first["kept_pinned"] == {}
    v0 = first["versions"]["regression"]

    pinned = _run(["activate", "--model-version", v0, "--task", "regression"], settings)  # by hand: pinned
    assert pinned.returncode == 0 and "pinned" in pinned.stdout
    again = _run(["train", "--folds", "3"], settings)
    assert again.returncode == 0, again.stderr
    assert f"regression: pinned version {v0} kept" in again.stdout
    v1 = max(version for _, version in _active(settings) | {("", v0)})
    assert v1 > v0
    assert _active(settings) == {("regression", v0), ("classification", v1)}  # only the unpinned task moved
    report = Path(again.stdout.strip().splitlines()[-1].removeprefix("report: "))
    for html in (report.read_text(), (report.parent / "02_train.html").read_text()):  # the second training's
        assert_reviewer_html(html)
        text = visible_text(html)
        assert f"measure this training active version {v0} difference naive baseline difference" in text
        assert f"Final marks (version {v1}): held back: a person pinned version {v0}" in text
        assert f"Final grade (version {v1}): will be activated when this run succeeds" in text
        changed = text.split(f"What changed since active version {v0}.", 1)[1]
        assert changed.startswith(" Data: 288 → 288 rows; the same datasets. Final marks model: ")
        assert "typical error of the final mark (CV RMSE): " in changed
        assert "grade agreement (CV weighted F1): " in changed

    by_hand = _run(["activate", "--model-version", v1, "--task", "regression", "--json"], settings)
    assert by_hand.returncode == 0
    assert _active(settings) == {("regression", v1), ("classification", v1)}
    unpinned = _run(["unpin", "--json"], settings)
    assert json.loads(unpinned.stdout) == {"unpinned": {"regression": v1}}

    unknown = _run(["activate", "--model-version", "19990101000000", "--task", "both"], settings)
    assert unknown.returncode == 2
    assert "nothing was activated" in unknown.stderr
    assert _active(settings) == {("regression", v1), ("classification", v1)}


def test_pipeline_prints_the_versions_it_activated_and_where_the_report_is(settings, tmp_path):
    """What `make run` shows a newcomer: the run, each version and whether it is active, the report's path."""
    path = example_data.write(example_data.generate(students=12, seed=9), tmp_path / "cohort.csv")
    done = _run(["pipeline", str(path), "--folds", "3"], settings)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("run ") and lines[0].endswith(": succeeded")
    models = json.loads(_run(["models", "--json"], settings).stdout)
    assert sorted(model["task"] for model in models) == ["classification", "regression"]
    for model in models:
        assert model["active"]
        assert f"{model['task']}: version {model['version']} ({model['algorithm']}) activated" in lines
    report = Path(lines[-1].removeprefix("report: "))
    assert lines[-1].startswith("report: ") and report.is_file()
    assert report.name == "03_evaluate.html" and report.parent.parent == settings.runs_dir
    assert "At-risk students" in report.read_text()
