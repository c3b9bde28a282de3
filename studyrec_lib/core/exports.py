"""Write tables for people to open (CSV and Excel) so that no cell can run as a formula when opened.

Every CSV or XLSX the project writes for teachers goes through :func:`write_csv` or :func:`write_xlsx`
(at-risk lists, rejected rows, batch predictions): their text may come from a teacher's file, which a
student may have written into. They hold students' marks, so each gets the configured private mode even
when the process that writes it did not set the umask.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from studyrec_lib.core.files import make_private

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe (OWASP advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Text cells and headers neutralised; numbers are written as numbers (a negative number stays one)."""
    text_columns = frame.select_dtypes(include=["object", "string"]).columns
    safe = frame.copy()
    for column in text_columns:
        safe[column] = safe[column].map(neutralise)
    safe.columns = [neutralise(str(c)) for c in frame.columns]
    safe.to_csv(path, index=False)
    return make_private(path)


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str = "data") -> Path:
    """Every text cell, headers included, is stored as text (data type 's'), never as a formula."""
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False):
        worksheet.append([None if pd.isna(v) else v for v in row])
    for cells in worksheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    workbook.save(path)
    return make_private(path)
