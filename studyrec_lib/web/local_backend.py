"""The student app's answers from its own kernel: the active models, the warehouse and the token store.

For ``make app`` and an analyst's JupyterLab, where no API runs. Each kernel loads the models itself (about
300 MB with scikit-learn): the hub's student app asks the API instead (:mod:`studyrec_lib.web.api_client`).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping

from studyrec_lib.core.config import Settings
from studyrec_lib.serving.predictor import Predictor
from studyrec_lib.serving.spool import PredictionSpool, new_record
from studyrec_lib.serving.student_history import WeakSubjectsCache, student_courses
from studyrec_lib.serving.study_plan import current_resources
from studyrec_lib.web.accounts import not_linked_note, student_of
from studyrec_lib.web.tokens import APP_TOKEN_NAME, TokenStore, create_token, live_tokens, revoke_token

ENV_HUB_USER = "JUPYTERHUB_USER"
ENV_APP_TOKEN = "STUDYREC_APP_TOKEN"


def app_identity(settings: Settings, environ: Mapping[str, str] | None = None,
                 student: str | None = None) -> tuple[str | None, str | None]:
    """The student this app speaks for (or None), and a note for the page when a configured token is bad.

    ``student`` is what the hub service's server wrote into the notebook (``web.hub_identity``); then the
    hub's user of a single-user server, then a token configured for a one-student local run.
    """
    if student:
        linked = student_of(student, settings)
        return (linked, None) if linked is not None else (None, not_linked_note(student))
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


class LocalBackend:
    """:class:`~studyrec_lib.web.app_backend.AppBackend` over this process's own models and warehouse."""

    def __init__(self, settings: Settings, environ: Mapping[str, str] | None = None, student: str | None = None):
        self.settings = settings
        quick = dataclasses.replace(settings, lock_timeout_s=0.2)  # never keep a student waiting
        self.student_id, self.note = app_identity(settings, environ, student)
        self.predictor = Predictor(settings, resources=current_resources(quick))
        # One student clicks at a time: a 0.2 s try per click is cheap, and fresher than a back-off.
        self.weak_cache = WeakSubjectsCache(quick, busy_backoff_s=0)
        self.spool: PredictionSpool | None = None

    def subjects(self) -> list[str]:
        return sorted(self.predictor.models().subjects)

    def predict(self, payload: dict) -> dict:
        started = time.perf_counter()
        weak, weak_warning = self.weak_cache.get(self.student_id) if self.student_id else (None, None)
        result = self.predictor.predict(payload, weak_subjects=weak)
        if weak_warning:
            result["warnings"].append(weak_warning)
        if self.spool is None:  # started by the first prediction: a page nobody uses starts no flusher
            self.spool = PredictionSpool(self.settings, source="app").start()
        response_ms = round((time.perf_counter() - started) * 1000, 3)
        self.spool.append(new_record("app", self.student_id, payload, result, response_ms))
        return result

    def courses(self) -> list[dict]:
        return student_courses(self.student_id, self.settings) if self.student_id else []

    def tokens(self) -> list[dict]:
        return live_tokens(self.student_id, self.settings) if self.student_id else []

    def create_token(self) -> tuple[int, str]:
        return create_token(self.student_id, APP_TOKEN_NAME, self.settings)

    def revoke_token(self, token_id: int) -> None:
        revoke_token(token_id=token_id, settings=self.settings, student_id=self.student_id)

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()
