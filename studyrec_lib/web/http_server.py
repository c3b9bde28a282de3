"""The HTTP server's own limits for ``studyrec serve``: what uvicorn bounds before the app sees a request.

uvicorn (0.3x) bounds the size of an incomplete request head only with its h11 parser (a complete one
is measured by the app's ``RequestLimits``), and has no timeout for a
request head that never finishes (its keep-alive timer runs only between requests and restarts on every
byte), so :class:`BoundedH11Protocol` closes a connection whose head is not complete within
:func:`request_timeout_s`. The body's own size and time limits are the app's (``api_config.ApiConfig``).
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from studyrec_lib.web.api_config import request_timeout_s

MAX_HEAD_BYTES = 8 * 1024  # request line and headers: h11 refuses (400) a longer head still incomplete, the app 431
KEEP_ALIVE_S = 5  # an idle connection between requests is closed after this
MAX_CONNECTIONS = 256  # per worker; beyond it uvicorn answers 503 at once

logger = logging.getLogger("studyrec.http")

BODY_GRACE_S = 2.0  # the app answers a slow body it reads with 408 first; this closes one it never reads


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head, or then whose body, takes too long.

    A route that answers without reading the body (404, 405, health) leaves the connection waiting for it,
    with no timer of uvicorn's running, so the body has its own: the request timeout plus a grace.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self.head_timeout_s = request_timeout_s()
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm_head_timer()  # a new request begins (after a keep-alive pause)
        super().data_received(data)
        self._watch_body()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_body()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        self._disarm_body_timer()
        super().connection_lost(exc)

    def _watch_body(self) -> None:
        state = self.conn.their_state
        if state is not h11.IDLE:
            self._disarm_head_timer()
        if state is h11.SEND_BODY:
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.head_timeout_s + BODY_GRACE_S, self._body_timed_out)
        else:
            self._disarm_body_timer()

    def _disarm_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            logger.info("closing %s: the request body did not arrive within %g s", self.client,
                        self.head_timeout_s + BODY_GRACE_S)
            self.transport.close()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            logger.info("closing %s: no complete request head within %g s", self.client, self.head_timeout_s)
            self.transport.close()


def uvicorn_limits(max_connections: int | None = None) -> dict:
    """The keyword arguments ``uvicorn.run`` gets from ``studyrec serve`` to apply these limits."""
    return {"http": BoundedH11Protocol, "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
            "timeout_keep_alive": KEEP_ALIVE_S, "limit_concurrency": max_connections or MAX_CONNECTIONS}
