"""The run reports, read-only, behind the hub's sign-in: what the teacher console's report links open.

A hub-managed service (``deploy/jupyterhub_config.py`` starts ``python -m studyrec_lib.web.reports_service``
with JupyterHub's service environment). A visitor signs in through the hub (OAuth); the hub lets in only
users holding ``access:services!service=reports`` (the ``teachers`` group). It shows ``runs/index.html`` and
the report files that page links (``core.run_files.REPORT_FILES`` directly inside a run folder) and nothing
else: no other file of the runs folder (artifacts, params), nothing outside it, no writes (GET only).
Executed notebooks are shown sandboxed (an opaque origin: no cookie, storage or request of the teacher's) and run no
script but the constant ones the project writes into reports (``core.report_scripts``, allowed by hash), so a
report's content cannot act as the teacher.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from studyrec_lib.core import run_files
from studyrec_lib.core.config import load_settings
from studyrec_lib.core.files import apply_umask
from studyrec_lib.core.report_scripts import REPORT_SCRIPT_SOURCES

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DOWNLOADS = {".csv", ".xlsx"}  # tables of students' marks: saved, not rendered
BLOCK_BYTES = 1 << 20
HEADERS = {
    # No form, plugin or fetch, and no script but the project's own report scripts (by hash; no allow-same-origin,
    # so even those run in an opaque origin); inline styles and data: images (nbconvert's plots) still render, and
    # the index's tables still download (Chromium blocks downloads from a sandboxed page without allow-downloads).
    "Content-Security-Policy": ("sandbox allow-downloads allow-scripts; default-src 'none'; "
                                f"script-src {REPORT_SCRIPT_SOURCES}; style-src 'unsafe-inline'; img-src data:"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # the pages hold students' marks: no copy in shared caches or the history
}
NO_RUN_PAGE = (b"<!doctype html><html><head><meta charset='utf-8'><title>StudyRec runs</title></head><body>"
               b"<h1>StudyRec runs</h1><p>No run yet. Runs appear here once an analyst or a scheduled job "
               b"runs the pipeline.</p></body></html>")


def report_path(runs_dir: Path, relative: str) -> Path | None:
    """The file a request for ``relative`` (below the service's prefix) may read, or None.

    Readable: the index (``""`` or ``index.html``) and one report file (REPORT_FILES) directly inside a run
    folder, not hidden, that is a regular file inside ``runs_dir`` once every symlink is resolved.
    """
    try:
        path = PurePosixPath(relative)
        parts = path.parts
        if relative in ("", run_files.INDEX):
            candidate = runs_dir / run_files.INDEX
        elif (len(parts) == 2 and not path.is_absolute() and not any(part.startswith(".") for part in parts)
              and any(fnmatch.fnmatchcase(parts[1], pattern) for pattern in run_files.REPORT_FILES)):
            candidate = runs_dir / parts[0] / parts[1]
        else:
            return None
        resolved = candidate.resolve(strict=True)
    except (OSError, ValueError):  # missing, a loop, an embedded NUL
        return None
    if not resolved.is_relative_to(runs_dir.resolve()) or not resolved.is_file():
        return None
    return resolved


class ReportsHandler(HubOAuthenticated, web.RequestHandler):
    """GET the index or a report of the runs folder, for a visitor the hub signed in with the access scope."""

    def initialize(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    def set_default_headers(self) -> None:
        for name, value in HEADERS.items():
            self.set_header(name, value)

    @web.authenticated
    async def get(self, relative: str) -> None:
        path = report_path(self.runs_dir, relative)
        if path is None:
            if relative in ("", run_files.INDEX):
                self.set_header("Content-Type", CONTENT_TYPES[".html"])
                self.finish(NO_RUN_PAGE)
                return
            raise web.HTTPError(404)
        suffix = path.suffix.lower()
        self.set_header("Content-Type", CONTENT_TYPES[suffix])
        if suffix in DOWNLOADS:
            self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(path.name)}")
        with path.open("rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                self.write(block)
                await self.flush()


def make_app(runs_dir: Path, prefix: str, cookie_secret: bytes) -> web.Application:
    """The service's tornado application under ``prefix`` (``/services/reports/``)."""
    prefix = url_path_join(prefix, "")  # one trailing slash
    return web.Application(
        [
            (re.escape(prefix.rstrip("/")), web.RedirectHandler, {"url": prefix}),
            (re.escape(url_path_join(prefix, "oauth_callback")), HubOAuthCallbackHandler),
            (re.escape(prefix) + "(.*)", ReportsHandler, {"runs_dir": runs_dir}),
        ],
        cookie_secret=cookie_secret,
    )


async def serve(app: web.Application, host: str, port: int) -> None:
    """Listen until the hub stops the service."""
    app.listen(port, host)
    await asyncio.Event().wait()


def main() -> None:
    """Run as JupyterHub starts a managed service: where to listen and the prefix come from its environment."""
    apply_umask()
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    app = make_app(load_settings().runs_dir, os.environ["JUPYTERHUB_SERVICE_PREFIX"], os.urandom(32))
    with contextlib.suppress(KeyboardInterrupt):  # the hub stops its services with SIGINT
        asyncio.run(serve(app, url.hostname or "127.0.0.1", url.port or 80))


if __name__ == "__main__":
    main()
