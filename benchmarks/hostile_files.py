"""Hostile upload files at the sizes measured in issue 18, built once into benchmarks/.data/hostile/.

Each builder writes its file with the zip and XML written directly (an Excel writer would take minutes,
or could not write a lying workbook at all) and returns its path.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl

from studyrec_lib.core.schema import COLUMNS

ROW = ["S1", 1, "Math", 4, 8, 90, 25, 3.5, 40, "A+"]
CHUNK = 1 << 20


def _workbook_parts() -> dict[str, bytes]:
    workbook = openpyxl.Workbook()
    workbook.active.append(list(COLUMNS))
    workbook.active.append(ROW)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_xlsx(path: Path, replace: dict[str, Callable[[zipfile.ZipFile, str], None]] | None = None,
                edit: Callable[[str, bytes], bytes] | None = None) -> Path:
    parts = _workbook_parts()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            if replace and name in replace:
                replace[name](archive, name)
            else:
                archive.writestr(name, edit(name, data) if edit else data)
        for name, writer in (replace or {}).items():
            if name not in parts:
                writer(archive, name)
    return path


def _stream(archive: zipfile.ZipFile, name: str, pieces) -> None:
    with archive.open(name, "w", force_zip64=True) as member:
        for piece in pieces:
            member.write(piece)


def declared_dimension(path: Path) -> Path:
    """1.5 KB: a sheet that declares A1:XFD1048576."""
    return _write_xlsx(path, edit=lambda name, data: re.sub(
        rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', data) if name.endswith("sheet1.xml")
        else data)


def shared_strings_bomb(path: Path) -> Path:
    """About 1 MB expanding to 1 GiB: one shared string of a billion characters, used by a cell."""
    head = b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/' \
           b'2006/main" count="1" uniqueCount="1"><si><t>'
    tail = b"</t></si></sst>"
    filler = b"A" * CHUNK

    def strings(archive: zipfile.ZipFile, name: str) -> None:
        _stream(archive, name, [head, *(filler for _ in range(1024)), tail])

    return _write_xlsx(path, replace={"xl/sharedStrings.xml": strings})


def sheet_bomb(path: Path) -> Path:
    """About 12.5 MB expanding to 3.2 GB of sheet XML (the same row, repeated)."""
    head = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/' \
           b'spreadsheetml/2006/main"><sheetData>'
    row = b"".join(b'<c t="inlineStr"><is><t>x</t></is></c>' for _ in range(10))
    block = b"".join(b"<row>" + row + b"</row>" for _ in range(2500))  # about 1 MB

    def sheet(archive: zipfile.ZipFile, name: str) -> None:
        _stream(archive, name, [head, *(block for _ in range(3200)), b"</sheetData></worksheet>"])

    return _write_xlsx(path, replace={"xl/worksheets/sheet1.xml": sheet})


def formula_rows(path: Path) -> Path:
    """1,048,575 rows of formulas in every cell, an Excel sheet's whole height (about 33 MB)."""
    head = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/' \
           b'spreadsheetml/2006/main"><sheetData>'
    header = b"<row>" + b"".join(b'<c t="inlineStr"><is><t>%s</t></is></c>' % c.encode() for c in COLUMNS) + b"</row>"
    row = b"<row>" + b"<c><f>1+1</f></c>" * len(COLUMNS) + b"</row>"

    def sheet(archive: zipfile.ZipFile, name: str) -> None:
        _stream(archive, name, [head, header, *(row * 1000 for _ in range(1048)), row * 575,
                                b"</sheetData></worksheet>"])

    return _write_xlsx(path, replace={"xl/worksheets/sheet1.xml": sheet})


def formula_rows_csv(path: Path) -> Path:
    """The same 1,048,575 rows of formula text as CSV (CSV has no row limit, so every row is validated)."""
    line = (",".join(["=1+1"] * len(COLUMNS)) + "\n").encode()
    with path.open("wb") as handle:
        handle.write((",".join(COLUMNS) + "\n").encode())
        for _ in range(1048):
            handle.write(line * 1000)
        handle.write(line * 575)
    return path


def single_field(path: Path) -> Path:
    """A 50 MB CSV whose first header cell is one quoted field."""
    with path.open("wb") as handle:
        handle.write(b'"')
        for _ in range(50):
            handle.write(b"f" * CHUNK)
        handle.write(b'",' + ",".join(COLUMNS).encode() + b"\nx,S1,1,Math,4,8,90,25,3.5,40,A+\n")
    return path


def wide_csv(path: Path) -> Path:
    """A CSV of 200,000 columns: the schema's ten, then 199,990 more, and 20 rows."""
    extra = ",".join(f"extra{i}" for i in range(200_000 - len(COLUMNS)))
    cells = ",".join("1" for _ in range(200_000 - len(COLUMNS)))
    with path.open("w") as handle:
        handle.write(",".join(COLUMNS) + "," + extra + "\n")
        for i in range(20):
            handle.write(f"S{i},1,Math,4,8,90,25,3.5,40,A+," + cells + "\n")
    return path


BUILDERS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "declared_dimension": ("declared.xlsx", declared_dimension),
    "shared_strings_bomb": ("strings-bomb.xlsx", shared_strings_bomb),
    "sheet_bomb": ("sheet-bomb.xlsx", sheet_bomb),
    "formula_rows_xlsx": ("formulas.xlsx", formula_rows),
    "formula_rows_csv": ("formulas.csv", formula_rows_csv),
    "single_50mb_field": ("field.csv", single_field),
    "200k_columns": ("wide.csv", wide_csv),
}


def build(name: str, folder: Path) -> Path:
    file_name, builder = BUILDERS[name]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    if not path.exists():
        partial = path.with_name(path.name + ".partial" + path.suffix)
        builder(partial)
        partial.replace(path)
    return path
