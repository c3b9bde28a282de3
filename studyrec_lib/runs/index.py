"""runs/index.html: every run with its status, key figures and links, for reviewers."""

from __future__ import annotations

import html
import json
from pathlib import Path

from studyrec_lib.core import run_files
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.runs.folders import list_runs

KEY_FIGURES = ("rows_loaded", "rows_rejected", "cv_rmse", "interval_coverage", "cv_f1_weighted", "cv_accuracy",
               "cv_brier_macro", "at_risk_rows", "versions", "activated")


def _summary(folder: Path) -> dict:
    path = folder / run_files.SUMMARY
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _figures(summary: dict) -> str:
    parts = []
    for key in KEY_FIGURES:
        value = summary.get(key)
        if value in (None, {}, []):
            continue
        if isinstance(value, float):
            value = f"{value:.4g}"
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


def write_index(settings: Settings | None = None) -> Path:
    """Rewrite runs/index.html: every run, newest first, with its status, key figures, error and reports.

    Args:
        settings: where the warehouse and the runs folder are (default: the environment's or the default).

    Returns:
        The page's path.
    """
    settings = settings or load_settings()
    runs_dir = settings.runs_dir
    rows = []
    for run in list_runs(settings).sort_values("run_id", ascending=False).to_dict("records"):
        folder = Path(run["folder"])
        summary = _summary(folder)
        links = " ".join(
            f'<a href="{html.escape(str(path.relative_to(runs_dir)))}">{html.escape(path.name)}</a>'
            for pattern in run_files.REPORT_FILES for path in sorted(folder.glob(pattern))
            if path.is_relative_to(runs_dir)
        )
        status = html.escape(str(run["status"]))
        rows.append(
            f"<tr class='{status}'><td>{html.escape(str(run['started_at']))}</td><td>{html.escape(run['kind'])}</td>"
            f"<td>{status}</td><td>{html.escape(_figures(summary))}</td>"
            f"<td>{html.escape(str(run['error'] or '')[:300])}</td><td>{links}</td>"
            f"<td><code>{html.escape(run['run_id'])}</code></td></tr>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>StudyRec runs</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:4px 8px;vertical-align:top}tr.failed{background:#fdd}tr.running{background:#ffd}"
        "</style></head><body><h1>StudyRec runs</h1><table><tr><th>started (UTC)</th><th>kind</th><th>status</th>"
        "<th>key figures</th><th>error</th><th>reports</th><th>run id</th></tr>"
        + "".join(rows) + "</table></body></html>"
    )
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / run_files.INDEX
    path.write_text(page, encoding="utf-8")
    return path
