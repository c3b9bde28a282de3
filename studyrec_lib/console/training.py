"""Train now: the same train-and-evaluate job as ``studyrec train``, in the background, one at a time.

The job runs in a thread of the console's kernel under the retrain lock (``runs.retrain_lock``), so a second
click, another teacher's console or a monitoring retrain is refused while it runs, instead of two trainings
racing to activate. The panel shows the step and the time it has taken; at the end, the chosen models, their
figures beside the version that was active and the naive baseline, and whether they were activated and why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from html import escape

import ipywidgets as widgets
import pandas as pd

from studyrec_lib import registry
from studyrec_lib.console.widgets_html import message_html, table_html
from studyrec_lib.core.config import Settings
from studyrec_lib.core.metric_words import metric_words
from studyrec_lib.runs import TRAIN_STEPS, RetrainBusy, retrain_lock, run_train

TICK_S = 1.0

log = logging.getLogger(__name__)


class TrainingPanel:
    """The "Train now" button, the job's progress, and its outcome."""

    def __init__(self, settings: Settings, teacher: str, on_finished: Callable[[], None] | None = None):
        self.settings, self.teacher, self.on_finished = settings, teacher, on_finished
        self.button = widgets.Button(description="Train now", button_style="primary")
        self.button.add_class("studyrec-train-now")
        self.button.on_click(lambda _button: self.start())
        self.progress = widgets.HTML()
        self.progress.add_class("studyrec-train-progress")
        self.outcome = widgets.HTML()
        self.outcome.add_class("studyrec-train-outcome")
        intro = widgets.HTML("<p>Trains new models on every loaded upload, evaluates them, and activates them "
                             "when they beat the naive baseline. It takes a few minutes; you can keep working.</p>")
        self.widget = widgets.VBox([intro, self.button, self.progress, self.outcome])
        self.thread: threading.Thread | None = None
        self.step = ""
        self.summary: dict | None = None

    def start(self) -> bool:
        """Start a training in the background; False (and a message) when one is already running."""
        if self.thread is not None and self.thread.is_alive():
            self.progress.value = message_html("A training started here is still running: wait for it to end.",
                                               "studyrec-train-refused", error=True)
            return False
        ready, started = threading.Event(), {"ok": False}
        self.thread = threading.Thread(target=self._run, args=(ready, started), daemon=True,
                                       name="studyrec-train-now")
        self.thread.start()
        ready.wait(30)  # until the lock is taken or refused
        return started["ok"]

    def _run(self, ready: threading.Event, started: dict) -> None:
        began = time.monotonic()
        try:
            with retrain_lock(self.settings):
                started["ok"] = True
                ready.set()
                self.button.disabled = True
                before = registry.active_versions(self.settings)
                ticker = threading.Thread(target=self._tick, args=(began,), daemon=True)
                self.step = "starting"
                ticker.start()
                self.summary = run_train(settings=self.settings, progress=False, on_step=self._on_step,
                                         reason=f"trained from the teacher console by {self.teacher}")
            self.outcome.value = outcome_html(self.summary, before, self.settings)
        except RetrainBusy:
            self.progress.value = message_html("Another training (from another page, another teacher or a "
                                               "scheduled retrain) is running: try again when it has ended.",
                                               "studyrec-train-refused", error=True)
        except Exception:
            log.exception("teacher console: the training failed")
            self.outcome.value = message_html("The training could not run. The details are in the server log; "
                                              "try again, and tell an analyst if it keeps failing.",
                                              "studyrec-train-failed", error=True)
        finally:
            ready.set()
            self.step = ""
            self.button.disabled = False
            if started["ok"]:
                self.progress.value = message_html(f"Finished after {time.monotonic() - began:.0f} s.",
                                                   "studyrec-train-done")
                if self.on_finished is not None:
                    self.on_finished()

    def _on_step(self, number: int, words: str) -> None:
        self.step = f"Step {number} of {len(TRAIN_STEPS)}: {words}"

    def _tick(self, began: float) -> None:
        while self.step:
            self.progress.value = message_html(f"{self.step}... ({time.monotonic() - began:.0f} s)",
                                               "studyrec-train-running")
            time.sleep(TICK_S)


def outcome_html(summary: dict, before: dict, settings: Settings) -> str:
    """What the training decided, in words, with its figures beside the previous version and the baseline."""
    if summary.get("status") != "succeeded":
        return message_html(f"The training failed: {summary.get('error') or 'see its report'}.",
                            "studyrec-train-failed", error=True)
    rows = []
    for task, gate in summary["quality_gate"].items():
        previous = before.get(task, {}).get("version")
        previous_value = ((registry.version_metrics(previous, settings).get(task) or {}).get(gate["metric"])
                          if previous else None)
        rows.append({"task": "final marks" if task == "regression" else "final grade",
                     "chosen model": summary["chosen"].get(task, ""),
                     "measure": metric_words(gate["metric"], direction=True),
                     "new version": gate["model"], "active before": previous_value,
                     "naive baseline": gate["naive"],
                     "beats the baseline": "yes" if gate["passed"] else "no"})
    activated, kept = summary.get("activated") or {}, summary.get("kept_pinned") or {}
    sentences = [f"Activated version {next(iter(activated.values()))} for {' and '.join(sorted(activated))}: "
                 "it beats the naive baseline."] if activated else []
    sentences += [f"Pinned version {version} kept for {task}: a person chose it (Models tab)."
                  for task, version in sorted(kept.items())]
    sentences += [challenge["reason"] for challenge in (summary.get("challenge") or {}).values()
                  if challenge and challenge["verdict"] == "challenger_worse"]
    decision = " ".join(sentences) or ("Nothing was activated: no new model beat the naive baseline; the active "
                                       "version stays.")
    return (f'<p class="studyrec-train-decision"><b>{escape(decision)}</b></p>'
            + table_html(pd.DataFrame(rows), "studyrec-train-figures"))
