"""Jobs that run notebooks into one run folder: ``studyrec ingest``, ``train``, ``pipeline``, ``monitor``
and ``feedback``.

A step that fails stops the job and marks the run failed; models are activated only after every
notebook of the run succeeded, and only those that pass the quality gate. Every notebook gets the job's
whole configuration. Jobs start jobs, kernels do not: 04_monitor only decides on a retrain, and
:func:`run_monitor` starts it (:func:`run_retrain`, one at a time under :func:`retrain_lock`).

This module is imported by ``studyrec runs`` and ``studyrec --help`` (through the package face): it must not
load scikit-learn, so the number of folds comes from ``core.defaults``, not from ``modeling``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd

from studyrec_lib import registry
from studyrec_lib.core import run_files
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.defaults import CV_FOLDS
from studyrec_lib.core.files import file_sha256
from studyrec_lib.core.notebook_config import settings_parameters
from studyrec_lib.demo import ensure_example_dataset
from studyrec_lib.runs.folders import Run, execute_notebook, finish_run, start_run
from studyrec_lib.runs.index import write_index
from studyrec_lib.runs.retrain_lock import RetrainBusy, retrain_lock

INGEST_NOTEBOOK, TRAIN_NOTEBOOK, EVALUATE_NOTEBOOK = "01_ingest.ipynb", "02_train.ipynb", "03_evaluate.ipynb"
MONITOR_NOTEBOOK = "04_monitor.ipynb"
INGEST_OK = ("loaded", "already_loaded")
INGEST_SUMMARY_KEYS = (
    "dataset_id", "rows_total", "rows_valid", "rows_loaded", "rows_rejected", "rows_open", "grade_mismatches",
    "rows_blank", "header_row", "title_rows", "rows_superseding", "uploaded_by", "message", "sha256", "source_file",
)


class StepFailed(Exception):
    """A notebook of the run failed, or refused its input; the message says why."""


def _execute(run: Run, notebook: str, params: dict, progress: bool) -> dict:
    """Every notebook gets the run's identity and the job's whole configuration."""
    parameters = {
        **params,
        **settings_parameters(run.settings),
        "run_id": run.run_id,
        "run_dir": str(run.folder),
    }
    try:
        return execute_notebook(run, notebook, parameters, progress=progress)
    except Exception as error:
        raise StepFailed(run.steps[-1].get("error") if run.steps else str(error)) from error


def _finish(run: Run, status: str, summary: dict, error: str | None = None) -> dict:
    done = finish_run(run, status, summary, error=error)
    write_index(run.settings)
    return done


def _ingest_params(path: str | Path | None, name: str | None, sheet: str | None, column_map: str | Path | None,
                   strict: bool, force: bool, refuse_supersede: bool = False, uploaded_by: str | None = None) -> dict:
    """01_ingest's parameters; an optional one left unset is None (papermill passes None through)."""
    source = Path(path).expanduser().resolve() if path else ensure_example_dataset()
    return {
        "input_path": str(source),
        "name": name or None,
        "sheet": sheet or None,
        "column_map": str(Path(column_map).resolve()) if column_map else None,
        "strict": strict,
        "force": force,
        "refuse_supersede": refuse_supersede,
        "uploaded_by": uploaded_by or None,
    }


def _ingest_step(run: Run, params: dict, progress: bool, summary: dict) -> None:
    _execute(run, INGEST_NOTEBOOK, params, progress)
    step = json.loads((run.folder / run_files.INGEST_SUMMARY).read_text())
    summary.update({"ingest_status": step["status"], "ingest_warnings": step.get("warnings") or [],
                    **{key: step.get(key) for key in INGEST_SUMMARY_KEYS}})
    if step["status"] not in INGEST_OK:
        raise StepFailed(step["message"])


def _rows_in(table: Path) -> int:
    try:
        return len(pd.read_csv(table))
    except pd.errors.EmptyDataError:  # no open rows at all: not even a header
        return 0


def activation_target(gate: dict[str, dict], pinned: dict[str, str] | None = None) -> str | None:
    """``registry.activate``'s task: "both" (one transaction), the one task to activate, or None.

    A task is activated when its model beat the naive baseline, was not worse than the active version on rows
    that version never trained on (``registry.champion``), and no person pinned its active version.
    """
    passed = [task for task in registry.TASKS if gate[task]["passed"] and task not in (pinned or {})
              and gate[task].get("challenge", {}).get("activate", True)]
    if len(passed) == len(registry.TASKS):
        return "both"
    return passed[0] if passed else None


TRAIN_STEPS = ("training and cross-validating the candidate models", "evaluating the chosen models",
               "activating what passed the quality gate")


def _train_steps(run: Run, n_folds: int, progress: bool, reason: str, summary: dict,
                 on_step: Callable[[int, str], None] | None = None) -> None:
    """02_train then 03_evaluate; then activate what passed the gate. ``on_step(i, words)`` before each step."""
    tell = on_step or (lambda _number, _words: None)
    tell(1, TRAIN_STEPS[0])
    _execute(run, TRAIN_NOTEBOOK, {"n_folds": n_folds}, progress)
    tell(2, TRAIN_STEPS[1])
    _execute(run, EVALUATE_NOTEBOOK, {}, progress)
    tell(3, TRAIN_STEPS[2])
    training = json.loads((run.folder / run_files.TRAIN_SUMMARY).read_text())
    version = training["versions"]["regression"]  # one version for both tasks of a training
    registered = registry.version_metrics(version, settings=run.settings)
    at_risk_rows = _rows_in(run.folder / run_files.AT_RISK_CSV)
    pinned = registry.pinned_versions(run.settings)
    target = activation_target(training["quality_gate"], pinned)
    activated = {}
    if target:  # the last thing that can fail: a run that fails before it activates nothing
        activated = registry.activate(version, target, reason=reason, run_id=run.run_id, settings=run.settings)
    summary.update({
        "versions": training["versions"],
        "activated": activated,
        "kept_pinned": pinned,  # task -> version a person pinned: kept whatever this training scored
        "chosen": training["chosen"],
        "quality_gate": training["quality_gate"],
        "challenge": {task: gate.get("challenge") for task, gate in training["quality_gate"].items()},
        "cv_rmse": registered["regression"]["cv_rmse"],
        "interval_coverage": registered["regression"]["interval_coverage"],
        "cv_f1_weighted": registered["classification"]["cv_f1_weighted"],
        "cv_accuracy": registered["classification"]["cv_accuracy"],
        "cv_brier_macro": registered["classification"]["cv_brier_macro"],
        "at_risk_rows": at_risk_rows,
        "training_rows": training["training_rows"],
        "fit_warnings": training["fit_warnings"],
    })


def _run_steps(run: Run, steps: list[Callable[[dict], None]]) -> dict:
    """Run the steps in order; each adds its figures to the summary. The first failure ends the run."""
    summary: dict = {}
    try:
        for step in steps:
            step(summary)
    except StepFailed as failure:
        return _finish(run, "failed", summary, error=str(failure))
    except Exception as error:  # a bug or a locked warehouse: the run is failed, not left "running"
        try:
            _finish(run, "failed", summary, error=f"{type(error).__name__}: {error}")
        except Exception as also:  # e.g. the warehouse is still locked: summary.json says failed, the error stays
            error.add_note(f"the run could not be marked failed in the warehouse: {also}")
        raise
    return _finish(run, "succeeded", summary)


def run_ingest(path: str | Path | None = None, name: str | None = None, sheet: str | None = None,
               column_map: str | Path | None = None, strict: bool = False, force: bool = False,
               settings: Settings | None = None, progress: bool = True, refuse_supersede: bool = False,
               uploaded_by: str | None = None) -> dict:
    """Execute 01_ingest.ipynb on ``path`` in a new run folder.

    Args:
        path: the CSV or XLSX file to load (default: the example data set, generated when absent).
        name: the dataset's name (default: the file name).
        sheet: the Excel sheet (default: the first).
        column_map: a JSON file mapping other header names to ours.
        strict: refuse the whole file on any bad row.
        force: load a file again even when its sha256 was loaded before.
        settings: the configuration the notebook gets (default: the environment's or the default).
        progress: show papermill's progress bar.
        refuse_supersede: refuse the file when a row would replace a row loaded before (same key).
        uploaded_by: who uploads, stored with the dataset.

    Returns:
        The run's summary (also its summary.json): status, error, the ingest's counts, steps and folder.
    """
    settings = settings or load_settings()
    params = _ingest_params(path, name, sheet, column_map, strict, force, refuse_supersede, uploaded_by)
    run = start_run("ingest", params, settings, inputs=_inputs(params))
    return _run_steps(run, [partial(_ingest_step, run, params, progress)])


def run_train(settings: Settings | None = None, n_folds: int = CV_FOLDS, progress: bool = True,
              reason: str = "trained", parent_run_id: str | None = None,
              on_step: Callable[[int, str], None] | None = None) -> dict:
    """Execute 02_train and 03_evaluate on the warehouse's training examples in one run folder.

    Args:
        settings: the configuration the notebooks get (default: the environment's or the default).
        n_folds: cross-validation folds, grouped by student.
        progress: show papermill's progress bar.
        reason: the activation's reason (``trained``, or ``retrain`` when monitoring started it).
        parent_run_id: links a retraining run to the monitoring run that started it.
        on_step: called with the step's number (of ``len(TRAIN_STEPS)``) and its words as each step starts
            (the teacher console shows them).

    Returns:
        The run's summary: status, error, versions, what was activated, the quality gate and key figures.
    """
    settings = settings or load_settings()
    run = start_run("train", {"n_folds": n_folds, "reason": reason, "parent_run_id": parent_run_id}, settings,
                    parent_run_id=parent_run_id)
    return _run_steps(run, [partial(_train_steps, run, n_folds, progress, reason, on_step=on_step)])


def run_pipeline(path: str | Path | None = None, name: str | None = None, sheet: str | None = None,
                 column_map: str | Path | None = None, strict: bool = False, force: bool = False,
                 settings: Settings | None = None, n_folds: int = CV_FOLDS, progress: bool = True,
                 refuse_supersede: bool = False, uploaded_by: str | None = None) -> dict:
    """01_ingest, 02_train, 03_evaluate in one run folder; stops at the first failing step.

    Args:
        path: the CSV or XLSX file to load (default: the example data set, generated when absent).
        name: the dataset's name.
        sheet: the Excel sheet.
        column_map: a JSON file mapping other header names to ours.
        strict: refuse the whole file on any bad row.
        force: load a file again even when its sha256 was loaded before.
        settings: the configuration the notebooks get (default: the environment's or the default).
        n_folds: cross-validation folds, grouped by student.
        progress: show papermill's progress bar.
        refuse_supersede: refuse the file when a row would replace a row loaded before (same key).
        uploaded_by: who uploads, stored with the dataset.

    Returns:
        The run's summary: the ingest's counts and the training's figures, as for the two jobs.
    """
    settings = settings or load_settings()
    params = _ingest_params(path, name, sheet, column_map, strict, force, refuse_supersede, uploaded_by)
    run = start_run("pipeline", {**params, "n_folds": n_folds}, settings, inputs=_inputs(params))
    return _run_steps(run, [partial(_ingest_step, run, params, progress),
                            partial(_train_steps, run, n_folds, progress, "trained")])


def _inputs(params: dict) -> dict:
    source = Path(params["input_path"])
    return {"path": str(source), "sha256": file_sha256(source) if source.is_file() else None}


def run_retrain(settings: Settings, parent_run_id: str) -> dict:
    """A training run linked to the monitoring run that decided on it, unless another retrain holds the lock.

    Args:
        settings: the monitoring job's configuration, which the training run gets too.
        parent_run_id: the monitoring run that decided on the retrain.

    Returns:
        What to add to that decision: the retrain's outcome (or that it was skipped) and a reason.
    """
    try:
        with retrain_lock(settings):
            train = run_train(settings, progress=False, reason="retrain", parent_run_id=parent_run_id)
    except RetrainBusy as busy:
        return {"retrain_skipped": True, "reasons": [str(busy)]}
    activated = train.get("activated") or {}
    pinned = train.get("kept_pinned") or {}
    kept = "".join(f"; {task}: pinned version {version} kept" for task, version in pinned.items())
    return {
        "retrain_run": {key: train.get(key) for key in ("run_id", "status", "error", "versions", "activated",
                                                        "kept_pinned", "quality_gate", "challenge", "folder")},
        "reasons": [f"retrain run {train['run_id']} {train['status']}; "
                    + (f"activated {activated}" if activated else "nothing activated") + kept],
    }


def _monitor_step(run: Run, params: dict, progress: bool, summary: dict) -> None:
    """04_monitor decides; this job starts the retrain it decided on (DESIGN: jobs start jobs, kernels do not)."""
    _execute(run, MONITOR_NOTEBOOK, params, progress)
    monitor_json = run.folder / run_files.MONITOR_SUMMARY
    monitor = json.loads(monitor_json.read_text())
    decision = monitor["decision"]
    if decision["retrain"]:
        outcome = run_retrain(run.settings, run.run_id)
        decision["reasons"].extend(outcome.pop("reasons"))
        decision.update(outcome)
        monitor_json.write_text(json.dumps(monitor, indent=2, default=str))
    summary.update(monitor)


def run_monitor(settings: Settings | None = None, kind: str = "monitor", progress: bool = True, **params) -> dict:
    """Execute 04_monitor in a new run folder, then start the retrain it decided on, if any.

    Args:
        settings: the configuration the notebook gets (default: the environment's or the default).
        kind: ``monitor`` (drift and feedback) or ``feedback`` (feedback only).
        progress: show papermill's progress bar.
        **params: 04_monitor's parameters (``lookback_days``, ``min_samples``, ``drift_threshold``,
            ``auto_retrain``, ``feedback_lookback_days``, ``feedback_min_samples``, ``mae_alert``,
            ``accuracy_alert``); those not given keep the notebook's defaults (``core.defaults``).

    Returns:
        The run's summary: status, error, the decision (with the retrain's outcome), drift and feedback.
    """
    settings = settings or load_settings()
    params = {"sections": "drift,feedback" if kind == "monitor" else "feedback", **params}
    run = start_run(kind, params, settings)
    return _run_steps(run, [partial(_monitor_step, run, params, progress)])
