"""The uploads' history in the console, and withdrawing a mistaken upload from it."""

from __future__ import annotations

from studyrec_lib.console.history import HistoryPanel
from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings

REPORTS = "/services/reports/"


def _training_rows(settings: Settings) -> int:
    return int(warehouse.query_frame("SELECT count(*) AS n FROM training_examples", settings=settings)["n"][0])


def test_the_history_lists_uploads_and_a_withdrawal_takes_exactly_its_rows_out(console_settings: Settings):
    changed = []
    panel = HistoryPanel(console_settings, "tea", REPORTS, on_change=lambda: changed.append(True))
    assert "class_of_10" in panel.table.value and "first-teacher" in panel.table.value
    ((_label, dataset_id),) = panel.upload.options
    loaded = warehouse.query_frame("SELECT count(*) AS n FROM student_performance sp JOIN datasets USING "
                                   "(dataset_id) WHERE dataset_id = ? AND final_marks IS NOT NULL",
                                   [dataset_id], settings=console_settings)["n"][0]
    before = _training_rows(console_settings)
    assert not panel.withdraw() and "tick the confirmation" in panel.message.value  # nothing without it
    panel.upload.value = dataset_id
    panel.reason.value, panel.confirm.value = "the wrong class's file", True
    assert panel.withdraw(), panel.message.value
    assert _training_rows(console_settings) == before - loaded
    assert changed == [True]
    assert "withdrawn" in panel.table.value and "by tea: the wrong class&#x27;s file" in panel.table.value
    assert panel.upload.options == ()  # nothing left to withdraw
    kept = warehouse.query_frame("SELECT count(*) AS n FROM student_performance WHERE dataset_id = ?",
                                 [dataset_id], settings=console_settings)["n"][0]
    assert kept > 0  # nothing is deleted from the audit trail


def test_a_withdrawal_without_a_reason_is_refused(console_settings: Settings):
    panel = HistoryPanel(console_settings, "tea", REPORTS)
    panel.upload.value = panel.upload.options[0][1]
    panel.confirm.value = True
    assert not panel.withdraw()
    assert "reason" in panel.message.value
    assert "<td>loaded</td>" in panel.table.value
