import json
import signal
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from papermill.exceptions import PapermillExecutionError

from studyrec_lib.core import warehouse
from studyrec_lib.runs import folders as runs
from studyrec_lib.runs.index import write_index
from tests.reports import CODE_MARKERS


def test_run_ids_sort_by_start_time_and_are_unique():
    ids = [runs.new_run_id("ingest") for _ in range(200)]
    assert len(set(ids)) == 200
    assert ids == sorted(ids)


def test_a_run_folder_has_params_and_provenance_and_is_recorded(settings):
    run = runs.start_run("ingest", {"input_path": "x.csv"}, settings, inputs={"sha256": "abc"})
    assert json.loads((run.folder / "params.json").read_text()) == {"input_path": "x.csv"}
    provenance = json.loads((run.folder / "provenance.json").read_text())
    assert provenance["inputs"] == {"sha256": "abc"}
    assert len(provenance["git"]["commit"] or "0" * 40) == 40
    assert "pandas" in json.loads((run.folder / "packages.json").read_text())
    summary = runs.finish_run(run, "succeeded", {"rows_loaded": 3})
    assert json.loads((run.folder / "summary.json").read_text())["rows_loaded"] == 3
    assert summary["status"] == "succeeded"
    frame = runs.list_runs(settings)
    assert frame.loc[0, "run_id"] == run.run_id
    assert frame.loc[0, "status"] == "succeeded"
    assert frame.loc[0, "finished_at"] is not None


def test_a_failing_notebook_keeps_its_folder_output_and_error(settings, tmp_path):
    failing = new_notebook(cells=[new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                                  new_code_cell("raise ValueError('the data is wrong')")])
    failing.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "failing.ipynb"
    nbformat.write(failing, source)
    run = runs.start_run("test", {}, settings)
    with pytest.raises(PapermillExecutionError):
        runs.execute_notebook(run, source, {"x": 2}, progress=False)
    step = run.steps[-1]
    assert step["status"] == "failed"
    assert "the data is wrong" in step["error"]
    assert (run.folder / "failing.ipynb").exists()
    html = (run.folder / "failing.html").read_text()  # no code: the reviewer reads the error's name and message
    assert html.count("This step failed: ValueError") == 2  # at the top, and where it happened
    assert "the data is wrong" in html and "The full traceback is in failing.ipynb in the run folder." in html
    for absent in (*CODE_MARKERS, "Traceback", "An Exception was encountered", "raise ValueError"):
        assert absent not in html, absent
    runs.finish_run(run, "failed", {}, error=step["error"])
    with warehouse.connect(settings, read_only=True) as con:
        status, error = con.execute("SELECT status, error FROM runs WHERE run_id = ?", [run.run_id]).fetchone()
    assert status == "failed"
    assert "the data is wrong" in error


START_A_RUN_AND_WAIT = """
import sys, time
from studyrec_lib.runs import folders as runs
from studyrec_lib.core.config import load_settings
run = runs.start_run("train", {}, load_settings(warehouse=sys.argv[1], runs_dir=sys.argv[2]))
print(run.run_id, flush=True)
time.sleep(120)
"""


def _status(settings, run_id: str) -> tuple[str, str | None]:
    with warehouse.connect(settings, read_only=True) as con:
        return con.execute("SELECT status, error FROM runs WHERE run_id = ?", [run_id]).fetchone()


def test_a_run_whose_process_was_killed_is_listed_as_failed_and_stays_so(settings):
    process = subprocess.Popen([sys.executable, "-c", START_A_RUN_AND_WAIT, str(settings.warehouse),
                                str(settings.runs_dir)], stdout=subprocess.PIPE, text=True)
    try:
        run_id = process.stdout.readline().strip()
        assert run_id, "the child did not start its run"
        assert _status(settings, run_id) == ("running", None)
        assert runs.list_runs(settings).set_index("run_id").loc[run_id, "status"] == "running"  # alive: untouched
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    listed = runs.list_runs(settings).set_index("run_id")
    assert listed.loc[run_id, "status"] == "failed"
    assert listed.loc[run_id, "error"] == runs.PROCESS_ENDED
    assert listed.loc[run_id, "finished_at"] is not None
    assert _status(settings, run_id) == ("failed", runs.PROCESS_ENDED)  # persisted in the warehouse
    summary = json.loads((settings.runs_dir / run_id / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"] == runs.PROCESS_ENDED
    assert runs.mark_ended_runs(settings) == []  # stable: nothing left to mark
    index = write_index(settings).read_text()
    assert "<tr class='failed'>" in index and runs.PROCESS_ENDED in index


def test_a_running_run_of_a_live_process_stays_running(settings):
    run = runs.start_run("train", {}, settings)
    assert runs.mark_ended_runs(settings) == []
    assert _status(settings, run.run_id) == ("running", None)


def test_a_reused_pid_does_not_keep_a_dead_run_running(settings):
    """The pid is alive (this process) but started at another time: it is not the run's process."""
    run = runs.start_run("train", {}, settings)
    provenance_path = run.folder / "provenance.json"
    provenance = json.loads(provenance_path.read_text())
    provenance["process"]["started"] -= 3600.0
    provenance_path.write_text(json.dumps(provenance))
    assert runs.mark_ended_runs(settings) == [run.run_id]
    assert _status(settings, run.run_id) == ("failed", runs.PROCESS_ENDED)


def test_a_run_of_another_host_or_without_a_recorded_process_is_left_alone(settings):
    other_host, unrecorded = runs.start_run("train", {}, settings), runs.start_run("train", {}, settings)
    for run, change in ((other_host, lambda p: {**p, "process": {**p["process"], "host": "elsewhere", "pid": 1}}),
                        (unrecorded, lambda p: {k: v for k, v in p.items() if k != "process"})):
        path = run.folder / "provenance.json"
        path.write_text(json.dumps(change(json.loads(path.read_text()))))
    assert runs.mark_ended_runs(settings) == []
    assert set(runs.list_runs(settings)["status"]) == {"running"}


def test_a_start_time_read_a_second_apart_is_still_the_runs_process(settings):
    """Another process may read the boot time a second off (whole seconds in /proc): the run is still running."""
    run = runs.start_run("train", {}, settings)
    provenance_path = run.folder / "provenance.json"
    provenance = json.loads(provenance_path.read_text())
    provenance["process"]["started"] += 1.0
    provenance_path.write_text(json.dumps(provenance))
    assert runs.mark_ended_runs(settings) == []
    assert _status(settings, run.run_id) == ("running", None)
