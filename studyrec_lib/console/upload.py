"""Upload a results file in the browser: pick it, choose the sheet and map the columns not recognised, then the
very same ingest job as ``studyrec ingest`` (same rules, run folder, warehouse, refusals), with the uploader's
hub name recorded. The result: counts and warnings in words, and every rejected row with its full rule.

A column mapping chosen here is saved as the teacher's (``console.uploads_store``) and offered next time.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from urllib.parse import quote

import ipywidgets as widgets
import pandas as pd

from studyrec_lib.console.uploads_store import load_teacher_map, save_teacher_map, save_upload
from studyrec_lib.console.widgets_html import CSV_MIME, download_html, message_html, table_html
from studyrec_lib.core import exports, run_files
from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import FileRefused
from studyrec_lib.core.files import make_private
from studyrec_lib.core.schema import COLUMNS
from studyrec_lib.ingest.preview import HeaderPreview, preview_headers
from studyrec_lib.runs import run_ingest

NOT_USED = "(not used)"
# A picked file reaches the kernel as one websocket message (its bytes, not base64). Tornado closes a socket on a
# message over its limit (10 MiB by default), so the console's server allows a little more than the page's limit
# (deploy/teacher_console/voila.py): a file between the two is refused here in words; only one over both breaks
# the page's connection. Larger files: `studyrec ingest`.
PAGE_UPLOAD_LIMIT_MB = 50
WEBSOCKET_MESSAGE_BYTES = (PAGE_UPLOAD_LIMIT_MB + 14) * 1024 * 1024
TICK_S = 0.5
REJECT_HEADERS = {"source_row": "row in the file", "column_name": "column", "rule": "rule broken",
                  "raw_value": "value as sent"}

log = logging.getLogger(__name__)


class UploadPanel:
    def __init__(self, settings: Settings, teacher: str, reports_url: str,
                 on_loaded: Callable[[], None] | None = None):
        self.settings, self.teacher, self.reports_url, self.on_loaded = settings, teacher, reports_url, on_loaded
        self.path: Path | None = None
        self.file_name = ""
        self.summary: dict | None = None
        self.busy = False
        self.limit_mb = min(settings.max_upload_mb, PAGE_UPLOAD_LIMIT_MB)
        limit = f"{self.limit_mb:g} MB"
        self.picker = widgets.FileUpload(accept=".csv,.xlsx", multiple=False, description="Choose a file")
        self.picker.add_class("studyrec-upload-file")
        self.picker.observe(lambda _change: self.picked(), names="value")
        self.sheet = widgets.Dropdown(description="Sheet", options=[], layout=widgets.Layout(display="none"))
        self.sheet.add_class("studyrec-upload-sheet")
        self.sheet.observe(lambda _change: self.inspect(), names="value")
        self.columns = widgets.VBox([])
        self.columns.add_class("studyrec-upload-columns")
        self.strict = widgets.Checkbox(description="Refuse the whole file if any row breaks a rule")
        self.no_replace = widgets.Checkbox(description="Refuse the file if it replaces rows loaded before")
        self.no_replace.add_class("studyrec-upload-no-replace")
        self.button = widgets.Button(description="Check and load", button_style="primary", disabled=True)
        self.button.add_class("studyrec-upload-load")
        self.button.on_click(lambda _button: self.load())
        self.status = widgets.HTML()
        self.status.add_class("studyrec-upload-status")
        self.result = widgets.HTML()
        self.result.add_class("studyrec-upload-result")
        intro = widgets.HTML(f"<p>A CSV or Excel (.xlsx) file of results, up to {limit}: one row per student and "
                             "subject. Title rows above the header are fine.</p>")
        self.widget = widgets.VBox([intro, self.picker, self.sheet, self.columns, self.strict, self.no_replace,
                                    self.button, self.status, self.result])

    def picked(self) -> None:
        """Keep the chosen file (private, beside the warehouse) and look at its header."""
        if not self.picker.value:
            return
        chosen = self.picker.value[0]
        self.file_name, content = chosen["name"], bytes(chosen["content"])
        self.result.value = ""
        if len(content) > self.limit_mb * 1024 * 1024:
            self._refuse(f"{self.file_name} is {len(content) / 1024 / 1024:.3g} MB, over this page's limit of "
                         f"{self.limit_mb:g} MB: split it into smaller files, or ask an analyst to load it with "
                         "`studyrec ingest` (the same job, no page limit).")
            return
        self.path = save_upload(self.settings, self.file_name, content)
        self.sheet.options, self.sheet.layout.display = [], "none"
        self.inspect()

    def _refuse(self, text: str) -> None:
        self.button.disabled = True
        self.columns.children = []
        self.status.value = message_html(text, "studyrec-upload-refused", error=True)

    def inspect(self) -> None:
        """The header row found, and a dropdown for each column not recognised (the teacher's mapping first)."""
        if self.path is None:
            return
        try:
            preview = preview_headers(self.path, self.sheet.value or None, load_teacher_map(self.settings,
                                                                                            self.teacher))
        except FileRefused as refused:
            self._refuse(f"{self.file_name}: {refused.reason} {refused.hint}".strip())
            return
        if preview.sheets and list(self.sheet.options) != preview.sheets:
            self.sheet.options, self.sheet.layout.display = preview.sheets, "flex"
        self.columns.children = self._column_choices(preview)
        self.button.disabled = False
        self.status.value = message_html(self._preview_words(preview), "studyrec-upload-preview")

    def _preview_words(self, preview: HeaderPreview) -> str:
        words = f"{self.file_name}: header on row {preview.header_row}"
        if preview.missing:
            words += f"; not found yet: {', '.join(preview.missing)} (choose them below)"
        return words + "."

    def _column_choices(self, preview: HeaderPreview) -> list[widgets.Widget]:
        if not preview.unmatched:
            return []
        choices = [widgets.HTML("<p>Columns not recognised: say what each one holds, or leave it unused.</p>")]
        for header in preview.unmatched:
            choice = widgets.Dropdown(options=[NOT_USED, *COLUMNS], value=preview.mapped.get(header, NOT_USED),
                                      description=header[:40], style={"description_width": "initial"})
            choice.add_class("studyrec-upload-column")
            choice.header = header
            choices.append(choice)
        return choices

    def mapping(self) -> dict[str, str]:
        return {choice.header: choice.value for choice in self.columns.children
                if isinstance(choice, widgets.Dropdown) and choice.value != NOT_USED}

    def load(self) -> dict | None:
        """Run the ingest job (in the background, the page keeps answering); returns its summary when done."""
        if self.path is None or self.busy:
            return None
        self.busy, self.button.disabled = True, True
        mapping = self.mapping()
        column_map = None
        if mapping:
            save_teacher_map(self.settings, self.teacher, mapping)
            column_map = self.path.with_name(self.path.name + ".columns.json")
            column_map.write_text(json.dumps(mapping))
            make_private(column_map)
        job = threading.Thread(target=self._run, args=(column_map,), daemon=True, name="studyrec-upload")
        began = time.monotonic()
        before = set(self.settings.runs_dir.glob("*")) if self.settings.runs_dir.is_dir() else set()
        job.start()
        shown = False
        while job.is_alive():
            # The result shows as soon as the ingest step has written it; the report (plots, HTML) follows.
            step = None if shown else self._step_result(before)
            if step is not None:
                self.result.value = result_html(step, self.reports_url)
                shown = True
            words = "Loaded; writing the report" if shown else f"Checking and loading {self.file_name}"
            self.status.value = message_html(f"{words}... ({time.monotonic() - began:.0f} s)",
                                             "studyrec-upload-running")
            job.join(TICK_S)
        self.busy, self.button.disabled = False, False
        if self.summary is not None:
            self.status.value = message_html(f"Done in {time.monotonic() - began:.1f} s.", "studyrec-upload-done")
            self.result.value = result_html(self.summary, self.reports_url)
            if self.on_loaded is not None and self.summary.get("ingest_status") == "loaded":
                self.on_loaded()
        return self.summary

    def _step_result(self, before: set[Path]) -> dict | None:
        """This upload's ingest step result, once its run folder has it (the run is found by its input file)."""
        for folder in set(self.settings.runs_dir.glob("*")) - before:
            try:
                params = json.loads((folder / run_files.PARAMS).read_text())
                step = json.loads((folder / run_files.INGEST_SUMMARY).read_text())
            except (OSError, ValueError):
                continue  # not written yet, or another run
            if params.get("input_path") == str(self.path.resolve()):
                return {**step, "ingest_status": step.get("status"), "ingest_warnings": step.get("warnings"),
                        "folder": str(folder), "report": None}
        return None

    def _run(self, column_map: Path | None) -> None:
        try:
            self.summary = run_ingest(self.path, name=self.file_name, sheet=self.sheet.value or None,
                                      column_map=column_map, strict=self.strict.value,
                                      refuse_supersede=self.no_replace.value, uploaded_by=self.teacher,
                                      settings=self.settings, progress=False)
        except Exception:
            log.exception("teacher console: the upload of %s failed", self.file_name)
            self.summary = None
            self.status.value = message_html("The file could not be loaded: the details are in the server log. "
                                             "Try again; tell an analyst if it keeps failing.",
                                             "studyrec-upload-failed", error=True)


def rejected_rows(folder: Path) -> pd.DataFrame:
    """The run's rejected rows as the teacher sent them: row, column, the full rule, the value; no other cell."""
    path = folder / run_files.REJECTED_ROWS
    if not path.is_file():
        return pd.DataFrame(columns=list(REJECT_HEADERS.values()))
    rejects = pd.read_csv(path, dtype=str, keep_default_na=False)
    return rejects[list(REJECT_HEADERS)].rename(columns=REJECT_HEADERS)


def result_html(summary: dict, reports_url: str) -> str:
    """Counts and warnings in words, then every rejected row (with a download), then the report's link."""
    status = summary.get("ingest_status")
    if status == "loaded":
        head = (f"Loaded {summary.get('rows_loaded', 0):,} of {summary.get('rows_total', 0):,} rows "
                f"({summary.get('rows_rejected', 0):,} rejected, {summary.get('rows_blank') or 0:,} blank rows "
                f"skipped) as upload {summary.get('dataset_id')}.")
    elif status == "already_loaded":
        head = (f"Nothing was loaded: this very file was loaded before (upload {summary.get('dataset_id')}). To "
                "replace that upload, withdraw it in the Uploads tab first, or send the corrected file.")
    else:
        head = f"Nothing was loaded: {summary.get('error') or summary.get('message') or 'the file was refused'}"
    warnings = "".join(f"<li>{escape(str(w))}</li>" for w in summary.get("ingest_warnings") or [])
    parts = [f'<p class="studyrec-upload-outcome" data-status="{escape(str(status))}"><b>{escape(head)}</b></p>']
    if warnings:
        parts.append(f'<ul class="studyrec-upload-warnings">{warnings}</ul>')
    folder = Path(summary.get("folder") or ".")
    rejects = rejected_rows(folder)
    if len(rejects):
        parts.append(download_html(exports.csv_bytes(rejects), "rejected_rows.csv", CSV_MIME,
                                   f"Download the {len(rejects):,} rejected rows (CSV)", "studyrec-rejects-csv"))
        parts.append(table_html(rejects, "studyrec-rejects"))
    if summary.get("report"):
        parts.append(f'<p><a target="_blank" href="{reports_url}{quote(summary["run_id"])}/'
                     f'{quote(Path(summary["report"]).name)}">The full report of this upload</a></p>')
    return "".join(parts)
