"""The student app: an ipywidgets form over the prediction core, shown by Voila and in JupyterLab alike.

Each field shows its range and explains out-of-range input next to itself. The result is rendered as HTML
(grade, probability bars, signals, study-plan links) so it appears as soon as the kernel answers, with no
plotting library in the click-to-result path. Weak subjects come only from the identity the server gives
(JupyterHub's user, or a token configured for the app), never from anything typed into the page.
When anything fails, the page shows a plain message; the details (exception, paths) go to the server log.
The answers come from a backend (:mod:`studyrec_lib.web.app_backend`): the API behind the hub, so a kernel
imports no pandas, DuckDB or scikit-learn, or the kernel's own models for ``make app`` and JupyterLab.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from html import escape

import ipywidgets as widgets

from studyrec_lib.core.config import load_settings
from studyrec_lib.core.errors import NoActiveModel
from studyrec_lib.core.files import apply_umask
from studyrec_lib.core.schema import FIELDS_BY_NAME
from studyrec_lib.serving.inputs import NUMERIC_INPUTS, check_features
from studyrec_lib.web.api_client import ApiBackend, TooManyRequests, api_configured
from studyrec_lib.web.app_backend import AppBackend
from studyrec_lib.web.result_html import field_error_html, no_model_html, render_errors_note, render_result
from studyrec_lib.web.server_log import log_to_server
from studyrec_lib.web.token_panel import TokenPanel

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
COURSES_UNAVAILABLE = "Your courses cannot be shown just now: type your marks, or reload the page in a minute"
TOO_MANY_HTML = ('<div class="studyrec-message"><h3>Please wait a moment</h3><p>You asked for many predictions '
                 "in the last minute. Wait a little, then press Predict again.</p></div>")

log = logging.getLogger(__name__)


class StudentApp:
    """One student's page: build it with :func:`build_app`; ``predict()`` is what the button runs."""

    def __init__(self, backend: AppBackend):
        self.backend = backend
        self.student_id, identity_note = backend.student_id, backend.note
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
            subjects = self.backend.subjects()
        except NoActiveModel:
            self._show_message(no_model_html("No trained model is active yet."))
            return
        except Exception:  # e.g. an artifact that fails its sha256 check
            log.exception("student app: the active models cannot be used")
            self._show_message(PROBLEM_HTML)
            return
        self._build_form(subjects)

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
            self.tokens = TokenPanel(self.backend, self._guarded)
        self.widget.children = [title, self.note, *rows, self.button, self.result,
                                *([self.tokens.widget] if self.tokens else [])]

    def _courses_row(self, subjects: list[str]) -> widgets.HBox:
        """The student's own courses; picking one fills the form with the marks already recorded."""
        try:
            self.courses = self.backend.courses()
            prompt = "Choose one of your courses"
        except Exception:  # the form still works: the student types the marks
            log.exception("student app: the courses of %s could not be read", self.student_id)
            self.courses, prompt = [], COURSES_UNAVAILABLE
        options = [(prompt, None)] + [
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
        payload, _ = check_features(self.payload())  # the numbers the text fields hold, as the log keeps them
        try:
            result = self.backend.predict(payload)
        except NoActiveModel:
            self.result.value = no_model_html("No trained model is active yet.")
            return None
        except TooManyRequests:
            self.result.value = TOO_MANY_HTML
            return None
        except Exception:
            log.exception("student app: no prediction for student %s", self.student_id)
            self.result.value = PROBLEM_HTML
            return None
        self.result.value = render_result(result)
        return result

    def close(self) -> None:
        self.backend.close()


def open_backend(warehouse: str | None, environ: Mapping[str, str], student: str | None) -> AppBackend:
    """The API when the hub gave this kernel one and a signed-in student, else this kernel's own models."""
    if student and api_configured(environ):
        return ApiBackend(environ, student)
    from studyrec_lib.web.local_backend import LocalBackend  # here: a kernel that asks the API never loads it

    return LocalBackend(load_settings(warehouse=warehouse), environ, student)


def build_app(warehouse: str | None = None, environ: Mapping[str, str] | None = None,
              student: str | None = None) -> widgets.Widget:
    """The student app's widget, what ``apps/predict_widget.ipynb`` displays.

    This is the app kernel's entry point: whoever started the kernel (``studyrec app``, JupyterHub), its
    files are private and its details go to the server log. If the app cannot start, a plain message shows.

    Args:
        warehouse: the DuckDB file to use; None reads ``STUDYREC_WAREHOUSE`` (or the default).
        environ: where the student's identity and the API are read (``JUPYTERHUB_USER``,
            ``STUDYREC_APP_TOKEN``, ``STUDYREC_API_URL``); None reads the process environment.
        student: the signed-in student, written into the notebook by the hub service's server (never taken
            from the page); None: the identity comes from ``environ``.

    Returns:
        The widget to display. Its :class:`StudentApp` is ``widget.app``; a widget that could not start
        the app (it shows a plain message instead) has none.
    """
    log_to_server()
    try:
        apply_umask()
        app = StudentApp(open_backend(warehouse, os.environ if environ is None else environ, student))
    except TooManyRequests:  # e.g. many reloads in a minute: the rate limit counts the page's own requests
        return widgets.HTML(TOO_MANY_HTML)
    except Exception:
        log.exception("student app: cannot start")
        return widgets.HTML(PROBLEM_HTML)
    app.widget.app = app
    return app.widget
