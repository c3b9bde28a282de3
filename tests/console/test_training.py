"""Train now: the CLI's train job in the background, with its steps shown, one at a time."""

from __future__ import annotations

import pytest

from studyrec_lib.console.training import TrainingPanel
from studyrec_lib.core.config import Settings
from studyrec_lib.runs import list_runs, retrain_lock

pytestmark = pytest.mark.timeout(600)


def test_train_now_runs_the_job_shows_its_steps_and_refuses_a_second_click(console_settings: Settings):
    finished, steps = [], []
    panel = TrainingPanel(console_settings, "tea", on_finished=lambda: finished.append(True))
    shown = panel._on_step
    panel._on_step = lambda number, words: (steps.append(number), shown(number, words))
    assert panel.start()
    assert not panel.start()  # the first is still running
    assert "still running" in panel.progress.value
    panel.thread.join(540)
    assert not panel.thread.is_alive() and finished == [True]
    assert steps == [1, 2, 3]
    assert panel.summary["status"] == "succeeded"
    assert "studyrec-train-decision" in panel.outcome.value and "naive baseline" in panel.outcome.value
    runs = list_runs(console_settings)
    assert (runs["kind"] == "train").sum() == 1 and runs["status"].iloc[-1] == "succeeded"


def test_a_training_elsewhere_holds_the_lock_and_the_button_says_so(console_settings: Settings):
    panel = TrainingPanel(console_settings, "tea")
    with retrain_lock(console_settings):
        assert not panel.start()
    assert "Another training" in panel.progress.value
    assert (list_runs(console_settings)["kind"] == "train").sum() == 0
