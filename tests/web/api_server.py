"""The API as a real server on loopback, for the tests that call it over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def wait_until_healthy(url: str) -> None:
    """Until ``studyrec serve`` at ``url`` answers its health check (30 s at most)."""
    for _ in range(120):
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.25)
    raise AssertionError("the server did not start")


@contextmanager
def serve(settings, rate_limit: int, port: int, workers: int | None = None, **env_vars: str) -> Iterator[str]:
    env = {**os.environ, "STUDYREC_WAREHOUSE": str(settings.warehouse), "STUDYREC_RUNS": str(settings.runs_dir),
           "STUDYREC_RATE_LIMIT": str(rate_limit), "STUDYREC_RATE_WINDOW_S": "60", **env_vars}
    command = [sys.executable, "-m", "studyrec_lib.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(command + (["--workers", str(workers)] if workers else []), env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
