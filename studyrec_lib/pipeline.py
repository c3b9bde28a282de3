"""Jobs that run notebooks into a run folder: what ``studyrec ingest`` (and later train) execute."""

from __future__ import annotations

import json
from pathlib import Path

from .config import Settings, load_settings
from .example_data import ensure_example_dataset
from .ingest import file_sha256
from .runs import Run, execute_notebook, finish_run, start_run

INGEST_OK = ("loaded", "already_loaded")
INGEST_SUMMARY_KEYS = (
    "dataset_id", "rows_total", "rows_valid", "rows_loaded", "rows_rejected", "rows_open", "grade_mismatches",
    "message", "sha256", "source_file",
)


def run_ingest(
    path: str | Path | None = None,
    name: str | None = None,
    sheet: str | None = None,
    column_map: str | Path | None = None,
    strict: bool = False,
    force: bool = False,
    settings: Settings | None = None,
    progress: bool = True,
) -> dict:
    """Execute 01_ingest.ipynb on ``path`` (default: the example data set) in a new run folder."""
    settings = settings or load_settings()
    source = Path(path).expanduser().resolve() if path else ensure_example_dataset()
    params = {
        "input_path": str(source),
        "name": name or "",
        "sheet": sheet or "",
        "column_map": str(Path(column_map).resolve()) if column_map else "",
        "strict": strict,
        "force": force,
    }
    inputs = {"path": str(source), "sha256": file_sha256(source) if source.is_file() else None}
    run = start_run("ingest", params, settings, inputs=inputs)
    try:
        _execute(run, "01_ingest.ipynb", params, progress)
    except Exception as error:
        return finish_run(run, "failed", {}, error=run.steps[-1].get("error") if run.steps else str(error))
    step_summary = json.loads((run.folder / "ingest.json").read_text())
    picked = {key: step_summary.get(key) for key in INGEST_SUMMARY_KEYS}
    ok = step_summary["status"] in INGEST_OK
    return finish_run(
        run, "succeeded" if ok else "failed", {"ingest_status": step_summary["status"], **picked},
        error=None if ok else step_summary["message"],
    )


def _execute(run: Run, notebook: str, params: dict, progress: bool) -> dict:
    """Every notebook gets the run's identity and the warehouse it must use."""
    settings = run.settings
    parameters = {
        **params,
        "warehouse": str(settings.warehouse),
        "max_upload_mb": float(settings.max_upload_mb),
        "run_id": run.run_id,
        "run_dir": str(run.folder),
    }
    return execute_notebook(run, notebook, parameters, progress=progress)
