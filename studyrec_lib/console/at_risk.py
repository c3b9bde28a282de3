"""The at-risk students now: the open rows scored with the active models, sortable, filtered by subject, with
the same rows to download as XLSX (frozen header, autofilter) or CSV, formula-like text neutralised."""

from __future__ import annotations

import logging

import ipywidgets as widgets
import pandas as pd

from studyrec_lib.console.widgets_html import CSV_MIME, XLSX_MIME, download_html, message_html, table_html
from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import NoActiveModel
from studyrec_lib.evaluation.at_risk import at_risk_download, teacher_table
from studyrec_lib.monitoring.at_risk_now import current_at_risk

ALL_SUBJECTS = "All subjects"
SORTS = {"Chance of D or F, highest first": (["at_risk", "p_d_or_f"], [False, False]),
         "Student": (["student_id", "subject"], [True, True]),
         "Subject": (["subject", "p_d_or_f"], [True, False]),
         "Predicted grade, lowest first": (["predicted_total"], [True])}
ONLY_AT_RISK = "Only students at risk"

log = logging.getLogger(__name__)


class AtRiskPanel:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.rows = pd.DataFrame()
        self.subject = widgets.Dropdown(description="Subject", options=[ALL_SUBJECTS])
        self.subject.add_class("studyrec-at-risk-subject")
        self.sort = widgets.Dropdown(description="Sort by", options=list(SORTS))
        self.sort.add_class("studyrec-at-risk-sort")
        self.only_at_risk = widgets.Checkbox(value=True, description=ONLY_AT_RISK)
        for control in (self.subject, self.sort, self.only_at_risk):
            control.observe(lambda _change: self.show(), names="value")
        refresh = widgets.Button(description="Refresh")
        refresh.on_click(lambda _button: self.refresh())
        self.downloads = widgets.HTML()
        self.downloads.add_class("studyrec-at-risk-downloads")
        self.table = widgets.HTML()
        self.table.add_class("studyrec-at-risk-table")
        self.widget = widgets.VBox([widgets.HBox([self.subject, self.sort, self.only_at_risk, refresh],
                                                 layout=widgets.Layout(flex_flow="row wrap")),
                                    self.downloads, self.table])
        self.refresh()

    def refresh(self) -> None:
        """Score the open rows again (a new upload, withdrawal or activation changes them)."""
        try:
            self.rows = current_at_risk(self.settings)
        except NoActiveModel:
            self.rows = pd.DataFrame()
            self.table.value = message_html("No model is active yet: train one (Training tab) to see who is at "
                                            "risk.", "studyrec-at-risk-empty")
            self.downloads.value = ""
            return
        except Exception:
            log.exception("teacher console: the at-risk list cannot be made")
            self.table.value = message_html("The at-risk list cannot be made just now; try Refresh in a minute.",
                                            "studyrec-at-risk-empty", error=True)
            return
        subjects = sorted(self.rows["subject"].unique()) if len(self.rows) else []
        self.subject.options = [ALL_SUBJECTS, *subjects]
        self.show()

    def shown(self) -> pd.DataFrame:
        """The rows as the table shows them: filtered by subject and flag, in the chosen order."""
        rows = self.rows
        if rows.empty:
            return rows
        if self.subject.value != ALL_SUBJECTS:
            rows = rows[rows["subject"] == self.subject.value]
        if self.only_at_risk.value:
            rows = rows[rows["at_risk"]]
        columns, ascending = SORTS[self.sort.value]
        return rows.sort_values(columns, ascending=ascending, kind="stable", ignore_index=True)

    def show(self) -> None:
        rows = self.shown()
        if self.rows.empty:
            self.table.value = message_html("No open rows: every loaded student has final marks.",
                                            "studyrec-at-risk-empty")
            self.downloads.value = ""
            return
        flagged = int(self.rows["at_risk"].sum())
        summary = message_html(f"{flagged} of {len(self.rows)} open rows are at risk; {len(rows)} shown.",
                               "studyrec-at-risk-summary")
        # the downloads first: a click on them never gets the rows of the previous filter
        self.downloads.value = (
            download_html(at_risk_download(rows, "xlsx"), "at_risk.xlsx", XLSX_MIME, "Download as Excel (XLSX)",
                          "studyrec-at-risk-xlsx") + " &nbsp; "
            + download_html(at_risk_download(rows, "csv"), "at_risk.csv", CSV_MIME, "Download as CSV",
                            "studyrec-at-risk-csv"))
        self.table.value = summary + table_html(teacher_table(rows), "studyrec-at-risk",
                                                empty="No row matches this filter.")
