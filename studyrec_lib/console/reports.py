"""Each run's report, opened read-only: links to the reports service (the run folders are never served here)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from urllib.parse import quote

import ipywidgets as widgets

from studyrec_lib.core.config import Settings
from studyrec_lib.runs import list_runs

MAX_RUNS = 200  # the newest; older ones stay in the runs index


def reports_html(settings: Settings, reports_url: str) -> str:
    """Newest run first: kind, status, start, and a link per HTML report in its folder."""
    runs = list_runs(settings).tail(MAX_RUNS).iloc[::-1]
    if runs.empty:
        return '<p class="studyrec-reports-empty">No run yet.</p>'
    rows = []
    for run in runs.itertuples():
        folder = Path(run.folder)
        links = " ".join(
            f'<a class="studyrec-report-link" target="_blank" href="{reports_url}{quote(run.run_id)}/'
            f'{quote(report.name)}">{escape(report.stem)}</a>'
            for report in sorted(folder.glob("*.html")))
        rows.append(f"<tr><td>{escape(run.kind)}</td><td>{escape(run.status)}</td>"
                    f"<td>{run.started_at:%Y-%m-%d %H:%M} UTC</td><td>{links or 'no report'}</td></tr>")
    return ('<table class="studyrec-table studyrec-reports"><thead><tr><th>kind</th><th>status</th>'
            f"<th>started</th><th>reports</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


class ReportsPanel:
    def __init__(self, settings: Settings, reports_url: str):
        self.settings, self.reports_url = settings, reports_url
        self.listing = widgets.HTML()
        refresh = widgets.Button(description="Refresh")
        refresh.on_click(lambda _button: self.refresh())
        self.widget = widgets.VBox([widgets.HTML(f'<p><a target="_blank" href="{reports_url}">All runs (the runs '
                                                 "index)</a></p>"), refresh, self.listing])
        self.refresh()

    def refresh(self) -> None:
        self.listing.value = reports_html(self.settings, self.reports_url)
