"""Give every request an id and one access log line, from a single middleware.

The id goes into the ``X-Request-ID`` response header, the log context (so
every line written while serving the request carries it) and error bodies.
Both jobs wrap the same ``send`` and run for every request, so they share one
layer: as two middleware they cost about 9 us more per request on one core
(``bench/run.py``), most of it the second wrapper around every message sent.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logging_config import REQUEST_ID

HEADER = b"x-request-id"
# Accept a caller's id only if it is short and plain, so it is safe in logs.
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_START_MESSAGES = ("http.response.start", "websocket.http.response.start")

logger = structlog.get_logger("access")


class RequestIds:
    """32 hex characters: a random per-process prefix and 64 random bits.

    Ids only need to be unique, not unguessable, and ``uuid4()`` costs a
    ``getrandom`` system call per request; the ``random`` module's generator
    (seeded from the system) costs none. Not a counter: consecutive ids would
    tell any client how busy the service is. Both the prefix and ``random``
    are drawn again in a forked child, so pre-forked workers never share ids.
    """

    def __init__(self) -> None:
        self._reseed()
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self._prefix = secrets.token_hex(8)

    def next(self) -> str:
        return f"{self._prefix}{random.getrandbits(64):016x}"


new_request_id = RequestIds().next


class RequestContextMiddleware:
    """Reuse a well-formed incoming ``X-Request-ID`` (else mint one); log the outcome.

    The access line (method, path, status, duration, client) is written once
    the app has finished or failed; a failure that never started a response
    is logged as 500, a WebSocket refused before accepting as 403.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Bound once, with the logging configuration of the app being built:
        # the module-level proxy would resolve itself again on every line.
        self.log = logger.bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_id(scope) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        id_header = (HEADER, request_id.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind in _START_MESSAGES:
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            elif kind == "websocket.accept":
                status = 101
            elif kind == "websocket.close" and status == 500:
                status = 403
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            self.log.info(
                "request",
                method=scope.get("method", "WS"),
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                client=client[0] if client else None,
            )
            REQUEST_ID.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if _WELL_FORMED.match(value) else None
    return None
