"""Batch scoring (``studyrec predict --input``): read a teacher's file the way ingest does, score every row.

The file is read by :func:`reading.read_table` and its headers matched by :func:`columns.match_columns`
(aliases such as "Attendance %", a ``--column-map`` JSON, the Excel sheet), so a file that ingest
accepts is scored with the same columns. Every row of the file comes back, in file order, with its
predictions or the rules it broke; none is dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .columns import ColumnMatch, load_column_map, match_columns
from .config import Settings
from .reading import RawTable, read_table
from .schema import COLUMNS

SOURCE_ROW = "source_row"  # the row's number in the file, as in rejected_rows


def rows_to_score(path: str | Path, settings: Settings, sheet: str | None = None,
                  column_map: str | Path | None = None) -> pd.DataFrame:
    """The file's rows under canonical column names (other columns keep their own), numbered as in the file.

    Raises :class:`FileRefused` for a file ingest would refuse (unreadable, too large, required columns
    missing, a bad column map).
    """
    path = Path(path)
    table = read_table(path, sheet=sheet, max_bytes=int(settings.max_upload_mb * 2**20))
    mapping = load_column_map(column_map) if column_map else None
    match = match_columns(str(path), table.headers, mapping)
    rows = pd.DataFrame({SOURCE_ROW: table.source_rows, **_named_columns(table, match)})
    if table.malformed:  # lines that could not be split into cells: kept as rows that carry their error
        malformed = pd.DataFrame({SOURCE_ROW: [m.source_row for m in table.malformed]})
        malformed["errors"] = [f"the row has {m.actual_columns} cells where the header has {m.expected_columns}"
                               for m in table.malformed]
        rows = pd.concat([rows, malformed], ignore_index=True).sort_values(SOURCE_ROW, ignore_index=True)
    return rows


def _named_columns(table: RawTable, match: ColumnMatch) -> dict[str, np.ndarray]:
    """Matched columns by their canonical name (schema order), then the file's other columns by their header."""
    named = {column: table.frame[f"c{match.positions[column]}"].to_numpy(dtype=object)
             for column in COLUMNS if column in match.positions}
    matched = set(match.positions.values())
    for position, header in enumerate(table.headers):
        if position not in matched:
            name = header if header and header not in named and header != SOURCE_ROW else f"{header} ({position + 1})"
            named[name] = table.frame[f"c{position}"].to_numpy(dtype=object)
    return named


def score_rows(rows: pd.DataFrame, predictor) -> pd.DataFrame:
    """Every row with predictions, or with its input errors (rows already in error are not scored)."""
    unreadable = rows["errors"].notna() if "errors" in rows else pd.Series(False, index=rows.index)
    readable = rows.loc[~unreadable].drop(columns="errors", errors="ignore").reset_index(drop=True)
    scored = predictor.predict_frame(readable)
    if unreadable.any():
        scored = pd.concat([scored, rows.loc[unreadable]], ignore_index=True).sort_values(SOURCE_ROW,
                                                                                          ignore_index=True)
    scored["errors"] = scored["errors"].fillna("")
    return scored


def logged_inputs(row: dict) -> dict:
    """What the prediction log keeps of a scored row: the schema's columns only, not the file's others."""
    return {column: row[column] for column in COLUMNS if column in row}


def first_errors(scored: pd.DataFrame, limit: int = 3) -> str:
    """'row 2: semester: is required; ...' for the first rows in error, so a refusal says why."""
    bad = scored.loc[scored["errors"] != ""].head(limit)
    return "; ".join(f"row {row[SOURCE_ROW]}: {row['errors']}" for _, row in bad.iterrows())
