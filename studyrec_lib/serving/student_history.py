"""A student's own past results: the weak subjects a prediction shows to that student only."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import duckdb

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import WarehouseLocked
from studyrec_lib.core.schema import total_sql

WEAK_TOTAL = 50.0
MAX_WEAK_SUBJECTS = 5
MAX_COURSES = 60  # a student's courses offered in the app (8 semesters of a few subjects fit)
COURSE_COLUMNS = ("semester", "subject", "assignment_marks", "quiz_marks", "attendance_percentage", "midterm_marks",
                  "previous_cgpa", "final_marks")


def weak_subjects(student_id: str, settings: Settings | None = None, limit: int = MAX_WEAK_SUBJECTS) -> list[dict]:
    """The student's subjects with a course total under 50, worst first (latest result per subject)."""
    frame = warehouse.query_frame(
        f"""SELECT subject, semester, round({total_sql()}, 1) AS total, final_grade
            FROM training_examples WHERE student_id = ?
            QUALIFY row_number() OVER (PARTITION BY subject ORDER BY semester DESC) = 1""",
        [student_id], settings=settings,
    )
    weak = frame[frame["total"] < WEAK_TOTAL].sort_values(["total", "subject"]).head(limit)
    return [{"subject": r.subject, "semester": int(r.semester), "total": float(r.total), "grade": r.final_grade}
            for r in weak.itertuples()]


def student_courses(student_id: str, settings: Settings | None = None, limit: int = MAX_COURSES) -> list[dict]:
    """The student's courses as the warehouse has them: latest semester first, open rows (no final yet) first.

    One row per (semester, subject): the latest upload's. The app fills its form from these, so a student
    never types marks a teacher already recorded.
    """
    frame = warehouse.query_frame(
        f"""SELECT {", ".join(COURSE_COLUMNS)} FROM student_performance JOIN datasets USING (dataset_id)
            WHERE datasets.status = 'loaded' AND student_id = ?
            QUALIFY row_number() OVER (PARTITION BY semester, subject ORDER BY dataset_id DESC, source_row DESC) = 1
            ORDER BY semester DESC, final_marks IS NULL DESC, subject LIMIT ?""",
        [student_id, limit], settings=settings,
    )
    return [{column: (None if column == "final_marks" and value != value else value)  # NaN: no final yet
             for column, value in row.items()} for row in frame.to_dict("records")]


class WeakSubjectsCache:
    """Weak subjects per student, refreshed at most every ``ttl_s``; stale answers while the file is busy.

    A read that fails (the file held, or any DuckDB error) never fails the prediction: the answer is the
    last one read, or none, with a warning; the error's detail goes to the server log only.

    Each try of a busy file waits up to the lock timeout, and a worker under load would otherwise pay that
    wait on every request. So after the file is found busy, requests answer at once for ``busy_backoff_s``;
    then one request tries again (and extends the back-off while it does) as the others keep answering.
    """

    def __init__(self, settings: Settings, ttl_s: float = 60.0, busy_backoff_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.ttl_s = ttl_s
        self.busy_backoff_s = busy_backoff_s
        self._clock = clock
        self._entries: dict[str, tuple[float, list[dict]]] = {}
        self._busy_since: float | None = None
        self._lock = threading.Lock()

    def cached(self, student_id: str) -> tuple[list[dict], str | None] | None:
        """The answer if it needs no read of the file (a fresh entry, or the back-off in force), else None."""
        now = self._clock()
        with self._lock:
            return self._answer_without_reading(self._entries.get(student_id), now)

    def get(self, student_id: str) -> tuple[list[dict], str | None]:
        """The weak subjects, and a warning when they could not be read fresh."""
        now = self._clock()
        with self._lock:
            cached = self._entries.get(student_id)
            answer = self._answer_without_reading(cached, now)
            if answer is not None:
                return answer
            if self._busy_since is not None:
                self._busy_since = now  # this request probes the file; the others keep answering at once
        try:
            fresh = weak_subjects(student_id, self.settings)
        except (WarehouseLocked, duckdb.Error) as error:
            with self._lock:
                self._busy_since = self._clock()
            if not isinstance(error, WarehouseLocked):
                print(f"weak subjects: the warehouse could not be read ({str(error)[:300]})", file=sys.stderr)
            return self._busy_answer(cached)
        with self._lock:
            self._entries[student_id] = (now, fresh)
            if self._busy_since is not None and self._busy_since <= now:  # not a busy mark set after we began
                self._busy_since = None
        return fresh, None

    def _answer_without_reading(self, cached: tuple[float, list[dict]] | None,
                                now: float) -> tuple[list[dict], str | None] | None:
        if cached and now - cached[0] < self.ttl_s:
            return cached[1], None
        if self._busy_since is not None and now - self._busy_since < self.busy_backoff_s:
            return self._busy_answer(cached)
        return None

    @staticmethod
    def _busy_answer(cached: tuple[float, list[dict]] | None) -> tuple[list[dict], str]:
        if cached:
            return cached[1], "weak subjects may be out of date: the warehouse is busy"
        return [], "weak subjects are unavailable right now: the warehouse is busy"
