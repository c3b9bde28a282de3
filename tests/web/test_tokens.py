import json
import stat
from datetime import timedelta

import pandas as pd
import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.defaults import TOKEN_DAYS
from studyrec_lib.web.tokens import (
    TokenError,
    TokenStore,
    create_token,
    list_tokens,
    new_token,
    revoke_token,
    sidecar,
    token_hash,
    write_sidecar,
)


def _stored_bytes(settings) -> bytes:
    """The warehouse file and its write-ahead log, as they are on disk."""
    data = settings.warehouse.read_bytes()
    wal = settings.warehouse.with_name(settings.warehouse.name + ".wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def test_no_token_starts_like_a_command_line_option():
    # A bare url-safe token starts with "-" once in 64; `--token -x...` then fails as a missing argument.
    tokens = [new_token() for _ in range(1000)]
    assert not any(token.startswith("-") for token in tokens)
    assert len(set(tokens)) == 1000
    assert all(len(token) >= 40 and token.replace("-", "").replace("_", "").isalnum() for token in tokens)


def test_create_token_returns_it_once_and_stores_only_its_hash(settings):
    token_id, token = create_token("S1", "phone", settings)
    assert isinstance(token_id, int)
    assert len(token) >= 40
    with warehouse.connect(settings, read_only=True) as con:
        rows = con.execute("SELECT token_id, token_sha256, student_id, name, revoked_at FROM api_tokens").fetchall()
    assert rows == [(token_id, token_hash(token), "S1", "phone", None)]
    assert len(token_hash(token)) == 64
    listed = list_tokens(settings)
    assert listed["token_id"].tolist() == [token_id]
    assert token not in listed.to_string()
    assert not any("sha256" in column or column == "token" for column in listed.columns)


def test_raw_token_is_in_neither_the_warehouse_file_nor_the_sidecar(settings):
    tokens = [create_token(f"S{i}", None, settings)[1] for i in range(3)]
    stored = _stored_bytes(settings)
    side = sidecar(settings).read_bytes()
    for token in tokens:
        assert token.encode() not in stored
        assert token.encode() not in side
        assert token_hash(token).encode() in side
    assert set(json.loads(side)) == {token_hash(t) for t in tokens}


def test_tokens_differ_each_time(settings):
    assert create_token("S1", None, settings)[1] != create_token("S1", None, settings)[1]


def test_empty_student_id_is_refused(settings):
    with pytest.raises(TokenError):
        create_token("  ", None, settings)


def test_token_store_maps_tokens_to_students(settings):
    _, first = create_token("S1", None, settings)
    _, second = create_token("S2", None, settings)
    store = TokenStore(settings)
    assert store.student_for(first) == "S1"
    assert store.student_for(second) == "S2"
    assert store.student_for("not-a-token") is None
    assert store.student_for(first + "x") is None
    assert store.student_for("") is None


def test_student_id_is_stored_stripped(settings):
    _, token = create_token("  S7 ", None, settings)
    assert TokenStore(settings).student_for(token) == "S7"


def test_token_store_without_a_sidecar_writes_one(settings):
    _, token = create_token("S1", None, settings)
    sidecar(settings).unlink()
    assert TokenStore(settings).student_for(token) == "S1"
    assert sidecar(settings).exists()


def test_revoke_by_id_takes_effect_without_a_restart(settings):
    first_id, first = create_token("S1", None, settings)
    _, second = create_token("S2", None, settings)
    store = TokenStore(settings)
    assert store.student_for(first) == "S1"
    assert revoke_token(token_id=first_id, settings=settings) == first_id
    assert store.student_for(first) is None
    assert store.student_for(second) == "S2"
    revoked = list_tokens(settings).set_index("token_id")
    assert pd.notna(revoked.loc[first_id, "revoked_at"])


def test_revoke_by_token_takes_effect_without_a_restart(settings):
    token_id, token = create_token("S1", None, settings)
    store = TokenStore(settings)
    assert store.student_for(token) == "S1"
    assert revoke_token(token=token, settings=settings) == token_id
    assert store.student_for(token) is None
    # Revoking again is harmless and keeps it revoked.
    assert revoke_token(token=token, settings=settings) == token_id
    assert store.student_for(token) is None


def test_revoking_an_unknown_token_raises(settings):
    create_token("S1", None, settings)
    with pytest.raises(TokenError):
        revoke_token(token="no-such-token", settings=settings)
    with pytest.raises(TokenError):
        revoke_token(token_id=9999, settings=settings)


def test_sidecar_is_readable_by_its_owner_only(settings):
    create_token("S1", None, settings)
    assert stat.S_IMODE(sidecar(settings).stat().st_mode) == 0o600
    write_sidecar(settings)
    assert stat.S_IMODE(sidecar(settings).stat().st_mode) == 0o600
    assert list(settings.warehouse.parent.glob("*.tmp")) == []


def test_sidecar_holds_active_tokens_only(settings):
    keep_id, keep = create_token("S1", None, settings)
    drop_id, _ = create_token("S2", None, settings)
    revoke_token(token_id=drop_id, settings=settings)
    expires_at = list_tokens(settings).set_index("token_id").loc[keep_id, "expires_at"]
    assert json.loads(sidecar(settings).read_text()) == {
        token_hash(keep): {"student_id": "S1", "token_id": keep_id, "expires_at": expires_at.isoformat()}}


def test_a_token_ends_after_its_days_and_an_expired_one_is_refused(settings):
    _, fresh = create_token("S1", None, settings)
    made = list_tokens(settings).iloc[0]
    assert (made["expires_at"] - made["created_at"]).days == TOKEN_DAYS
    _, stale = create_token("S2", None, settings, expires_in_days=-1 / 24)  # ended an hour ago
    store = TokenStore(settings)
    assert store.student_for(fresh) == "S1"
    assert store.student_for(stale) is None
    assert token_hash(stale) not in json.loads(sidecar(settings).read_text())  # not even listed


def test_a_token_that_ends_while_listed_is_refused_from_then_on(settings, monkeypatch):
    _, token = create_token("S1", None, settings, expires_in_days=1)
    store = TokenStore(settings)
    assert store.student_for(token) == "S1"
    later = utc_now() + timedelta(days=1, seconds=1)
    monkeypatch.setattr("studyrec_lib.web.tokens.utc_now", lambda: later)
    assert store.student_for(token) is None  # the sidecar still lists it; its expiry decides


def test_a_student_revokes_only_their_own_tokens(settings):
    mine, _ = create_token("S1", None, settings)
    theirs, _ = create_token("S2", None, settings)
    with pytest.raises(TokenError, match="no such token"):
        revoke_token(token_id=theirs, settings=settings, student_id="S1")
    assert revoke_token(token_id=mine, settings=settings, student_id="S1") == mine
    assert list_tokens(settings, student_id="S2")["revoked_at"].isna().all()
