"""Who is calling the API: a student with their own token, or the hub's student app for a signed-in hub user.

The app's kernels hold no models and no warehouse connection: they call the API with the service token and the
hub user's name (:mod:`studyrec_lib.web.api_client`). Only that token may name a hub user; the API then finds
the student linked to that account (``studyrec accounts link``), so a page can never choose whose data it sees.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass

from cachetools import LRUCache, TTLCache

from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import WarehouseLocked
from studyrec_lib.web.accounts import hub_name, not_linked_note, student_of

LINK_CACHE_S = 60.0  # an unlinked or re-linked account takes effect within this time
LINK_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Caller:
    student_id: str | None  # None: a hub account not linked to a student (it may predict, with no history)
    rate_key: str  # what the rate limit counts: the student's token, or the hub user behind the app
    hub_user: str | None = None  # set when the student app speaks for a signed-in hub user

    @property
    def note(self) -> str | None:
        """What the page says when the hub account has no student record."""
        return not_linked_note(self.hub_user) if self.hub_user and self.student_id is None else None


def is_service_token(token: str, service_token: str) -> bool:
    """In constant time, so the answer's timing says nothing of how much of a guess was right."""
    return bool(service_token) and hmac.compare_digest(token.encode(), service_token.encode())


class HubAccounts:
    """Linked student ids by hub user, read again after a minute: a click must not open the warehouse each time.

    While another process holds the warehouse (an ingest, a training), a known account keeps its last link
    instead of failing the student's click; an account never seen before waits for the lock like any read.
    """

    def __init__(self, settings: Settings, fresh_s: float = LINK_CACHE_S):
        self.settings = settings
        self._fresh: TTLCache[str, str] = TTLCache(LINK_CACHE_SIZE, fresh_s)
        self._known: LRUCache[str, str] = LRUCache(LINK_CACHE_SIZE)
        self._lock = threading.Lock()

    def caller(self, hub_user: str) -> Caller:
        """The caller the app speaks for; an unlinked account is read again next time (it may be linked soon)."""
        name = hub_name(hub_user)
        with self._lock:
            student_id = self._fresh.get(name)
        if student_id is None:
            try:
                student_id = student_of(name, self.settings)
            except WarehouseLocked:
                with self._lock:
                    student_id = self._known.get(name)
                if student_id is None:
                    raise
            with self._lock:
                if student_id is not None:
                    self._fresh[name] = self._known[name] = student_id
                else:
                    self._known.pop(name, None)  # unlinked: no stale link stands in for it later
        return Caller(student_id=student_id, rate_key=f"hub-user:{name}", hub_user=name)
