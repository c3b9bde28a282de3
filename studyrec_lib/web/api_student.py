"""The API's routes about the caller: who they are, their recorded courses, and their own API tokens.

The hub's student app builds its page from these (its kernel has no warehouse connection). A student's own
token may read ``/api/me`` and ``/api/me/courses``; tokens are made and revoked only through the student app
after a hub sign-in, so a leaked token cannot make itself a successor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import WarehouseLocked
from studyrec_lib.serving.student_history import student_courses
from studyrec_lib.web.api_callers import Caller
from studyrec_lib.web.api_config import BUSY_RETRY_S, READ_WAIT_S
from studyrec_lib.web.api_errors import error_response, retry_after_header
from studyrec_lib.web.tokens import APP_TOKEN_NAME, TokenError, create_token, live_tokens, revoke_token

Authenticate = Callable[[Request], Awaitable[Caller | JSONResponse]]
TOKENS_IN_THE_APP = ("API tokens are made and revoked in the student app, after signing in to the hub; "
                     "a token cannot manage tokens.")
NOT_LINKED = "your hub account is not linked to a student record yet: ask your teacher to link it."
MAX_TOKEN_ID_DIGITS = 18


def student_routes(authenticate: Authenticate, settings: Settings, responses: dict[int, Any]) -> APIRouter:
    """The routes, sharing the API's sign-in and rate limit (``authenticate``)."""
    router = APIRouter(prefix="/api/me", responses=responses)
    # A page open reads courses and tokens once: it may wait a little for the warehouse (the prediction log's
    # flush holds it for moments), off the event loop, rather than fail the page (50 students at once: 2 of 50
    # pages failed with the predictions' 0.2 s). Token writes wait as long, well within the client's timeout.
    reads = dataclasses.replace(settings, lock_timeout_s=READ_WAIT_S)

    async def answer(request: Request, action: Callable[[Caller], Any], app_only: bool = False) -> Any:
        caller = await authenticate(request)
        if isinstance(caller, JSONResponse):
            return caller
        if app_only and caller.hub_user is None:
            return error_response(403, TOKENS_IN_THE_APP)
        if app_only and caller.student_id is None:
            return error_response(403, NOT_LINKED)
        try:
            return await run_in_threadpool(action, caller)
        except WarehouseLocked:
            return error_response(503, "the warehouse is busy; retry in a moment",
                                  headers=retry_after_header(BUSY_RETRY_S))

    @router.get("")
    async def me(request: Request):
        """Who this token (or the signed-in hub user) is."""
        return await answer(request, lambda caller: {"student_id": caller.student_id, "note": caller.note})

    @router.get("/courses")
    async def courses(request: Request):
        """The caller's recorded courses, latest semester first, open rows first."""
        return await answer(request, lambda caller: {
            "courses": student_courses(caller.student_id, reads) if caller.student_id else []})

    @router.get("/tokens")
    async def tokens(request: Request):
        """The signed-in student's tokens that still work."""
        return await answer(request, lambda caller: {"tokens": live_tokens(caller.student_id, reads)},
                            app_only=True)

    @router.post("/tokens", status_code=201)
    async def new_token(request: Request):
        """A new token for the signed-in student: shown in this answer only."""
        def make(caller: Caller) -> dict:
            token_id, token = create_token(caller.student_id, APP_TOKEN_NAME, reads)
            return {"token_id": token_id, "token": token}
        return await answer(request, make, app_only=True)

    @router.delete("/tokens/{token_id}", status_code=204)
    async def revoke(request: Request, token_id: str):
        """Revoke one of the signed-in student's own tokens (another student's is not found).

        The id is read as text and checked after the sign-in: FastAPI's own 422 would come before it, for
        anyone, and echo the value in full.
        """
        def drop(caller: Caller) -> JSONResponse | None:
            if not (token_id.isascii() and token_id.isdigit() and len(token_id) <= MAX_TOKEN_ID_DIGITS):
                return error_response(404, "no such token of yours")
            try:
                revoke_token(token_id=int(token_id), settings=reads, student_id=caller.student_id)
            except TokenError:
                return error_response(404, "no such token of yours")
            return None
        return await answer(request, drop, app_only=True)

    return router
