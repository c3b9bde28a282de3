"""The DuckDB warehouse: short-lived connections, retry on lock, numbered migrations.

DuckDB lets one process hold the file at a time, so callers open, do one unit of work, and close;
a caller that finds the file locked waits with backoff instead of failing at once.

Inside one process DuckDB refuses a second connection to a file with another configuration (one
read-only, one read-write) while the first is open. So each process takes turns per file: one thread at
a time holds connections to it (:class:`_Turn`); a connection nested in the same thread shares the
outer one's configuration.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.errors import WarehouseLocked

DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
LOCK_MESSAGES = ("Could not set lock", "Conflicting lock", "database is locked")
# Another connection of this process has the file open with another configuration: it goes away when that
# connection closes (only code outside connect() can cause it, connect() itself takes turns).
CONFIGURATION_MESSAGE = "different configuration than existing connections"
TRANSIENT_MESSAGES = (*LOCK_MESSAGES, CONFIGURATION_MESSAGE)


def _is_transient(error: Exception) -> bool:
    return any(text in str(error) for text in TRANSIENT_MESSAGES)


class _Turn:
    """This process's turn at one file: one thread at a time holds connections to it (re-entrant)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.open_read_only: list[bool] = []  # the holder's open connections, outermost first

    @contextmanager
    def held(self, path: Path, timeout_s: float) -> Iterator[None]:
        if not self.lock.acquire(timeout=max(timeout_s, 0)):
            raise WarehouseLocked(
                f"{path}: the warehouse is busy in this process (another thread kept it over {timeout_s:.1f} s)."
            )
        try:
            yield
        finally:
            self.lock.release()

    def nested_mode(self, path: Path, read_only: bool) -> bool:
        """The read_only flag to open with: a nested connection must share the outer one's configuration."""
        if not self.open_read_only:
            return read_only
        if self.open_read_only[0] and not read_only:
            raise RuntimeError(f"{path}: a read-write connection cannot be opened inside a read-only one")
        return self.open_read_only[0]


_turns: dict[Path, _Turn] = {}
_turns_lock = threading.Lock()


def _turn(path: Path) -> _Turn:
    with _turns_lock:
        return _turns.setdefault(path.resolve(), _Turn())  # one turn per file, however its path is spelt


def _forget_turns() -> None:
    """A forked child starts with no connections: a turn held by a parent's thread must not block it."""
    global _turns_lock
    _turns_lock = threading.Lock()
    _turns.clear()


os.register_at_fork(after_in_child=_forget_turns)


def _open(path: Path, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)
        except duckdb.Error as error:
            if not _is_transient(error):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLocked(
                    f"{path}: the warehouse is held by another process or connection ({error}). "
                    "Wait for the running ingest or training to finish, or raise STUDYREC_LOCK_TIMEOUT_S."
                ) from error
            time.sleep(min(delay * (0.5 + random.random()), max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 1.0)


@contextmanager
def connect(settings: Settings | None = None, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """One short-lived connection to a migrated warehouse; closed on exit.

    Waits (up to the lock timeout in all) for this process's other threads and for other processes.
    """
    settings = settings or load_settings()
    path = settings.warehouse
    deadline = time.monotonic() + settings.lock_timeout_s
    path.parent.mkdir(parents=True, exist_ok=True)
    turn = _turn(path)
    with turn.held(path, settings.lock_timeout_s):
        read_only = turn.nested_mode(path, read_only)
        if read_only and not path.exists():
            read_only = False  # create and migrate it first
        connection = _open(path, read_only, deadline)
        if read_only and _applied_version(connection) < LATEST_MIGRATION:
            connection.close()  # an older file: migrate it (below), then read
            read_only = False
            connection = _open(path, read_only, deadline)
        turn.open_read_only.append(read_only)
        try:
            if not read_only:
                migrate(connection)
            yield connection
        finally:
            turn.open_read_only.pop()
            connection.close()


def _applied_version(connection: duckdb.DuckDBPyConnection) -> int:
    try:
        row = connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    except duckdb.Error:  # no schema_version table yet (DuckDB may even try a Python variable of that name)
        return 0
    return int(row[0]) if row else 0


@contextmanager
def transaction(settings: Settings | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable connection whose work commits together or not at all."""
    with connect(settings) as connection:
        connection.begin()
        try:
            yield connection
        except BaseException:
            connection.rollback()
            raise
        connection.commit()


def migrations() -> list[tuple[int, str, str]]:
    """The packaged migrations as (number, name, sql), in order."""
    found = []
    for entry in resources.files("studyrec_lib.migrations").iterdir():
        match = re.fullmatch(r"(\d+)_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


LATEST_MIGRATION = max(number for number, _, _ in migrations())


def schema_version(connection: duckdb.DuckDBPyConnection) -> int:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    row = connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(connection: duckdb.DuckDBPyConnection) -> int:
    """Apply the migrations the file has not seen yet, each in its own transaction."""
    current = schema_version(connection)
    for number, name, sql in migrations():
        if number <= current:
            continue
        connection.begin()
        try:
            connection.execute(sql)
            connection.execute(
                "INSERT INTO schema_version VALUES (?, ?, now()::TIMESTAMP)", [number, name]
            )
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        current = number
    return current


def query_frame(sql: str, params: list | None = None, settings: Settings | None = None):
    """Run one read query and return a pandas DataFrame."""
    with connect(settings, read_only=True) as connection:
        return connection.execute(sql, params or []).df()
