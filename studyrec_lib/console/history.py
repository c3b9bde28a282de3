"""Every upload: file, uploader, time, rows loaded and rejected, status, its report; withdraw a mistaken one.

A withdrawal takes the upload's rows out of training and of the at-risk list, and is recorded with who did it
and why (``ingest.withdraw``); nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import quote

import ipywidgets as widgets
import pandas as pd

from studyrec_lib.console.widgets_html import message_html
from studyrec_lib.core.config import Settings
from studyrec_lib.ingest.history import upload_history
from studyrec_lib.ingest.withdraw import WithdrawalRefused, withdraw_dataset

# "name": the name the file was uploaded as (the console keeps its copy under another)
COLUMNS = {"dataset_id": "upload", "name": "file", "uploaded_by": "uploaded by", "uploaded_at": "when (UTC)",
           "rows_loaded": "rows loaded", "rows_rejected": "rows rejected", "status": "status"}


def history_html(history: pd.DataFrame, reports_url: str) -> str:
    if history.empty:
        return '<p class="studyrec-history-empty">No upload yet.</p>'
    head = "".join(f"<th>{escape(title)}</th>" for title in (*COLUMNS.values(), "report", "withdrawn"))
    rows = []
    history = history.assign(uploaded_at=history["uploaded_at"].dt.strftime("%Y-%m-%d %H:%M"))
    for upload in history.to_dict("records"):
        cells = "".join(f"<td>{escape('' if pd.isna(upload[c]) else str(upload[c]))}</td>" for c in COLUMNS)
        report = (f'<a target="_blank" href="{reports_url}{quote(upload["run_id"])}/'
                  f'{quote(str(upload["report"]).rsplit("/", 1)[-1])}">report</a>'
                  if isinstance(upload["report"], str) else "")
        withdrawn = (f"by {escape(str(upload['withdrawn_by']))}: {escape(str(upload['withdrawal_reason']))}"
                     if isinstance(upload.get("withdrawn_by"), str) else "")
        rows.append(f"<tr>{cells}<td>{report}</td><td>{withdrawn}</td></tr>")
    return (f'<table class="studyrec-table studyrec-history"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


class HistoryPanel:
    def __init__(self, settings: Settings, teacher: str, reports_url: str,
                 on_change: Callable[[], None] | None = None):
        self.settings, self.teacher, self.reports_url, self.on_change = settings, teacher, reports_url, on_change
        self.table = widgets.HTML()
        self.table.add_class("studyrec-history-table")
        self.upload = widgets.Dropdown(description="Upload", options=[])
        self.upload.add_class("studyrec-withdraw-upload")
        self.reason = widgets.Text(placeholder="why (e.g. the wrong class's file)", description="Reason")
        self.reason.add_class("studyrec-withdraw-reason")
        self.confirm = widgets.Checkbox(description="Yes, take its rows out of training and the at-risk list")
        self.confirm.add_class("studyrec-withdraw-confirm")
        button = widgets.Button(description="Withdraw this upload", button_style="danger")
        button.add_class("studyrec-withdraw")
        button.on_click(lambda _button: self.withdraw())
        self.message = widgets.HTML()
        self.message.add_class("studyrec-withdraw-message")
        self.widget = widgets.VBox([self.table, widgets.HTML("<h4>Withdraw a mistaken upload</h4>"), self.upload,
                                    self.reason, self.confirm, button, self.message])
        self.refresh()

    def refresh(self) -> None:
        history = upload_history(self.settings)
        self.table.value = history_html(history, self.reports_url)
        loaded = history[history["status"] == "loaded"] if len(history) else history
        self.upload.options = [(f"{u.dataset_id}: {u.name}", int(u.dataset_id)) for u in loaded.itertuples()]

    def withdraw(self) -> bool:
        if not self.confirm.value or self.upload.value is None:
            self.message.value = message_html("Choose an upload, give a reason and tick the confirmation.",
                                              "studyrec-withdraw-refused", error=True)
            return False
        try:
            done = withdraw_dataset(self.upload.value, self.teacher, self.reason.value, self.settings)
        except WithdrawalRefused as refused:
            self.message.value = message_html(str(refused), "studyrec-withdraw-refused", error=True)
            return False
        self.confirm.value, self.reason.value = False, ""
        self.refresh()
        if self.on_change is not None:
            self.on_change()
        # last: once the message says so, the tables already show it
        self.message.value = message_html(f"Upload {done['dataset_id']} is withdrawn; train again so the models "
                                          "forget its rows.", "studyrec-withdraw-done")
        return True
