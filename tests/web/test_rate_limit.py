import subprocess
import sys

import pytest

from studyrec_lib.web.rate_limit import EXACT_LIMIT, FailedAuthThrottle, SharedRateLimiter

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
from studyrec_lib.web.rate_limit import SharedRateLimiter
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


@pytest.mark.parametrize(("before", "after"), [(30, EXACT_LIMIT + 500), (EXACT_LIMIT + 500, 30)])
def test_changing_the_limit_across_the_exact_limit_locks_no_one_out(tmp_path, before, after):
    """A restart with STUDYREC_RATE_LIMIT raised above EXACT_LIMIT (or lowered below) reads no file wrongly."""
    old = SharedRateLimiter(tmp_path, limit=before, window_s=60)
    assert all(old.retry_after("a", START + i * 0.01) is None for i in range(25))
    new = SharedRateLimiter(tmp_path, limit=after, window_s=60)
    assert [new.retry_after("a", START + 1 + i * 0.01) for i in range(5)] == [None] * 5


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_failed_sign_ins_are_throttled_per_address_until_the_window_ends():
    clock = _Clock()
    throttle = FailedAuthThrottle(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("10.0.0.1") is None
        throttle.record_failure("10.0.0.1")
    clock.now += 10
    assert throttle.retry_after("10.0.0.1") == pytest.approx(50.0)
    assert throttle.retry_after("10.0.0.2") is None  # per address
    clock.now += 50.5
    assert throttle.retry_after("10.0.0.1") is None  # the window ended: the address may try again


def test_the_throttle_remembers_a_bounded_number_of_addresses():
    throttle = FailedAuthThrottle(limit=1, window_s=60, max_addresses=100)
    throttle.record_failure("first")
    assert throttle.retry_after("first") is not None
    for i in range(10_000):
        throttle.record_failure(f"10.{i // 256}.{i % 256}.1")
    assert throttle.tracked_addresses() == 100
    assert throttle.retry_after("first") is None  # the least recently seen address was forgotten
