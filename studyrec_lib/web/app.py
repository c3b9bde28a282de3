"""The student app: an ipywidgets form over the prediction core, shown by Voila and in JupyterLab alike.

Each field shows its range and explains out-of-range input next to itself. The result is rendered as HTML
(grade, probability bars, signals, study-plan links) so it appears as soon as the kernel answers, with no
plotting library in the click-to-result path. Weak subjects come only from the identity the server gives
(JupyterHub's user, or a token configured for the app), never from anything typed into the page.
When anything fails, the page shows a plain message; the details (exception, paths) go to the server log.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from html import escape

import ipywidgets as widgets

from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.files import apply_umask
from studyrec_lib.core.schema import FIELDS_BY_NAME
from studyrec_lib.serving.inputs import NUMERIC_INPUTS, check_features
from studyrec_lib.serving.models import NoActiveModel
from studyrec_lib.serving.predictor import Predictor
from studyrec_lib.serving.spool import PredictionSpool, new_record
from studyrec_lib.serving.student_history import WeakSubjectsCache, student_courses
from studyrec_lib.serving.study_plan import current_resources
from studyrec_lib.web.accounts import student_of
from studyrec_lib.web.result_html import field_error_html, no_model_html, render_errors_note, render_result
from studyrec_lib.web.server_log import log_to_server
from studyrec_lib.web.token_panel import TokenPanel
from studyrec_lib.web.tokens import TokenStore

ENV_HUB_USER = "JUPYTERHUB_USER"
ENV_APP_TOKEN = "STUDYREC_APP_TOKEN"
NUMBER_FIELDS = NUMERIC_INPUTS  # the form's number fields, in the schema's order
# A typical student's marks, so the first Predict shows something sensible before any edit.
STARTING_VALUES = {"semester": 1.0, "assignment_marks": 3.0, "quiz_marks": 6.0, "attendance_percentage": 80.0,
                   "midterm_marks": 18.0, "previous_cgpa": 3.0}
LABEL_WIDTH = "210px"
FIELD_WIDTH = "150px"
# What a student sees when anything fails: no exception text (it may name server paths), no traceback.
PROBLEM_HTML = ('<div class="studyrec-message studyrec-problem"><h3>No prediction right now</h3>'
                "<p>Something went wrong on the server. Please try again in a few minutes; if it keeps "
                "happening, tell your teacher.</p></div>")

log = logging.getLogger(__name__)


def app_identity(settings: Settings, environ: Mapping[str, str] | None = None,
                 student: str | None = None) -> tuple[str | None, str | None]:
    """The student this app speaks for (or None), and a note for the page when a configured token is bad.

    ``student`` is what the hub service's server wrote into the notebook (``web.hub_identity``); then the
    hub's user of a single-user server, then a token configured for a one-student local run.
    """
    if student:
        linked = student_of(student, settings)
        if linked is None:
            return None, (f"Your account {student} is not linked to a student record yet, so no marks or weak "
                          "subjects of yours are shown. Ask your teacher to link it.")
        return linked, None
    environ = os.environ if environ is None else environ
    if environ.get(ENV_HUB_USER):
        return environ[ENV_HUB_USER], None
    token = environ.get(ENV_APP_TOKEN, "").strip()
    if not token:
        return None, None
    student_id = TokenStore(settings).student_for(token)
    if student_id is None:
        return None, (f"The app's token ({ENV_APP_TOKEN}) is not valid or was revoked, so your weak subjects "
                      "are not shown. Ask for a new one (`studyrec tokens create`).")
    return student_id, None


class StudentApp:
    """One student's page: build it with :func:`build_app`; ``predict()`` is what the button runs."""

    def __init__(self, settings: Settings | None = None, environ: Mapping[str, str] | None = None,
                 student: str | None = None):
        self.settings = settings or load_settings()
        quick = dataclasses.replace(self.settings, lock_timeout_s=0.2)  # never keep a student waiting
        self.student_id, identity_note = app_identity(self.settings, environ, student)
        self.predictor = Predictor(self.settings, resources=current_resources(quick))
        # One student clicks at a time: a 0.2 s try per click is cheap, and fresher than a back-off.
        self.weak_cache = WeakSubjectsCache(quick, busy_backoff_s=0)
        self.spool: PredictionSpool | None = None
        self.fields: dict[str, widgets.ValueWidget] = {}
        self.field_errors: dict[str, widgets.HTML] = {}
        self.button = widgets.Button(description="Predict", button_style="primary")
        self.button.add_class("studyrec-predict")
        self.button.on_click(self._guarded(self.predict))
        self.result = widgets.HTML()
        self.result.add_class("studyrec-result")
        self.note = widgets.HTML(f'<p class="studyrec-note">{escape(identity_note)}</p>' if identity_note else "")
        self.widget = widgets.VBox([])
        self.widget.add_class("studyrec-app")
        self.tokens: TokenPanel | None = None  # only for a student the server identified
        self.courses: list[dict] = []
        self.refresh()

    def refresh(self) -> None:
        """Show the form when a model is active, else the message that says how to train one."""
        try:
            models = self.predictor.models()
        except NoActiveModel:
            self._show_message(no_model_html("No trained model is active yet."))
            return
        except Exception:  # e.g. an artifact that fails its sha256 check
            log.exception("student app: the active models cannot be used")
            self._show_message(PROBLEM_HTML)
            return
        self._build_form(sorted(models.subjects))

    def _guarded(self, action: Callable[[], object]) -> Callable[..., None]:
        """A widget callback that shows the plain message on any error: an uncaught one would reach the
        page as a traceback (widget callbacks are not filtered by Voila's show_tracebacks)."""
        def callback(*_args: object) -> None:
            try:
                action()
            except Exception:
                log.exception("student app: %s failed", getattr(action, "__name__", "a callback"))
                if self.result in self.widget.children:
                    self.result.value = PROBLEM_HTML
                else:
                    self._show_message(PROBLEM_HTML)
        return callback

    def _show_message(self, html: str) -> None:
        again = widgets.Button(description="Check again")
        again.add_class("studyrec-check-again")
        again.on_click(self._guarded(self.refresh))
        message = widgets.HTML(html)
        message.add_class("studyrec-no-model")
        self.widget.children = [message, again]

    def _build_form(self, subjects: list[str]) -> None:
        rows = [self._courses_row(subjects)] if self.student_id else []
        rows.append(self._field_row("subject", "Subject", widgets.Dropdown(options=subjects)))
        for name in NUMBER_FIELDS:
            spec = FIELDS_BY_NAME[name]
            label = f"{spec.label} ({spec.low:g}-{spec.high:g})"
            # Text, not FloatText: a FloatText silently reverts letters or a cleared box to its last number,
            # so the student never learns the value was refused. The schema's check explains it instead.
            field = widgets.Text(value=f"{STARTING_VALUES[name]:g}", layout=widgets.Layout(width=FIELD_WIDTH))
            rows.append(self._field_row(name, label, field))
        signed_in = (f'<p class="studyrec-signed-in">Signed in as <b>{escape(self.student_id)}</b></p>'
                     if self.student_id else "")
        title = widgets.HTML(f"<h2>Your predicted grade</h2>{signed_in}"
                             "<p>Enter your marks so far and press Predict.</p>")
        if self.student_id and self.tokens is None:
            self.tokens = TokenPanel(self.settings, self.student_id, self._guarded)
        self.widget.children = [title, self.note, *rows, self.button, self.result,
                                *([self.tokens.widget] if self.tokens else [])]
        if self.spool is None:
            self.spool = PredictionSpool(self.settings, source="app").start()

    def _courses_row(self, subjects: list[str]) -> widgets.HBox:
        """The student's own courses; picking one fills the form with the marks already recorded."""
        self.courses = student_courses(self.student_id, self.settings)
        options = [("Choose one of your courses", None)] + [
            (f"Semester {c['semester']}: {c['subject']}" + (" (open)" if c["final_marks"] is None else ""), i)
            for i, c in enumerate(self.courses)]
        picker = widgets.Dropdown(options=options, value=None, layout=widgets.Layout(width="auto"))
        picker.add_class("studyrec-courses")
        picker.observe(self._guarded(lambda: self.fill_course(picker.value, subjects)), names="value")
        label = widgets.Label("Your courses", layout=widgets.Layout(width=LABEL_WIDTH, max_width="100%"))
        label.add_class("studyrec-label")
        return widgets.HBox([label, picker], layout=widgets.Layout(flex_flow="row wrap", align_items="center"))

    def fill_course(self, index: int | None, subjects: list[str]) -> None:
        """Put a recorded course's marks into the form; what-if edits stay possible afterwards."""
        if index is None:
            return
        course = self.courses[index]
        if course["subject"] in subjects:
            self.fields["subject"].value = course["subject"]
        for name in NUMBER_FIELDS:
            self.fields[name].value = f"{course[name]:g}"

    def _field_row(self, name: str, label: str, field: widgets.ValueWidget) -> widgets.HBox:
        field.add_class(f"studyrec-input-{name}")
        field.observe(self._guarded(lambda: self.show_field_errors(only=name)), names="value")
        error = widgets.HTML()
        error.add_class(f"studyrec-error-{name}")
        self.fields[name], self.field_errors[name] = field, error
        # The row wraps on a narrow screen (a phone, 390 px): label, then field, then its error, never cut off.
        label_widget = widgets.Label(label, layout=widgets.Layout(width=LABEL_WIDTH, max_width="100%"))
        label_widget.add_class("studyrec-label")
        return widgets.HBox([label_widget, field, error],
                            layout=widgets.Layout(flex_flow="row wrap", align_items="center"))

    def payload(self) -> dict:
        return {name: field.value for name, field in self.fields.items()}

    def show_field_errors(self, only: str | None = None) -> int:
        """Explain each broken rule next to its field; returns how many fields are wrong."""
        _, errors = check_features(self.payload())
        by_field = {e.field: e.rule for e in errors}
        for name, error in self.field_errors.items():
            if only is None or name == only:
                error.value = field_error_html(by_field[name]) if name in by_field else ""
        return len(by_field)

    def predict(self) -> dict | None:
        """Run one prediction from the form, show it and log it; None when the input is wrong."""
        if self.show_field_errors():
            self.result.value = render_errors_note()
            return None
        started = time.perf_counter()
        payload, _ = check_features(self.payload())  # the numbers the text fields hold, as the log keeps them
        try:
            weak, weak_warning = self.weak_cache.get(self.student_id) if self.student_id else (None, None)
            result = self.predictor.predict(payload, weak_subjects=weak)
        except NoActiveModel:
            self.result.value = no_model_html("No trained model is active yet.")
            return None
        except Exception:
            log.exception("student app: no prediction for student %s", self.student_id)
            self.result.value = PROBLEM_HTML
            return None
        if weak_warning:
            result["warnings"].append(weak_warning)
        response_ms = round((time.perf_counter() - started) * 1000, 3)
        if self.spool is not None:
            self.spool.append(new_record("app", self.student_id, payload, result, response_ms))
        self.result.value = render_result(result)
        return result

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()


def build_app(warehouse: str | None = None, environ: Mapping[str, str] | None = None,
              student: str | None = None) -> widgets.Widget:
    """The student app's widget, what ``apps/predict_widget.ipynb`` displays.

    This is the app kernel's entry point: whoever started the kernel (``studyrec app``, JupyterHub), its
    files are private and its details go to the server log. If the app cannot start, a plain message shows.

    Args:
        warehouse: the DuckDB file to use; None reads ``STUDYREC_WAREHOUSE`` (or the default).
        environ: where the student's identity is read (``JUPYTERHUB_USER``, ``STUDYREC_APP_TOKEN``);
            None reads the process environment.
        student: the signed-in student, written into the notebook by the hub service's server (never taken
            from the page); None: the identity comes from ``environ``.

    Returns:
        The widget to display. Its :class:`StudentApp` is ``widget.app``; a widget that could not start
        the app (it shows a plain message instead) has none.
    """
    log_to_server()
    try:
        apply_umask()
        app = StudentApp(load_settings(warehouse=warehouse), environ, student)
    except Exception:
        log.exception("student app: cannot start")
        return widgets.HTML(PROBLEM_HTML)
    app.widget.app = app
    return app.widget
