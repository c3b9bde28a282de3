import subprocess
import sys

import pytest

from studyrec_lib.rate_limit import EXACT_LIMIT, SharedRateLimiter

START = 6_000.0  # a window boundary for a 60 s window


def test_exact_log_allows_limit_per_sliding_window_then_says_how_long_to_wait(tmp_path):
    limiter = SharedRateLimiter(tmp_path, limit=5, window_s=60)
    assert [limiter.retry_after("a", START + i) for i in range(5)] == [None] * 5
    assert limiter.retry_after("a", START + 5) == pytest.approx(55.0)  # the first hit leaves the window at +60
    assert limiter.retry_after("a", START + 59.5) == pytest.approx(0.5)
    assert limiter.retry_after("a", START + 60.5) is None  # sliding: one slot freed, across the window boundary
    assert limiter.retry_after("a", START + 60.6) == pytest.approx(0.4)
    assert limiter.retry_after("b", START + 5) is None  # per key


def test_a_burst_at_a_window_boundary_is_still_limited(tmp_path):
    limiter = SharedRateLimiter(tmp_path, limit=5, window_s=60)
    assert [limiter.retry_after("a", START + 59.9 + i * 0.01) for i in range(5)] == [None] * 5
    assert limiter.retry_after("a", START + 60.05) == pytest.approx(59.85)  # a fixed window would have reset


def test_large_limits_use_a_constant_size_counter(tmp_path):
    limit = EXACT_LIMIT + 500
    limiter = SharedRateLimiter(tmp_path, limit=limit, window_s=10)
    allowed = sum(limiter.retry_after("a", 1_000.0 + i * 1e-4) is None for i in range(limit + 10))
    assert allowed == limit
    assert max(path.stat().st_size for path in tmp_path.iterdir()) == 24
    # Half a window later half of the previous window still counts: about half the limit is free again.
    freed = sum(limiter.retry_after("a", 1_015.0 + i * 1e-5) is None for i in range(limit))
    assert abs(freed - limit / 2) <= 5


HAMMER = """
import sys
from studyrec_lib.rate_limit import SharedRateLimiter
limiter = SharedRateLimiter(sys.argv[1], limit=50, window_s=600)
print(sum(limiter.retry_after("token") is None for _ in range(200)))
"""


def test_worker_processes_share_one_limit(tmp_path):
    """What `studyrec serve --workers 2` relies on: the limit holds across processes."""
    command = [sys.executable, "-c", HAMMER, str(tmp_path)]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    allowed = [int(worker.communicate(timeout=60)[0]) for worker in workers]
    assert sum(allowed) == 50


def test_files_are_private(tmp_path):
    SharedRateLimiter(tmp_path / "limits", limit=3, window_s=60).retry_after("a")
    assert (tmp_path / "limits").stat().st_mode & 0o777 == 0o700
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in (tmp_path / "limits").iterdir())
