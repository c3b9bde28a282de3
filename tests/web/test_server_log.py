"""In a real Jupyter kernel, what the app logs and warns reaches the server's stderr and never the page."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from studyrec_lib.core.config import PROJECT_ROOT

SECRET = "/srv/studyrec/secret-path/warehouse.duckdb"
CODE = f"""
import logging, sys, warnings
{{setup}}
logging.getLogger("studyrec_lib.web.app").error("cannot load {SECRET}")
warnings.warn("the file {SECRET} is old")
print("stderr for the page", file=sys.stderr)
print("fd 2 for the page", file=sys.__stderr__, flush=True)
"""


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[KernelManager, Path]]:
    """A python3 kernel whose own stderr (what the Voila server logs) goes to a file."""
    for name in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    # ipykernel forwards file descriptor 2 to the page as a server's kernel does, except under pytest.
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    stderr = tmp_path / "kernel-stderr.log"
    manager = KernelManager(kernel_name="python3")
    with stderr.open("wb") as log:
        manager.start_kernel(stderr=log, cwd=str(PROJECT_ROOT))
    try:
        yield manager, stderr
    finally:
        manager.shutdown_kernel(now=True)


def _page_text(manager: KernelManager, code: str) -> str:
    """Every stream and error message the kernel sends to the page while running ``code``."""
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        shown: list[str] = []

        def collect(message: dict) -> None:
            content = message["content"]
            if message["msg_type"] == "stream":
                shown.append(content["text"])
            elif message["msg_type"] == "error":
                shown.extend(content["traceback"])

        client.execute_interactive(code, output_hook=collect, timeout=60)
        client.execute_interactive("import time; time.sleep(0.5)", output_hook=collect, timeout=60)  # fd pipe
        return "".join(shown)
    finally:
        client.stop_channels()


def test_logs_and_warnings_go_to_the_server_log_not_the_page(kernel):
    manager, stderr = kernel
    page = _page_text(manager, CODE.format(setup="from studyrec_lib.web.server_log import log_to_server; "
                                                 "log_to_server(); log_to_server()"))
    assert "stderr for the page" in page  # the page does show what is written to sys.stderr
    assert "fd 2 for the page" in page  # and to the process's stderr, the file descriptor
    assert SECRET not in page
    server_log = stderr.read_text()
    assert "ERROR studyrec_lib.web.app [pid " in server_log and f"cannot load {SECRET}" in server_log
    assert f"the file {SECRET} is old" in server_log
    assert server_log.count(f"cannot load {SECRET}") == 1  # one handler, however often it is set up


def test_without_it_the_page_would_show_them(kernel):
    manager, _ = kernel
    page = _page_text(manager, CODE.format(setup="logging.basicConfig()"))
    assert SECRET in page
