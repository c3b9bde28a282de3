"""Ingest one teacher's file: read, match columns, validate, and load it as one transaction.

Bad data never raises here: a refused file comes back as a result with status ``refused`` and a
message, so a report can show why. Only a broken environment (locked warehouse, disk full) raises.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from studyrec_lib.core import exports, run_files, warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.errors import FileRefused
from studyrec_lib.core.files import file_sha256
from studyrec_lib.core.input_limits import MAX_REJECTED_ROWS_DETAIL, echo, echo_list
from studyrec_lib.ingest.columns import load_column_map, match_columns
from studyrec_lib.ingest.overlap import replaced_rows, reused_student_ids
from studyrec_lib.ingest.reading import read_table
from studyrec_lib.ingest.validate import ValidationResult, validate_rows

MIN_ROWS_FOR_A_MODEL = 1000
LOAD_CHUNK_ROWS = 100_000
MAX_UPLOADER_CHARS = 100  # of the uploader's name as stored
Progress = Callable[[str], None]


def print_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class IngestSummary:
    """What happened to one file; written as JSON into the run folder."""

    source_file: str
    name: str
    status: str  # loaded | already_loaded | refused
    message: str
    sha256: str = ""
    size_bytes: int = 0
    file_format: str = ""
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    dataset_id: int | None = None
    rows_total: int = 0  # data rows in the file = rows_valid + rows_rejected
    rows_valid: int = 0
    rows_loaded: int = 0  # rows_valid once written; 0 when refused or already loaded
    rows_rejected: int = 0
    rows_rejected_undetailed: int = 0  # rejected rows past the detail cap: counted, their rules not kept
    rows_open: int = 0
    rows_blank: int = 0
    header_row: int = 0  # the header's row in the file (rows above it were skipped)
    title_rows: int = 0  # non-blank rows above the header (titles), skipped
    rows_superseding: int = 0  # loaded rows that replace rows loaded before (same student, semester, subject)
    superseded_datasets: list[dict] = field(default_factory=list)  # {dataset_id, source_file, rows} of each
    reused_student_ids: int = 0  # ids whose earlier rows disagree with this file's (overlap.REUSED_ID_RULE)
    reused_student_ids_first: list[str] = field(default_factory=list)  # the first few of them, echoed
    grade_mismatches: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    strict: bool = False
    refuse_supersede: bool = False
    uploaded_by: str | None = None
    run_id: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class IngestResult:
    summary: IngestSummary
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)  # the rows that loaded (or would have)
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)


def ingest_file(
    path: str | Path,
    name: str | None = None,
    sheet: str | None = None,
    column_map: str | Path | dict[str, str] | None = None,
    strict: bool = False,
    force: bool = False,
    settings: Settings | None = None,
    refuse_supersede: bool = False,
    uploaded_by: str | None = None,
    run_id: str | None = None,
    run_dir: str | Path | None = None,
    progress: Progress | None = print_progress,
) -> IngestResult:
    """Validate ``path`` and load its good rows as a new dataset, all or nothing.

    Args:
        path: the teacher's CSV or XLSX file.
        name: the dataset's name (default: the file name without its suffix).
        sheet: the Excel sheet to read (default: the first).
        column_map: ``{"header in the file": "canonical column"}``, or a JSON file of it.
        strict: refuse the whole file when any row breaks a rule.
        force: load a file again even when its sha256 was loaded before.
        settings: where the warehouse is and how large an upload may be.
        refuse_supersede: refuse the file when any of its rows would replace a row loaded before (same student,
            semester and subject); by default they replace them, and the summary says how many and whose.
        uploaded_by: who uploads (a hub or OS user name), stored with the dataset.
        run_id: the run that ingests (recorded with the dataset).
        run_dir: where ``ingest.json`` and ``rejected_rows.csv`` go (none written when None).
        progress: called with a line of text at each step; None for silence.

    Returns:
        The summary (status loaded, already_loaded or refused, counts that add up, warnings), the rows that
        loaded and the rejected rows' rules. A refused file is a result, not an exception.
    """
    started = time.perf_counter()
    settings = settings or load_settings()
    progress = progress or (lambda _message: None)
    path = Path(path)
    summary = IngestSummary(source_file=str(path), name=name or path.stem, status="refused", message="",
                            strict=strict, refuse_supersede=refuse_supersede, uploaded_by=_uploader(uploaded_by),
                            run_id=run_id)
    result = IngestResult(summary)
    try:
        _read_and_validate(path, sheet, column_map, settings, result, progress)
        _decide(result, strict)
        if summary.status != "refused":
            _load(result, force, refuse_supersede, settings, progress)
    except FileRefused as refusal:
        summary.status, summary.message = "refused", str(refusal)
    summary.seconds = round(time.perf_counter() - started, 3)
    progress(f"{summary.status}: {summary.message}")
    if run_dir is not None:
        write_outputs(result, Path(run_dir))
    return result


def _read_and_validate(
    path: Path, sheet: str | None, column_map: str | Path | dict[str, str] | None, settings: Settings,
    result: IngestResult, progress: Progress,
) -> None:
    summary = result.summary
    if path.is_file():
        summary.size_bytes = path.stat().st_size
        summary.sha256 = file_sha256(path)
    progress(f"reading {path} ...")
    mapping = load_column_map(column_map) if isinstance(column_map, str | Path) else column_map
    table = read_table(path, sheet=sheet, max_bytes=int(settings.max_upload_mb * 2**20), column_map=mapping)
    summary.file_format, summary.sheet = table.file_format, table.sheet
    summary.encoding, summary.delimiter = table.encoding, table.delimiter
    summary.rows_blank = table.blank_rows
    summary.header_row, summary.title_rows = table.header_row, table.title_rows
    match = match_columns(str(path), table.headers, mapping, rows_searched=table.header_searched)
    summary.ignored_columns = match.ignored
    progress(f"validating {len(table.frame) + len(table.malformed):,} rows ...")
    validation = validate_rows(table, match)
    _count(summary, validation)
    result.rows, result.rejects = validation.valid, validation.rejects


def _count(summary: IngestSummary, validation: ValidationResult) -> None:
    summary.rows_total = validation.rows_total
    summary.rows_valid = validation.rows_valid
    summary.rows_rejected = validation.rows_rejected
    summary.rows_rejected_undetailed = validation.rows_rejected_without_detail
    summary.rows_open = validation.rows_open
    summary.grade_mismatches = validation.grade_mismatches


def _uploader(name: str | None) -> str | None:
    """The uploader's name as stored: trimmed, at most :data:`MAX_UPLOADER_CHARS`; None when blank."""
    name = (name or "").strip()[:MAX_UPLOADER_CHARS]
    return name or None


def _header_warning(header_row: int, title_rows: int) -> str:
    """'the header is on row 3; the 2 rows above it (1 title row, 1 blank) were skipped.'"""
    above = header_row - 1
    kinds = f"{title_rows} title row{'s' if title_rows != 1 else ''}"
    if above > title_rows:
        kinds += f", {above - title_rows} blank"
    skipped = f"the row above it ({kinds}) was" if above == 1 else f"the {above} rows above it ({kinds}) were"
    return f"the header is on row {header_row}; {skipped} skipped."


def _first_rejects(rejects: pd.DataFrame, limit: int = 3) -> str:
    lines = [
        f"row {r.source_row}, column {r.column_name or '(whole row)'}: {r.rule} (value {echo(r.raw_value)!r})"
        for r in rejects.head(limit).itertuples()
    ]
    return "; ".join(lines)


def _decide(result: IngestResult, strict: bool) -> None:
    """Refuse the file (strict mode, or nothing valid) or list the warnings of a loadable file."""
    summary, rejects = result.summary, result.rejects
    source = summary.source_file
    if strict and summary.rows_rejected:
        raise FileRefused(
            source,
            f"{summary.rows_rejected} of {summary.rows_total} rows break rules and --strict refuses the whole "
            f"file. First: {_first_rejects(rejects)}.",
            "Fix those rows, or ingest without --strict to load the good rows and list the bad ones.",
        )
    if summary.rows_valid == 0:
        raise FileRefused(
            source,
            f"none of the {summary.rows_total} rows is valid. First: {_first_rejects(rejects)}.",
            "See rejected_rows.csv in the run folder for every row and rule.",
        )
    warnings = summary.warnings
    if summary.title_rows:
        warnings.append(_header_warning(summary.header_row, summary.title_rows))
    if summary.rows_rejected:
        warnings.append(f"{summary.rows_rejected} rows rejected; see the rejected rows and their rules.")
    if summary.rows_rejected_undetailed:
        warnings.append(f"the rules broken are kept for the first {MAX_REJECTED_ROWS_DETAIL:,} rejected rows; "
                        f"{summary.rows_rejected_undetailed:,} more rejected rows are counted only.")
    if summary.rows_valid < MIN_ROWS_FOR_A_MODEL:
        warnings.append(
            f"only {summary.rows_valid} valid rows: a model trained on this data alone will be weak "
            f"(aim for at least {MIN_ROWS_FOR_A_MODEL})."
        )
    if summary.grade_mismatches:
        warnings.append(
            f"{summary.grade_mismatches} rows have a final_grade that disagrees with the total computed from "
            "their marks; they are loaded and flagged (grade_mismatch)."
        )
    if summary.encoding in ("cp1252", "latin-1"):
        warnings.append(f"the file is not UTF-8; it was read as {summary.encoding}.")
    if summary.ignored_columns:
        warnings.append(f"columns not used: {echo_list(summary.ignored_columns)}.")
    if summary.rows_blank:
        warnings.append(f"{summary.rows_blank} blank rows skipped (not counted as data rows).")
    summary.status = "loaded"


def _load(result: IngestResult, force: bool, refuse_supersede: bool, settings: Settings, progress: Progress) -> None:
    """Insert the dataset, its rows and its rejects in one transaction."""
    summary = result.summary
    with warehouse.transaction(settings) as con:
        if not force:
            earlier = con.execute(
                "SELECT dataset_id, name, uploaded_at FROM datasets WHERE sha256 = ? AND status = 'loaded' "
                "ORDER BY dataset_id LIMIT 1",
                [summary.sha256],
            ).fetchone()
            if earlier is not None:
                summary.status, summary.dataset_id = "already_loaded", int(earlier[0])
                summary.message = (
                    f"this file (sha256 {summary.sha256[:12]}) was already loaded as dataset {earlier[0]} "
                    f"({earlier[1]!r}, {earlier[2]:%Y-%m-%d %H:%M} UTC); nothing loaded again. "
                    "Use --force to load it as a new dataset."
                )
                return
        _compare_with_earlier_rows(con, result, refuse_supersede)
        summary.rows_loaded = summary.rows_valid
        summary.message = f"loaded {summary.rows_loaded} of {summary.rows_total} rows"
        if summary.rows_rejected:
            summary.message += f"; {summary.rows_rejected} rejected"
        dataset_id = _insert_dataset(con, summary)
        summary.dataset_id = dataset_id
        _insert_rows(con, dataset_id, result.rows, progress)
        if len(result.rejects):
            rejects = result.rejects.assign(dataset_id=dataset_id, run_id=summary.run_id)
            con.register("rejects_frame", rejects)
            con.execute("INSERT INTO rejected_rows BY NAME SELECT * FROM rejects_frame")
            con.unregister("rejects_frame")
        summary.message += f" as dataset {dataset_id}."


def _compare_with_earlier_rows(con, result: IngestResult, refuse_supersede: bool) -> None:
    """Count the rows that replace earlier ones (or refuse them) and warn of student ids that look reused."""
    summary = result.summary
    replaced = replaced_rows(con, result.rows)
    if replaced.rows and refuse_supersede:
        raise FileRefused(
            summary.source_file,
            f"{replaced.rows} rows would replace rows loaded before for the same student, semester and subject "
            f"({replaced.details()}), and replacing was not allowed (--no-replace).",
            "Remove those rows from the file, or load it without --no-replace to let them replace the earlier rows.",
        )
    summary.rows_superseding = replaced.rows
    summary.superseded_datasets = [{"dataset_id": d, "source_file": f, "rows": n} for d, f, n in replaced.datasets]
    if replaced.rows:
        summary.warnings.append(replaced.warning())
    reused = reused_student_ids(con, result.rows)
    summary.reused_student_ids, summary.reused_student_ids_first = len(reused.ids), reused.first()
    if reused.ids:
        summary.warnings.append(reused.warning())


def _insert_dataset(con, summary: IngestSummary) -> int:
    row = con.execute(
        """
        INSERT INTO datasets (name, source_file, sha256, size_bytes, file_format, sheet, encoding, delimiter,
            uploaded_at, rows_total, rows_loaded, rows_rejected, rows_open, rows_blank, grade_mismatches,
            status, message, run_id, uploaded_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', ?, ?, ?)
        RETURNING dataset_id
        """,
        [
            summary.name, Path(summary.source_file).name, summary.sha256, summary.size_bytes, summary.file_format,
            summary.sheet, summary.encoding, summary.delimiter, utc_now(),
            summary.rows_total, summary.rows_loaded, summary.rows_rejected, summary.rows_open, summary.rows_blank,
            summary.grade_mismatches, summary.message, summary.run_id, summary.uploaded_by,
        ],
    ).fetchone()
    return int(row[0])


def _insert_rows(con, dataset_id: int, rows: pd.DataFrame, progress: Progress) -> None:
    total = len(rows)
    for start in range(0, total, LOAD_CHUNK_ROWS):
        chunk = rows.iloc[start : start + LOAD_CHUNK_ROWS]
        con.register("rows_chunk", chunk)
        con.execute(
            "INSERT INTO student_performance BY NAME SELECT ? AS dataset_id, * FROM rows_chunk", [dataset_id]
        )
        con.unregister("rows_chunk")
        progress(f"loaded {min(start + LOAD_CHUNK_ROWS, total):,}/{total:,} rows")


def write_outputs(result: IngestResult, run_dir: Path) -> None:
    """The step's summary and every reject, for the run folder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if len(result.rejects):
        exports.write_csv(result.rejects, run_dir / run_files.REJECTED_ROWS)
    # the summary last: a reader that finds it (the teacher console, while the report is written) finds the rejects
    (run_dir / run_files.INGEST_SUMMARY).write_text(json.dumps(result.summary.to_dict(), indent=2, default=str))


def list_datasets(settings: Settings | None = None) -> pd.DataFrame:
    """Every uploaded dataset with its counts and status, oldest first (``studyrec datasets``)."""
    return warehouse.query_frame(
        "SELECT dataset_id, name, source_file, uploaded_at, uploaded_by, rows_total, rows_loaded, rows_rejected, "
        "rows_open, status, run_id, sha256 FROM datasets ORDER BY dataset_id",
        settings=settings,
    )
