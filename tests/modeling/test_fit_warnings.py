"""Fit warnings are recorded per thread, every one, and leave the process's warning state as it was."""

import threading
import warnings

from studyrec_lib.modeling import fit_warnings
from studyrec_lib.modeling.fit_warnings import MAX_TEXT, MAX_WARNINGS, recorded, summarised


def _warn(text: str, category: type[Warning] = UserWarning) -> None:
    warnings.warn(text, category, stacklevel=1)  # the same code line every time


def test_every_warning_is_recorded_not_only_the_first_of_a_code_line():
    with recorded() as raised:
        for _ in range(3):
            _warn("again")
        _warn("old api", DeprecationWarning)  # for developers: not a school's concern
    assert raised == ["UserWarning: again"] * 3


def test_two_threads_recording_at_once_keep_their_own_warnings_and_restore_the_state():
    filters, shown = list(warnings.filters), warnings.showwarning
    both_inside, records = threading.Barrier(2), {}

    def fit(name: str, leave_first: bool) -> None:
        with recorded() as raised:
            both_inside.wait(timeout=10)
            _warn(f"from {name}")
            if not leave_first:
                both_inside.wait(timeout=10)  # the other thread has left: still recording here
                _warn(f"later from {name}")
        records[name] = raised
        if leave_first:
            both_inside.wait(timeout=10)

    threads = [threading.Thread(target=fit, args=("a", True)), threading.Thread(target=fit, args=("b", False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert records == {"a": ["UserWarning: from a"], "b": ["UserWarning: from b", "UserWarning: later from b"]}
    assert list(warnings.filters) == filters and warnings.showwarning is shown


def test_a_thread_that_is_not_recording_still_sees_its_warnings(recwarn):
    with recorded() as raised:
        seen = []
        thread = threading.Thread(target=lambda: seen.append(_warn("elsewhere")))
        thread.start()
        thread.join(timeout=10)
    assert raised == []
    assert any("elsewhere" in str(warning.message) for warning in recwarn.list)


def test_long_and_many_warnings_are_capped():
    with recorded() as raised:
        _warn("x" * 10_000)
    assert len(raised[0]) == MAX_TEXT and raised[0].endswith("…")
    many = summarised([f"w{i}" for i in range(MAX_WARNINGS + 5)] * 2)
    assert many[:MAX_WARNINGS] == [f"w{i}" for i in range(MAX_WARNINGS)]
    assert many[-1] == "... and 5 other warnings" and len(many) == MAX_WARNINGS + 1
    assert fit_warnings.summarised(["a", "b", "a"]) == ["a", "b"]
