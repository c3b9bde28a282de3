"""The time the warehouse records: UTC, without a zone (DuckDB TIMESTAMP), so every writer agrees."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now in UTC as a naive datetime, the form every timestamp column and log line holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_utc_naive(moment: datetime | None) -> datetime:
    """``moment`` in naive UTC (an aware datetime is converted); ``None`` means now."""
    if moment is None:
        return utc_now()
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
