"""Ingest: read a teacher's file, match its columns, validate every row and load one dataset atomically.

A mistaken upload is withdrawn (:func:`withdraw_dataset`), never deleted; :func:`upload_history` lists every
upload with its report and withdrawal.
"""

from typing import TYPE_CHECKING

from studyrec_lib.core.lazy import lazy_attributes
from studyrec_lib.ingest.history import upload_history
from studyrec_lib.ingest.load import IngestResult, IngestSummary, ingest_file, list_datasets, write_outputs
from studyrec_lib.ingest.withdraw import WithdrawalRefused, list_withdrawals, with_withdrawals, withdraw_dataset

if TYPE_CHECKING:  # the report's tables, plots and summary load matplotlib, IPython: imported on first use (core.lazy)
    from studyrec_lib.ingest.report import (
        plot_distributions,
        rejects_by_rule,
        rejects_sample,
        summary_table,
        warnings_markdown,
    )
    from studyrec_lib.ingest.summary import ingest_summary

__getattr__ = lazy_attributes(__name__)

__all__ = [
    "IngestResult",
    "IngestSummary",
    "WithdrawalRefused",
    "ingest_file",
    "ingest_summary",
    "list_datasets",
    "list_withdrawals",
    "plot_distributions",
    "rejects_by_rule",
    "rejects_sample",
    "summary_table",
    "upload_history",
    "warnings_markdown",
    "with_withdrawals",
    "withdraw_dataset",
    "write_outputs",
]
