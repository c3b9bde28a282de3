import re

import numpy as np
import pandas as pd

from studyrec_lib.core.csp import script_hash_source
from studyrec_lib.core.report_scripts import REPORT_SCRIPT_SOURCES
from studyrec_lib.evaluation.at_risk import PREDICTION_COLUMNS, TEACHER_HEADERS
from studyrec_lib.evaluation.at_risk_view import at_risk_html

KEY_HEADERS = ["Student", "Subject", "Predicted grade", "Chance of D or F (%)", "Predicted final marks (of 50)",
               "Predicted total (of 100)", "Weak signals"]


def _scored(rows: int) -> pd.DataFrame:
    """A find_at_risk table of ``rows`` open rows, every third flagged, the first with markup in its id."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"student_id": [f"S{i:03d}" for i in range(rows)], "semester": 8, "subject": "Physics",
                          "assignment_marks": 2.5, "quiz_marks": 4.0, "attendance_percentage": 70.0,
                          "midterm_marks": 12.0, "previous_cgpa": 2.25,
                          "predicted_final_marks": rng.uniform(5, 40, rows).round(1), "predicted_total": 48.5,
                          "predicted_grade": "D", "p_d_or_f": rng.uniform(0, 1, rows).round(3),
                          "at_risk": np.arange(rows) % 3 == 0,
                          "weak_signals": "quiz marks below 5 of 10; midterm marks below 15 of 30"})
    frame.loc[0, "student_id"] = "<b>S-000</b>"
    return frame[[*frame.columns[:8], *PREDICTION_COLUMNS]]


def _rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>") if row]


def test_every_flagged_row_is_in_the_table_key_columns_first_in_a_scrolling_box():
    scored = _scored(200)
    html = at_risk_html(scored).data
    headers = re.findall(r"<th>(.*?)</th>", html)
    assert headers[:7] == KEY_HEADERS
    assert set(headers) == set(TEACHER_HEADERS.values()) - {"At risk"}  # every column but the flag itself
    rows = _rows(html)
    flagged = scored[scored["at_risk"]]
    assert len(rows) == len(flagged) == 67  # all of them: no "5 + 5 rows"
    assert [row[0] for row in rows] == ["&lt;b&gt;S-000&lt;/b&gt;", *flagged["student_id"][1:]]  # escaped
    assert [row[3] for row in rows] == [f"{value:g}" for value in (flagged["p_d_or_f"] * 100).round(1)]
    assert "67 of 200 open rows flagged, 67 students." in html
    assert "max-height" in html and "overflow: auto" in html and 'type = "search"' in html


def test_no_open_rows_or_none_flagged_say_so():
    scored = _scored(6)
    assert at_risk_html(scored.iloc[:0]).data == "<p>No open rows in the latest data.</p>"
    assert at_risk_html(scored.assign(at_risk=False)).data == "<p>No open row is flagged at risk.</p>"


def test_the_search_script_is_the_same_in_every_table_so_the_reports_service_can_allow_it_by_hash():
    first, second = at_risk_html(_scored(30)).data, at_risk_html(_scored(90)).data
    scripts = [re.findall(r"<script>(.*?)</script>", html, re.S) for html in (first, second)]
    assert scripts[0] == scripts[1] and len(scripts[0]) == 1
    assert script_hash_source(scripts[0][0]) in REPORT_SCRIPT_SOURCES.split()
