"""Defensive response headers; HTML pages (the docs UI, the demo page) get their own CSP."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from .request_context import add_response_headers

_COMMON: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# An API answers JSON: nothing in it should ever load or run.
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# Swagger UI and ReDoc load their scripts and styles from a CDN over https.
_DOCS_CSP = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https:; "
    b"style-src 'self' 'unsafe-inline' https:; img-src 'self' data: https:; "
    b"worker-src 'self' blob:; frame-ancestors 'none'",
)
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


class SecurityHeadersMiddleware:
    """Add the headers once per response; they are precomputed bytes.

    Appended by ``RequestContextMiddleware``'s ``send`` wrapper (see
    ``add_response_headers``), which must therefore sit outside this one.
    """

    def __init__(
        self, app: ASGIApp, hsts: bool = False, page_policies: Mapping[str, str] | None = None
    ) -> None:
        """``page_policies``: the Content-Security-Policy of each HTML page, by path."""
        self.app = app
        extra = [_HSTS] if hsts else []
        self.api_headers = [*_COMMON, _API_CSP, *extra]
        self.docs_headers = [*_COMMON, _DOCS_CSP, *extra]
        self.page_headers = dict.fromkeys(DOCS_PATHS, self.docs_headers)
        for path, policy in (page_policies or {}).items():
            csp = (b"content-security-policy", policy.encode())
            self.page_headers[path] = [*_COMMON, csp, *extra]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        add_response_headers(scope, self.page_headers.get(scope["path"], self.api_headers))
        await self.app(scope, receive, send)
