"""Web: the JSON API, the student app and its Voila server, API tokens, and the deployment's smoke test.

:func:`create_app` builds the API (``studyrec serve``), :func:`build_app` the student app's widget (what
``apps/predict_widget.ipynb`` shows), :func:`serve_app` runs that notebook under Voila; tokens are made,
revoked and listed with :func:`create_token`, :func:`revoke_token` and :func:`list_tokens`, and
:func:`smoke_test` checks a deployment (``studyrec security-smoke-test``).
"""

from typing import TYPE_CHECKING

from studyrec_lib.core.lazy import lazy_attributes
from studyrec_lib.web.api_config import ApiConfig

if TYPE_CHECKING:
    from studyrec_lib.web.api import create_app
    from studyrec_lib.web.app import StudentApp, build_app
    from studyrec_lib.web.app_server import AppServerOptions, VoilaProcess, serve_app
    from studyrec_lib.web.security import smoke_test
    from studyrec_lib.web.tokens import TokenError, TokenStore, create_token, list_tokens, revoke_token

# PEP 562: every module's names are imported on first use, each name's module alone (core.lazy), only the
# light ApiConfig now. The student app's kernel runs `from studyrec_lib.web import build_app` and must not pay
# FastAPI's import (nor uvicorn's) for an API it never serves, nor pandas or DuckDB for the tokens; `studyrec
# tokens` and the smoke test pay for neither ipywidgets nor the models; `uvicorn studyrec_lib.web.api:create_app`
# imports web.api itself. The services of this stage import `studyrec_lib.web.<module>` and pay for no other.
__getattr__ = lazy_attributes(__name__)

__all__ = [
    "ApiConfig",
    "AppServerOptions",
    "StudentApp",
    "TokenError",
    "TokenStore",
    "VoilaProcess",
    "build_app",
    "create_app",
    "create_token",
    "list_tokens",
    "revoke_token",
    "serve_app",
    "smoke_test",
]
