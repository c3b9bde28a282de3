"""The at-risk list in a report: who, in which subject, how likely to fail and why first; every row, in a box that fits.

A DataFrame's own HTML cut the list to 5 + 5 rows and ran 1,653 px wide in the report's 1,158 px, hiding the
predicted grade and the chance of D or F off screen. Here the key columns come first, long text wraps, and
every flagged row is in a box that scrolls. A constant inline script (core.report_scripts) adds a search box;
the reports service allows exactly that script, and where no script runs (an untrusted notebook) the list still
shows in full.
"""

from __future__ import annotations

import numbers
from html import escape

import pandas as pd
from IPython.display import HTML

from studyrec_lib.core.report_scripts import AT_RISK_SEARCH
from studyrec_lib.evaluation.at_risk import TEACHER_HEADERS, teacher_table

# What a teacher acts on, in reading order; the marks behind the prediction follow.
KEY_COLUMNS = ("student_id", "subject", "predicted_grade", "p_d_or_f", "predicted_final_marks", "predicted_total",
               "weak_signals")
HIDDEN_COLUMNS = ("at_risk",)  # every row shown is flagged: the column would only say "yes"
# Selectors as specific as JupyterLab's own table rules (right-aligned, nowrap-prone), which they must override.
STYLE = """<style>
div.studyrec-at-risk div.studyrec-at-risk-box {max-height: 34em; overflow: auto; border: 1px solid #ccc}
div.studyrec-at-risk table.studyrec-at-risk-table {width: 100%; table-layout: auto; border-collapse: collapse;
  margin: 0; font-size: 12px}
div.studyrec-at-risk table.studyrec-at-risk-table th {position: sticky; top: 0; background: #f0f0f0;
  text-align: left; vertical-align: bottom; white-space: normal; padding: 4px 6px}
div.studyrec-at-risk table.studyrec-at-risk-table td {text-align: left; vertical-align: top; white-space: normal;
  overflow-wrap: break-word; padding: 4px 6px; border-top: 1px solid #e4e4e4}
div.studyrec-at-risk table.studyrec-at-risk-table td.studyrec-number {text-align: right}
div.studyrec-at-risk table.studyrec-at-risk-table td.studyrec-signals {min-width: 14em}
div.studyrec-at-risk input[type=search] {width: 24em; margin: 0 0 6px 0; padding: 3px 6px}
</style>"""



def _reading_order(at_risk: pd.DataFrame) -> pd.DataFrame:
    """The flagged rows in a teacher's words, key columns first."""
    order = [*KEY_COLUMNS, *(name for name in TEACHER_HEADERS if name not in KEY_COLUMNS + HIDDEN_COLUMNS)]
    table = teacher_table(at_risk[at_risk["at_risk"]])
    return table[[TEACHER_HEADERS[name] for name in order]]


def _cell(header: str, value: object) -> str:
    """One cell, escaped: numbers right-aligned in their shortest form, the weak signals given room to wrap."""
    if header == TEACHER_HEADERS["weak_signals"]:
        return f'<td class="studyrec-signals">{escape("" if pd.isna(value) else str(value))}</td>'
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f'<td class="studyrec-number">{"" if pd.isna(value) else f"{value:g}"}</td>'
    return f"<td>{escape('' if pd.isna(value) else str(value))}</td>"


def at_risk_html(at_risk: pd.DataFrame) -> HTML:
    """Every flagged row (what at_risk.csv holds), key columns first, in a scrolling box with a search box.

    Args:
        at_risk: what :func:`~studyrec_lib.evaluation.at_risk.find_at_risk` returned (every open row).

    Returns:
        The HTML to display: the count, then the table (or a sentence when no open row is flagged).
    """
    table = _reading_order(at_risk)
    if table.empty:
        reason = "No open rows in the latest data." if at_risk.empty else "No open row is flagged at risk."
        return HTML(f"<p>{reason}</p>")
    header = "".join(f"<th>{escape(name)}</th>" for name in table.columns)
    body = "".join("<tr>" + "".join(_cell(name, value) for name, value in zip(table.columns, row, strict=True))
                   + "</tr>" for row in table.itertuples(index=False))
    count = (f"{len(table):,} of {len(at_risk):,} open rows flagged, "
             f"{table[TEACHER_HEADERS['student_id']].nunique():,} students")
    table_html = (f'<table class="studyrec-at-risk-table"><thead><tr>{header}</tr></thead><tbody>{body}</tbody>'
                  "</table>")
    return HTML(f'{STYLE}<div class="studyrec-at-risk"><p>'
                f'<span class="studyrec-at-risk-count">{count}.</span> <span class="studyrec-at-risk-shown"></span>'
                f'</p><div class="studyrec-at-risk-box">{table_html}</div></div><script>{AT_RISK_SEARCH}</script>')
