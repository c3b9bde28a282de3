"""HTML pieces the console's panels share: full-text tables, messages, and downloads a browser saves."""

from __future__ import annotations

import base64
from html import escape

import pandas as pd

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"
ERROR_COLOUR = "#b00020"


def table_html(frame: pd.DataFrame, css_class: str, empty: str = "Nothing to show.") -> str:
    """Every cell escaped and in full: pandas cuts text at 50 characters by default ("is not uni...")."""
    if frame.empty:
        return f'<p class="{css_class}-empty">{escape(empty)}</p>'
    with pd.option_context("display.max_colwidth", None):
        table = frame.to_html(index=False, escape=True, na_rep="", classes=f"studyrec-table {css_class}",
                              border=0, float_format=lambda v: f"{v:,.2f}")
    return f'<div class="studyrec-table-box" style="overflow-x:auto;max-height:32em">{table}</div>'


def message_html(text: str, css_class: str = "studyrec-console-message", error: bool = False) -> str:
    style = f' style="color:{ERROR_COLOUR}"' if error else ""
    return f'<p class="{css_class}"{style}>{escape(text)}</p>'


def download_html(data: bytes, filename: str, mime: str, label: str, css_class: str) -> str:
    """A link the browser saves as ``filename``; the bytes travel in the page (a table of a few MB at most)."""
    encoded = base64.b64encode(data).decode("ascii")
    return (f'<a class="{css_class}" download="{escape(filename)}" href="data:{mime};base64,{encoded}">'
            f"{escape(label)}</a>")
