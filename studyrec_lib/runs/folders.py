"""Every run is a folder: executed notebooks, parameters, summary, HTML report, provenance.

A run is recorded in the warehouse's ``runs`` table when it starts and when it ends. A failed run
keeps its folder and its error; only the notebooks' own library calls change anything else. A run
records the process that started it (host, pid, start time), so a run whose process was killed is
marked failed the next time runs are listed instead of staying "running" forever.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from studyrec_lib.core import run_files, warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import NOTEBOOKS_DIR, PROJECT_ROOT, Settings, load_settings

if TYPE_CHECKING:
    import pandas as pd

PROCESS_ENDED = "process ended without finishing"
# psutil's create_time adds the boot time, which /proc gives in whole seconds and NTP may move, so two
# processes can read a run's start up to a second or so apart; a reused pid starts long after (the pids wrap).
START_TIME_TOLERANCE_S = 5.0


def new_run_id(kind: str) -> str:
    """Sortable by start time (UTC, microseconds) and unique (random suffix)."""
    return f"{utc_now():%Y%m%dT%H%M%S%fZ}-{kind}-{secrets.token_hex(3)}"


def git_commit() -> dict:
    """The code's commit and whether the work tree had uncommitted changes."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True,
                                  timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def package_versions() -> dict[str, str]:
    return dict(sorted((d.metadata["Name"].lower(), d.version) for d in metadata.distributions()))


@dataclass
class Run:
    run_id: str
    kind: str
    folder: Path
    params: dict
    settings: Settings
    steps: list[dict] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    @property
    def report_path(self) -> Path | None:
        """The HTML export of the last executed notebook: what a reviewer opens."""
        htmls = [step["html"] for step in self.steps if step.get("html")]
        return Path(htmls[-1]) if htmls else None


def start_run(kind: str, params: dict, settings: Settings | None = None, inputs: dict | None = None,
              parent_run_id: str | None = None) -> Run:
    """Create the folder with params and provenance, and record the run as running."""
    settings = settings or load_settings()
    run_id = new_run_id(kind)
    folder = settings.runs_dir / run_id
    (folder / run_files.ARTIFACTS).mkdir(parents=True)
    run = Run(run_id, kind, folder, params, settings)
    (folder / run_files.PARAMS).write_text(json.dumps(params, indent=2, default=str))
    provenance = {
        "run_id": run_id,
        "kind": kind,
        "python": sys.version,
        "git": git_commit(),
        "inputs": inputs or {},
        "warehouse": str(settings.warehouse),
        "parent_run_id": parent_run_id,
        "process": _this_process(),
    }
    (folder / run_files.PROVENANCE).write_text(json.dumps(provenance, indent=2, default=str))
    (folder / run_files.PACKAGES).write_text(json.dumps(package_versions(), indent=2))
    with warehouse.transaction(settings) as con:
        con.execute(
            "INSERT INTO runs (run_id, kind, params, status, started_at, folder, parent_run_id) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?)",
            [run_id, kind, json.dumps(params, default=str), utc_now(), str(folder), parent_run_id],
        )
    return run


def execute_notebook(run: Run, notebook: str | Path, parameters: dict, progress: bool = True) -> dict:
    """Run ``notebooks/<notebook>`` (or a notebook path) with papermill into the run folder, then HTML.

    Raises papermill's error after the executed copy and its HTML are written, so a failed step
    still leaves a readable report.
    """
    import papermill

    source = NOTEBOOKS_DIR / notebook
    output = run.folder / source.name
    step = {"notebook": source.name, "output": str(output), "status": "running"}
    run.steps.append(step)
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(source), str(output), parameters=parameters, progress_bar=progress, cwd=str(NOTEBOOKS_DIR),
            kernel_name="python3",
        )
        step["status"] = "succeeded"
    except Exception as error:
        step["status"] = "failed"
        step["error"] = _describe(error)
        raise
    finally:
        step["seconds"] = round(time.perf_counter() - started, 2)
        if output.exists():
            step["html"] = str(export_html(output))
    return step


def _describe(error: BaseException) -> str:
    ename = getattr(error, "ename", None)
    if ename:
        return f"{ename}: {getattr(error, 'evalue', '')}"
    return "".join(traceback.format_exception_only(error)).strip()


def export_html(notebook_path: Path) -> Path:
    """The reviewer's HTML beside the executed notebook (``report_html``: summary first, no code, no logs)."""
    from studyrec_lib.runs.report_html import reviewer_html  # nbconvert: loaded by the runs that export only

    html_path = notebook_path.with_suffix(".html")
    html_path.write_text(reviewer_html(notebook_path), encoding="utf-8")
    return html_path


def finish_run(run: Run, status: str, summary: dict, error: str | None = None) -> dict:
    """Write the run's summary.json and record how the run ended."""
    report = run.report_path
    summary = {
        "run_id": run.run_id,
        "kind": run.kind,
        "status": status,
        "error": error,
        **summary,
        "steps": run.steps,
        "seconds": round(time.perf_counter() - run.started, 2),
        "folder": str(run.folder),
        "report": str(report) if report else None,
    }
    (run.folder / run_files.SUMMARY).write_text(json.dumps(summary, indent=2, default=str))
    with warehouse.transaction(run.settings) as con:
        con.execute(
            "UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE run_id = ?",
            [status, utc_now(), error, run.run_id],
        )
    return summary


def interactive_run_dir(settings: Settings | None = None) -> Path:
    """A folder for a notebook run by hand in JupyterLab (not recorded as a scheduled run).

    Args:
        settings: where the runs folder is (default: the environment's or the default settings).

    Returns:
        A new, empty run folder (with its artifacts folder) under the runs folder.
    """
    settings = settings or load_settings()
    folder = settings.runs_dir / new_run_id("lab")
    (folder / run_files.ARTIFACTS).mkdir(parents=True)
    return folder


def latest_training_run_dir(settings: Settings | None = None) -> Path:
    """The newest run folder that holds a training result, for 03_evaluate opened by hand.

    Args:
        settings: where the runs folder is (default: the environment's or the default settings).

    Returns:
        The newest run folder with a train.json.

    Raises:
        FileNotFoundError: no run has trained a model yet.
    """
    settings = settings or load_settings()
    candidates = sorted(settings.runs_dir.glob(f"*/{run_files.TRAIN_SUMMARY}"))
    if not candidates:
        raise FileNotFoundError(f"no run in {settings.runs_dir} has trained a model yet; run 02_train first.")
    return candidates[-1].parent


def _this_process() -> dict:
    """What tells this process apart from a later one that reuses its pid."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": psutil.Process().create_time()}


def _process_gone(process: dict) -> bool:
    """The recorded process no longer runs on this host: it ended, is a zombie, or its pid was reused.

    A run started on another host (a shared warehouse) cannot be checked from here and counts as alive.
    """
    if process.get("host") != socket.gethostname():
        return False
    try:
        current = psutil.Process(int(process["pid"]))
        if current.status() == psutil.STATUS_ZOMBIE:
            return True
        started = current.create_time()
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # e.g. access denied: it exists
        return False
    return abs(started - float(process["started"])) > START_TIME_TOLERANCE_S  # (isclose's rel_tol hid 1.8 s)


def _recorded_process(folder: Path) -> dict | None:
    try:
        return json.loads((folder / run_files.PROVENANCE).read_text()).get("process")
    except (OSError, ValueError):  # a run from before processes were recorded, or a lost folder: no evidence
        return None


def mark_ended_runs(settings: Settings | None = None) -> list[str]:
    """Mark failed every "running" run whose process is gone; the ids marked (persisted, so stable)."""
    settings = settings or load_settings()
    running = warehouse.query_frame("SELECT run_id, folder FROM runs WHERE status = 'running'", settings=settings)
    ended = [(row.run_id, Path(row.folder)) for row in running.itertuples()
             if (process := _recorded_process(Path(row.folder))) and _process_gone(process)]
    if not ended:
        return []
    with warehouse.transaction(settings) as con:
        for run_id, _ in ended:
            con.execute("UPDATE runs SET status = 'failed', finished_at = ?, error = ? "
                        "WHERE run_id = ? AND status = 'running'", [utc_now(), PROCESS_ENDED, run_id])
    for run_id, folder in ended:
        summary = folder / run_files.SUMMARY
        if folder.is_dir() and not summary.exists():  # the folder says so too, for whoever opens it
            summary.write_text(json.dumps({"run_id": run_id, "status": "failed", "error": PROCESS_ENDED}, indent=2))
    return [run_id for run_id, _ in ended]


def list_runs(settings: Settings | None = None) -> pd.DataFrame:
    """Every run, oldest first; runs whose process was killed are marked failed first.

    Args:
        settings: the warehouse whose ``runs`` table to read (default: the environment's or the default).

    Returns:
        One row per run: id, kind, status, start and end (UTC), folder and error.
    """
    mark_ended_runs(settings)
    return warehouse.query_frame(
        "SELECT run_id, kind, status, started_at, finished_at, folder, error FROM runs ORDER BY run_id",
        settings=settings,
    )
