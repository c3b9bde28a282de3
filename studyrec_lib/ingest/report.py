"""Tables and plots of one ingest, for 01_ingest.ipynb: the notebook only displays these.

Tables come as pandas Stylers (the frame is ``.data``): a DataFrame's HTML cuts text at ``display.max_colwidth``
("is not uni..."), a Styler's shows every cell in full, escaped.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown
from pandas.io.formats.style import Styler

from studyrec_lib.core.schema import GRADES, NUMERIC_FIELDS
from studyrec_lib.ingest.load import IngestResult

PLOT_SAMPLE_ROWS = 50_000


def full_text(frame: pd.DataFrame, index: bool = False) -> Styler:
    """The table with every cell in full and HTML-escaped (a cell holds what a teacher's file held)."""
    styler = frame.style.format(escape="html", na_rep="")
    if not index:
        styler = styler.hide(axis="index")
    return styler.format_index(escape="html")


def summary_table(result: IngestResult) -> Styler:
    """The counts a reviewer checks first: they always add up (loaded + rejected = total).

    Args:
        result: what :func:`~studyrec_lib.ingest.ingest_file` returned.

    Returns:
        A one-column table (``value``) indexed by what it counts: file, status, rows, seconds (a Styler;
        the frame is ``.data``).
    """
    s = result.summary
    rows = {
        "file": s.source_file,
        "status": s.status,
        "message": s.message,
        "dataset id": s.dataset_id,
        "sha256": s.sha256,
        "format": f"{s.file_format} ({s.encoding or ''}{', delimiter ' + repr(s.delimiter) if s.delimiter else ''}"
        f"{', sheet ' + repr(s.sheet) if s.sheet else ''})",
        "data rows": s.rows_total,
        "valid rows": s.rows_valid,
        "rows loaded": s.rows_loaded,
        "rows rejected": s.rows_rejected,
        "open rows (no final marks yet)": s.rows_open,
        "grade disagrees with marks (loaded, flagged)": s.grade_mismatches,
        "blank rows skipped": s.rows_blank,
        "header row": s.header_row,
        "title rows skipped above the header": s.title_rows,
        "rows replacing rows loaded before": s.rows_superseding,
        "student ids that may be reused": s.reused_student_ids,
        "uploaded by": s.uploaded_by or "",
        "seconds": s.seconds,
    }
    return full_text(pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows)), index=True)


def warnings_markdown(result: IngestResult) -> Markdown:
    """The file's warnings in plain words, or why it was refused.

    Args:
        result: what :func:`~studyrec_lib.ingest.ingest_file` returned.

    Returns:
        Markdown: a list of warnings, "No warnings.", or the refusal.
    """
    s = result.summary
    if s.status == "refused":
        return Markdown(f"**The file was refused; the warehouse is unchanged.**\n\n{s.message}")
    if not s.warnings:
        return Markdown("No warnings.")
    return Markdown("\n".join(f"- {w}" for w in s.warnings))


def rejects_by_rule(result: IngestResult) -> Styler:
    """How many rows broke each rule, worst first.

    Args:
        result: what :func:`~studyrec_lib.ingest.ingest_file` returned.

    Returns:
        One row per (column, rule) with the number of rows that broke it (a Styler; the frame is ``.data``).
    """
    rejects = result.rejects
    if not len(rejects):
        return full_text(pd.DataFrame(columns=["column_name", "rule", "rows"]))
    return full_text(
        rejects.assign(rule=rejects["rule"].str.replace(r": rows [\d, ]+$", "", regex=True))
        .groupby(["column_name", "rule"], as_index=False)["source_row"].nunique()
        .rename(columns={"source_row": "rows"})
        .sort_values("rows", ascending=False, ignore_index=True)
    )


def rejects_sample(result: IngestResult, limit: int = 50) -> Styler:
    """The first rejected records: row, column, rule and the value as written.

    Args:
        result: what :func:`~studyrec_lib.ingest.ingest_file` returned.
        limit: how many records to show.

    Returns:
        Up to ``limit`` reject records, without the raw row (a Styler; the frame is ``.data``).
    """
    return full_text(result.rejects.drop(columns=["raw_row"], errors="ignore").head(limit))


def plot_distributions(result: IngestResult) -> plt.Figure | None:
    """One panel per column of the loaded rows: numbers as histograms, subject and grade as counts.

    Args:
        result: what :func:`~studyrec_lib.ingest.ingest_file` returned.

    Returns:
        The figure, or None when no row loaded.
    """
    rows = result.rows
    if not len(rows):
        return None
    if len(rows) > PLOT_SAMPLE_ROWS:
        rows = rows.sample(PLOT_SAMPLE_ROWS, random_state=0)
    figure, axes = plt.subplots(3, 3, figsize=(14, 10))
    for axis, spec in zip(axes.flat, NUMERIC_FIELDS, strict=False):
        sns.histplot(rows[spec.name].dropna(), ax=axis, discrete=spec.integer)
        axis.set_title(f"{spec.label or spec.name} ({spec.low:g}-{spec.high:g})")
        axis.set(xlabel=spec.label or spec.name, ylabel="rows")
    sns.countplot(y=rows["subject"], ax=axes.flat[7], order=rows["subject"].value_counts().index[:15])
    axes.flat[7].set(title="Subject (top 15)", xlabel="rows", ylabel="subject")
    grades = rows["final_grade"].dropna()
    sns.countplot(x=grades, ax=axes.flat[8], order=[g for g in GRADES if g in set(grades)])
    axes.flat[8].set(title="Final grade", xlabel="final grade", ylabel="rows")
    sampled = " (plotted: a sample)" if len(result.rows) > len(rows) else ""
    figure.suptitle(f"Loaded rows: {len(result.rows):,}{sampled}")
    figure.tight_layout()
    return figure
