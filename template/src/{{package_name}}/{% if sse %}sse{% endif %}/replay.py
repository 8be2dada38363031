"""The response that reads a resumable stream: replay from a position, then the live tail.

Every reader of a resumable stream is one of these: the response to the
request that started it, and each resume. It writes whole batches (a replay
is one ``send``), a ``:`` comment when nothing came for a keep-alive
interval, and the stream's ending. A client that leaves only detaches its
reader (the producer goes on for the grace period); at shutdown the reader
says goodbye with a ``retry:`` hint, and a client may resume on another
process from its last event id. Events evicted before a slow reader got them
end its stream with an ``error`` event (``stream_events_evicted``), never a
silent gap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AsyncExitStack

import structlog
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..errors import error_payload
from ..metrics.registry import ServiceMetrics
from .buffer import (
    Batch,
    BufferUnavailableError,
    EventsEvictedError,
    Reader,
    StreamNotFoundError,
)
from .frames import KEEPALIVE, EventFormat, ResumableServiceEvents
from .response import SHUTDOWN_CODE, STREAM_HEADERS, StreamLimits

logger = structlog.get_logger(__name__)

EVICTED_CODE = "stream_events_evicted"
EXPIRED_CODE = "stream_not_found"
UNAVAILABLE_CODE = "stream_buffer_unavailable"


class ReplayStream(Response):
    """Write ``reader``'s events from ``start`` as SSE in ``events``' format.

    ``cleanup`` is closed when the stream ends, however it ends (a resume's slot).
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        *,
        reader: Reader,
        start: int,
        events: EventFormat,
        shutting_down: asyncio.Event,
        limits: StreamLimits,
        metrics: ServiceMetrics,
        headers: Mapping[str, str],
        cleanup: AsyncExitStack | None = None,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers(STREAM_HEADERS | dict(events.headers) | dict(headers))
        self._reader = reader
        self._start = start
        self._events = events
        self._shutting_down = shutting_down
        self._limits = limits
        self._metrics = metrics
        self._stop: str | None = None
        self._cleanup = cleanup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        writer = loop.create_task(self._stream(scope, send))
        watchers = (
            loop.create_task(self._watch_disconnect(receive, writer)),
            loop.create_task(self._watch_shutdown(writer)),
        )
        self._metrics.open_sse_streams.inc()
        try:
            await writer
        except OSError:
            self._stop = "disconnect"  # the server reported the client gone
        finally:
            self._metrics.open_sse_streams.dec()
            for watcher in watchers:
                watcher.cancel()
            await self._reader.aclose()
            if self._cleanup is not None:
                await self._cleanup.aclose()
            if self._stop == "disconnect":
                self._metrics.client_disconnects.labels("sse").inc()

    async def _stream(self, scope: Scope, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        events = self._events
        keepalive = self._limits.keepalive_seconds
        loop = asyncio.get_running_loop()
        last_write = loop.time()
        opening = events.opening() if self._start == 0 else b""
        if opening:
            await self._write(send, opening)
        final: bytes | None = None
        try:
            async for batch in self._reader.batches():
                if self._stop is not None:
                    # Our interrupt, whose cancellation a Redis call swallowed.
                    raise asyncio.CancelledError
                if batch.tokens or batch.ending is not None:
                    await self._write(send, self._frames(batch))
                    last_write = loop.time()
                elif loop.time() - last_write >= keepalive:
                    await self._write(send, KEEPALIVE)
                    last_write = loop.time()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._stop is None or task is None or task.uncancel() > 0:
                raise
            if self._stop == "disconnect":
                return
            message = "The server is shutting down; resume the stream to continue."
            payload = error_payload(scope, 503, SHUTDOWN_CODE, message)
            final = events.error(503, payload, retry_ms=self._limits.retry_ms)
        except EventsEvictedError as exc:
            message = f"Events from {exc.wanted} on were evicted; the oldest kept is {exc.oldest}."
            final = events.error(410, error_payload(scope, 410, EVICTED_CODE, message))
        except StreamNotFoundError:
            message = "The stream expired while it was being read."
            final = events.error(404, error_payload(scope, 404, EXPIRED_CODE, message))
        except BufferUnavailableError:
            message = "The stream's buffer is unavailable; resume it later."
            final = events.error(503, error_payload(scope, 503, UNAVAILABLE_CODE, message))
        if final is not None:
            await self._write(send, final)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _frames(self, batch: Batch) -> bytes:
        events = self._events
        first = batch.first
        frames = [events.token(first + n, text) for n, text in enumerate(batch.tokens)]
        ending = batch.ending
        if ending is not None:
            number = first + len(batch.tokens)
            if isinstance(events, ResumableServiceEvents):
                frames.append(events.final_id(number))
            if ending.summary is not None:
                frames.append(events.done(ending.summary))
            else:
                frames.append(events.error(ending.status, ending.error or {}))
        return b"".join(frames)

    @staticmethod
    async def _write(send: Send, frame: bytes) -> None:
        await send({"type": "http.response.body", "body": frame, "more_body": True})

    def _interrupt(self, stop: str, writer: asyncio.Task[None]) -> None:
        if self._stop is None and not writer.done():
            self._stop = stop
            writer.cancel()

    async def _watch_disconnect(self, receive: Receive, writer: asyncio.Task[None]) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self._interrupt("disconnect", writer)

    async def _watch_shutdown(self, writer: asyncio.Task[None]) -> None:
        await self._shutting_down.wait()
        self._interrupt("shutdown", writer)
