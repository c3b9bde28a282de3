"""Model versions for teachers: which is active, its figures, the run that made it, its model card; download an
artifact with its sha256 (to check it by hand); roll back, for hub admins only, after a confirmation.

A rollback is an activation like ``studyrec activate``, recorded with who did it (its reason names them).
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import ipywidgets as widgets
import pandas as pd

from studyrec_lib import registry
from studyrec_lib.console.widgets_html import download_html, message_html, table_html
from studyrec_lib.core import run_files
from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.core.files import file_sha256
from studyrec_lib.core.metric_words import metric_words

MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024  # larger artifacts: their path and sha256 only (an analyst copies them)
OCTET_STREAM = "application/octet-stream"

log = logging.getLogger(__name__)


def versions_table(settings: Settings) -> pd.DataFrame:
    """One row per version (both tasks side by side), newest first, in words a teacher reads."""
    versions = registry.list_versions(settings)
    if versions.empty:
        return pd.DataFrame()
    wide = versions.pivot_table(index=["version", "run_id"], columns="task", aggfunc="first",
                                values=["algorithm", "active", "cv_rmse", "cv_f1_weighted", "passes_gate"])
    rows = []
    for (version, run_id), row in wide.sort_index(ascending=False).iterrows():
        active = [task for task in registry.TASKS if bool(row.get(("active", task), False))]
        rows.append({"version": version, "active": " and ".join(active) if active else "",
                     "final-marks model": row.get(("algorithm", "regression")),
                     metric_words("cv_rmse"): row.get(("cv_rmse", "regression")),
                     "grade model": row.get(("algorithm", "classification")),
                     metric_words("cv_f1_weighted"): row.get(("cv_f1_weighted", "classification")),
                     "run": run_id})
    return pd.DataFrame(rows)


class ModelsPanel:
    """The versions, their cards and artifacts; the rollback controls only for a hub admin."""

    def __init__(self, settings: Settings, teacher: str, admin: bool, reports_url: str):
        self.settings, self.teacher, self.admin, self.reports_url = settings, teacher, admin, reports_url
        self.table = widgets.HTML()
        self.table.add_class("studyrec-models-table")
        self.version = widgets.Dropdown(description="Version", options=[])
        self.version.add_class("studyrec-models-version")
        self.version.observe(lambda _change: self.show_version(), names="value")
        self.details = widgets.HTML()
        self.details.add_class("studyrec-models-details")
        self.confirm = widgets.Checkbox(description="Yes, make this version the active one for every student")
        self.confirm.add_class("studyrec-rollback-confirm")
        self.rollback_button = widgets.Button(description="Roll back to this version", button_style="warning")
        self.rollback_button.add_class("studyrec-rollback")
        self.rollback_button.on_click(lambda _button: self.roll_back())
        self.message = widgets.HTML()
        self.message.add_class("studyrec-models-message")
        admin_row = ([self.confirm, self.rollback_button] if admin else
                     [widgets.HTML("<p>Only hub admins can roll back to another version.</p>")])
        self.widget = widgets.VBox([self.table, self.version, self.details, *admin_row, self.message])
        self.refresh()

    def refresh(self) -> None:
        table = versions_table(self.settings)
        self.table.value = table_html(table, "studyrec-models", empty="No model has been trained yet.")
        self.version.options = list(table["version"]) if not table.empty else []

    def show_version(self) -> None:
        """The chosen version's model card link and its artifacts with their sha256, to download."""
        version = self.version.value
        if not version:
            self.details.value = ""
            return
        entries = registry.list_versions(self.settings).query("version == @version")
        parts = [f'<p><a class="studyrec-model-card" target="_blank" href="{self.reports_url}'
                 f'{quote(str(entries["run_id"].iloc[0]))}/{run_files.MODEL_CARD}">Model card</a></p>']
        for entry in entries.itertuples():
            parts.append(self._artifact_html(entry.task, version, Path(entry.artifact_path), entry.artifact_sha256))
        self.details.value = "".join(parts)

    @staticmethod
    def _artifact_html(task: str, version: str, path: Path, sha256: str) -> str:
        name = f"{version}-{task}{path.suffix}"
        if not path.is_file():
            return message_html(f"The {task} artifact is missing on the server.", "studyrec-artifact", error=True)
        if path.stat().st_size > MAX_DOWNLOAD_BYTES or file_sha256(path) != sha256:
            return message_html(f"{task}: {path.name}, sha256 {sha256} (too large to download here, or changed "
                                "since it was registered: ask an analyst).", "studyrec-artifact")
        return (download_html(path.read_bytes(), name, OCTET_STREAM, f"Download the {task} model", "studyrec-artifact")
                + f' <code class="studyrec-artifact-sha256">sha256 {sha256}</code><br>')

    def roll_back(self) -> bool:
        """Activate the chosen version for both tasks; refused without admin rights or confirmation."""
        if not self.admin:
            self.message.value = message_html("Only hub admins can roll back.", "studyrec-rollback-refused", True)
            return False
        if not self.confirm.value or not self.version.value:
            self.message.value = message_html("Choose a version and tick the confirmation first.",
                                              "studyrec-rollback-refused", True)
            return False
        try:
            registry.activate(self.version.value, "both", settings=self.settings, pinned=True,
                              reason=f"rolled back by {self.teacher} in the teacher console")
        except StudyRecError as error:
            self.message.value = message_html(str(error), "studyrec-rollback-refused", True)
            return False
        self.confirm.value = False
        self.message.value = message_html(f"Version {self.version.value} is now active for every student.",
                                          "studyrec-rollback-done")
        self.refresh()
        return True
