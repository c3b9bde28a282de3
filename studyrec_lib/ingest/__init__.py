"""Ingest: read a teacher's file, match its columns, validate every row and load one dataset atomically."""

from typing import TYPE_CHECKING

from studyrec_lib.core.lazy import lazy_attributes
from studyrec_lib.ingest.load import IngestResult, IngestSummary, ingest_file, list_datasets, write_outputs

if TYPE_CHECKING:  # the report's tables and plots load matplotlib: imported on first use (core.lazy)
    from studyrec_lib.ingest.report import (
        plot_distributions,
        rejects_by_rule,
        rejects_sample,
        summary_table,
        warnings_markdown,
    )

__getattr__ = lazy_attributes(__name__)

__all__ = [
    "IngestResult",
    "IngestSummary",
    "ingest_file",
    "list_datasets",
    "plot_distributions",
    "rejects_by_rule",
    "rejects_sample",
    "summary_table",
    "warnings_markdown",
    "write_outputs",
]
