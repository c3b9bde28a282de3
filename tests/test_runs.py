import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from papermill.exceptions import PapermillExecutionError

from studyrec_lib import runs, warehouse


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
    assert "the data is wrong" in (run.folder / "failing.html").read_text()
    runs.finish_run(run, "failed", {}, error=step["error"])
    with warehouse.connect(settings, read_only=True) as con:
        status, error = con.execute("SELECT status, error FROM runs WHERE run_id = ?", [run.run_id]).fetchone()
    assert status == "failed"
    assert "the data is wrong" in error
