"""Per-caller rate limiting shared by every worker process of the API: per token, or per hub user for the app.

Each caller's key (by hash) has a small file beside the warehouse, read and written under the file's lock, so
``studyrec serve --workers N`` allows ``limit`` requests per window in all, whichever worker answers.
For limits up to :data:`EXACT_LIMIT` (the default is 30 per 60 s) the file is an exact sliding log: the
times of the last ``limit`` requests. Above that, where a log would cost more than the request, it holds
a sliding-window counter (the current fixed window's start and the counts of this window and the last;
allowed while ``previous * overlap + current < limit``), in constant space. The two formats live in files
of their own suffix (``.log``, ``.counter``), so changing the limit across :data:`EXACT_LIMIT` never reads
one format as the other (which locked a token out for up to two windows).

:class:`FailedAuthThrottle` is the other limit: failed sign-ins per client address, in a bounded table
in memory (per worker process), so guessing tokens costs the guesser, not the server.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

from cachetools import TTLCache

from studyrec_lib.core.config import Settings
from studyrec_lib.core.files import beside_warehouse

EXACT_LIMIT = 1000
STAMP = struct.Struct("<d")
COUNTER = struct.Struct("<ddd")  # window start (epoch s), previous window's count, this window's count


def rate_limit_dir(settings: Settings) -> Path:
    """The folder of the per-token files, beside the warehouse (``warehouse.duckdb.ratelimit``)."""
    return beside_warehouse(settings, ".ratelimit")


class SharedRateLimiter:
    """At most ``limit`` requests per ``window_s`` per key (sliding), across processes."""

    def __init__(self, directory: Path, limit: int, window_s: float):
        self.directory, self.limit, self.window_s = Path(directory), limit, window_s
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def retry_after(self, key: str, now: float | None = None) -> float | None:
        """None when the request may go ahead (and count it); else seconds until it may."""
        exact = self.limit <= EXACT_LIMIT
        name = hashlib.sha256(key.encode()).hexdigest()[:32] + (".log" if exact else ".counter")
        descriptor = os.open(self.directory / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            now = time.time() if now is None else now
            return self._log(descriptor, now) if exact else self._counter(descriptor, now)
        finally:
            os.close(descriptor)  # closing releases the lock

    def _log(self, descriptor: int, now: float) -> float | None:
        data = os.pread(descriptor, STAMP.size * self.limit, 0)
        data = data[: len(data) - len(data) % STAMP.size]
        hits = [t for (t,) in STAMP.iter_unpack(data) if now - self.window_s < t <= now]
        if len(hits) >= self.limit:
            return self.window_s - (now - min(hits))
        payload = b"".join(STAMP.pack(t) for t in [*hits, now][-self.limit:])
        os.pwrite(descriptor, payload, 0)
        os.ftruncate(descriptor, len(payload))
        return None

    def _counter(self, descriptor: int, now: float) -> float | None:
        data = os.pread(descriptor, COUNTER.size, 0)
        window = math.floor(now / self.window_s) * self.window_s
        start, previous, current = COUNTER.unpack(data) if len(data) == COUNTER.size else (window, 0.0, 0.0)
        if window >= start + 2 * self.window_s or window < start:  # idle two windows (or the clock moved)
            start, previous, current = window, 0.0, 0.0
        elif window > start:
            start, previous, current = window, current, 0.0
        overlap = 1.0 - (now - start) / self.window_s  # share of the previous window still in the slide
        if previous * overlap + current >= self.limit:
            if current >= self.limit or previous <= 0:
                return start + self.window_s - now
            return max(0.001, start + self.window_s * (1 - (self.limit - current) / previous) - now)
        os.pwrite(descriptor, COUNTER.pack(start, previous, current + 1), 0)
        return None


class FailedAuthThrottle:
    """After ``limit`` failed sign-ins from one address within ``window_s``, refuse it until the window ends.

    A fixed window per address, opened by its first failure; at most ``max_addresses`` are remembered
    (the least recently used is forgotten first), so a flood from many addresses costs bounded memory.
    """

    def __init__(self, limit: int, window_s: float, max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.limit, self.window_s, self._clock = limit, window_s, clock
        # address -> [window start, failures]; an entry expires with its window
        self._failures: TTLCache = TTLCache(maxsize=max_addresses, ttl=window_s, timer=clock)

    def tracked_addresses(self) -> int:
        return len(self._failures)

    def retry_after(self, address: str) -> float | None:
        """None while ``address`` may still try; else seconds until its window ends."""
        entry = self._failures.get(address)
        if entry is None or entry[1] < self.limit:
            return None
        return max(0.001, entry[0] + self.window_s - self._clock())

    def record_failure(self, address: str) -> None:
        entry = self._failures.get(address)
        if entry is None:
            self._failures[address] = [self._clock(), 1]
        else:
            entry[1] += 1
