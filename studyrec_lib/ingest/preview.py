"""A file's header as ingest will read it, before loading: for a page that lets a teacher map the columns.

The same reading (title rows skipped, the header found) and the same column rules as :func:`ingest_file`;
nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studyrec_lib.ingest.columns import canonical_column, missing_columns, normalise_header, normalised_map
from studyrec_lib.ingest.reading import ZIP_MAGIC, read_table


@dataclass(frozen=True)
class HeaderPreview:
    headers: list[str]
    header_row: int  # as the spreadsheet numbers it
    missing: list[str]  # required columns no header names yet
    unmatched: list[str]  # headers that name no column (a teacher may map them)
    mapped: dict[str, str] = field(default_factory=dict)  # of those, what the given mapping says they hold
    sheets: list[str] = field(default_factory=list)  # an Excel file's sheets; empty for CSV


def workbook_sheets(path: Path) -> list[str]:
    import openpyxl

    with path.open("rb") as handle:
        workbook = openpyxl.load_workbook(handle, read_only=True)
        try:
            return list(workbook.sheetnames)
        finally:
            workbook.close()


def preview_headers(path: str | Path, sheet: str | None = None, column_map: dict[str, str] | None = None,
                    max_bytes: int | None = None) -> HeaderPreview:
    """The header ingest would use, which required columns it lacks, and which headers it does not know.

    Raises:
        FileRefused: the file cannot be read at all (the reason is ingest's own).
    """
    path = Path(path)
    table = read_table(path, sheet, max_bytes, column_map)  # the map helps find a header below title rows
    explicit = normalised_map(column_map)
    headers = [header for header in table.headers if header.strip()]
    unmatched = [header for header in headers if canonical_column(header)[0] is None]  # by ingest's own rules
    found = {canonical_column(header, explicit)[0] for header in headers} - {None}
    mapped = {header: explicit[normalise_header(header)] for header in unmatched
              if normalise_header(header) in explicit}
    with path.open("rb") as handle:
        sheets = workbook_sheets(path) if handle.read(len(ZIP_MAGIC)) == ZIP_MAGIC else []
    return HeaderPreview(table.headers, table.header_row, missing_columns(found), unmatched, mapped, sheets)
