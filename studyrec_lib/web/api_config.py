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

    @classmethod
    def from_env(cls) -> ApiConfig:
        return cls(rate_limit=int(os.environ.get(ENV_RATE_LIMIT, 30)),
                   rate_window_s=float(os.environ.get(ENV_RATE_WINDOW, 60)),
                   body_timeout_s=request_timeout_s(),
                   auth_failures=int(os.environ.get(ENV_AUTH_FAILURES, 20)),
                   auth_window_s=float(os.environ.get(ENV_AUTH_WINDOW, 60)),
                   debug=os.environ.get(ENV_DEBUG, "") not in ("", "0", "false"))
