"""Warnings a model raised while it was fitted (e.g. ConvergenceWarning), recorded per fit.

Training fits candidates side by side, in processes or, on large data, in threads. ``warnings.catch_warnings``
swaps process-wide state, so two threads using it at once lose or leak each other's records. Here one
dispatcher is installed while any fit records, and each thread collects into its own list.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

MAX_WARNINGS = 10  # distinct warnings kept per candidate; the rest are counted
MAX_TEXT = 300  # characters kept of one warning's text

_lock = threading.Lock()
_local = threading.local()
_recorders = 0
_guard: warnings.catch_warnings | None = None
_shown_before = warnings.showwarning


def _text(category: type[Warning], message: Warning | str) -> str:
    text = f"{category.__name__}: {message}".replace("\n", " ")
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _dispatch(message, category, filename, lineno, file=None, line=None) -> None:
    records = getattr(_local, "records", None)
    if records is None:  # a thread that is not fitting: shown as it would have been
        _shown_before(message, category, filename, lineno, file, line)
    else:
        records.append(_text(category, message))


@contextmanager
def recorded() -> Iterator[list[str]]:
    """The warnings this thread raises inside the block, every one (not only the first per code line)."""
    global _recorders, _guard, _shown_before
    with _lock:
        if _recorders == 0:
            _guard = warnings.catch_warnings()
            _guard.__enter__()  # restores the filters and showwarning when the last recorder ends
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", DeprecationWarning)  # addressed to developers, not to a school
            _shown_before, warnings.showwarning = warnings.showwarning, _dispatch
        _recorders += 1
    outer = getattr(_local, "records", None)
    records: list[str] = []
    _local.records = records
    try:
        yield records
    finally:
        _local.records = outer
        if outer is not None:
            outer.extend(records)
        with _lock:
            _recorders -= 1
            if _recorders == 0 and _guard is not None:
                _guard.__exit__(None, None, None)
                _guard = None


def summarised(records: Iterable[str]) -> list[str]:
    """Distinct warnings in first-seen order, at most MAX_WARNINGS, then how many more were left out."""
    distinct = list(dict.fromkeys(records))
    if len(distinct) <= MAX_WARNINGS:
        return distinct
    return [*distinct[:MAX_WARNINGS], f"... and {len(distinct) - MAX_WARNINGS} other warnings"]
