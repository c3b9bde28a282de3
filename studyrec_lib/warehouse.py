"""The DuckDB warehouse: short-lived connections, retry on lock, numbered migrations.

DuckDB lets one process hold the file at a time, so callers open, do one unit of work, and close;
a caller that finds the file locked waits with backoff instead of failing at once.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from .config import Settings, load_settings
from .errors import WarehouseLocked

DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
LOCK_MESSAGES = ("Could not set lock", "Conflicting lock", "database is locked")


def _is_lock_error(error: Exception) -> bool:
    return any(text in str(error) for text in LOCK_MESSAGES)


def _open(path: Path, read_only: bool, timeout_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)
        except duckdb.Error as error:
            if not _is_lock_error(error):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLocked(
                    f"{path}: the warehouse is held by another process (waited {timeout_s:.0f} s). "
                    "Wait for the running ingest or training to finish, or raise STUDYREC_LOCK_TIMEOUT_S."
                ) from error
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)


@contextmanager
def connect(settings: Settings | None = None, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """One short-lived connection to a migrated warehouse; closed on exit."""
    settings = settings or load_settings()
    path = settings.warehouse
    if read_only and not path.exists():
        read_only = False  # create and migrate it first
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = _open(path, read_only, settings.lock_timeout_s)
    if read_only and _applied_version(connection) < LATEST_MIGRATION:
        connection.close()  # an older file: migrate it (below), then read
        read_only = False
        connection = _open(path, read_only, settings.lock_timeout_s)
    try:
        if not read_only:
            migrate(connection)
        yield connection
    finally:
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
