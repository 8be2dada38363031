"""Give every request an id and one access log line, from a single middleware.

The id goes into the ``X-Request-ID`` response header, the log context (so
every line written while serving the request carries it) and error bodies.
Both jobs wrap the same ``send`` and run for every request, so they share one
layer: two middleware would put a second wrapper around every message sent.

For the same reason the middleware further in that only label responses
(security headers, ``Vary``, quota) do not wrap ``send`` themselves: they hand
their headers to ``add_response_headers`` and this wrapper appends them.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import time
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logging_config import REQUEST_ID, AccessLog
from ..metrics.registry import ServiceMetrics
from ..metrics.route_templates import RouteTemplates

HEADER = b"x-request-id"
# Accept a caller's id only if it is short and plain, so it is safe in logs.
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
# Every message that carries response headers.
_HEADER_MESSAGES = frozenset(
    ("http.response.start", "websocket.http.response.start", "websocket.accept")
)
_RESPONSE_HEADERS = "response_headers"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "WS"})


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
    is logged as 500, a WebSocket refused before accepting as 403. The same
    outcome goes to ``metrics`` (by route template, never by raw path).
    ``quiet_paths`` (the metrics scrape) get neither.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServiceMetrics | None = None,
        route_templates: RouteTemplates | None = None,
        quiet_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        # Made once, with the logging configuration of the app being built.
        self.access_log = AccessLog()
        self.metrics = metrics
        self.route_templates = route_templates or RouteTemplates()
        self.quiet_paths = quiet_paths
        # Bounded: methods x route templates x statuses.
        self._http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_id(scope) or new_request_id()
        added_headers = [(HEADER, request_id.encode())]
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state[_RESPONSE_HEADERS] = added_headers
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind in _HEADER_MESSAGES:
                message["headers"] = [*message.get("headers", ()), *added_headers]
                status = 101 if kind == "websocket.accept" else message["status"]
            elif kind == "websocket.close" and status == 500:
                status = 403
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if scope["path"] not in self.quiet_paths:
                self._record(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        """The access line, and the request's metrics."""
        client = scope.get("client")
        method = scope.get("method", "WS")
        path = scope["path"]
        self.access_log.write(
            method, path, status, round(seconds * 1000, 2), client[0] if client else None
        )
        if self.metrics is not None:
            route = self.route_templates.of(scope)
            if method not in _METHODS:
                method = "OTHER"  # clients choose methods: never a label of their own
            key = (method, route, status)
            children = self._http_children.get(key)
            if children is None:
                # Looked up once per label set: ``labels()`` costs more than the update.
                children = (
                    self.metrics.http_requests.labels(method, route, str(status)),
                    self.metrics.http_request_duration.labels(method, route),
                )
                self._http_children[key] = children
            children[0].inc()
            children[1].observe(seconds)


def add_response_headers(scope: Scope, headers: Iterable[tuple[bytes, bytes]]) -> None:
    """Have this request's response (or WebSocket accept) carry ``headers`` as well.

    For middleware inside ``RequestContextMiddleware`` that would otherwise
    wrap ``send`` only to append headers. Call it before the response starts.
    """
    try:
        added: list[tuple[bytes, bytes]] = scope["state"][_RESPONSE_HEADERS]
    except KeyError:
        raise RuntimeError(
            "add_response_headers needs RequestContextMiddleware outside this middleware"
        ) from None
    added.extend(headers)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if _WELL_FORMED.match(value) else None
    return None
