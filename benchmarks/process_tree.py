"""CPU of a server's process tree, for benchmarks that wait until a server is quiet before they measure."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import psutil


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """User + system CPU seconds of these processes (a process that has ended counts for nothing)."""
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def wait_quiet(tree: Callable[[], list[psutil.Process]], timeout_s: float, window_s: float = 1.0,
               max_cores: float = 0.1) -> bool:
    """Whether the tree used under ``max_cores`` over one ``window_s`` (and kept its size) within ``timeout_s``:
    kernels have run their notebook, a pool has refilled, a job has ended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processes = tree()
        before = cpu_seconds(processes)
        time.sleep(window_s)
        if cpu_seconds(processes) - before < max_cores * window_s and len(tree()) == len(processes):
            return True
    return False
