"""One accepted socket's outgoing side: a bounded queue and the task that drains it.

Replies are produced once per conversation and offered to every connection in
the room without waiting: a slow reader must not slow the model or the other
readers. Each connection buffers at most ``queue_size`` frames; a client that
lets its buffer fill is closed with 1013 (try again later) and its buffer is
dropped, so memory per connection stays bounded whatever the client does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

logger = structlog.get_logger(__name__)

CLOSE_NORMAL = 1000
CLOSE_POLICY_VIOLATION = 1008
CLOSE_INTERNAL_ERROR = 1011
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013


@dataclass(frozen=True, slots=True)
class CloseRequest:
    """Why and how a connection should end."""

    code: int
    reason: str
    flush: bool
    """Send what is queued first (graceful), or drop it (slow or dead peer)."""


class ChatConnection:
    """The write side of one client socket."""

    def __init__(self, websocket: WebSocket, queue_size: int) -> None:
        self.websocket = websocket
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.close_request: CloseRequest | None = None
        self.closing = asyncio.Event()
        self.peer_gone = False

    def offer(self, text: str) -> None:
        """Queue a frame without waiting; a full queue closes the connection."""
        if self.peer_gone or (self.close_request is not None and not self.close_request.flush):
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            logger.warning("chat_client_too_slow", queued=self._queue.qsize())
            self.request_close(CLOSE_TRY_AGAIN_LATER, "client too slow", flush=False)

    def request_close(self, code: int, reason: str, *, flush: bool) -> None:
        """Ask the session to close; the first request wins."""
        if self.close_request is None:
            self.close_request = CloseRequest(code, reason, flush)
            self.closing.set()

    async def run_sender(self) -> None:
        """Write queued frames in order until the peer leaves or sending fails."""
        try:
            while True:
                text = await self._queue.get()
                await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.peer_gone = True
            self.closing.set()

    async def flush(self) -> None:
        """Send what is still queued; callers bound the wait."""
        try:
            while not self._queue.empty() and not self.peer_gone:
                await self.websocket.send_text(self._queue.get_nowait())
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.peer_gone = True

    async def close(self, code: int, reason: str) -> None:
        """Send the close frame unless the peer is already gone."""
        if self.peer_gone:
            return
        try:
            await self.websocket.close(code, reason)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.peer_gone = True
