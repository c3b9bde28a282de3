"""The API's docs, ``/docs`` (Swagger UI) and ``/redoc``, served with no request beyond the API's own server.

FastAPI's default pages load Swagger UI and ReDoc from a CDN (blank without internet) and ReDoc's fonts from
Google. Here their scripts, stylesheet and favicon are the copies fastapi-offline ships, under
:data:`DOCS_STATIC_URL`, and each page gets a Content-Security-Policy that confines it to this server: a
bundle itself may still reach out (ReDoc's menu shows a logo from cdn.redoc.ly), and the policy makes the
browser refuse that, and whatever a later bundle may try. Only these pages get the policy; the JSON routes
keep their headers.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from studyrec_lib.core.csp import script_hash_source

DOCS_STATIC_URL = "/static/docs"
# swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png, as fastapi-offline ships them
DOCS_ASSETS = Path(fastapi_offline.__file__).with_name("static")
# Both pages: nothing from elsewhere, no plugins, no <base>, no form posts, not framed by other sites.
BASE_POLICY = ("default-src 'none'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'")
# ReDoc styles itself with <style> elements (styled-components) and runs its search in a worker from a blob.
REDOC_POLICY = f"{BASE_POLICY}; script-src 'self'; style-src 'self' 'unsafe-inline'; worker-src blob:"


def _swagger_policy(page: HTMLResponse) -> str:
    """Swagger UI starts from an inline <script>: the policy allows exactly that script, by its sha256."""
    script = bytes(page.body).rpartition(b"<script>")[2].partition(b"</script>")[0]
    return f"{BASE_POLICY}; script-src 'self' {script_hash_source(script)}; style-src 'self'"


def _root(request: Request) -> str:
    """A proxy's root path, if any: the pages' URLs go under it, as those of FastAPI's own pages do."""
    return request.scope.get("root_path", "").rstrip("/")


def add_offline_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` from local assets; ``app`` is made with ``docs_url=redoc_url=None``.

    ``/`` sends whoever opens the address ``studyrec serve`` prints to ``/docs`` (it answered 404).
    """
    app.mount(DOCS_STATIC_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        prefix = root + DOCS_STATIC_URL
        page = get_swagger_ui_html(
            openapi_url=root + str(app.openapi_url),
            title=f"{app.title} - Swagger UI", swagger_js_url=f"{prefix}/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}/swagger-ui.css", swagger_favicon_url=f"{prefix}/favicon.png")
        page.headers["Content-Security-Policy"] = _swagger_policy(page)
        return page

    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        prefix = root + DOCS_STATIC_URL
        page = get_redoc_html(
            openapi_url=root + str(app.openapi_url),
            title=f"{app.title} - ReDoc", redoc_js_url=f"{prefix}/redoc.standalone.js",
            redoc_favicon_url=f"{prefix}/favicon.png", with_google_fonts=False)
        page.headers["Content-Security-Policy"] = REDOC_POLICY
        return page

    async def to_docs(request: Request) -> RedirectResponse:
        return RedirectResponse(_root(request) + "/docs")

    app.add_route("/", to_docs, include_in_schema=False)
    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
