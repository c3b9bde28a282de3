"""API tokens: shown once at creation, stored only as sha256 hashes.

Servers authenticate from a JSON sidecar of the hashes (rewritten atomically on every change), so a
revocation takes effect at once and a request never waits on the warehouse's lock.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from pathlib import Path

import pandas as pd

from studyrec_lib.core import warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings, load_settings
from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.core.files import beside_warehouse, file_stamp, write_private_atomically

TOKEN_BYTES = 32
TOKEN_PREFIX = "sr_"  # so no token starts with "-", which a command line (`--token T`) reads as an option


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
        rows = con.execute("SELECT token_sha256, student_id, token_id FROM api_tokens WHERE revoked_at IS NULL"
                           ).fetchall()
    active = {digest: {"student_id": student, "token_id": token_id} for digest, student, token_id in rows}
    write_private_atomically(sidecar(settings), json.dumps(active))
    return active


def create_token(student_id: str, name: str | None = None, settings: Settings | None = None) -> tuple[int, str]:
    """A new token for ``student_id``: (token id, the token). Only its hash is kept."""
    settings = settings or load_settings()
    if not student_id.strip():
        raise TokenError("--student-id must not be empty.")
    token = new_token()
    with warehouse.transaction(settings) as con:
        row = con.execute(
            "INSERT INTO api_tokens (token_sha256, student_id, name, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING token_id",
            [token_hash(token), student_id.strip(), name, utc_now()],
        ).fetchone()
    write_sidecar(settings)
    return int(row[0]), token


def revoke_token(token_id: int | None = None, token: str | None = None, settings: Settings | None = None) -> int:
    """Revoke by id or by the token itself; returns the id."""
    settings = settings or load_settings()
    with warehouse.transaction(settings) as con:
        if token is not None:
            found = con.execute("SELECT token_id FROM api_tokens WHERE token_sha256 = ?", [token_hash(token)])
        else:
            found = con.execute("SELECT token_id FROM api_tokens WHERE token_id = ?", [token_id])
        row = found.fetchone()
        if row is None:
            raise TokenError("no such token; see `studyrec tokens list`.")
        con.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                    [utc_now(), row[0]])
    write_sidecar(settings)
    return int(row[0])


def list_tokens(settings: Settings | None = None) -> pd.DataFrame:
    return warehouse.query_frame(
        "SELECT token_id, student_id, name, created_at, revoked_at FROM api_tokens ORDER BY token_id",
        settings=settings,
    )


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
        return entry["student_id"] if entry else None
