"""The at-risk list in the console: the active models' view of the open rows, filtered, sorted, downloaded."""

from __future__ import annotations

import base64
import io
import re

import openpyxl
import pandas as pd

from studyrec_lib.console.at_risk import ALL_SUBJECTS, AtRiskPanel
from studyrec_lib.core.config import Settings
from studyrec_lib.evaluation.at_risk import teacher_table
from studyrec_lib.monitoring.at_risk_now import current_at_risk


def _download(html: str, css_class: str) -> bytes:
    found = re.search(rf'class="{css_class}" download="[^"]+" href="data:[^;]+;base64,([^"]+)"', html)
    assert found, html[:300]
    return base64.b64decode(found[1])


def test_the_table_is_the_current_list_filtered_by_subject_and_the_download_holds_its_rows(console_settings):
    panel = AtRiskPanel(console_settings)
    now = current_at_risk(console_settings)
    assert len(panel.rows) == len(now) > 0
    panel.only_at_risk.value = False
    subject = sorted(now["subject"].unique())[0]
    panel.subject.value = subject
    shown = panel.shown()
    assert set(shown["subject"]) == {subject} and len(shown) == (now["subject"] == subject).sum()
    assert list(shown["p_d_or_f"]) == sorted(shown["p_d_or_f"], reverse=True) or shown["at_risk"].any()
    sheet = openpyxl.load_workbook(io.BytesIO(_download(panel.downloads.value, "studyrec-at-risk-xlsx"))).active
    rows = list(sheet.values)
    expected = teacher_table(shown)
    assert list(rows[0]) == list(expected.columns)
    assert len(rows) - 1 == len(expected)
    assert [r[0] for r in rows[1:]] == list(expected.iloc[:, 0])
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    csv = pd.read_csv(io.BytesIO(_download(panel.downloads.value, "studyrec-at-risk-csv")))
    assert len(csv) == len(expected)
    panel.subject.value = ALL_SUBJECTS
    panel.sort.value = "Student"
    assert list(panel.shown()["student_id"]) == sorted(panel.shown()["student_id"])


def test_no_model_says_to_train_one(settings: Settings):
    panel = AtRiskPanel(settings)
    assert "No model is active yet" in panel.table.value and panel.downloads.value == ""
