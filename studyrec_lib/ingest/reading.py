"""Read a teacher's CSV or Excel file into a table of raw text cells.

Nothing is converted here: every cell stays the text it was in the file, so validation can report
the raw value of a bad cell, and formula-like text (``=SUM(...)``) is never evaluated.

The header is the first row, among the first :data:`HEADER_SEARCH_ROWS` non-blank rows, that names every
required column (:func:`columns.has_required_columns`): a title row such as "Department of Computing -
Semester 8 Results" above it is skipped and counted. Rows keep the numbers they have in the file.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from studyrec_lib.core.errors import FileRefused
from studyrec_lib.core.input_limits import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_SHEET_ROWS,
    MAX_XLSX_EXPANDED_MB,
    echo,
    echo_list,
)
from studyrec_lib.ingest.columns import has_required_columns

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other MS Office binary files)
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
SNIFF_BYTES = 64 * 1024
NON_SPACE = re.compile(r"\S")
MALFORMED_TEXT_CHARS = 1_000  # what is kept of a line that could not be split into cells
LINE_END = re.compile(r"\r\n|\r|\n")  # as pyarrow splits lines: old Mac exports end lines with \r
HEADER_SEARCH_ROWS = 30  # non-blank rows looked at for the header; titles above it are skipped


@dataclass
class MalformedRow:
    """A CSV line that could not be split into the header's number of columns."""

    source_row: int
    text: str
    expected_columns: int
    actual_columns: int

    @property
    def rule(self) -> str:
        """The rule the line breaks, in the words of a rejected row."""
        return f"has {self.actual_columns} cells where the header has {self.expected_columns}"


@dataclass
class RawTable:
    """The file's cells as text, with the header as written and where each row came from."""

    headers: list[str]
    frame: pd.DataFrame  # columns c0..cN, all text, in file order
    source_rows: np.ndarray  # row (line) number in the file of each frame row, counted from 1
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    malformed: list[MalformedRow] = field(default_factory=list)
    blank_rows: int = 0
    header_row: int = 1  # the header's row (line) number in the file
    title_rows: int = 0  # non-blank rows above the header, skipped (titles)
    header_searched: int = 0  # non-blank rows looked at when none named every required column (0: one did)


def read_table(
    path: str | Path, sheet: str | None = None, max_bytes: int | None = None, column_map: dict[str, str] | None = None
) -> RawTable:
    """Read CSV (any common delimiter and encoding) or XLSX, deciding by content, not by name.

    ``column_map`` (header in the file -> canonical column) lets a header that needs the map be found below titles.
    """
    path = Path(path)
    if not path.is_file():
        raise FileRefused(str(path), "file not found.", "Check the path.")
    size = path.stat().st_size
    if size == 0:
        raise FileRefused(str(path), "the file is empty (0 bytes).", "Export the sheet again with its header.")
    if max_bytes is not None and size > max_bytes:
        raise FileRefused(
            str(path),
            f"the file is {_size_text(size)}, over the upload limit of {_size_text(max_bytes)}.",
            "Split it into smaller files, or raise the limit with --max-upload-mb or STUDYREC_MAX_UPLOAD_MB.",
        )
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(OLE2_MAGIC):
        raise FileRefused(
            str(path),
            "this is a legacy Excel .xls (binary) workbook, which is not read.",
            "Open it in Excel or LibreOffice and save it as .xlsx or CSV "
            "(e.g. `libreoffice --headless --convert-to xlsx FILE.xls`), then ingest that file.",
        )
    if head.startswith(ZIP_MAGIC):
        _check_workbook_bounds(path, max_bytes)
        return _read_xlsx(path, sheet, column_map)
    if sheet:
        raise FileRefused(str(path), f"--sheet {sheet!r} was given but this is a text (CSV) file, not Excel.")
    return _read_csv(path, column_map)


def _check_workbook_bounds(path: Path, max_bytes: int | None) -> None:
    """Refuse a workbook whose parts expand beyond the limit, or a sheet over the row limit, before openpyxl reads it.

    The sizes come from the zip's central directory; Python's zipfile never yields more than a member's
    declared size (a member that lies fails its CRC check), so the declared sizes bound what is read.
    """
    limit = int(MAX_XLSX_EXPANDED_MB * 2**20)
    if max_bytes is not None:
        limit = min(limit, max_bytes)
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
            if expanded > limit:
                raise FileRefused(
                    str(path),
                    f"the workbook expands to {_size_text(expanded)} when unpacked, over the limit of "
                    f"{_size_text(limit)}.",
                    "Save the results as CSV, or split the workbook into smaller files.",
                )
            # openpyxl parses every sheet that lacks a <dimension> in full while opening the workbook (a
            # million rows took minutes), so every sheet's rows are counted first.
            for part in archive.namelist():
                if SHEET_PART.fullmatch(part) and _over_row_limit(archive, part):
                    _refuse_tall_sheet(path, part.rsplit("/", 1)[-1].removesuffix(".xml"))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as error:  # a part that lies or is cut
        raise FileRefused(
            str(path), f"the file is a ZIP archive but not a readable .xlsx workbook ({echo(error)}).",
            "Save it again from Excel or LibreOffice as .xlsx.",
        ) from error


def _refuse_wide(path: Path, width: int, where: str) -> None:
    if width > MAX_COLUMNS:
        raise FileRefused(
            str(path), f"{where} has {width:,} columns, over the limit of {MAX_COLUMNS}.",
            "Keep only the results columns (the ten of the schema and a few others).",
        )


def _refuse_long_cell(path: Path, row: int, column: str, length: int) -> None:
    raise FileRefused(
        str(path),
        f"row {row}, column {echo(column)!r}: a cell of {length:,} characters, over the limit of {MAX_CELL_CHARS:,}.",
        "A results cell holds a mark, a grade or a short text; check that the file is the results export.",
    )


def _size_text(n_bytes: int) -> str:
    """'12.3 MB', or bytes under one MB, so a small limit never reads as '0 MB'."""
    return f"{n_bytes / 2**20:,.1f} MB" if n_bytes >= 2**20 else f"{n_bytes:,} bytes"


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM optional), UTF-16 with BOM, else Windows-1252 or Latin-1."""
    if data.startswith(UTF16_BOMS):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:SNIFF_BYTES]:
        raise FileRefused(
            str(path),
            "the file contains binary data (NUL bytes), so it is neither CSV nor XLSX.",
            "Export the results as CSV (UTF-8) or .xlsx.",
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _looks_binary(text: str) -> bool:
    sample = text[:SNIFF_BYTES]
    if not sample:
        return False
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    return control / len(sample) > 0.01


def _header_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in CANDIDATE_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


@dataclass(frozen=True)
class _HeaderLine:
    """Where the CSV header is: its row, the offsets of its text and of the next line, its delimiter."""

    row: int
    start: int
    end: int
    following: int | None  # where the next line starts; None when the header is the last line
    delimiter: str
    title_rows: int = 0
    searched: int = 0


def _lines(text: str) -> Iterator[tuple[int, int, int, int | None]]:
    """(row number, start, end, start of the next line) of each line, lazily: only the first lines are needed."""
    row, position = 1, 0
    for line_end in LINE_END.finditer(text):
        yield row, position, line_end.start(), line_end.end()
        row, position = row + 1, line_end.end()
    if position < len(text):
        yield row, position, len(text), None


def _header_cells_delimiter(line: str, column_map: dict[str, str] | None) -> str | None:
    """The delimiter that splits ``line`` into cells naming every required column, if one does."""
    for delimiter in sorted(CANDIDATE_DELIMITERS, key=line.count, reverse=True):
        if not 0 < line.count(delimiter) < MAX_COLUMNS:  # a header has several cells, and not too many
            continue
        try:
            cells = next(csv.reader([line], delimiter=delimiter))
        except csv.Error:
            continue
        if has_required_columns(cells, column_map):
            return delimiter
    return None


def _find_csv_header(text: str, column_map: dict[str, str] | None) -> _HeaderLine:
    """The first of the first non-blank lines that names every required column; else the first non-blank line.

    Lines of only blank cells (``,,,,``) are blank: neither the header nor a title.
    """
    first: _HeaderLine | None = None
    looked = 0
    for row, start, end, following in _lines(text):
        line = text[start:end]
        if NON_SPACE.search(line) is None:
            continue
        if first is None:
            first = _HeaderLine(row, start, end, following, _header_delimiter(line))
        if not line.strip("".join(CANDIDATE_DELIMITERS) + " \t"):
            continue
        delimiter = _header_cells_delimiter(line, column_map)
        if delimiter is not None:
            return _HeaderLine(row, start, end, following, delimiter, title_rows=looked)
        looked += 1
        if looked == HEADER_SEARCH_ROWS:
            break
    assert first is not None  # the caller checked that the text is not all blank
    return _HeaderLine(first.row, first.start, first.end, first.following, first.delimiter, searched=looked)


def _read_csv(path: Path, column_map: dict[str, str] | None) -> RawTable:
    data = path.read_bytes()
    text, encoding = _decode(path, data)
    if _looks_binary(text):
        raise FileRefused(
            str(path),
            "the file looks like binary data, not text: it is neither CSV nor XLSX.",
            "Export the results as CSV (UTF-8) or .xlsx.",
        )
    if NON_SPACE.search(text) is None:
        raise FileRefused(str(path), "the file holds only blank space.", "The first line must name the columns.")
    # Lines above the header still count, so row numbers match the lines of the file.
    found = _find_csv_header(text, column_map)
    header_row, header_line, delimiter = found.row, text[found.start : found.end], found.delimiter
    try:
        headers = next(csv.reader([header_line], delimiter=delimiter))
    except csv.Error as error:
        raise FileRefused(str(path), f"row {header_row}: the header cannot be read as CSV ({echo(error)}).") from error
    _refuse_wide(path, len(headers), "the header")
    for header in headers:
        if len(header) > MAX_CELL_CHARS:
            _refuse_long_cell(path, header_row, header, len(header))
    if found.following is None or NON_SPACE.search(text, found.following) is None:
        raise FileRefused(
            str(path), "the file has a header but no data rows.", "Add the students' rows below the header."
        )
    first_row = header_row + 1
    frame, malformed, blank_lines = _parse_csv_bytes(
        text[found.following :].encode("utf-8"), headers, delimiter, first_row
    )
    skipped = np.array(sorted([m.source_row for m in malformed] + blank_lines), dtype=np.int64)
    numbers = np.setdiff1d(
        np.arange(first_row, len(frame) + len(skipped) + first_row), skipped, assume_unique=True
    )
    _refuse_long_cells(path, frame, headers, numbers)
    table = RawTable(
        headers, frame, numbers, "csv", encoding=encoding, delimiter=delimiter, malformed=malformed,
        blank_rows=len(blank_lines), header_row=header_row, title_rows=found.title_rows,
        header_searched=found.searched,
    )
    return _finish(table)


def _refuse_long_cells(path: Path, frame: pd.DataFrame, headers: list[str], source_rows: np.ndarray) -> None:
    """Refuse the file at the first cell longer than the limit (counted in C++, not per cell in Python)."""
    for position, column in enumerate(frame.columns):
        lengths = pc.utf8_length(pa.array(frame[column], type=pa.string())).to_numpy(zero_copy_only=False)
        too_long = np.flatnonzero(lengths > MAX_CELL_CHARS)
        if too_long.size:
            first = int(too_long[0])
            _refuse_long_cell(path, int(source_rows[first]), headers[position], int(lengths[first]))


def _parse_csv_bytes(
    data: bytes, headers: list[str], delimiter: str, first_row: int = 2
) -> tuple[pd.DataFrame, list[MalformedRow], list[int]]:
    """Parse the data lines (header removed) with pyarrow, multi-threaded.

    Only when some line has the wrong number of cells (blank lines included) is it parsed again on
    one thread, because only then does pyarrow report line numbers; those keep rows numbered as in
    the file (``first_row`` is the file row of the first data line). Returns the cells, the malformed
    rows and the numbers of blank lines.
    """
    names = [f"c{i}" for i in range(len(headers))]
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    parse = {"delimiter": delimiter, "ignore_empty_lines": len(headers) == 1}
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(**parse),
            convert_options=convert,
        )
        return table.to_pandas(), [], []
    except pa.ArrowInvalid:
        malformed: list[MalformedRow] = []
        blank_lines: list[int] = []

        def set_aside(row: pacsv.InvalidRow) -> str:
            source_row = (row.number or 0) + first_row - 1  # pyarrow counts data lines from 1
            if row.text.strip(delimiter + " \r\n\t") == "":
                blank_lines.append(source_row)
            else:
                malformed.append(MalformedRow(source_row, echo(row.text, MALFORMED_TEXT_CHARS), row.expected_columns,
                                             row.actual_columns))
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(**parse, invalid_row_handler=set_aside),
            convert_options=convert,
        )
        return table.to_pandas(), malformed, blank_lines


def _cell_text(value: object, number_format: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float) and "%" in number_format:
        value = round(value * 100, 9)  # the cell shows 81% and holds 0.81: keep what the teacher sees
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
ROW_ELEMENT = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _refuse_tall_sheet(path: Path, title: str) -> None:
    raise FileRefused(
        str(path), f"sheet {echo(title)!r} has more than {MAX_SHEET_ROWS:,} rows.",
        "Save larger results as CSV (no row limit), or split the sheet.",
    )


def _over_row_limit(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether one sheet's unpacked XML has more row elements than a header and the row limit (streamed)."""
    stop_after = MAX_SHEET_ROWS + 1
    rows, tail = 0, b""
    with archive.open(part) as stream:
        for block in itertools.chain(iter(lambda: stream.read(1 << 20), b""), [b""]):
            data = tail + block
            cut = max(0, len(data) - 64) if block else len(data)  # a tag in the last bytes: next time
            rows += sum(1 for match in ROW_ELEMENT.finditer(data) if match.start() < cut)
            tail = data[cut:]
            if rows > stop_after:
                return True
    return False


def _sheet_rows(path: Path, worksheet) -> list[list[str]]:
    """The sheet's rows as text, as far as they have cells; refused past the row, column or cell limits.

    ``reset_dimensions`` makes openpyxl ignore the declared ``<dimension>`` (a 1.5 KB file can declare
    A1:XFD1048576, and rows would be padded to it).
    """
    from openpyxl.utils import get_column_letter

    worksheet.reset_dimensions()
    rows: list[list[str]] = []
    for number, cells in enumerate(worksheet.iter_rows(), start=1):
        if number > MAX_SHEET_ROWS + 1:
            _refuse_tall_sheet(path, worksheet.title)
        _refuse_wide(path, len(cells), f"row {number}")
        row = []
        for position, cell in enumerate(cells):
            value = getattr(cell, "value", None)
            text = _cell_text(value, getattr(cell, "number_format", "") or "") if value is not None else ""
            if len(text) > MAX_CELL_CHARS:
                _refuse_long_cell(path, number, get_column_letter(position + 1), len(text))
            row.append(text)
        rows.append(row)
    return rows


def _find_sheet_header(rows: list[list[str]], column_map: dict[str, str] | None) -> tuple[int, int, int]:
    """(index of the header row, title rows above it, rows searched in vain) among a sheet's rows.

    The header is the first of the first non-blank rows that names every required column, else the first
    non-blank row (then ``searched`` says how many rows were looked at). ``rows`` holds a non-blank row.
    """
    non_blank = (index for index, row in enumerate(rows) if any(cell.strip() for cell in row))
    candidates = list(itertools.islice(non_blank, HEADER_SEARCH_ROWS))
    for looked, index in enumerate(candidates):
        if has_required_columns(rows[index], column_map):
            return index, looked, 0
    return candidates[0], 0, len(candidates)


def _read_xlsx(path: Path, sheet: str | None, column_map: dict[str, str] | None) -> RawTable:
    import openpyxl

    # A handle, not the name: openpyxl refuses a workbook whose name does not end in .xlsx/.xlsm.
    handle = path.open("rb")
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        handle.close()
        raise FileRefused(
            str(path), f"the file is a ZIP archive but not a readable .xlsx workbook ({echo(error)}).",
            "Save it again from Excel or LibreOffice as .xlsx.",
        ) from error
    try:
        if sheet:
            if sheet not in workbook.sheetnames:
                raise FileRefused(
                    str(path), f"there is no sheet named {echo(sheet)!r}.",
                    f"Sheets in this file: {echo_list(workbook.sheetnames)}.",
                )
            worksheet = workbook[sheet]
        else:
            worksheet = workbook.worksheets[0]
        sheet_name = worksheet.title
        try:
            rows = _sheet_rows(path, worksheet)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as error:
            raise FileRefused(
                str(path), f"sheet {echo(sheet_name)!r} cannot be read ({echo(error)}).",
                "Save it again from Excel or LibreOffice as .xlsx.",
            ) from error
    finally:
        workbook.close()
        handle.close()
    if not any(any(cell.strip() for cell in row) for row in rows):
        raise FileRefused(str(path), f"sheet {echo(sheet_name)!r} is empty.", "The first row must name the columns.")
    index, title_rows, searched = _find_sheet_header(rows, column_map)
    header_row = index + 1  # rows above the header keep their numbers, as Excel shows them
    headers = rows[index]
    while headers and not headers[-1].strip():
        headers.pop()
    width = len(headers)
    body = rows[index + 1 :]
    if not any(any(cell.strip() for cell in row) for row in body):
        raise FileRefused(
            str(path), f"sheet {echo(sheet_name)!r} has a header but no data rows.", "Add the students' rows below it."
        )
    malformed = [
        MalformedRow(number, echo("\t".join(row), MALFORMED_TEXT_CHARS), width, len(row))
        for number, row in enumerate(body, start=header_row + 1)
        if any(cell.strip() for cell in row[width:])
    ]
    bad_numbers = {m.source_row for m in malformed}
    kept = [(number, (row + [""] * width)[:width]) for number, row in enumerate(body, start=header_row + 1)]
    kept = [(number, row) for number, row in kept if number not in bad_numbers]
    frame = pd.DataFrame([row for _, row in kept], columns=[f"c{i}" for i in range(width)], dtype="str")
    source_rows = np.array([number for number, _ in kept], dtype=np.int64)
    table = RawTable(headers, frame, source_rows, "xlsx", sheet=sheet_name, malformed=malformed,
                     header_row=header_row, title_rows=title_rows, header_searched=searched)
    return _finish(table)


def _finish(table: RawTable) -> RawTable:
    """Set rows whose cells are all blank aside: they are not data rows, only counted."""
    frame = table.frame
    if len(frame.columns):
        blank = np.logical_and.reduce([frame[c].str.strip().eq("").to_numpy() for c in frame.columns])
    else:
        blank = np.ones(len(frame), dtype=bool)
    if blank.any():
        table.blank_rows += int(blank.sum())
        table.frame = frame.loc[~blank].reset_index(drop=True)
        table.source_rows = table.source_rows[~blank]
    return table
