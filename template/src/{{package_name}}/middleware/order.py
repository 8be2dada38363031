"""Ordering rules between middleware, checked when the app is built.

Some middleware relies on another running outside it: the middleware that
label responses hand their headers to the request-context wrapper, and the
rate limiter counts the caller that authentication settles. A stack listed in
the wrong order would fail on the first request, or quietly count the wrong
caller; ``check_order`` refuses it at start-up with the rule it breaks.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware import Middleware

from .authentication import AuthenticationMiddleware
from .cors import CORSMiddleware
from .rate_limit import RateLimitMiddleware
from .request_context import RequestContextMiddleware
from .security_headers import SecurityHeadersMiddleware

# Each middleware, and those that must be listed before it (further out).
RUNS_INSIDE: dict[object, tuple[type, ...]] = {
    SecurityHeadersMiddleware: (RequestContextMiddleware,),
    CORSMiddleware: (RequestContextMiddleware,),
    RateLimitMiddleware: (RequestContextMiddleware, AuthenticationMiddleware),
}


def check_order(stack: Sequence[Middleware]) -> None:
    """Raise ``RuntimeError`` naming the first middleware listed before one it relies on."""
    outside: set[object] = set()
    for entry in stack:
        for needed in RUNS_INSIDE.get(entry.cls, ()):
            if needed not in outside:
                name = getattr(entry.cls, "__name__", repr(entry.cls))
                raise RuntimeError(
                    f"{name} must be listed after {needed.__name__}: "
                    "it relies on that middleware running outside it"
                )
        outside.add(entry.cls)
