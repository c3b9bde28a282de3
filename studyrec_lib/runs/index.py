"""runs/index.html: what every run did, in words a reviewer reads without opening a file.

A paragraph says how many runs there are, what the last run of each kind came to and what is active now; a
plot shows the headline figures of every trained version over time; then one row per run, newest first: when,
kind, its outcome (from its summary.json: drift found, retrained, warning, not just "succeeded"), the models
with a marker on the versions active now, headline figures in words, the error in full, links to its reports.

``studyrec runs`` imports this module: the registry and matplotlib load only when the page is written.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

from studyrec_lib.core import run_files
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.runs.folders import list_runs
from studyrec_lib.runs.index_outcome import TASK_WORDS, Outcome, headline_figures, outcome
from studyrec_lib.runs.index_plot import versions_plot

if TYPE_CHECKING:
    import pandas as pd

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
p.overview{max-width:70em;line-height:1.45}
table{border-collapse:collapse;width:100%;table-layout:fixed}
td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left;overflow-wrap:anywhere}
ul{margin:0;padding-left:1.1em}
.error{white-space:pre-wrap;overflow-wrap:anywhere;font-family:monospace;font-size:.85em}
.label{font-weight:bold}
.small{font-size:.85em}
.notes{font-size:.9em}
.active{background:#1e7d4f;color:#fff;border-radius:3px;padding:0 4px;font-size:.85em;white-space:nowrap}
img.plot{max-width:100%;height:auto}
tr.failed{background:#fdd}tr.running{background:#ffd}tr.warning,tr.drift{background:#fff1dc}
tr.retrained{background:#e6efff}tr.thin{background:#f3f3f3}
"""
COLUMNS = (("started (UTC)", 9), ("kind", 7), ("outcome", 23), ("models", 13), ("headline figures", 15),
           ("error", 16), ("reports", 10), ("run id", 7))  # (header, width in %)


def _read_json(path: Path) -> dict:
    """A run file, or {} while the run has not written it (or lost it)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _text(value: object) -> str:
    """A cell's text: a missing value (None, NaN, NaT) is empty, never "nan" or "None"."""
    return "" if value is None or value != value else str(value)  # NaN and NaT are not equal to themselves


def _took(seconds: int) -> str:
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def _when(run: dict) -> str:
    """The start, and how long a finished run took (a run still running has no end yet)."""
    started, finished = run["started_at"], run["finished_at"]
    if not _text(finished):
        return f"{started:%Y-%m-%d %H:%M:%S}"
    return f"{started:%Y-%m-%d %H:%M:%S}<br><small>took {_took(round((finished - started).total_seconds()))}</small>"


def _list(items: list[str] | tuple[str, ...], css: str | None = None) -> str:
    """Escaped phrases as a list: one sentence per line reads better than a "; "-joined run-on."""
    if not items:
        return ""
    opening = f"<ul class='{css}'>" if css else "<ul>"
    return opening + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def _active_marker(task: str, version: str, active: dict[str, str], pinned: dict[str, str]) -> str:
    """"active" on the version serving the task now (not the one the run activated back then); "pinned" if a person
    chose it, since trainings then keep it."""
    if active.get(task) != version:
        return ""
    return f" <span class='active'>{'active, pinned' if pinned.get(task) == version else 'active'}</span>"


def _models(summary: dict, active: dict[str, str], pinned: dict[str, str]) -> str:
    """Each task's chosen model and version, marked when it is the one active now; a monitor names what it watched."""
    chosen = summary.get("chosen") or {}
    lines = [f"{html.escape(TASK_WORDS.get(task, task))}: {html.escape(chosen.get(task, 'model'))} "
             f"<code>{html.escape(version)}</code>{_active_marker(task, version, active, pinned)}"
             for task, version in (summary.get("versions") or {}).items()]
    watched = (summary.get("drift") or {}).get("model_version")
    if watched:
        lines.append(f"monitored version <code>{html.escape(watched)}</code>")
    return "<br>".join(lines)


def _links(folder: Path, runs_dir: Path) -> str:
    """Relative links to the run's reports, so the page works from any place the runs folder is served or copied."""
    return "<br>".join(
        f'<a href="{html.escape(str(path.relative_to(runs_dir)))}">{html.escape(path.name)}</a>'
        for pattern in run_files.REPORT_FILES for path in sorted(folder.glob(pattern))
        if path.is_relative_to(runs_dir)
    )


def _kind(run: dict) -> str:
    """The kind, and for a retrain the monitoring run that started it (a link to its row)."""
    parent = _read_json(Path(run["folder"]) / run_files.PARAMS).get("parent_run_id")
    if not parent:
        return html.escape(run["kind"])
    return f"{html.escape(run['kind'])}<br><small>a retrain, started by <a href='#{html.escape(parent)}'>" \
        "its monitoring run</a></small>"


def _row(run: dict, summary: dict, result: Outcome, runs_dir: Path, active: dict[str, str],
         pinned: dict[str, str]) -> str:
    run_id = html.escape(run["run_id"])
    cells = (
        _when(run),
        _kind(run),
        f"<span class='label'>{html.escape(result.label)}</span>{_list(result.notes, 'notes')}",
        _models(summary, active, pinned),
        _list(headline_figures(summary)),
        html.escape(_text(run["error"])),
        _links(Path(run["folder"]), runs_dir),
        f"<code>{run_id}</code>",
    )
    attributes = ("", "", "", "", "", " class='error'", " class='small'", f" id='{run_id}' class='small'")
    tds = "".join(f"<td{attribute}>{cell}</td>" for attribute, cell in zip(attributes, cells, strict=True))
    return f"<tr class='{result.css}'>{tds}</tr>"


def _active_now(active_rows: dict[str, dict], pinned: dict[str, str]) -> str:
    """What serves predictions now, in the order people think of it: the final mark, then the grade."""
    if not active_rows:
        return "No model is active yet."
    models = [f"the {words} model is {active_rows[task]['algorithm']} version {active_rows[task]['version']}"
              + (" (pinned by a person)" if pinned.get(task) == active_rows[task]["version"] else "")
              for task, words in TASK_WORDS.items() if task in active_rows]
    return "Active now: " + "; ".join(models) + "."


def _overview(runs: list[dict], outcomes: list[Outcome], active_rows: dict[str, dict], pinned: dict[str, str]) -> str:
    """The page's first paragraph: how many runs, what the last of each kind came to, what is active."""
    if not runs:
        return "No run yet. " + _active_now(active_rows, pinned)
    failed = sum(run["status"] == "failed" for run in runs)
    last: dict[str, str] = {}
    for run, result in zip(runs, outcomes, strict=True):  # newest first: the first of each kind is its last
        last.setdefault(run["kind"], f"Last {run['kind']} ({run['started_at']:%Y-%m-%d %H:%M} UTC): {result.label}.")
    count = f"{len(runs)} run{'s' if len(runs) != 1 else ''}, {failed} failed."
    return " ".join([count, *last.values(), _active_now(active_rows, pinned)])


def _page(overview: str, plot: str, rows: list[str]) -> str:
    """One self-contained file: inline style and plot, no script, nothing fetched (it opens offline, and the reports
    service allows no fetch)."""
    columns = "".join(f"<col style='width:{width}%'>" for _, width in COLUMNS)
    header = "".join(f"<th>{name}</th>" for name, _ in COLUMNS)
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>StudyRec runs</title>"
        f"<style>{STYLE}</style></head><body><h1>StudyRec runs</h1>"
        f"<p class='overview'>{html.escape(overview)}</p><h2>Models over time</h2>{plot}"
        f"<h2>Every run, newest first</h2><table><colgroup>{columns}</colgroup><thead><tr>{header}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></body></html>"
    )


def _registry_state(settings: Settings) -> tuple[dict[str, dict], dict[str, str], pd.DataFrame]:
    """What is active now, what of it is pinned, and every registered version (loaded here: ``studyrec runs``
    imports this module and needs none of it)."""
    from studyrec_lib import registry

    return (registry.active_versions(settings), registry.pinned_versions(settings),
            registry.list_versions(settings))


def write_index(settings: Settings | None = None) -> Path:
    """Rewrite runs/index.html: the overview, the models over time, every run newest first (called after every job).

    Args:
        settings: where the warehouse and the runs folder are (default: the environment's or the default).

    Returns:
        The page's path.
    """
    settings = settings or load_settings()
    runs_dir = settings.runs_dir
    active_rows, pinned, versions = _registry_state(settings)
    active = {task: row["version"] for task, row in active_rows.items()}
    runs = list_runs(settings).sort_values("run_id", ascending=False).to_dict("records")
    summaries = [_read_json(Path(run["folder"]) / run_files.SUMMARY) for run in runs]
    outcomes = [outcome(run["status"], summary) for run, summary in zip(runs, summaries, strict=True)]
    rows = [_row(run, summary, result, runs_dir, active, pinned)
            for run, summary, result in zip(runs, summaries, outcomes, strict=True)]
    page = _page(_overview(runs, outcomes, active_rows, pinned), versions_plot(versions), rows)
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / run_files.INDEX
    path.write_text(page, encoding="utf-8")
    return path
