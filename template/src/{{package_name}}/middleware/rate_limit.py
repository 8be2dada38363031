"""Count every API request and WebSocket handshake against the caller's quota.

Runs after authentication, which settles the ``Caller``: the quota belongs to
the user, else the API key, else the client address (anonymous tier). Only
paths under the guarded prefixes (``/api/v1``, and ``/v1`` for OpenAI's
clients) count: health, readiness and the docs are never limited.
WebSocket messages and GraphQL operations call the same limiter themselves.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ..api import API_PREFIX
from ..errors import send_error
from ..metrics.registry import Counter
from ..ratelimit.keys import caller_of
from ..ratelimit.port import RateLimitBackendError, RateLimitDecision, RateLimiter
from .request_context import add_response_headers


def rate_limit_headers(decision: RateLimitDecision) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after)
    return headers


class RateLimitMiddleware:
    """Refuse over-quota callers with 429 (``Retry-After``); label every answer with the quota."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        guarded_prefixes: tuple[str, ...] = (API_PREFIX,),
        self_counting_paths: frozenset[str] = frozenset(),
        refusals: Counter | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        # refusals.labels(tier, kind): the metric of quota refusals.
        self.refusals = refusals
        self.guarded_prefixes = guarded_prefixes
        # HTTP endpoints that count each operation themselves (GraphQL counts
        # per operation): counting the request here as well would charge twice.
        self.self_counting_paths = self_counting_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] not in ("http", "websocket")
            or not scope["path"].startswith(self.guarded_prefixes)
            or (scope["type"] == "http" and scope["path"] in self.self_counting_paths)
        ):
            await self.app(scope, receive, send)
            return
        caller = caller_of(scope)
        try:
            decision = await self.limiter.hit(caller.key, caller.tier)
        except RateLimitBackendError:
            await send_error(
                scope,
                send,
                503,
                "rate_limit_unavailable",
                "Rate limiting is temporarily unavailable; try again shortly.",
                headers={"Retry-After": "1"},
            )
            return
        if not decision.allowed:
            if self.refusals is not None:
                self.refusals.labels(caller.tier, "rate_limit").inc()
            await send_error(
                scope,
                send,
                429,
                "rate_limit_exceeded",
                f"Rate limit of {decision.limit} requests exceeded; "
                f"retry in {decision.retry_after} s.",
                headers=rate_limit_headers(decision),
            )
            return
        # On the response, an accepted WebSocket, or a WebSocket refused further in.
        add_response_headers(
            scope,
            (
                (b"x-ratelimit-limit", b"%d" % decision.limit),
                (b"x-ratelimit-remaining", b"%d" % decision.remaining),
            ),
        )
        await self.app(scope, receive, send)
