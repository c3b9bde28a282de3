import dataclasses
import itertools

import pandas as pd
import pytest

from studyrec_lib.core.config import load_settings
from studyrec_lib.core.errors import WarehouseLocked
from studyrec_lib.core.schema import COLUMNS, grade_for_total
from studyrec_lib.ingest import ingest_file
from studyrec_lib.serving import student_history
from studyrec_lib.serving.student_history import MAX_WEAK_SUBJECTS, WeakSubjectsCache, weak_subjects


def _row(student: str, semester: int, subject: str, total: float | None) -> dict:
    """A row with course total ``total``: 2 assignment + 3 for 60% attendance + 4 quiz + midterm + final."""
    row = {"student_id": student, "semester": semester, "subject": subject, "assignment_marks": 2.0,
           "quiz_marks": 4.0, "attendance_percentage": 60.0, "midterm_marks": 10.0, "previous_cgpa": 2.5,
           "final_marks": None, "final_grade": None}
    if total is not None:
        final = min(50.0, max(0.0, round(total - 19, 1)))
        row["midterm_marks"] = round(total - 9 - final, 1)
        assert 0 <= row["midterm_marks"] <= 30
        row["final_marks"] = final
        row["final_grade"] = grade_for_total(total)[0]
    return row


ROWS = [
    _row("S1", 1, "Mathematics", 30.0), _row("S1", 3, "Mathematics", 70.0),  # latest result is fine
    _row("S1", 4, "Mathematics", None),  # still open: no total yet
    _row("S1", 1, "Physics", 70.0), _row("S1", 2, "Physics", 40.0),  # latest result is weak
    _row("S1", 2, "Chemistry", 20.0),
    _row("S1", 1, "English", 45.0),
    _row("S1", 2, "Economics", 49.9),
    _row("S1", 3, "Statistics", 50.0),  # exactly 50 is not weak
    _row("S1", 3, "Databases", 35.0),
    _row("S1", 3, "Programming", 44.0),
    _row("S1", 4, "Biology", 48.0),
    _row("S2", 1, "Art", 12.0), _row("S2", 1, "Mathematics", 10.0),  # another student's
    _row("S3", 1, "Physics", 85.0),
]
EXPECTED = [("Chemistry", 2, 20.0, "F"), ("Databases", 3, 35.0, "F"), ("Physics", 2, 40.0, "D"),
            ("Programming", 3, 44.0, "D"), ("English", 1, 45.0, "D"), ("Biology", 4, 48.0, "D"),
            ("Economics", 2, 49.9, "D")]


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    settings = load_settings(warehouse=root / "warehouse.duckdb", runs_dir=root / "runs")
    path = root / "results.csv"
    pd.DataFrame(ROWS, columns=list(COLUMNS)).to_csv(path, index=False)
    result = ingest_file(path, settings=settings, progress=None)
    assert result.summary.status == "loaded", result.summary.message
    assert result.summary.rows_loaded == len(ROWS)
    return settings


def _tuples(found: list[dict]) -> list[tuple]:
    return [(w["subject"], w["semester"], w["total"], w["grade"]) for w in found]


def test_weak_subjects_are_the_students_own_worst_first_at_most_five(history):
    found = weak_subjects("S1", history)
    assert MAX_WEAK_SUBJECTS == 5
    assert _tuples(found) == EXPECTED[:5]
    assert all(set(w) == {"subject", "semester", "total", "grade"} for w in found)


def test_weak_subjects_limit_and_boundaries(history):
    everything = weak_subjects("S1", history, limit=100)
    assert _tuples(everything) == EXPECTED
    subjects = {w["subject"] for w in everything}
    assert "Statistics" not in subjects  # total exactly 50
    assert "Mathematics" not in subjects  # weak once, fine in the latest semester
    assert "Art" not in subjects  # another student's subject
    assert _tuples(weak_subjects("S1", history, limit=2)) == EXPECTED[:2]


def test_weak_subjects_of_other_students(history):
    assert _tuples(weak_subjects("S2", history)) == [("Mathematics", 1, 10.0, "F"), ("Art", 1, 12.0, "F")]
    assert weak_subjects("S3", history) == []
    assert weak_subjects("nobody", history) == []


def test_weak_subjects_raise_warehouse_locked_while_another_process_holds_it(history, hold_warehouse):
    quick = dataclasses.replace(history, lock_timeout_s=0.2)
    with hold_warehouse(quick.warehouse), pytest.raises(WarehouseLocked):
        weak_subjects("S1", quick)


def test_cache_answers_with_a_warning_while_the_warehouse_is_busy(history, hold_warehouse):
    quick = dataclasses.replace(history, lock_timeout_s=0.2)
    cache = WeakSubjectsCache(quick, ttl_s=0, busy_backoff_s=0)  # every call tries a fresh read
    fresh, warning = cache.get("S1")
    assert warning is None
    assert _tuples(fresh) == EXPECTED[:5]
    with hold_warehouse(quick.warehouse):
        stale, warning = cache.get("S1")
        assert stale == fresh
        assert warning == "weak subjects may be out of date: the warehouse is busy"
        never_read, warning = cache.get("S2")
        assert never_read == []
        assert warning == "weak subjects are unavailable right now: the warehouse is busy"
    again, warning = cache.get("S2")  # free again: read fresh
    assert warning is None
    assert [w["subject"] for w in again] == ["Mathematics", "Art"]


def test_a_busy_warehouse_is_not_tried_again_until_the_backoff_has_passed(history, hold_warehouse, monkeypatch):
    """Each try waits up to the lock timeout: under load, every request would pay it while the file is held."""
    quick = dataclasses.replace(history, lock_timeout_s=0.2)
    tries = []
    real_read = student_history.weak_subjects
    monkeypatch.setattr(student_history, "weak_subjects", lambda *args: tries.append(args[0]) or real_read(*args))
    now = [100.0]
    cache = WeakSubjectsCache(quick, ttl_s=10, busy_backoff_s=5, clock=lambda: now[0])
    assert cache.cached("S1") is None  # never read: only get() reads
    fresh, _ = cache.get("S1")
    assert cache.cached("S1") == (fresh, None)
    unavailable = ([], "weak subjects are unavailable right now: the warehouse is busy")
    stale = (fresh, "weak subjects may be out of date: the warehouse is busy")
    with hold_warehouse(quick.warehouse):
        now[0] = 111.0  # S1's entry is past its TTL
        assert cache.get("S1") == stale
        now[0] = 115.9
        assert cache.get("S2") == unavailable
        assert cache.get("S1") == stale
        assert cache.cached("S1") == stale  # the back-off answers without a read
        assert tries == ["S1", "S1"]  # the two requests in the back-off did not wait on the lock
        now[0] = 116.1
        assert cache.cached("S2") is None  # the back-off is over: the next get() tries the file
        assert cache.get("S2") == unavailable
        assert tries == ["S1", "S1", "S2"]  # the back-off has passed: one try, and the file is still busy
    now[0] = 117.0
    assert cache.get("S2") == unavailable  # freed, but the last busy try was a moment ago
    now[0] = 121.2
    again, warning = cache.get("S2")
    assert warning is None
    assert [w["subject"] for w in again] == ["Mathematics", "Art"]
    assert cache.get("S1") == (fresh, None)  # the busy state is over: S1 is read at once
    assert tries == ["S1", "S1", "S2", "S2", "S1"]


def _scripted_reads(monkeypatch, script: dict) -> list[str]:
    """weak_subjects replaced: each student's read runs ``script[student]`` (raise, or call back) first."""
    tries: list[str] = []

    def read(student_id, _settings=None):
        tries.append(student_id)
        script.get(student_id, lambda: None)()
        return [{"subject": student_id}]

    monkeypatch.setattr(student_history, "weak_subjects", read)
    return tries


def _locked():
    raise WarehouseLocked("held")


def test_while_one_request_probes_the_busy_file_the_others_answer_at_once(history, monkeypatch):
    now = [0.0]
    cache = WeakSubjectsCache(history, ttl_s=60, busy_backoff_s=5, clock=lambda: now[0])
    answers = []
    tries = _scripted_reads(monkeypatch, {"S1": _locked, "S2": lambda: answers.append(cache.get("S3"))})
    assert cache.get("S1")[0] == []
    now[0] = 6.0
    assert cache.get("S2") == ([{"subject": "S2"}], None)  # the probe found the file free again
    assert answers == [([], "weak subjects are unavailable right now: the warehouse is busy")]
    assert tries == ["S1", "S2"]  # S3 arrived during the probe and did not try the file
    assert cache.get("S3") == ([{"subject": "S3"}], None)


def test_a_read_that_began_before_the_file_got_busy_does_not_end_the_back_off(history, monkeypatch):
    ticks = itertools.count()
    cache = WeakSubjectsCache(history, ttl_s=60, busy_backoff_s=5, clock=lambda: next(ticks))
    tries = _scripted_reads(monkeypatch, {"S1": lambda: cache.get("S2"), "S2": _locked})
    assert cache.get("S1") == ([{"subject": "S1"}], None)  # S2 found the file busy during S1's read
    assert cache.get("S3") == ([], "weak subjects are unavailable right now: the warehouse is busy")
    assert tries == ["S1", "S2"]


def test_cache_within_its_ttl_does_not_read_the_warehouse(history, hold_warehouse):
    quick = dataclasses.replace(history, lock_timeout_s=0.2)
    cache = WeakSubjectsCache(quick, ttl_s=3600)
    fresh, _ = cache.get("S1")
    with hold_warehouse(quick.warehouse):
        cached, warning = cache.get("S1")
    assert warning is None
    assert cached == fresh


def test_a_warehouse_error_other_than_a_lock_gives_an_answer_with_a_warning_not_an_error(history, monkeypatch,
                                                                                          capsys):
    """Seen under load: DuckDB's 'different configuration' error escaped get() and the API answered 500."""
    import duckdb

    now = [0.0]
    cache = WeakSubjectsCache(history, ttl_s=10, busy_backoff_s=5, clock=lambda: now[0])
    fresh, _ = cache.get("S1")

    def failing(*_args):
        raise duckdb.ConnectionException("Connection Error: Can't open a connection to same database file with a "
                                         "different configuration than existing connections")

    monkeypatch.setattr(student_history, "weak_subjects", failing)
    now[0] = 11.0  # S1's entry is past its TTL
    assert cache.get("S1") == (fresh, "weak subjects may be out of date: the warehouse is busy")
    now[0] = 17.0  # past the back-off: S2 tries the file and fails too
    assert cache.get("S2") == ([], "weak subjects are unavailable right now: the warehouse is busy")
    assert capsys.readouterr().err.count("different configuration") == 2  # the detail is logged, not shown
