"""Runs: jobs that execute the notebooks into run folders, the folders themselves, and their index.

Every job (:func:`run_ingest`, :func:`run_train`, :func:`run_pipeline`, :func:`run_monitor`) records a run
in the warehouse and writes its folder (the executed notebooks, their HTML, params.json, provenance.json,
summary.json; the names are in ``core.run_files``), then rewrites ``runs/index.html``. Jobs start jobs:
a monitoring run that decides on a retrain has :func:`run_retrain` start it, under :func:`retrain_lock`.

Importing this face loads neither scikit-learn nor matplotlib nor FastAPI, and the jobs (with the registry)
load on first use (``core.lazy``): ``studyrec runs`` only lists folders.
"""

from typing import TYPE_CHECKING

from studyrec_lib.core.lazy import lazy_attributes
from studyrec_lib.runs.folders import (
    Run,
    execute_notebook,
    finish_run,
    interactive_run_dir,
    latest_training_run_dir,
    list_runs,
    mark_ended_runs,
    start_run,
)
from studyrec_lib.runs.index import write_index
from studyrec_lib.runs.retrain_lock import RetrainBusy, retrain_lock

if TYPE_CHECKING:
    from studyrec_lib.runs.jobs import (
        TRAIN_STEPS,
        StepFailed,
        run_ingest,
        run_monitor,
        run_pipeline,
        run_retrain,
        run_train,
    )

__getattr__ = lazy_attributes(__name__)

__all__ = [
    "TRAIN_STEPS",
    "RetrainBusy",
    "Run",
    "StepFailed",
    "execute_notebook",
    "finish_run",
    "interactive_run_dir",
    "latest_training_run_dir",
    "list_runs",
    "mark_ended_runs",
    "retrain_lock",
    "run_ingest",
    "run_monitor",
    "run_pipeline",
    "run_retrain",
    "run_train",
    "start_run",
    "write_index",
]
