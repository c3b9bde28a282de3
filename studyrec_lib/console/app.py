"""The teacher console: one page of tabs (upload, uploads, training, at-risk students, models, reports).

``apps/teacher_console.ipynb`` displays :func:`build_console`. Under the hub (the ``teacher-console`` service)
the server writes the signed-in teacher and whether they are a hub admin into the notebook
(``web.hub_identity.teacher_prelaunch_hook``); run by hand (JupyterLab, ``make console``) the teacher is the
OS user and no one is an admin. When anything fails, the page shows a plain message and the server log the
details. Only the Upload tab is built at sign-in; each other tab is built (and its module imported: the at-risk
list loads scikit-learn and scores every open row) when first opened, so the console is usable sooner.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from html import escape

import ipywidgets as widgets

from studyrec_lib.console.upload import UploadPanel
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.files import apply_umask
from studyrec_lib.web.server_log import log_to_server

REPORTS_URL = "/services/reports/"  # the hub's read-only reports service
PROBLEM_HTML = ('<div class="studyrec-message studyrec-problem"><h3>The console cannot start</h3>'
                "<p>Something went wrong on the server. Please try again in a few minutes; if it keeps "
                "happening, tell an analyst (the details are in the server log).</p></div>")
TABS = ("Upload", "Uploads", "Training", "At-risk students", "Models", "Reports")

log = logging.getLogger(__name__)


class TeacherConsole:
    """The tabs, each panel built when first opened; an upload, a withdrawal or a training refreshes the built
    panels that depend on it (the others read everything afresh when opened)."""

    def __init__(self, settings: Settings, teacher: str, admin: bool = False, reports_url: str = REPORTS_URL):
        self.settings, self.teacher, self.admin, self.reports_url = settings, teacher, admin, reports_url
        self.upload = UploadPanel(settings, teacher, reports_url, on_loaded=self.data_changed)
        builders: list[Callable[[], object]] = [lambda: self.upload, self._history, self._training,
                                                 self._at_risk, self._models, self._reports]
        self._builders = dict(zip(TABS, builders, strict=True))
        self._panels: dict[str, object] = {TABS[0]: self.upload}
        self.tabs = widgets.Tab([self.upload.widget] + [widgets.HTML("<p>Loading...</p>") for _ in TABS[1:]],
                                titles=TABS)
        self.tabs.observe(lambda change: self.panel(TABS[change["new"]]), names="selected_index")
        role = "teacher, hub admin" if admin else "teacher"
        header = widgets.HTML(f"<h2>StudyRec: teacher console</h2><p class=\"studyrec-signed-in\">Signed in as "
                              f"<b>{escape(teacher)}</b> ({role})</p>")
        self.widget = widgets.VBox([header, self.tabs])
        self.widget.add_class("studyrec-console")

    def panel(self, title: str) -> object:
        """The tab's panel, built (and shown in its tab) on first use."""
        if title not in self._panels:
            self._panels[title] = built = self._builders[title]()
            children = list(self.tabs.children)
            children[TABS.index(title)] = built.widget
            self.tabs.children = children
        return self._panels[title]

    def _history(self) -> object:
        from studyrec_lib.console.history import HistoryPanel

        return HistoryPanel(self.settings, self.teacher, self.reports_url, on_change=self.data_changed)

    def _training(self) -> object:
        from studyrec_lib.console.training import TrainingPanel

        return TrainingPanel(self.settings, self.teacher, on_finished=self.models_changed)

    def _at_risk(self) -> object:
        from studyrec_lib.console.at_risk import AtRiskPanel

        return AtRiskPanel(self.settings)

    def _models(self) -> object:
        from studyrec_lib.console.models import ModelsPanel

        return ModelsPanel(self.settings, self.teacher, self.admin, self.reports_url)

    def _reports(self) -> object:
        from studyrec_lib.console.reports import ReportsPanel

        return ReportsPanel(self.settings, self.reports_url)

    def _refresh_built(self, titles: tuple[str, ...]) -> None:
        for title in titles:
            if title in self._panels:
                self._panels[title].refresh()

    def data_changed(self) -> None:
        """After an upload or a withdrawal: the uploads, the at-risk list and the reports change."""
        self._refresh_built(("Uploads", "At-risk students", "Reports"))

    def models_changed(self) -> None:
        """After a training: the versions, the at-risk list (new active models) and the reports change."""
        self._refresh_built(("Models", "At-risk students", "Reports"))


def build_console(warehouse: str | None = None, teacher: str | None = None, admin: bool = False,
                  reports_url: str = REPORTS_URL) -> widgets.Widget:
    """The teacher console's widget, what ``apps/teacher_console.ipynb`` displays.

    Args:
        warehouse: the DuckDB file to use; None reads ``STUDYREC_WAREHOUSE`` (or the default).
        teacher: the signed-in teacher, written into the notebook by the hub service's server (never taken
            from the page); None: the OS user (a console run by hand).
        admin: whether the teacher is a hub admin (only admins may roll back a model version).
        reports_url: where the run reports are served read-only (the hub's ``reports`` service).

    Returns:
        The widget to display; its :class:`TeacherConsole` is ``widget.console`` (none when it could not start).
    """
    log_to_server()
    try:
        apply_umask()
        console = TeacherConsole(load_settings(warehouse=warehouse), teacher or getpass.getuser(), admin,
                                 reports_url)
    except Exception:
        log.exception("teacher console: cannot start")
        return widgets.HTML(PROBLEM_HTML)
    console.widget.console = console
    return console.widget
