"""Where an app kernel's details go: the server's log, never the page a student sees.

In a Jupyter kernel ``sys.stderr`` (and, by default, file descriptor 2 itself) is forwarded to the browser, so
a traceback or a warning written there reaches the visitor. ipykernel keeps a copy of the real stderr (the
stderr of the Voila or Jupyter server that started the kernel), which ``sys.stderr.fileno()`` returns.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

HANDLER_NAME = "studyrec-server-log"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [pid %(process)d]: %(message)s"


def server_stderr() -> TextIO:
    """A stream on the process's real stderr (a kernel's ``sys.stderr.fileno()`` is ipykernel's copy of it)."""
    try:
        descriptor = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no descriptor (io.UnsupportedOperation): not redirected
        return sys.__stderr__
    return open(os.dup(descriptor), "w", buffering=1, encoding="utf-8", errors="replace")


def log_to_server(level: int = logging.INFO) -> logging.Handler:
    """Send this process's logging, and Python warnings, to the server's log; once per process."""
    root = logging.getLogger()
    for handler in root.handlers:
        if handler.get_name() == HANDLER_NAME:
            return handler
    handler = logging.StreamHandler(server_stderr())
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    logging.getLogger("studyrec_lib").setLevel(level)
    logging.captureWarnings(True)  # a warning's text names source files: server log only
    return handler
