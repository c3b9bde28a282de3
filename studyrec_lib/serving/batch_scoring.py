"""Batch scoring (``studyrec predict --input``): read a teacher's file the way ingest does, score every row.

The file is read by :func:`reading.read_table` and its headers matched by :func:`columns.match_columns`
(aliases such as "Attendance %", a ``--column-map`` JSON, the Excel sheet), so a file that ingest
accepts is scored with the same columns. Every row of the file comes back, in file order, with its
predictions or the rules it broke; none is dropped. :func:`score_file` does the whole job: read, score,
log each scored row through the prediction spool, write the output and sum up.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import FileRefused
from studyrec_lib.core.exports import write_csv, write_xlsx
from studyrec_lib.core.files import file_sha256
from studyrec_lib.core.schema import COLUMNS, GRADES
from studyrec_lib.ingest.columns import ColumnMatch, load_column_map, match_columns
from studyrec_lib.ingest.reading import RawTable, read_table
from studyrec_lib.serving.spool import PredictionSpool, new_record

if TYPE_CHECKING:  # the predictor loads scikit-learn; this module is light until it is called
    from studyrec_lib.serving.predictor import Predictor

SOURCE_ROW = "source_row"  # the row's number in the file, as in rejected_rows


class NothingScored(FileRefused):
    """No row of the file could be scored; the output (every row with its errors) was written all the same.

    ``summary`` is what :func:`score_file` would have returned.
    """

    def __init__(self, path: str, reason: str, summary: dict) -> None:
        super().__init__(path, reason)
        self.summary = summary


def score_file(source: str | Path, output: str | Path, predictor: Predictor, spool: PredictionSpool, settings: Settings,
               sheet: str | None = None, column_map: str | Path | None = None) -> dict:
    """Score every row of a teacher's file into ``output`` (CSV, or Excel for ``.xlsx``), logging each scored row.

    Args:
        source: the CSV or Excel file, read as ingest reads it.
        output: where every row goes with its predictions or its errors (column ``errors``).
        predictor: what scores the rows (its active models).
        spool: where each scored row's prediction is logged (source ``batch``).
        settings: the upload size limit.
        sheet: the Excel sheet to read (default: the first).
        column_map: a JSON file mapping the file's headers to the schema's columns.

    Returns:
        The summary: ``input``, ``input_sha256``, ``output``, ``rows``, ``scored``, ``rows_with_errors`` and
        ``model_versions``.

    Raises:
        FileRefused: a file ingest would refuse (nothing is written).
        NothingScored: no row could be scored (the output is written; the summary is on the error).
    """
    source, output = Path(source), Path(output)
    rows = rows_to_score(source, settings, sheet=sheet, column_map=column_map)
    scored = score_table(rows, predictor)
    versions = predictor.models().versions  # once, not per row
    for row in scored.to_dict("records"):
        if not row["errors"]:
            result = {"predicted_final_marks": row["predicted_final_marks"], "predicted_grade": row["predicted_grade"],
                      "grade_probabilities": {g: row[f"p_{g}"] for g in GRADES}, "model_versions": versions}
            student_id = str(row.get("student_id") or "") or None
            spool.append(new_record("batch", student_id, logged_inputs(row), result, 0.0))
    (write_xlsx if output.suffix.lower() == ".xlsx" else write_csv)(scored, output)
    bad = int((scored["errors"] != "").sum())
    summary = {"input": str(source), "input_sha256": file_sha256(source), "output": str(output),
               "rows": len(scored), "scored": len(scored) - bad, "rows_with_errors": bad,
               "model_versions": versions}
    if summary["scored"] == 0:
        raise NothingScored(str(source), f"none of the {bad} rows could be scored. First: {first_errors(scored)}. "
                                         f"Every row's errors are in {output}.", summary)
    return summary


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
        malformed["errors"] = [f"the row {m.rule}" for m in table.malformed]
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


def score_table(rows: pd.DataFrame, predictor: Predictor) -> pd.DataFrame:
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
