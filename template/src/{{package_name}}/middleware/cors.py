"""Starlette's CORS middleware, with a short path for requests that carry no ``Origin``.

Browsers send ``Origin`` on cross-origin calls; servers, scripts and
same-origin pages mostly do not, and for them CORS has nothing to decide: the
response only owes ``Vary: Origin``, so a shared cache never hands it to a
cross-origin caller. Starlette rebuilds the response headers through
``MutableHeaders`` to add that one header, a noticeable share of a request's
cost; here it is handed as bytes to the request-context middleware, which
appends it (``add_response_headers``). Requests
with an ``Origin`` go through Starlette's code; a refused preflight answers
with the error schema, and its origin is logged so an operator can see which
page was turned away.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog
from starlette.datastructures import Headers
from starlette.middleware import cors
from starlette.types import Receive, Scope, Send

from ..errors import error_response
from .request_context import add_response_headers

logger = structlog.get_logger(__name__)

_VARY_ORIGIN = [(b"vary", b"Origin")]


def origin_allowed(headers: Headers, allowed_origins: list[str]) -> bool:
    """Whether a WebSocket handshake may proceed: browsers do not apply CORS to sockets.

    Allows non-browser clients (no Origin), same-origin pages and configured origins.
    """
    origin = headers.get("origin")
    if origin is None:
        return True
    if origin in allowed_origins or "*" in allowed_origins:
        return True
    host = headers.get("host")
    return host is not None and urlsplit(origin).netloc == host


class CORSMiddleware(cors.CORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope["headers"]
        if not any(name == b"origin" for name, _ in raw):
            add_response_headers(scope, _VARY_ORIGIN)
            await self.app(scope, receive, send)
        elif scope["method"] == "OPTIONS" and any(
            name == b"access-control-request-method" for name, _ in raw
        ):
            await self._preflight(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def _preflight(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        response = self.preflight_response(request_headers=headers)
        if response.status_code == 400:
            reason = bytes(response.body).decode()
            logger.info("cors_preflight_refused", origin=headers["origin"], reason=reason)
            response = error_response(
                scope, 400, "cors_refused", f"{reason}.", headers=dict(self.preflight_headers)
            )
        await response(scope, receive, send)
