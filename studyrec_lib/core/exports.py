"""Write tables for people to open (CSV and Excel) so that no cell can run as a formula when opened.

Every CSV or XLSX the project writes for teachers goes through :func:`write_csv` or :func:`write_xlsx`
(at-risk lists, rejected rows, batch predictions), or, for a browser download, :func:`csv_bytes` or
:func:`xlsx_bytes`: their text may come from a teacher's file, which a student may have written into. The
files hold students' marks, so each gets the configured private mode even when the process that writes it
did not set the umask. A sheet opens ready to read: its header row stays in view and filters every column.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from studyrec_lib.core.files import make_private

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH = 10, 60  # characters; a header sets its column's width between these


def neutralise(value: object) -> object:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe (OWASP advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The CSV (UTF-8): text cells and headers neutralised; numbers are written as numbers (a negative stays one)."""
    text_columns = frame.select_dtypes(include=["object", "string"]).columns
    safe = frame.copy()
    for column in text_columns:
        safe[column] = safe[column].map(neutralise)
    safe.columns = [neutralise(str(c)) for c in frame.columns]
    return safe.to_csv(index=False).encode("utf-8")


def xlsx_bytes(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """The workbook: every text cell, headers included, stored as text (data type 's'), never as a formula.

    The header row is frozen and carries an autofilter over the whole table.
    """
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    headers = [str(c) for c in frame.columns]
    worksheet.append(headers)
    for row in frame.itertuples(index=False):
        worksheet.append([None if pd.isna(v) else v for v in row])
    for cells in worksheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    if headers:
        worksheet.freeze_panes = "A2"
        worksheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(frame) + 1}"
        for number, header in enumerate(headers, start=1):
            width = min(max(len(header) + 2, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH)
            worksheet.column_dimensions[get_column_letter(number)].width = width
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """:func:`csv_bytes` into ``path`` (private)."""
    path.write_bytes(csv_bytes(frame))
    return make_private(path)


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str = "data") -> Path:
    """:func:`xlsx_bytes` into ``path`` (private)."""
    path.write_bytes(xlsx_bytes(frame, sheet))
    return make_private(path)
