"""How much of a teacher's file is read, kept and echoed: bounds that a hostile file cannot push.

A file beyond these is refused at once with the rule it broke; the counts of a file within them stay
exact even where the detail kept about its rejected rows stops (``MAX_REJECTED_ROWS_DETAIL``).
"""

from __future__ import annotations

MAX_COLUMNS = 200  # header cells; the schema has ten columns, real sheets a few dozen
MAX_CELL_CHARS = 10_000  # one cell's text; the schema's text fields allow 100
MAX_SHEET_ROWS = 200_000  # rows of one Excel sheet (larger data: CSV, which has no such limit)
MAX_XLSX_EXPANDED_MB = 256.0  # decompressed size of a workbook's parts, also never above the upload limit
MAX_REJECTED_ROWS_DETAIL = 10_000  # rejected rows whose rules, values and raw row are kept
MAX_ECHO_CHARS = 80  # what a message or a kept value repeats of one cell or header
MAX_ECHO_ITEMS = 20  # how many headers or sheets a message lists


def echo(text: object, limit: int = MAX_ECHO_CHARS) -> str:
    """The start of ``text``, marked when cut, so no message repeats a hostile cell in full."""
    value = str(text)
    return value if len(value) <= limit else f"{value[:limit]}... ({len(value):,} characters)"


def echo_list(items: list[object], limit: int = MAX_ECHO_ITEMS) -> str:
    shown = [echo(item) for item in items[:limit]]
    more = f" and {len(items) - limit:,} more" if len(items) > limit else ""
    return f"{shown}{more}"
