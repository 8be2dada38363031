"""A raw ASGI response that streams one generation as server-sent events.

Why not ``StreamingResponse``, ``fastapi.sse`` or sse-starlette: ``fastapi.sse``
and sse-starlette cost several times the CPU per event of a plain
``StreamingResponse``, and a raw ASGI writer costs less than it. This class
costs no more per event than a plain ``StreamingResponse`` writing the same
frames, while adding every behaviour below. The per-token path here is one
``anext()`` on the model's iterator, one bytes format and one ``send``; all
the rest (disconnects, shutdown, deadline, keep-alives) happens beside it and
costs per stream, not per token.

What runs beside the writer, per stream:

- a task waiting for ``http.disconnect``; a client that leaves cancels the
  writer, which cancels the model's iterator where it waits, so generation
  stops at once (no ``is_disconnected()`` poll per token);
- a task waiting for the shutdown event, which ends the stream with a
  goodbye ``error`` event carrying a ``retry:`` hint;
- two timer handles: the maximum duration, and the keep-alive tick that
  writes a ``:`` comment when nothing was written for an interval.

Slow clients: tokens are pulled, never pushed. The writer asks the model for
the next token only after ``send`` returned, and the server's ``send`` waits
while the socket's write buffer is above its high-water mark. A client that
lags therefore pauses the model's iterator (and, for a real upstream, its HTTP
read), so memory per stream is bounded by that buffer plus one token: no queue
grows. The maximum duration still ends a stream whose client stopped reading:
its last frame gets one keep-alive interval, then the connection is dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Literal

import structlog
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ..errors import error_payload
from ..llm.port import FinishReason, LLMError, TokenDelta, Usage
from ..metrics.registry import ServiceMetrics
from .frames import KEEPALIVE, SERVICE_EVENTS, EventFormat, StreamSummary

logger = structlog.get_logger(__name__)

# Why the writer was interrupted; "finished" means late interrupts are ignored.
StopReason = Literal["disconnect", "shutdown", "max_duration", "finished"]

SHUTDOWN_CODE = "server_shutting_down"
# Every stream's: no cache may keep it, no proxy may buffer it.
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
MAX_DURATION_CODE = "stream_timeout"


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """Per-stream timing, from settings."""

    keepalive_seconds: float
    max_duration_seconds: float
    retry_ms: int


class TokenEventStream(Response):
    """Write ``first`` and the rest of ``tokens`` as SSE, then ``done`` or ``error``.

    ``cleanup`` is closed when the stream ends however it ends: it closes the
    model's iterator and releases the caller's concurrency slot. ``events``
    frames the stream for its kind of client.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        *,
        first: TokenDelta | None,
        tokens: AsyncIterator[TokenDelta],
        cleanup: AsyncExitStack,
        shutting_down: asyncio.Event,
        limits: StreamLimits,
        started: float,
        deadline: float,
        events: EventFormat = SERVICE_EVENTS,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers(STREAM_HEADERS | dict(events.headers))
        self._first = first
        self._tokens = tokens
        self._cleanup = cleanup
        self._shutting_down = shutting_down
        self._limits = limits
        self._started = started
        self._deadline = deadline
        self._events = events
        self._metrics = metrics
        self._stop: StopReason | None = None
        self._task: asyncio.Task[object] | None = None
        self._send: Send | None = None
        self._loop = asyncio.get_running_loop()
        self._last_write = 0.0
        self._writing = False
        self._keepalive: asyncio.Task[None] | None = None
        self._tick_handle: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = self._loop
        self._send = send
        self._last_write = loop.time()
        # The writer gets a task of its own: resuming a task after each token's
        # wait walks its whole await chain, and the request task's chain runs
        # through every middleware, so writing from the request task costs
        # noticeably more CPU per event than from a fresh task.
        writer = loop.create_task(self._stream(scope, send))
        self._task = writer
        watchers = (
            loop.create_task(self._watch_disconnect(receive)),
            loop.create_task(self._watch_shutdown()),
        )
        deadline = loop.call_at(self._deadline, self._interrupt, "max_duration")
        self._tick_handle = loop.call_later(self._limits.keepalive_seconds, self._tick)
        metrics = self._metrics
        if metrics is not None:
            metrics.open_sse_streams.inc()
        try:
            await writer
        except _ClientGoneError:
            # The server reported the client gone; nobody is left to tell.
            self._client_left()
        finally:
            if metrics is not None:
                metrics.open_sse_streams.dec()
            self._stop = "finished"
            deadline.cancel()
            self._tick_handle.cancel()
            for watcher in watchers:
                watcher.cancel()
            if self._keepalive is not None:
                self._keepalive.cancel()
            await self._cleanup.aclose()

    async def _stream(self, scope: Scope, send: Send) -> None:
        index = 0
        reason: FinishReason = "stop"
        usage: Usage | None = None
        interrupted = False
        events = self._events
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            opening = events.opening()
            if opening:
                await self._write(opening)
            delta = self._first
            if delta is not None:
                if delta.text:
                    await self._write(events.token(0, delta.text))
                    index = 1
                reason = delta.finish_reason or reason
                usage = delta.usage
                # The hot loop: _write() inlined, one await on the model, one on send.
                loop = self._loop
                token_frame = events.token
                async for delta in self._tokens:
                    if delta.finish_reason is not None:
                        reason = delta.finish_reason
                        usage = delta.usage
                        if not delta.text:
                            continue  # an upstream's empty closing chunk
                    if self._keepalive is not None:
                        await asyncio.wait((self._keepalive,))
                    self._writing = True
                    try:
                        await send(
                            {
                                "type": "http.response.body",
                                "body": token_frame(index, delta.text),
                                "more_body": True,
                            }
                        )
                    except OSError as exc:
                        raise _ClientGoneError from exc
                    self._writing = False
                    self._last_write = loop.time()
                    index += 1
        except asyncio.CancelledError:
            if not self._interrupted_by_us():
                raise
            final = self._last_frame_after_interrupt(scope)
            if final is None:
                return
            interrupted = True
        except _ClientGoneError:
            raise
        except LLMError as exc:
            logger.warning("stream_upstream_error", error=type(exc).__name__, tokens=index)
            final = events.error(
                exc.status_code,
                error_payload(scope, exc.status_code, exc.code, exc.public_message),
            )
        except Exception:
            logger.exception("stream_failed", tokens=index)
            final = events.error(
                500, error_payload(scope, 500, "internal_error", "The stream failed.")
            )
        else:
            duration_ms = round((time.perf_counter() - self._started) * 1000, 3)
            final = events.done(StreamSummary(index, duration_ms, reason, usage))
        self._stop = "finished"
        if interrupted:
            # The writer may have been stopped waiting on a client that reads no
            # more; give the last frame a bounded time, then drop the connection.
            try:
                async with asyncio.timeout(self._limits.keepalive_seconds):
                    await self._write(final)
            except TimeoutError:
                logger.warning("stream_client_stalled")
                raise _ClientGoneError from None
        else:
            await self._write(final)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _interrupted_by_us(self) -> bool:
        """True when the cancellation is our own interrupt, and nobody else's too."""
        if self._stop is None or self._stop == "finished" or self._task is None:
            return False
        return self._task.uncancel() == 0

    def _last_frame_after_interrupt(self, scope: Scope) -> bytes | None:
        """Goodbye or time-out event; nothing for a client that has left."""
        stop = self._stop
        if stop == "disconnect":
            self._client_left()
            return None
        if stop == "shutdown":
            logger.info("stream_goodbye", reason="shutdown")
            message = "The server is shutting down; reconnect to continue."
            payload = error_payload(scope, 503, SHUTDOWN_CODE, message)
            return self._events.error(503, payload, retry_ms=self._limits.retry_ms)
        seconds = self._limits.max_duration_seconds
        message = f"The stream reached its maximum duration of {seconds:g} seconds."
        return self._events.error(504, error_payload(scope, 504, MAX_DURATION_CODE, message))

    async def _write(self, frame: bytes) -> None:
        if self._keepalive is not None:
            # Rare: a keep-alive comment is being written; never send concurrently.
            await asyncio.wait((self._keepalive,))
        send = self._send
        assert send is not None
        self._writing = True
        try:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        except OSError as exc:  # how servers on ASGI spec 2.4 report a closed connection
            raise _ClientGoneError from exc
        self._writing = False
        self._last_write = self._loop.time()

    def _client_left(self) -> None:
        if self._metrics is not None:
            self._metrics.client_disconnects.labels("sse").inc()

    def _interrupt(self, stop: StopReason) -> None:
        """Cancel the writer where it waits (the model, or a slow client's socket)."""
        if self._stop is None and self._task is not None:
            self._stop = stop
            self._task.cancel()

    async def _watch_disconnect(self, receive: Receive) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                self._interrupt("disconnect")
                return

    async def _watch_shutdown(self) -> None:
        await self._shutting_down.wait()
        self._interrupt("shutdown")

    def _tick(self) -> None:
        """Write a keep-alive comment if nothing was written for an interval."""
        loop = self._loop
        now = loop.time()
        interval = self._limits.keepalive_seconds
        due = self._last_write + interval
        if due <= now:
            if not self._writing and self._keepalive is None and self._stop is None:
                self._keepalive = loop.create_task(self._write_keepalive())
            due = now + interval
        self._tick_handle = loop.call_at(due, self._tick)

    async def _write_keepalive(self) -> None:
        send = self._send
        assert send is not None
        try:
            await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
            self._last_write = self._loop.time()
        except OSError:
            self._interrupt("disconnect")
        finally:
            self._keepalive = None


class _ClientGoneError(Exception):
    """``send`` failed because the connection is closed."""
