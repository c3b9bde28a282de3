"""The summary a reviewer reads first in 01_ingest: the file, what it loaded and refused, its warnings, what changed.

"What changed" compares the warehouse's loaded data with and without this upload: the students and semesters
it brings that no other loaded dataset has, and the upload before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath

from IPython.display import Markdown

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings
from studyrec_lib.ingest.load import IngestResult, IngestSummary

# Every loaded row of the other datasets: what the warehouse held without this upload
OTHER_LOADED = ("SELECT sp.student_id, sp.semester FROM student_performance AS sp JOIN datasets AS d "
                "USING (dataset_id) WHERE d.status = 'loaded' AND sp.dataset_id <> ?")


def semester_span(semesters: Iterable[int]) -> str:
    """"semesters 1 to 8", "semesters 2, 5" or "semester 3" (no semester: "no semester")."""
    numbers = sorted({int(s) for s in semesters})
    if len(numbers) < 2:
        return f"semester {numbers[0]}" if numbers else "no semester"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"semesters {numbers[0]} to {numbers[-1]}"
    return "semesters " + ", ".join(map(str, numbers))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _loaded(summary: IngestSummary, result: IngestResult) -> str:
    rows = result.rows
    by = f", uploaded by {summary.uploaded_by}" if summary.uploaded_by else ""
    replacing = (f" ({summary.rows_superseding:,} of them replacing earlier rows of the same student, semester and "
                 "subject)" if summary.rows_superseding else "")
    return (f"**`{PurePath(summary.source_file).name}`** was loaded as dataset {summary.dataset_id} "
            f"(\"{summary.name}\"{by}): {summary.rows_total:,} rows read, {summary.rows_loaded:,} loaded{replacing}, "
            f"{summary.rows_rejected:,} rejected; {rows['student_id'].nunique():,} students, "
            f"{semester_span(rows['semester'])}; {summary.rows_open:,} open rows (no final marks yet).")


def _warnings(summary: IngestSummary) -> list[str]:
    if not summary.warnings:
        return ["**Warnings.** None."]
    return ["**Warnings.**", "", *(f"- {_sentence(text)}" for text in summary.warnings)]


def _changes(summary: IngestSummary, settings: Settings | None) -> list[str]:
    """The upload before this one, and what this one adds to the loaded data."""
    dataset = summary.dataset_id
    previous = warehouse.query_frame(
        "SELECT dataset_id, source_file, uploaded_at, rows_loaded, status FROM datasets WHERE dataset_id < ? "
        "ORDER BY dataset_id DESC LIMIT 1", params=[dataset], settings=settings)
    if previous.empty:
        return ["**What changed.** This is the warehouse's first upload."]
    before = previous.iloc[0]
    new_students = warehouse.query_frame(
        f"SELECT count(DISTINCT student_id) AS n FROM student_performance WHERE dataset_id = ? AND student_id NOT IN "
        f"(SELECT student_id FROM ({OTHER_LOADED}))", params=[dataset, dataset], settings=settings)["n"].iloc[0]
    new_semesters = warehouse.query_frame(
        f"SELECT DISTINCT semester FROM student_performance WHERE dataset_id = ? AND semester NOT IN "
        f"(SELECT semester FROM ({OTHER_LOADED})) ORDER BY semester", params=[dataset, dataset], settings=settings)
    totals = warehouse.query_frame(
        "SELECT count(DISTINCT d.dataset_id) AS datasets, count(DISTINCT sp.student_id) AS students FROM "
        "student_performance AS sp JOIN datasets AS d USING (dataset_id) WHERE d.status = 'loaded'",
        settings=settings).iloc[0]
    status = f", {before.status}" if before.status != "loaded" else ""
    semesters = f"new {semester_span(new_semesters['semester'])}" if len(new_semesters) else "no new semester"
    return [f"**What changed since the previous upload** (dataset {before.dataset_id} "
            f"`{PurePath(before.source_file).name}`, {before.uploaded_at:%Y-%m-%d %H:%M} UTC, "
            f"{before.rows_loaded:,} rows loaded{status}): this upload brings {new_students:,} new students and "
            f"{semesters}; the loaded data now hold {totals['students']:,} students in {totals['datasets']:,} "
            "datasets."]


def ingest_summary(result: IngestResult, settings: Settings | None = None) -> Markdown:
    """The summary of one upload, for the top of 01_ingest's report (tag its cell ``summary``).

    Args:
        result: what :func:`~studyrec_lib.ingest.ingest_file` returned.
        settings: where the warehouse is (the uploads before this one, the loaded data).

    Returns:
        Markdown: the file and its dataset, rows read, loaded (how many replace earlier rows), rejected, students,
        semesters and open rows; the warnings in words (whose rows were replaced); what changed since the
        previous upload. A refused file or one loaded before says so and that nothing changed.
    """
    summary = result.summary
    name = PurePath(summary.source_file).name
    message = _sentence(summary.message)
    lines = ["## Summary", ""]
    if summary.status == "refused":
        lines.append(f"**`{name}` was refused; the warehouse is unchanged.** {message}")
    elif summary.status == "already_loaded":
        lines.append(f"**`{name}` was loaded before; nothing changed.** {message}")
    else:
        lines += [_loaded(summary, result), "", *_warnings(summary), "", *_changes(summary, settings)]
    return Markdown("\n".join(lines) + "\n")
