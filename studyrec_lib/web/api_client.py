"""The student app's answers from the API: what the hub's app kernels use, so each holds only its widgets.

The API holds the active models once for every student and finds the student linked to the signed-in hub
user itself (:mod:`studyrec_lib.web.api_callers`); the kernel sends the service token and the hub user's name,
both set by the hub (``deploy/jupyterhub_config.py``), never by the page. This module imports httpx and
nothing of pandas, DuckDB or scikit-learn: an app kernel stays at about 70 MB instead of 300 MB.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import quote

import httpx

from studyrec_lib.core.errors import NoActiveModel, StudyRecError
from studyrec_lib.web.api_config import ENV_API_URL, ENV_SERVICE_TOKEN, HUB_USER_HEADER, NO_ACTIVE_MODEL

TIMEOUT_S = 10.0
BUSY_TRIES = 2  # with the API's own 2 s wait: about 5 s per read while the warehouse is busy, then give way
MAX_RETRY_WAIT_S = 1.0
START_WAIT_S = 20.0  # the hub starts the API and the app together: a first page may come before the API listens


class TooManyRequests(StudyRecError):
    """The API's rate limit for this student: the page asks them to wait."""


def api_configured(environ: Mapping[str, str]) -> bool:
    """Whether this process was given an API to ask (the hub's student app is)."""
    return bool(environ.get(ENV_API_URL) and environ.get(ENV_SERVICE_TOKEN))


class ApiBackend:
    """:class:`~studyrec_lib.web.app_backend.AppBackend` over the API, for one signed-in hub user."""

    def __init__(self, environ: Mapping[str, str], hub_user: str, transport: httpx.BaseTransport | None = None):
        # trust_env=False: no proxy variable of the environment may route the service token anywhere else
        self.client = httpx.Client(base_url=environ[ENV_API_URL], timeout=TIMEOUT_S, transport=transport,
                                   trust_env=False,
                                   headers={"Authorization": f"Bearer {environ[ENV_SERVICE_TOKEN]}",
                                            HUB_USER_HEADER: quote(hub_user, safe="")})  # hub names may be non-ASCII
        try:
            me = self._who()
        except Exception:
            self.client.close()
            raise
        self.student_id: str | None = me["student_id"]
        self.note: str | None = me["note"]

    def _who(self) -> dict:
        deadline = time.monotonic() + START_WAIT_S
        while True:
            try:
                return self._read("/api/me")
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)

    @staticmethod
    def _answer(response: httpx.Response) -> dict:
        """The JSON body of a success; NoActiveModel, TooManyRequests or httpx's error otherwise."""
        is_json = response.headers.get("content-type", "").startswith("application/json")
        body = response.json() if is_json and response.content else {}
        if response.status_code == 503 and body.get("code") == NO_ACTIVE_MODEL:
            raise NoActiveModel(body["detail"])
        if response.status_code == 429:
            raise TooManyRequests(body.get("detail", "too many requests"))
        response.raise_for_status()
        return body

    def _read(self, path: str) -> dict:
        """A GET, tried again after the API's Retry-After while it says it is busy (a page open must not fail)."""
        for _ in range(BUSY_TRIES - 1):
            response = self.client.get(path)
            if response.status_code != 503 or "retry-after" not in response.headers:
                return self._answer(response)
            time.sleep(min(MAX_RETRY_WAIT_S, float(response.headers["retry-after"])))
        return self._answer(self.client.get(path))

    def subjects(self) -> list[str]:
        return self._read("/api/models/active")["subjects"]

    def predict(self, payload: dict) -> dict:
        return self._answer(self.client.post("/api/predict/", json=payload))

    def courses(self) -> list[dict]:
        return self._read("/api/me/courses")["courses"]

    def tokens(self) -> list[dict]:
        return self._read("/api/me/tokens")["tokens"] if self.student_id else []

    def create_token(self) -> tuple[int, str]:
        made = self._answer(self.client.post("/api/me/tokens"))
        return made["token_id"], made["token"]

    def revoke_token(self, token_id: int) -> None:
        self._answer(self.client.delete(f"/api/me/tokens/{int(token_id)}"))

    def close(self) -> None:
        self.client.close()
