"""The JSON API: ``POST /api/predict/``, ``GET /api/health``, ``GET /api/models/active``.

Order of checks on a prediction: body size (413), token (401), rate limit (429), JSON and fields (400),
then the prediction. Tokens and active models come from sidecar files and predictions are logged
through the spool; only the student's weak subjects are read from the warehouse (cached, and never
waited on while another process holds it, see ``WeakSubjectsCache``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, create_model
from starlette.concurrency import run_in_threadpool

from .config import Settings, load_settings
from .errors import StudyRecError
from .files import apply_umask
from .predict import InvalidInput, NoActiveModel, Predictor
from .rate_limit import SharedRateLimiter, rate_limit_dir
from .schema import FEATURE_COLUMNS, FIELDS_BY_NAME, GRADES
from .spool import PredictionSpool, new_record
from .student_history import WeakSubjectsCache
from .study_plan import current_resources
from .tokens import TokenStore
from .validate import MAX_TEXT_LENGTH

MAX_BODY_BYTES = 16 * 1024
ENV_RATE_LIMIT = "STUDYREC_RATE_LIMIT"
ENV_RATE_WINDOW = "STUDYREC_RATE_WINDOW_S"
ENV_DEBUG = "STUDYREC_DEBUG"


@dataclasses.dataclass(frozen=True)
class ApiConfig:
    rate_limit: int = 30
    rate_window_s: float = 60.0
    max_body_bytes: int = MAX_BODY_BYTES
    debug: bool = False

    @classmethod
    def from_env(cls) -> ApiConfig:
        return cls(rate_limit=int(os.environ.get(ENV_RATE_LIMIT, 30)),
                   rate_window_s=float(os.environ.get(ENV_RATE_WINDOW, 60)),
                   debug=os.environ.get(ENV_DEBUG, "") not in ("", "0", "false"))


def _field(name: str) -> tuple[Any, Any]:
    spec = FIELDS_BY_NAME[name]
    kind = StrictInt if spec.integer else StrictFloat  # a strict float also takes a JSON integer
    return (kind, Field(ge=spec.low, le=spec.high, description=f"{spec.label}: {spec.rule}"))


PredictRequest = create_model(
    "PredictRequest",
    __config__=ConfigDict(extra="forbid"),
    subject=(StrictStr, Field(min_length=1, max_length=MAX_TEXT_LENGTH)),
    **{name: _field(name) for name in FEATURE_COLUMNS if name in FIELDS_BY_NAME},
)


class FieldError(BaseModel):
    field: str
    rule: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[FieldError] = []


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


class DeclaredBodyLimit:
    """Plain ASGI middleware: a declared Content-Length over the limit gets 413 before the body is read.

    (Chunked bodies without a length are measured by the endpoint after reading.)
    """

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
                response = _error(413, f"the body is larger than {self.max_bytes} bytes")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error(status: int, detail: str, errors: list[dict] | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": errors or []}, status_code=status, headers=headers)


def _pydantic_errors(error_list: list[dict]) -> list[dict]:
    found = []
    for error in error_list:
        location = [str(part) for part in error.get("loc", ())]
        field = ".".join(location) or "(body)"
        rule = "is not a known field" if error.get("type") == "extra_forbidden" else error.get("msg", "is invalid")
        found.append({"field": field, "rule": rule})
    return found


def create_app(settings: Settings | None = None, config: ApiConfig | None = None) -> FastAPI:
    settings = settings or load_settings()
    config = config or ApiConfig.from_env()
    apply_umask()  # also when started as `uvicorn studyrec_lib.api:create_app --factory`, not via the CLI
    quick = dataclasses.replace(settings, lock_timeout_s=0.2)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state["predictor"] = Predictor(settings, resources=current_resources(quick))
        state["tokens"] = TokenStore(settings)
        state["weak"] = WeakSubjectsCache(quick)
        state["limiter"] = SharedRateLimiter(rate_limit_dir(settings), config.rate_limit, config.rate_window_s)
        state["spool"] = PredictionSpool(settings, source="api").start()
        with contextlib.suppress(StudyRecError):  # no model yet: requests get 503 until one is activated
            state["predictor"].models()  # load and check the active models before the first request
        yield
        state["spool"].close()

    app = FastAPI(title="StudyRec API", version="1", lifespan=lifespan, debug=config.debug,
                  description="Predicted final marks, grade probabilities, weak subjects and study plans.")

    app.add_middleware(DeclaredBodyLimit, max_bytes=config.max_body_bytes)

    error_responses = {status: {"model": ErrorResponse} for status in (400, 401, 413, 429, 503)}

    @app.post("/api/predict/", response_model=PredictResponse, responses=error_responses,
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": PredictRequest.model_json_schema()}}},
                  "security": [{"bearer": []}]})
    async def predict(request: Request):
        started = time.perf_counter()
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        student_id = state["tokens"].student_for(token) if token else None
        if student_id is None:
            return _error(401, "a valid API token is required: send 'Authorization: Bearer <token>' "
                               "(tokens come from `studyrec tokens create`)")
        wait = state["limiter"].retry_after(token)
        if wait is not None:
            return _error(429, f"rate limit: at most {config.rate_limit} requests per {config.rate_window_s:g} s",
                          headers={"Retry-After": str(max(1, int(wait + 0.999)))})
        body = await request.body()
        if len(body) > config.max_body_bytes:
            return _error(413, f"the body is larger than {config.max_body_bytes} bytes")
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return _error(400, f"the body is not valid JSON: {error}")
        if not isinstance(payload, dict):
            return _error(400, "the body must be a JSON object with the seven feature fields")
        try:
            PredictRequest.model_validate(payload)
        except ValueError as error:
            return _error(400, "invalid fields", _pydantic_errors(error.errors()))
        # A read of the warehouse (which may wait on its lock) goes to the thread pool: the loop keeps serving.
        weak, warning = state["weak"].cached(student_id) or await run_in_threadpool(state["weak"].get, student_id)
        try:
            result = state["predictor"].predict(payload, weak_subjects=weak)
        except InvalidInput as error:  # the schema's own rules, beyond what the request model checks
            return _error(400, "invalid fields", [{"field": e.field, "rule": e.rule} for e in error.errors])
        except NoActiveModel as error:
            return _error(503, str(error))
        if warning:
            result["warnings"].append(warning)
        response_ms = round((time.perf_counter() - started) * 1000, 3)
        record = new_record("api", student_id, payload, result, response_ms)
        state["spool"].append(record)
        # A JSONResponse skips re-validating our own result against the response model (documented only).
        return JSONResponse({**result, "request_id": record["request_id"], "response_ms": response_ms})

    @app.get("/api/health")
    async def health() -> dict:
        try:
            versions = state["predictor"].models().versions
        except StudyRecError:
            versions = {}
        return {"status": "ok", "models_active": bool(versions), "model_versions": versions,
                "grades": list(GRADES)}

    @app.get("/api/models/active", responses={503: {"model": ErrorResponse}})
    async def active_models():
        try:
            models = state["predictor"].models()
        except StudyRecError as error:
            return _error(503, str(error))
        return {"model_versions": models.versions, "subjects": sorted(models.subjects),
                "interval": {"level": models.interval_level, "half_width": models.interval_half_width},
                "fast_path": models.fast is not None}

    original_openapi = app.openapi

    def openapi() -> dict:
        schema = original_openapi()
        schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        return schema

    app.openapi = openapi
    return app
