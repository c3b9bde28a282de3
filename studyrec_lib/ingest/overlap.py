"""How an upload meets the rows already loaded: the rows it replaces, and the student ids that look reused.

Both compare the upload's valid rows with the rows of loaded datasets (a refused or withdrawn dataset does
not count), inside the load's transaction, so what is reported is what the load changes.

- **Replaced rows**: a row of the upload replaces an earlier one when both have the same key (student_id,
  semester, subject): the latest upload of a key is what the apps show and, once it has final marks, what
  models learn from.
- **Reused student ids** (:data:`REUSED_ID_RULE`): for one student id and one semester, the earlier rows (the
  latest of each key) and the upload's disagree when their previous_cgpa differ by more than
  :data:`CGPA_TOLERANCE` (previous CGPA is one number per student and semester, the same for every subject),
  or when both hold at least :data:`MIN_SUBJECTS_COMPARED` subjects and no subject is in both. Files of one
  course each (one subject per student) are not compared by subject: two courses of one semester share none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pandas as pd

from studyrec_lib.core.input_limits import echo, echo_list

CGPA_TOLERANCE = 0.01
MIN_SUBJECTS_COMPARED = 2
SHOWN_DATASETS = 5  # the datasets a message names; the rest are counted
SHOWN_IDS = 5  # the student ids a warning names
REUSED_ID_RULE = (
    f"their earlier rows of the same semester have a previous CGPA more than {CGPA_TOLERANCE:g} away, or no "
    f"subject in common where both list {MIN_SUBJECTS_COMPARED} or more"
)

LOADED_ROWS = """
    SELECT sp.dataset_id, d.source_file, sp.student_id, sp.semester, sp.subject, sp.previous_cgpa, sp.source_row
    FROM student_performance AS sp JOIN datasets AS d USING (dataset_id)
    WHERE d.status = 'loaded'
"""


@dataclass(frozen=True)
class Replaced:
    """How many of the upload's rows replace earlier rows, and how many of each earlier dataset they replace."""

    rows: int
    datasets: list[tuple[int, str, int]]  # (dataset_id, file name, rows of the upload replacing its rows)

    def details(self) -> str:
        """"120 of dataset 3 'term1.csv', 32 of dataset 5 'term1-fixed.xlsx'"."""
        shown = [f"{rows} of dataset {dataset_id} {echo(source_file)!r}"
                 for dataset_id, source_file, rows in self.datasets[:SHOWN_DATASETS]]
        more = len(self.datasets) - SHOWN_DATASETS
        return ", ".join(shown) + (f" and {more} more datasets" if more > 0 else "")

    def warning(self) -> str:
        return (f"{self.rows} rows replace rows loaded before for the same student, semester and subject: "
                f"{self.details()}.")


@dataclass(frozen=True)
class ReusedIds:
    """Student ids of the upload whose earlier rows disagree with it (:data:`REUSED_ID_RULE`), in file order."""

    ids: list[str]

    def first(self) -> list[str]:
        """The first :data:`SHOWN_IDS` ids, each cut as a message echoes it."""
        return [echo(student_id) for student_id in self.ids[:SHOWN_IDS]]

    def warning(self) -> str:
        return (f"{len(self.ids)} student ids of this file may belong to other students already loaded "
                f"({REUSED_ID_RULE}): {echo_list(self.ids, SHOWN_IDS)}. Check that these ids were not reused.")


def replaced_rows(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> Replaced:
    """The upload's rows whose key was loaded before, counted in all and per earlier dataset."""
    with _registered(con, rows):
        total = con.execute(
            f"""SELECT count(*) FROM upload AS u
                WHERE EXISTS (SELECT 1 FROM ({LOADED_ROWS}) AS e
                              WHERE (e.student_id, e.semester, e.subject) = (u.student_id, u.semester, u.subject))"""
        ).fetchone()[0]
        datasets = con.execute(
            f"""SELECT e.dataset_id, any_value(e.source_file), count(*) AS n
                FROM upload AS u JOIN ({LOADED_ROWS}) AS e USING (student_id, semester, subject)
                GROUP BY e.dataset_id ORDER BY n DESC, e.dataset_id"""
        ).fetchall()
    return Replaced(int(total), [(int(d), str(f), int(n)) for d, f, n in datasets])


def reused_student_ids(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> ReusedIds:
    """The upload's student ids whose earlier rows of the same semester disagree with it (module docstring)."""
    with _registered(con, rows):
        found = con.execute(
            f"""
            WITH earlier AS (  -- the current earlier rows of the upload's students: the latest of each key
                SELECT * FROM (
                    SELECT *, row_number() OVER (PARTITION BY student_id, semester, subject
                                                 ORDER BY dataset_id DESC, source_row DESC) AS latest
                    FROM ({LOADED_ROWS}) WHERE student_id IN (SELECT student_id FROM upload))
                WHERE latest = 1),
            cgpa AS (
                SELECT DISTINCT u.student_id FROM upload AS u JOIN earlier AS e USING (student_id, semester)
                WHERE abs(u.previous_cgpa - e.previous_cgpa) > ? + 1e-9),
            upload_subjects AS (
                SELECT student_id, semester, list(DISTINCT subject) AS subjects FROM upload GROUP BY ALL),
            earlier_subjects AS (
                SELECT student_id, semester, list(DISTINCT subject) AS subjects FROM earlier GROUP BY ALL),
            subjects AS (
                SELECT u.student_id FROM upload_subjects AS u JOIN earlier_subjects AS e USING (student_id, semester)
                WHERE len(u.subjects) >= ? AND len(e.subjects) >= ? AND NOT list_has_any(u.subjects, e.subjects))
            SELECT student_id, min(source_row) AS first_row FROM upload
            WHERE student_id IN (SELECT student_id FROM cgpa UNION SELECT student_id FROM subjects)
            GROUP BY student_id ORDER BY first_row
            """,
            [CGPA_TOLERANCE, MIN_SUBJECTS_COMPARED, MIN_SUBJECTS_COMPARED],
        ).fetchall()
    return ReusedIds([str(student_id) for student_id, _ in found])


UPLOAD_COLUMNS = ["student_id", "semester", "subject", "previous_cgpa", "source_row"]


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> Iterator[None]:
    """The upload's keys, CGPA and row numbers as the view ``upload`` of the queries above."""
    con.register("upload", rows[UPLOAD_COLUMNS])
    try:
        yield
    finally:
        con.unregister("upload")
