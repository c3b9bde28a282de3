"""The uploads' history for the teachers' console: every dataset, newest first, with its report and withdrawal."""

from __future__ import annotations

from pathlib import Path, PurePath

import pandas as pd

from studyrec_lib.core import run_files, warehouse
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.ingest.withdraw import WITHDRAWAL_COLUMNS, with_withdrawals

HISTORY_COLUMNS = ("dataset_id", "name", "file_name", "uploaded_by", "uploaded_at", "rows_loaded", "rows_rejected",
                   "rows_open", "status", "run_id", "report", *WITHDRAWAL_COLUMNS)


def upload_history(settings: Settings | None = None) -> pd.DataFrame:
    """One row per upload, newest first: who uploaded which file when, its counts, status, report and withdrawal.

    Args:
        settings: where the warehouse and the runs folder are.

    Returns:
        :data:`HISTORY_COLUMNS`: ``file_name`` is the uploaded file's name (no folder), ``uploaded_by`` who uploaded
        it, ``report`` the path of the ingest run's HTML report, and the withdrawal's who, why and when. Each is
        missing (NaN, as pandas marks it) where there is none: an upload from before uploads recorded who made
        them (migration 007), one made outside a run or whose run folder has no report, one not withdrawn.
    """
    settings = settings or load_settings()
    frame = warehouse.query_frame(
        "SELECT dataset_id, name, source_file, uploaded_by, uploaded_at, rows_loaded, rows_rejected, rows_open, "
        "status, run_id FROM datasets ORDER BY dataset_id DESC", settings=settings)
    frame["file_name"] = frame["source_file"].map(lambda source: PurePath(source).name)
    frame["report"] = frame["run_id"].map(lambda run_id: _report(run_id, settings.runs_dir))
    return with_withdrawals(frame, settings)[list(HISTORY_COLUMNS)]


def _report(run_id: object, runs_dir: Path) -> str | None:
    """The ingest report of the run that loaded an upload, if it exists inside the runs folder."""
    if not isinstance(run_id, str) or not run_id:  # no run: None, or NaN beside the uploads that had one
        return None
    path = (runs_dir / run_id / run_files.INGEST_REPORT).resolve()
    inside = path.is_relative_to(runs_dir.resolve())
    return str(path) if inside and path.is_file() else None
