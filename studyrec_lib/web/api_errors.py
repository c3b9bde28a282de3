"""The API's error bodies: ``{"detail": ..., "errors": [...], "code": ...}``, the same for every route."""

from __future__ import annotations

from fastapi.responses import JSONResponse


def error_response(status: int, detail: str, errors: list[dict] | None = None, headers: dict | None = None,
                   close: bool = False, code: str | None = None) -> JSONResponse:
    """An error body; ``close`` when the request's body was not read whole, so the connection ends with it."""
    headers = {**(headers or {}), **({"Connection": "close"} if close else {})}
    body = {"detail": detail, "errors": errors or [], **({"code": code} if code else {})}
    return JSONResponse(body, status_code=status, headers=headers)


def retry_after_header(seconds: float) -> dict:
    return {"Retry-After": str(max(1, int(seconds + 0.999)))}
