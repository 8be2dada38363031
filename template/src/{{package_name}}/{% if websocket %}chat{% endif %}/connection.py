"""One accepted socket's outgoing side: a bounded queue and the task that drains it.

Replies are produced once per conversation and offered to every connection in
the room without waiting: a slow reader must not slow the model or the other
readers. Each connection buffers at most ``queue_size`` frames; a client that
lets its buffer fill is closed with 1013 (try again later) and its buffer is
dropped, so memory per connection stays bounded whatever the client does.
"""

from __future__ import annotations

import asyncio
from collections import deque
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
        # A deque and a wake-up future rather than ``asyncio.Queue``: a reply
        # offers its frames in one go and the sender drains them in one go,
        # without the Queue's bookkeeping per frame (``put_nowait``, ``await get()``).
        self._queue: deque[str] = deque()
        self._queue_size = queue_size
        self._wakeup: asyncio.Future[None] | None = None
        self.close_request: CloseRequest | None = None
        self.closing = asyncio.Event()
        self.peer_gone = False

    def offer(self, text: str) -> None:
        """Queue a frame without waiting; a full queue closes the connection."""
        if self.peer_gone or (self.close_request is not None and not self.close_request.flush):
            return
        if len(self._queue) >= self._queue_size:
            logger.warning("chat_client_too_slow", queued=len(self._queue))
            self.request_close(CLOSE_TRY_AGAIN_LATER, "client too slow", flush=False)
            return
        self._queue.append(text)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def request_close(self, code: int, reason: str, *, flush: bool) -> None:
        """Ask the session to close; the first request wins."""
        if self.close_request is None:
            self.close_request = CloseRequest(code, reason, flush)
            self.closing.set()

    async def run_sender(self) -> None:
        """Write queued frames in order until the peer leaves or sending fails."""
        queue = self._queue
        send_text = self.websocket.send_text
        loop = asyncio.get_running_loop()
        try:
            while True:
                while queue:
                    await send_text(queue.popleft())
                self._wakeup = loop.create_future()
                try:
                    await self._wakeup
                finally:
                    self._wakeup = None
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.peer_gone = True
            self.closing.set()

    async def flush(self) -> None:
        """Send what is still queued; callers bound the wait."""
        queue = self._queue
        try:
            while queue and not self.peer_gone:
                await self.websocket.send_text(queue.popleft())
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
