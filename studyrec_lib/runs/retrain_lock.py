"""One retrain at a time: a file lock beside the warehouse, held by the job that starts the retrain.

Monitoring only decides that a retrain is due; the job runner (:func:`studyrec_lib.runs.jobs.run_retrain`)
takes this lock and starts the training run, so two monitoring runs that both decide on a retrain (cron and a
person, say) never train at once: the second one skips and says so.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.core.files import beside_warehouse

LOCK_SUFFIX = ".retrain.lock"


class RetrainBusy(StudyRecError):
    """Another retrain holds the lock."""


@contextmanager
def retrain_lock(settings: Settings) -> Iterator[Path]:
    """Hold the retrain lock (``warehouse.duckdb.retrain.lock``) for the ``with`` block, without waiting.

    Raises:
        RetrainBusy: another process holds it.
    """
    path = beside_warehouse(settings, LOCK_SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise RetrainBusy(f"another retrain is running (lock {path}); this one is skipped.") from error
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
