"""uvicorn's HTTP protocol with a bound on the size and the time of a request's head.

uvicorn (with httptools) buffers a request line and headers of any size and
waits for them as long as a client cares to send them, so a few connections
with endless headers hold memory, and many with unfinished ones hold sockets.
This subclass refuses a head larger than ``APP_MAX_HEADER_BYTES`` with 431 and
one not received within ``APP_HEADER_TIMEOUT_SECONDS`` with 408 (both in the
error schema, then the connection closes), as nginx's
``large_client_header_buffers`` and ``client_header_timeout`` do in front of
it. ``serve`` selects it by name, so every worker process loads it.

A refused client may still be sending. Closing a socket with unread bytes
makes the kernel reset the connection, which can destroy the refusal before
the client reads it; so, like nginx's lingering close, the connection ends
its side after the refusal and drops what still arrives, closing when the
client does or ``LINGER_SECONDS`` later.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .settings import Settings

LINGER_SECONDS = 2.0
"""How long a refused connection keeps reading (and dropping) what the client sends."""


@cache
def head_limits() -> tuple[int, float]:
    """(bytes, seconds) from the settings, read once per process."""
    settings = Settings()
    return settings.max_header_bytes, settings.header_timeout_seconds


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """A connection that counts the bytes and the time of each request head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes, self.head_timeout = head_limits()
        self.head_bytes = 0
        self.awaiting_head = True
        self.head_started = 0.0
        self.head_timer: asyncio.TimerHandle | None = None
        self.linger_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_started = self.loop.time()
        # One timer per connection, re-armed when it fires, rather than one per
        # request: kept-alive connections carry many requests.
        self.head_timer = self.loop.call_later(self.head_timeout, self._check_head_time)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        if self.linger_timer is not None:
            self.linger_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.linger_timer is not None:
            return  # the rest of a refused request, dropped
        if not self.awaiting_head:
            super().data_received(data)
            return
        room = self.max_head_bytes - self.head_bytes
        if len(data) <= room:
            self.head_bytes += len(data)
            super().data_received(data)
            return
        # The head may end inside this chunk, followed by a body: feed what fits,
        # and refuse only if the head is still not complete.
        super().data_received(data[:room])
        if self.awaiting_head and not self.transport.is_closing():
            self._refuse(431, "request_header_fields_too_large", "The request head is too large.")
        elif not self.transport.is_closing():
            self.data_received(data[room:])

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self.awaiting_head:  # the next request on a kept-alive connection
            self.awaiting_head = True
            self.head_bytes = 0
            self.head_started = self.loop.time()

    def on_headers_complete(self) -> None:
        self.awaiting_head = False
        super().on_headers_complete()

    def _stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _check_head_time(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        left = self.head_timeout
        if self.awaiting_head:
            left = self.head_started + self.head_timeout - self.loop.time()
            if left <= 0:
                self._refuse(408, "request_timeout", "The request head took too long to arrive.")
                return
        self.head_timer = self.loop.call_later(left, self._check_head_time)

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer in the error schema and close: the connection's state is unknown."""
        self._stop_head_timer()
        body = orjson.dumps({"code": code, "message": message, "request_id": None})
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )
        # The lingering close: our side ends once the refusal is sent; the
        # client's end (``eof_received``) or the timer closes the connection.
        self.transport.write_eof()
        self.linger_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
