"""Refuse request bodies over a size limit, declared or streamed (chunked)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import send_error


class RequestTooLargeError(HTTPException):
    """Raised from ``receive`` mid-body; an HTTPException so FastAPI passes it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes.")


class BodyLimitMiddleware:
    """413 with the error schema when a body is larger than ``max_bytes``.

    A declared ``Content-Length`` is checked before the app runs, and then the
    request passes untouched: the server never delivers more than it declared.
    A chunked body has no length, so bytes are counted as the app reads them
    and the read fails as soon as the limit is crossed: nothing beyond it is
    buffered.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _body_framing(scope)
        if declared is not None and declared > self.max_bytes:
            message = f"The request body exceeds {self.max_bytes} bytes."
            await send_error(scope, send, 413, message=message)
            return
        if not chunked and (declared is not None or scope.get("http_version", "1.1") < "2"):
            # An HTTP/1 server reads exactly Content-Length bytes (none without
            # it), so only a chunked body can grow past what was checked above;
            # HTTP/2 frames bodies itself and needs no length, so there a body
            # without one is counted too. Passing the rest untouched saves two
            # wrappers on every request.
            await self.app(scope, receive, send)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLargeError(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except RequestTooLargeError as exc:
            if response_started:
                raise
            await send_error(scope, send, 413, message=str(exc.detail))


def _body_framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared ``Content-Length`` (None if absent or unreadable); whether it is chunked."""
    length: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            chunked = chunked or b"chunked" in value.lower()
    return length, chunked
