"""Starlette's CORS middleware, with a short path for requests that carry no ``Origin``.

Browsers send ``Origin`` on cross-origin calls; servers, scripts and
same-origin pages mostly do not, and for them CORS has nothing to decide: the
response only owes ``Vary: Origin``, so a shared cache never hands it to a
cross-origin caller. Starlette rebuilds the response headers through
``MutableHeaders`` to add that one header, a noticeable share of a request's
cost; here it is handed as bytes to the request-context middleware, which
appends it (``add_response_headers``). Requests
with an ``Origin`` (and preflights) go through Starlette's code unchanged.
"""

from __future__ import annotations

from starlette.middleware import cors
from starlette.types import Receive, Scope, Send

from .request_context import add_response_headers

_VARY_ORIGIN = [(b"vary", b"Origin")]


class CORSMiddleware(cors.CORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(name == b"origin" for name, _ in scope["headers"]):
            await super().__call__(scope, receive, send)
            return
        add_response_headers(scope, _VARY_ORIGIN)
        await self.app(scope, receive, send)
