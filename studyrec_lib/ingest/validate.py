"""Check every row against the rules of :mod:`studyrec_lib.schema`, column by column, vectorised.

Each broken rule becomes one reject record (row, column, rule, raw value). A row is loaded only when
it breaks no rule, so rows loaded + rows rejected always equals the data rows read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from studyrec_lib.core.input_limits import MAX_CELL_CHARS, MAX_REJECTED_ROWS_DETAIL, echo
from studyrec_lib.core.schema import (
    COLUMNS,
    GRADE_RULE,
    GRADES,
    KEY_COLUMNS,
    MAX_TEXT_LENGTH,
    NOT_A_NUMBER,
    NOT_WHOLE,
    NUMERIC_FIELDS,
    REQUIRED,
    TEXT_FIELDS,
    TOO_LONG,
    grade_for_total,
    total_marks,
)
from studyrec_lib.ingest.columns import ColumnMatch
from studyrec_lib.ingest.reading import RawTable

REJECT_COLUMNS = ["source_row", "column_name", "rule", "raw_value"]
MAX_KEPT_VALUE_CHARS = MAX_CELL_CHARS // 10  # of one cell, in a reject record and its raw row
NUMBER_PATTERN = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"


@dataclass
class ValidationResult:
    """Typed good rows, the rules the rejected rows broke, and exact counts.

    ``rejects`` holds one record per broken rule for the first :data:`MAX_REJECTED_ROWS_DETAIL` rejected
    rows (in file order); ``rows_rejected`` counts them all.
    """

    valid: pd.DataFrame  # source_row + canonical columns (typed) + grade_mismatch
    rejects: pd.DataFrame  # REJECT_COLUMNS + raw_row (JSON of the row as written, on its first record only)
    rows_total: int
    rows_rejected: int

    @property
    def rows_valid(self) -> int:
        return len(self.valid)

    @property
    def rows_rejected_without_detail(self) -> int:
        return self.rows_rejected - (int(self.rejects["source_row"].nunique()) if len(self.rejects) else 0)

    @property
    def rows_open(self) -> int:
        return int(self.valid["final_marks"].isna().sum())

    @property
    def grade_mismatches(self) -> int:
        return int(self.valid["grade_mismatch"].sum())


class _Rejects:
    """Collects (mask, column, rule) findings without looping over rows; detail is built only when kept."""

    def __init__(self, raw: dict[str, pa.Array], source_rows: np.ndarray) -> None:
        self.raw = raw
        self.source_rows = source_rows
        self.findings: list[tuple[np.ndarray, str, str | np.ndarray]] = []
        self.bad = np.zeros(len(source_rows), dtype=bool)

    def add(self, mask: np.ndarray, column: str, rule: str | np.ndarray) -> None:
        if not mask.any():
            return
        self.bad |= mask
        self.findings.append((mask, column, rule))

    def records(self, kept: np.ndarray) -> list[pd.DataFrame]:
        """One frame per finding, restricted to the rows whose detail is ``kept``."""
        parts = []
        for mask, column, rule in self.findings:
            selected = mask & kept
            if not selected.any():
                continue
            values = pc.filter(self.raw[column], pa.array(selected)).to_numpy(zero_copy_only=False)
            parts.append(pd.DataFrame({
                "source_row": self.source_rows[selected],
                "column_name": column,
                "rule": rule[selected] if isinstance(rule, np.ndarray) else rule,
                "raw_value": [echo(value, MAX_KEPT_VALUE_CHARS) for value in values],
            }))
        return parts


def _mask(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _arrow(values: pa.Array | pa.ChunkedArray | np.ndarray) -> pa.Array | pa.ChunkedArray:
    # pa.array() of a ChunkedArray would copy it through Python objects.
    return pa.array(values) if isinstance(values, np.ndarray) else values


def _as_numbers(text: pa.Array, decimal_comma: bool) -> np.ndarray:
    """Parse numbers in C++ (pyarrow); anything that is not a plain decimal number becomes NaN."""
    if decimal_comma:
        text = pc.replace_substring_regex(text, r"^([-+]?\d+),(\d+)$", r"\1.\2")
    is_number = pc.match_substring_regex(text, NUMBER_PATTERN)
    numbers = pc.cast(pc.if_else(is_number, text, pa.scalar(None, pa.string())), pa.float64())
    return pc.fill_null(numbers, np.nan).to_numpy(zero_copy_only=False)


def validate_rows(table: RawTable, match: ColumnMatch) -> ValidationResult:
    """Validate all rows of ``table`` whose columns were matched by ``match``."""
    n_rows = len(table.frame)
    raw: dict[str, pa.Array] = {}
    for column in COLUMNS:
        if column in match.positions:
            cells = pa.array(table.frame[f"c{match.positions[column]}"], type=pa.string())
            raw[column] = pc.utf8_trim_whitespace(cells)
        else:  # open-only files have no outcome columns at all
            raw[column] = pa.array([""] * n_rows, type=pa.string())
    source_rows = table.source_rows
    rejects = _Rejects(raw, source_rows)
    empty = {column: _mask(pc.equal(raw[column], "")) for column in COLUMNS}
    typed: dict[str, pa.Array | np.ndarray] = {}

    for text_column in TEXT_FIELDS:
        values = pc.replace_substring_regex(raw[text_column], r"\s+", " ")
        rejects.add(empty[text_column], text_column, REQUIRED)
        rejects.add(_mask(pc.greater(pc.utf8_length(values), MAX_TEXT_LENGTH)), text_column, TOO_LONG)
        typed[text_column] = values

    decimal_comma = table.delimiter not in (None, ",")
    for spec in NUMERIC_FIELDS:
        column = spec.name
        numbers = _as_numbers(raw[column], decimal_comma)
        finite = np.isfinite(numbers)
        if column != "final_marks":  # an empty final mark is an open row, checked below
            rejects.add(empty[column], column, REQUIRED)
        rejects.add(~empty[column] & ~finite, column, NOT_A_NUMBER)
        with np.errstate(invalid="ignore"):
            in_range = (numbers >= spec.low) & (numbers <= spec.high)
        rejects.add(finite & ~in_range, column, spec.rule)
        if spec.integer:
            rejects.add(finite & in_range & (numbers % 1 != 0), column, NOT_WHOLE)
        typed[column] = numbers

    grades = pc.utf8_upper(pc.replace_substring_regex(raw["final_grade"], r"\s+", ""))
    known_grade = _mask(pc.is_in(grades, value_set=pa.array(GRADES)))
    rejects.add(~empty["final_grade"] & ~known_grade, "final_grade", GRADE_RULE)
    typed["final_grade"] = pc.if_else(pa.array(known_grade), grades, pa.scalar(None, pa.string()))

    half_open = empty["final_marks"] != empty["final_grade"]
    rejects.add(half_open & empty["final_marks"], "final_marks",
                f"{REQUIRED} when final_grade is given (leave both empty for an open row)")
    rejects.add(half_open & empty["final_grade"], "final_grade",
                f"{REQUIRED} when final_marks is given (leave both empty for an open row)")

    key = pd.DataFrame({c: typed[c] for c in KEY_COLUMNS})
    key_complete = np.isfinite(typed["semester"]) & ~empty["student_id"] & ~empty["subject"]
    duplicated = key.duplicated(keep=False).to_numpy() & key_complete
    if duplicated.any():
        rejects.add(duplicated, "student_id", _duplicate_key_rules(key, source_rows, duplicated))

    good = ~rejects.bad
    keep = pa.array(good)
    valid = pa.table(
        {
            "source_row": source_rows[good],
            **{c: pc.filter(_arrow(typed[c]), keep) for c in COLUMNS},
        }
    ).to_pandas()
    valid["semester"] = valid["semester"].astype("int16")
    valid["grade_mismatch"] = _grade_mismatch(valid)
    rows_rejected = int(rejects.bad.sum()) + len(table.malformed)
    return ValidationResult(valid, _with_raw_rows(rejects, table), rows_total=n_rows + len(table.malformed),
                            rows_rejected=rows_rejected)


def _duplicate_key_rules(key: pd.DataFrame, source_rows: np.ndarray, duplicated: np.ndarray) -> np.ndarray:
    """For each repeated key, a rule that names all the rows sharing it."""
    repeated = key[duplicated].assign(row=source_rows[duplicated])
    rows_of_key = repeated.groupby(list(KEY_COLUMNS))["row"].transform(lambda rows: ", ".join(map(str, rows)))
    rules = np.full(len(key), "", dtype=object)
    message = "key (student_id, semester, subject) is not unique in the file: rows "
    rules[duplicated] = (message + rows_of_key).to_numpy()
    return rules


def _grade_mismatch(valid: pd.DataFrame) -> np.ndarray:
    """True where a given grade disagrees with the grade of the total computed from the marks."""
    finished = valid["final_marks"].notna().to_numpy()
    computed = grade_for_total(total_marks(valid.assign(final_marks=valid["final_marks"].fillna(0))))
    return finished & (computed != valid["final_grade"].to_numpy())


def _with_raw_rows(rejects: _Rejects, table: RawTable) -> pd.DataFrame:
    """Reject records of the first rejected rows, malformed lines included; each row's raw JSON once."""
    bad_index = np.flatnonzero(rejects.bad)
    malformed = sorted(table.malformed, key=lambda m: m.source_row)
    detail_rows = np.sort(np.concatenate([table.source_rows[bad_index], [m.source_row for m in malformed]]))
    last_kept = detail_rows[MAX_REJECTED_ROWS_DETAIL - 1] if len(detail_rows) > MAX_REJECTED_ROWS_DETAIL else None
    kept = rejects.bad if last_kept is None else rejects.bad & (rejects.source_rows <= last_kept)
    if last_kept is not None:
        malformed = [m for m in malformed if m.source_row <= last_kept]
    parts = rejects.records(kept)
    if malformed:
        parts.append(
            pd.DataFrame(
                {
                    "source_row": [m.source_row for m in malformed],
                    "column_name": "",
                    "rule": [m.rule for m in malformed],
                    "raw_value": [m.text for m in malformed],
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in [*REJECT_COLUMNS, "raw_row"]})
    records = pd.concat(parts, ignore_index=True)
    records = records.sort_values(["source_row", "column_name"], kind="stable").reset_index(drop=True)
    raw_rows = {
        int(table.source_rows[i]): json.dumps(
            {echo(header): echo(cell, MAX_KEPT_VALUE_CHARS)
             for header, cell in zip(table.headers, table.frame.iloc[i].tolist(), strict=False)},
            ensure_ascii=False,
        )
        for i in np.flatnonzero(kept)
    }
    raw_rows.update({m.source_row: json.dumps({"line": m.text}, ensure_ascii=False) for m in malformed})
    first_of_row = ~records["source_row"].duplicated()
    records["raw_row"] = records["source_row"].map(raw_rows).where(first_of_row, None)
    return records

