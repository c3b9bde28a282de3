"""API tokens: shown once at creation, stored only as sha256 hashes, each with an expiry (default 90 days).

Servers authenticate from a JSON sidecar of the hashes and expiries (rewritten atomically on every change), so
a revocation takes effect at once and a request never waits on the warehouse's lock. Students make and
revoke their own tokens in the app; operators use ``studyrec tokens``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from studyrec_lib.core import warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.defaults import TOKEN_DAYS
from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.core.files import beside_warehouse, file_stamp, write_private_atomically

TOKEN_BYTES = 32
TOKEN_PREFIX = "sr_"  # so no token starts with "-", which a command line (`--token T`) reads as an option

APP_TOKEN_NAME = "made in the student app"  # the name of a token a student made themselves


class TokenError(StudyRecError):
    pass


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sidecar(settings: Settings) -> Path:
    """The servers' copy of the active tokens' hashes, beside the warehouse (``warehouse.duckdb.tokens.json``)."""
    return beside_warehouse(settings, ".tokens.json")


def write_sidecar(settings: Settings) -> dict[str, dict]:
    with warehouse.connect(settings, read_only=True) as con:
        rows = con.execute("SELECT token_sha256, student_id, token_id, expires_at FROM api_tokens "
                           "WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", [utc_now()]
                           ).fetchall()
    active = {digest: {"student_id": student, "token_id": token_id,
                       "expires_at": expires_at.isoformat() if expires_at else None}
              for digest, student, token_id, expires_at in rows}
    write_private_atomically(sidecar(settings), json.dumps(active))
    return active


def create_token(student_id: str, name: str | None = None, settings: Settings | None = None,
                 expires_in_days: float = TOKEN_DAYS) -> tuple[int, str]:
    """A new token for ``student_id``, ending after ``expires_in_days``: (token id, token). Only its hash is kept."""
    settings = settings or load_settings()
    if not student_id.strip():
        raise TokenError("--student-id must not be empty.")
    token = new_token()
    created = utc_now()
    with warehouse.transaction(settings) as con:
        row = con.execute(
            "INSERT INTO api_tokens (token_sha256, student_id, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?) "
            "RETURNING token_id",
            [token_hash(token), student_id.strip(), name, created, created + timedelta(days=expires_in_days)],
        ).fetchone()
    write_sidecar(settings)
    return int(row[0]), token


def revoke_token(token_id: int | None = None, token: str | None = None, settings: Settings | None = None,
                 student_id: str | None = None) -> int:
    """Revoke by id or by the token itself; returns the id. With ``student_id``, only that student's own token."""
    settings = settings or load_settings()
    with warehouse.transaction(settings) as con:
        if token is not None:
            found = con.execute("SELECT token_id, student_id FROM api_tokens WHERE token_sha256 = ?",
                                [token_hash(token)])
        else:
            found = con.execute("SELECT token_id, student_id FROM api_tokens WHERE token_id = ?", [token_id])
        row = found.fetchone()
        if row is None or (student_id is not None and row[1] != student_id):
            raise TokenError("no such token; see `studyrec tokens list`.")
        con.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                    [utc_now(), row[0]])
    write_sidecar(settings)
    return int(row[0])


def list_tokens(settings: Settings | None = None, student_id: str | None = None) -> pd.DataFrame:
    """Every token (or one student's), oldest first, with when it was made, ends and was revoked."""
    where, params = ("WHERE student_id = ?", [student_id]) if student_id is not None else ("", [])
    return warehouse.query_frame(
        f"SELECT token_id, student_id, name, created_at, expires_at, revoked_at FROM api_tokens {where} "
        "ORDER BY token_id", params, settings=settings,
    )


def live_tokens(student_id: str, settings: Settings | None = None) -> list[dict]:
    """A student's tokens that still work, as the app and the API show them: id, made, ends (dates, or None)."""
    tokens = list_tokens(settings, student_id=student_id)
    live = tokens["revoked_at"].isna() & (tokens["expires_at"].isna() | (tokens["expires_at"] > utc_now()))
    return [{"token_id": int(token.token_id), "created": f"{token.created_at:%Y-%m-%d}",
             "ends": None if pd.isna(token.expires_at) else f"{token.expires_at:%Y-%m-%d}"}
            for token in tokens[live].itertuples()]


class TokenStore:
    """Who a token belongs to, from the sidecar; reloaded whenever the sidecar changes.

    A missing sidecar is rewritten from the warehouse, which waits on its lock (up to the settings'
    lock timeout), so a server calls :meth:`student_for` off its event loop.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._stamp: tuple[int, int] | None = None
        self._active: dict[str, dict] = {}
        self._lock = threading.Lock()

    def student_for(self, token: str) -> str | None:
        path = sidecar(self.settings)
        with self._lock:  # one rewrite or reload at a time; the others then find it done
            try:
                stamp = file_stamp(path)
            except FileNotFoundError:
                write_sidecar(self.settings)
                stamp = file_stamp(path)
            if stamp != self._stamp:
                self._active = json.loads(path.read_text())
                self._stamp = stamp
            entry = self._active.get(token_hash(token))
        if entry is None or _expired(entry.get("expires_at")):
            return None
        return entry["student_id"]


def _expired(expires_at: str | None) -> bool:
    """A token ends at its expiry even while the sidecar (rewritten only on changes) still lists it."""
    return expires_at is not None and utc_now() >= datetime.fromisoformat(expires_at)
