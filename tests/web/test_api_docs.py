"""The API's docs, ``/docs`` (Swagger UI) and ``/redoc``, work offline: every asset comes from the API itself.

One ``studyrec serve`` over an empty warehouse (the docs need no model) serves this module; Debian's Chromium
opens the pages with every request to a host other than 127.0.0.1 aborted. The pages' Content-Security-Policy
must refuse only what the bundles try to fetch from elsewhere, never their own scripts, styles or workers.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Route, expect

from studyrec_lib.core.config import ENV_RUNS, ENV_WAREHOUSE, PROJECT_ROOT
from tests.web.api_server import wait_until_healthy

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
UI_TIMEOUT_MS = 30_000  # the pages render in a second or two
REFERENCE_ATTRIBUTES = ("src", "href", "spec-url")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}
# page, its rendered title, one rendered operation, its screenshot, the URLs its policy may refuse
RENDERED = {
    "/docs": (".swagger-ui .info .title", ".swagger-ui .opblock", "api_docs.png", set()),
    "/redoc": ("h1", "[data-section-id^='operation/']", "api_redoc.png",
               {"https://cdn.redoc.ly/redoc/logo-mini.svg"}),  # the logo beside "API docs by Redocly"
}
RECORD_VIOLATIONS = """window.refused = [];
document.addEventListener("securitypolicyviolation", event => window.refused.push(event.blockedURI));"""


class References(HTMLParser):
    """Every URL a page loads or links to: its src, href and (ReDoc's) spec-url attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in REFERENCE_ATTRIBUTES and value]


def references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.urls


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]) -> Iterator[tuple[str, str]]:
    """The URL of ``studyrec serve`` (one worker) and the first line it printed."""
    root = tmp_path_factory.mktemp("api-docs")
    port = free_port()
    env = {**os.environ, ENV_WAREHOUSE: str(root / "warehouse.duckdb"), ENV_RUNS: str(root / "runs")}
    server = subprocess.Popen([sys.executable, "-m", "studyrec_lib.cli", "serve", "--port", str(port),
                               "--workers", "1"], env=env, stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url)
        assert server.stdout is not None  # the line comes before the server starts: read it only if it is there
        printed = select.select([server.stdout], [], [], 0)[0]
        yield url, server.stdout.readline().rstrip("\n") if printed else ""
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_prints_the_urls_of_the_api_and_its_docs(served: tuple[str, str]) -> None:
    url, line = served
    assert line == f"StudyRec API: {url}/ (docs: {url}/docs, {url}/redoc)"
    for page in ("/docs", "/redoc"):
        assert httpx.get(f"{url}{page}", timeout=30).status_code == 200
    root = httpx.get(f"{url}/", timeout=30, follow_redirects=True)  # the printed address leads to the docs
    assert root.status_code == 200 and root.url.path == "/docs" and "swagger-ui" in root.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_this_server_and_it_serves_every_asset(served: tuple[str, str],
                                                                         page: str) -> None:
    url, _ = served
    html = httpx.get(f"{url}{page}", timeout=30).text
    urls = references(html)
    assert any(found.endswith(".js") for found in urls), urls  # the page's script is among them
    assert "://" not in html  # no absolute URL anywhere, in an attribute or in the inline script
    for found in urls:
        assert found.startswith("/") and not found.startswith("//"), found
        answer = httpx.get(f"{url}{found}", timeout=30)
        assert answer.status_code == 200, found
        suffix = found[found.rfind("."):]
        assert answer.headers["content-type"].startswith(CONTENT_TYPES[suffix]), (found, answer.headers)


@pytest.mark.parametrize("page", list(RENDERED))
def test_docs_render_with_every_other_host_blocked(browser: Browser, served: tuple[str, str], page: str) -> None:
    url, _ = served
    blocked: list[str] = []

    def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    title, operation, screenshot, may_refuse = RENDERED[page]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.route("**/*", only_this_server)
        context.add_init_script(RECORD_VIOLATIONS)
        tab = context.new_page()
        tab.goto(f"{url}{page}", timeout=UI_TIMEOUT_MS)
        why = f"not rendered; requests to other hosts: {blocked}"  # a page's own scripts are loaded by now
        expect(tab.locator(title).first, why).to_contain_text("StudyRec API", timeout=UI_TIMEOUT_MS)
        expect(tab.locator(operation).first).to_be_visible(timeout=UI_TIMEOUT_MS)
        tab.wait_for_load_state("networkidle", timeout=UI_TIMEOUT_MS)  # late requests (badges, fonts) too
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / screenshot))
        refused = set(tab.evaluate("window.refused"))
    finally:
        context.close()
    assert blocked == []
    assert refused <= may_refuse  # e.g. "inline", "eval" or a blob: worker refused would break the page


def test_only_the_docs_pages_get_a_content_security_policy(served: tuple[str, str]) -> None:
    url, _ = served
    for page in ("/docs", "/redoc"):
        policy = httpx.get(f"{url}{page}", timeout=30).headers["content-security-policy"]
        assert policy.startswith("default-src 'none';") and "frame-ancestors 'none'" in policy
    for other in ("/api/health", "/openapi.json", "/static/docs/redoc.standalone.js"):
        assert "content-security-policy" not in httpx.get(f"{url}{other}", timeout=30).headers
