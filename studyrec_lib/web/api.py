"""The JSON API: ``POST /api/predict/``, ``GET /api/health``, ``GET /api/models/active``.

Order of checks on a prediction: the head's size (431), a declared body size (413), failed sign-ins from
the client's address (429), token (401), rate limit (429), the body read as a stream up to its limit (413)
and within the request timeout (408), JSON and fields (400), then the prediction (503 when no usable
model is active).
Tokens and active models come from sidecar files and predictions are logged through the spool; only the
student's weak subjects are read from the warehouse (cached, and never waited on while another process
holds it, see ``WeakSubjectsCache``). Whatever may wait on a file or the warehouse runs in the thread
pool, so the event loop keeps answering. Error bodies carry plain messages; details go to the server log.
The request model and its OpenAPI descriptions are built from ``core.schema``, and a 400 for a field names
the broken rule in the schema's words (:func:`field_rule`), the words of ingest's report and of the app.
Its docs, ``/docs`` and ``/redoc``, need nothing beyond this server (``api_docs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictFloat, StrictStr, create_model
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool

from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.errors import NoActiveModel, StudyRecError, WarehouseLocked
from studyrec_lib.core.files import apply_umask
from studyrec_lib.core.input_limits import echo
from studyrec_lib.core.schema import (
    FEATURE_COLUMNS,
    FIELDS_BY_NAME,
    GRADES,
    MAX_TEXT_LENGTH,
    NOT_A_NUMBER,
    REQUIRED,
    TEXT_FIELDS,
    TOO_LONG,
    UNKNOWN_FIELD,
    NumericField,
)
from studyrec_lib.serving.predictor import InvalidInput, Predictor
from studyrec_lib.serving.spool import PredictionSpool, new_record
from studyrec_lib.serving.student_history import WeakSubjectsCache
from studyrec_lib.serving.study_plan import current_resources
from studyrec_lib.web.api_callers import Caller, HubAccounts, is_service_token
from studyrec_lib.web.api_config import BUSY_RETRY_S, HUB_USER_HEADER, NO_ACTIVE_MODEL, READ_WAIT_S, ApiConfig
from studyrec_lib.web.api_docs import add_offline_docs
from studyrec_lib.web.api_errors import error_response, retry_after_header
from studyrec_lib.web.api_student import student_routes
from studyrec_lib.web.http_server import MAX_HEAD_BYTES
from studyrec_lib.web.rate_limit import FailedAuthThrottle, SharedRateLimiter, rate_limit_dir
from studyrec_lib.web.tokens import TokenStore

UNUSABLE_MODEL = ("the active model cannot be used: its file is missing or changed since it was registered. "
                  "An operator must retrain or activate another version (details are in the server log).")
MAX_HUB_USER_LENGTH = 255  # JupyterHub's own limit on user names

logger = logging.getLogger("studyrec.api")


def _json_number(value: object) -> object:
    """Only a JSON number goes on to the integer check (which takes 6.0 as 6): not a string, not a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _numeric_field(spec: NumericField) -> tuple[Any, Any]:
    if spec.integer:  # 6 and 6.0 are the same JSON number; 6.5 is refused, never truncated
        kind: Any = Annotated[int, BeforeValidator(_json_number)]
        description = f"{spec.label}: {spec.rule}; a whole number (6.0 is taken as 6, 6.5 is refused)"
    else:
        kind, description = StrictFloat, f"{spec.label}: {spec.rule}"  # a strict float also takes a JSON integer
    return (kind, Field(ge=spec.low, le=spec.high, description=description))


def _text_field() -> tuple[Any, Any]:
    return (StrictStr, Field(min_length=1, max_length=MAX_TEXT_LENGTH))


TEXT_INPUTS = tuple(name for name in FEATURE_COLUMNS if name in TEXT_FIELDS)
PredictRequest = create_model(
    "PredictRequest",
    # Text is judged trimmed, as check_features judges it (the payload itself goes on unchanged).
    __config__=ConfigDict(extra="forbid", str_strip_whitespace=True),
    **{name: _text_field() for name in TEXT_INPUTS},
    **{name: _numeric_field(FIELDS_BY_NAME[name]) for name in FEATURE_COLUMNS if name in FIELDS_BY_NAME},
)

# pydantic's error types in the schema's words, so a 400 names the rule as ingest and check_features do.
TEXT_RULES = {"string_too_long": TOO_LONG, "string_too_short": REQUIRED, "string_type": REQUIRED}


def field_rule(error: dict) -> str:
    """The schema's rule for one pydantic error of :data:`PredictRequest`."""
    kind, value = error.get("type"), error.get("input")
    location = error.get("loc", ())
    name = str(location[0]) if location else ""
    if kind == "extra_forbidden":
        return UNKNOWN_FIELD
    if kind == "missing" or value is None:
        return REQUIRED
    if name in FIELDS_BY_NAME:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return NOT_A_NUMBER  # a string, a boolean, a list: the API takes JSON numbers only
        # A number is judged as the schema judges it, range before wholeness (pydantic judges wholeness first).
        spec = FIELDS_BY_NAME[name]
        return spec.check(value) or spec.rule
    if name in TEXT_FIELDS:
        return TEXT_RULES.get(kind, REQUIRED)
    return error.get("msg", "is invalid")


class FieldError(BaseModel):
    field: str
    rule: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[FieldError] = []
    code: str | None = None  # a stable name for errors a client acts on (e.g. no_active_model)


class Interval(BaseModel):
    level: float
    low: float
    high: float


class PredictResponse(BaseModel):
    predicted_final_marks: float
    interval: Interval
    predicted_total: float
    predicted_grade: str
    grade_probabilities: dict[str, float]
    weak_signals: list[dict[str, str]]
    weak_subjects: list[dict[str, Any]] | None
    study_plan: list[dict[str, str]]
    best_improvement: dict[str, Any] | None
    warnings: list[str]
    model_versions: dict[str, str]
    request_id: str
    response_ms: float


class RequestLimits:
    """Plain ASGI middleware, before any routing: a request head over ``max_head_bytes`` gets 431, a declared
    Content-Length over ``max_body_bytes`` gets 413, both before the body is read.

    (h11 bounds a head still arriving, see ``http_server``; a chunked body without a length is counted by the
    endpoint as it streams in, see :func:`_read_body`.)
    """

    def __init__(self, app, max_body_bytes: int, max_head_bytes: int = MAX_HEAD_BYTES):
        self.app, self.max_body_bytes, self.max_head_bytes = app, max_body_bytes, max_head_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            head = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + sum(
                len(name) + len(value) + 4 for name, value in scope["headers"])
            length = dict(scope["headers"]).get(b"content-length")
            response = None
            if head > self.max_head_bytes:
                response = error_response(431, f"the request's headers are larger than {self.max_head_bytes} bytes",
                                          close=True)
            elif length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                response = error_response(413, f"the body is larger than {self.max_body_bytes} bytes", close=True)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyRefused(Exception):
    def __init__(self, status: int, detail: str):
        self.status, self.detail = status, detail
        super().__init__(detail)


async def _read_body(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    """The body, counted as it streams in: reading stops at ``max_bytes`` (413) or after ``timeout_s`` (408)."""
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_bytes:
                    raise BodyRefused(413, f"the body is larger than {max_bytes} bytes")
    except TimeoutError:
        raise BodyRefused(408, f"the body did not arrive within {timeout_s:g} s") from None
    return bytes(body)


def _parse_json(body: bytes) -> object:
    """The JSON value; a ValueError with a plain message for anything Python's json refuses."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("the body is not valid JSON: it is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"the body is not valid JSON: {error}") from None
    except UnicodeDecodeError:
        raise ValueError("the body is not valid JSON: it is not UTF-8 text") from None
    except ValueError:  # int max-digits
        raise ValueError(f"the body is not valid JSON for this API: a number has more than "
                         f"{sys.get_int_max_str_digits()} digits") from None


def _model_error(error: StudyRecError) -> JSONResponse:
    """503 for every model problem, in words for students: paths and sha256s go to the server log only."""
    if isinstance(error, WarehouseLocked):
        return error_response(503, "the active models are being updated; retry in a moment",
                              headers=retry_after_header(BUSY_RETRY_S))
    if isinstance(error, NoActiveModel):
        return error_response(503, str(error), code=NO_ACTIVE_MODEL)
    logger.error("the active model cannot be used: %s", error)
    return error_response(503, UNUSABLE_MODEL)


def _pydantic_errors(error_list: list[dict]) -> list[dict]:
    found = []
    for error in error_list:
        location = [str(part) for part in error.get("loc", ())]
        field = echo(".".join(location)) if location else "(body)"
        found.append({"field": field, "rule": field_rule(error)})
    return found


def create_app(settings: Settings | None = None, config: ApiConfig | None = None) -> FastAPI:
    """The API as an ASGI app, what ``studyrec serve`` gives uvicorn (as a factory, once per worker).

    Args:
        settings: the warehouse and runs folder; None reads them from the environment.
        config: the limits and switches; None reads them from the environment (:meth:`ApiConfig.from_env`).

    Returns:
        The FastAPI app. Its models, tokens, spool and rate limits are set up when it starts (its lifespan).
    """
    settings = settings or load_settings()
    config = config or ApiConfig.from_env()
    apply_umask()  # also when started as `uvicorn studyrec_lib.web.api:create_app --factory`, not via the CLI
    quick = dataclasses.replace(settings, lock_timeout_s=0.2)  # a request never waits long on the warehouse
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state["predictor"] = Predictor(quick, resources=current_resources(quick))
        state["tokens"] = TokenStore(quick)
        state["weak"] = WeakSubjectsCache(quick)
        state["accounts"] = HubAccounts(dataclasses.replace(settings, lock_timeout_s=READ_WAIT_S))  # once a minute
        state["limiter"] = SharedRateLimiter(rate_limit_dir(settings), config.rate_limit, config.rate_window_s)
        state["auth_throttle"] = FailedAuthThrottle(config.auth_failures, config.auth_window_s)
        state["spool"] = PredictionSpool(settings, source="api").start()
        with contextlib.suppress(StudyRecError):  # no model yet: requests get 503 until one is activated
            state["predictor"].models()  # load and check the active models before the first request
        yield
        state["spool"].close()

    app = FastAPI(title="StudyRec API", version="1", lifespan=lifespan, debug=config.debug,
                  description="Predicted final marks, grade probabilities, weak subjects and study plans.",
                  docs_url=None, redoc_url=None)  # served from local copies instead: add_offline_docs
    add_offline_docs(app)

    app.add_middleware(RequestLimits, max_body_bytes=config.max_body_bytes)

    error_statuses = (400, 401, 408, 413, 429, 431, 503)
    error_responses = {status: {"model": ErrorResponse} for status in error_statuses}

    async def authenticate(request: Request) -> Caller | JSONResponse:
        """Who is calling, or the answer that refuses it (sent before the body is read)."""
        address = request.client.host if request.client else "unknown"
        throttle: FailedAuthThrottle = state["auth_throttle"]
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        hub_user = unquote(request.headers.get(HUB_USER_HEADER, "")).strip()  # quoted: names may be non-ASCII
        try:  # a missing sidecar is rewritten from the warehouse, which may be held: off the loop
            if token and is_service_token(token, config.service_token):
                if not hub_user or len(hub_user) > MAX_HUB_USER_LENGTH:
                    return error_response(400, f"the student app must name the signed-in hub user in "
                                               f"{HUB_USER_HEADER}")
                caller: Caller | None = await run_in_threadpool(state["accounts"].caller, hub_user)
            else:
                student_id = await run_in_threadpool(state["tokens"].student_for, token) if token else None
                caller = Caller(student_id=student_id, rate_key=token) if student_id else None
        except WarehouseLocked:
            return error_response(503, "tokens are being updated; retry in a moment",
                                  headers=retry_after_header(BUSY_RETRY_S), close=True)
        if caller is None:  # a valid token always passes: students behind one school address are not locked out
            wait = throttle.retry_after(address)
            if wait is not None:
                return error_response(429, f"too many failed sign-ins from this address: at most "
                                           f"{config.auth_failures} per {config.auth_window_s:g} s",
                                      headers=retry_after_header(wait), close=True)
            throttle.record_failure(address)
            return error_response(401, "a valid API token is required: send 'Authorization: Bearer <token>' "
                                       "(tokens come from `studyrec tokens create`)", close=True)
        wait = state["limiter"].retry_after(caller.rate_key)
        if wait is not None:
            return error_response(429, f"rate limit: at most {config.rate_limit} requests per "
                                       f"{config.rate_window_s:g} s", headers=retry_after_header(wait), close=True)
        return caller

    @app.post("/api/predict/", response_model=PredictResponse, responses=error_responses,
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": PredictRequest.model_json_schema()}}},
                  "security": [{"bearer": []}]})
    async def predict(request: Request):
        started = time.perf_counter()
        caller = await authenticate(request)
        if isinstance(caller, JSONResponse):
            return caller
        student_id = caller.student_id
        try:
            payload = _parse_json(await _read_body(request, config.max_body_bytes, config.body_timeout_s))
        except BodyRefused as refused:
            return error_response(refused.status, refused.detail, close=True)
        except ValueError as error:
            return error_response(400, str(error))
        if not isinstance(payload, dict):
            return error_response(400, "the body must be a JSON object with the seven feature fields")
        try:
            PredictRequest.model_validate(payload)
        except ValueError as error:
            return error_response(400, "invalid fields", _pydantic_errors(error.errors()))
        # A read of the warehouse (which may wait on its lock) goes to the thread pool: the loop keeps serving.
        weak, warning = None, None
        if student_id is not None:
            weak, warning = (state["weak"].cached(student_id)
                             or await run_in_threadpool(state["weak"].get, student_id))
        try:  # in the pool too: a new activation loads the models, a missing sidecar reads the warehouse
            result = await run_in_threadpool(state["predictor"].predict, payload, weak_subjects=weak)
        except InvalidInput as error:  # the schema's own rules, beyond what the request model checks
            return error_response(400, "invalid fields", [{"field": e.field, "rule": e.rule} for e in error.errors])
        except StudyRecError as error:
            return _model_error(error)
        if warning:
            result["warnings"].append(warning)
        response_ms = round((time.perf_counter() - started) * 1000, 3)
        # logged as the student app's when the app asked for a signed-in student, as the API's otherwise
        record = new_record("app" if caller.hub_user else "api", student_id, payload, result, response_ms)
        state["spool"].append(record)
        # A JSONResponse skips re-validating our own result against the response model (documented only).
        return JSONResponse({**result, "request_id": record["request_id"], "response_ms": response_ms})

    @app.get("/api/health")
    async def health() -> dict:
        try:
            versions = (await run_in_threadpool(state["predictor"].models)).versions
        except StudyRecError:
            versions = {}
        return {"status": "ok", "models_active": bool(versions), "model_versions": versions,
                "grades": list(GRADES)}

    @app.get("/api/models/active", responses={503: {"model": ErrorResponse}})
    async def active_models():
        try:
            models = await run_in_threadpool(state["predictor"].models)
        except StudyRecError as error:
            return _model_error(error)
        return {"model_versions": models.versions, "subjects": sorted(models.subjects),
                "interval": {"level": models.interval_level, "half_width": models.interval_half_width},
                "fast_path": models.fast is not None}

    app.include_router(student_routes(authenticate, settings, {  # + not yours (403), no such token (404)
        status: {"model": ErrorResponse} for status in (*error_statuses, 403, 404)}))

    original_openapi = app.openapi

    def openapi() -> dict:
        schema = original_openapi()
        schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        return schema

    app.openapi = openapi
    return app
