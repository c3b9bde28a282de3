"""The API's limits and switches, read from the environment (``STUDYREC_RATE_LIMIT`` and the others).

Kept apart from :mod:`studyrec_lib.web.api`, and importing neither FastAPI nor uvicorn, so that what only
needs the configuration (the security smoke test, the HTTP server's timeouts) does not pay their import.
"""

from __future__ import annotations

import dataclasses
import os

MAX_BODY_BYTES = 16 * 1024
ENV_RATE_LIMIT = "STUDYREC_RATE_LIMIT"
ENV_RATE_WINDOW = "STUDYREC_RATE_WINDOW_S"
ENV_AUTH_FAILURES = "STUDYREC_AUTH_FAILURES"
ENV_AUTH_WINDOW = "STUDYREC_AUTH_WINDOW_S"
ENV_DEBUG = "STUDYREC_DEBUG"
ENV_REQUEST_TIMEOUT = "STUDYREC_REQUEST_TIMEOUT_S"
# The student app behind the hub calls the API with this token, naming the signed-in hub user in HUB_USER_HEADER;
# only this token may speak for a hub user (deploy/jupyterhub_config.py makes one per hub start).
ENV_SERVICE_TOKEN = "STUDYREC_API_SERVICE_TOKEN"
ENV_API_URL = "STUDYREC_API_URL"  # where the student app finds the API
HUB_USER_HEADER = "X-StudyRec-Hub-User"
BUSY_RETRY_S = 1  # Retry-After of a 503 while the warehouse or the models are being written
READ_WAIT_S = 2.0  # how long a page's read (courses, tokens, whose account) may wait for the warehouse
NO_ACTIVE_MODEL = "no_active_model"  # an error body's code: nothing trained yet (the app says how to train)
DEFAULT_REQUEST_TIMEOUT_S = 10.0  # for a request's head, and then again for its body


def request_timeout_s() -> float:
    """How long a request's head, and then its body, may take to arrive (each)."""
    return float(os.environ.get(ENV_REQUEST_TIMEOUT, DEFAULT_REQUEST_TIMEOUT_S))


@dataclasses.dataclass(frozen=True)
class ApiConfig:
    rate_limit: int = 30
    rate_window_s: float = 60.0
    max_body_bytes: int = MAX_BODY_BYTES
    body_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    auth_failures: int = 20  # failed sign-ins per client address (and worker) ...
    auth_window_s: float = 60.0  # ... per this window, then 429 until it ends
    debug: bool = False
    service_token: str = dataclasses.field(default="", repr=False)  # empty: nobody may speak for a hub user

    @classmethod
    def from_env(cls) -> ApiConfig:
        return cls(rate_limit=int(os.environ.get(ENV_RATE_LIMIT, 30)),
                   rate_window_s=float(os.environ.get(ENV_RATE_WINDOW, 60)),
                   body_timeout_s=request_timeout_s(),
                   auth_failures=int(os.environ.get(ENV_AUTH_FAILURES, 20)),
                   auth_window_s=float(os.environ.get(ENV_AUTH_WINDOW, 60)),
                   debug=os.environ.get(ENV_DEBUG, "") not in ("", "0", "false"),
                   service_token=os.environ.get(ENV_SERVICE_TOKEN, "").strip())
