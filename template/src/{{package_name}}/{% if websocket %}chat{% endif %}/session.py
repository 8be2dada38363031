"""One client's conversation: read frames, stream replies, keep the heartbeat.

Decisions a client can rely on:

- One reply at a time per connection. A ``message`` that arrives while this
  connection's reply is still streaming is refused with an ``error`` frame,
  code ``busy``; nothing is queued. Send ``cancel`` first, or wait for ``end``.
  (Other clients in the same conversation may ask at the same time; their
  replies interleave, told apart by ``reply_id``.)
- ``cancel`` and a disconnect stop the model at once: the generation task is
  cancelled, which closes the model's stream; the room gets ``end`` with
  ``finish_reason: cancelled``.
- Bad frames get an ``error`` frame and the connection stays usable; more than
  ``ws_abuse_threshold`` bad or rate-limited frames in a minute close it (1008).
- Every ``message`` counts against the caller's rate limit.
- The model sees the conversation's history (``history.py``): each user
  message is remembered when it arrives, each reply when it ends, however it
  ends. ``history`` returns it to the asking connection. Without the store
  (Redis away) replies go on without history, and ``history`` gets an error.
- Heartbeat: a ``ping`` every interval; no frame at all from the client within
  the peer timeout after it closes the connection (1011). No ``message`` or
  ``cancel`` for the idle timeout, while no reply streams, closes it (1000).
- Shutdown: the current token is sent, the reply ends as cancelled, and the
  connection closes with 1012 (service restart) so clients reconnect elsewhere.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog
from starlette.types import Message
from starlette.websockets import WebSocket

from ..errors import error_payload
from ..lifecycle import Lifecycle
from ..llm.port import LLM, CompletionRequest, FinishReason, LLMError, TokenDelta
from ..llm.port import Message as ModelMessage
from ..metrics.registry import ServiceMetrics
from ..ratelimit.keys import Caller
from ..ratelimit.port import RateLimitBackendError, RateLimiter
from ..settings import Settings
from .connection import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_POLICY_VIOLATION,
    CLOSE_SERVICE_RESTART,
    ChatConnection,
)
from .history import ConversationStore, ConversationUnavailableError, Turn
from .protocol import (
    PING,
    PONG,
    BadFrameError,
    CancelReply,
    ClientFrame,
    ClientPing,
    ErrorCode,
    ErrorFrame,
    HistoryEntry,
    HistoryFrame,
    HistoryRequest,
    ReplyFrames,
    UserMessage,
    encode,
    parse_client_frame,
)
from .rooms import ChatRooms

logger = structlog.get_logger(__name__)

ABUSE_WINDOW_SECONDS = 60.0
FLUSH_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ChatDependencies:
    """What a session needs from the application, gathered once per connection."""

    settings: Settings
    llm: LLM
    rooms: ChatRooms
    rate_limiter: RateLimiter
    lifecycle: Lifecycle
    conversations: ConversationStore
    metrics: ServiceMetrics


class ChatSession:
    """Serve one accepted socket until it closes."""

    def __init__(
        self,
        websocket: WebSocket,
        conversation_id: str,
        caller: Caller,
        deps: ChatDependencies,
    ) -> None:
        self.websocket = websocket
        self.conversation_id = conversation_id
        self.caller = caller
        self.deps = deps
        self.settings = deps.settings
        self.connection = ChatConnection(websocket, deps.settings.ws_queue_size)
        self.reply: asyncio.Task[None] | None = None
        self._strikes: deque[float] = deque(maxlen=deps.settings.ws_abuse_threshold + 1)
        now = time.monotonic()
        self.last_seen = now
        self.last_activity = now
        self._receiving = False

    # --- lifecycle ----------------------------------------------------------

    async def run(self) -> None:
        """Read until the client leaves or something asks to close, then clean up."""
        rooms = self.deps.rooms
        rooms.join(self.conversation_id, self.connection)
        self.deps.metrics.open_websockets.inc()
        reader = asyncio.create_task(self._read_loop())
        helpers = [
            asyncio.create_task(self.connection.run_sender()),
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._idle_watch()),
            asyncio.create_task(self._shutdown_watch()),
        ]
        try:
            await self._read_until_closing(reader)
        finally:
            if not reader.done():
                reader.cancel()
                await asyncio.wait({reader})
            # Cancel first, while still in the room, so this client gets the ``end`` too.
            await self._cancel_reply()
            rooms.leave(self.conversation_id, self.connection)
            self.deps.metrics.open_websockets.dec()
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            request = self.connection.close_request
            if request is not None:
                if request.flush:
                    try:
                        async with asyncio.timeout(FLUSH_TIMEOUT_SECONDS):
                            await self.connection.flush()
                    except TimeoutError:
                        self.connection.peer_gone = True
                await self.connection.close(request.code, request.reason)
            logger.info(
                "chat_closed",
                conversation_id=self.conversation_id,
                code=request.code if request else None,
                reason=request.reason if request else "client left",
            )

    async def _read_until_closing(self, reader: asyncio.Task[None]) -> None:
        """Wait until the reader ends (client left) or a close is requested, which ends it."""
        closing = asyncio.create_task(self.connection.closing.wait())
        try:
            await asyncio.wait({reader, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
        # Stop waiting for the client's next frame; a frame being handled is
        # finished first, after which the reader sees the request and returns.
        if self._receiving:
            reader.cancel()
        await asyncio.wait({reader})
        if not reader.cancelled():
            reader.result()  # what the reader raised, if anything

    async def _read_loop(self) -> None:
        """Handle the client's frames in order until it leaves or a close is requested.

        One task reads for the whole connection and is cancelled only while it
        waits for a frame (``_receiving``). Racing a close request per frame
        instead (a receive task and ``asyncio.wait`` for every frame) would add
        a task to every chat message.
        """
        receive = self.websocket.receive
        closing = self.connection.closing
        while not closing.is_set():
            self._receiving = True
            try:
                message = await receive()
            finally:
                self._receiving = False
            if message["type"] == "websocket.disconnect":
                self.connection.peer_gone = True
                if self.reply is not None and not self.reply.done():
                    self.deps.metrics.client_disconnects.labels("websocket").inc()
                return
            await self._on_frame(message)

    # --- incoming frames ----------------------------------------------------

    async def _on_frame(self, message: Message) -> None:
        self.last_seen = time.monotonic()
        text = message.get("text")
        if text is None:
            await self._bad_frame(
                BadFrameError("binary_not_supported", "Send JSON as text frames, not binary.")
            )
            return
        try:
            frame = parse_client_frame(text, self.settings.ws_max_frame_bytes)
        except BadFrameError as exc:
            await self._bad_frame(exc)
            return
        self.deps.metrics.websocket_messages.labels("in", frame.type).inc()
        await self._dispatch(frame)

    async def _dispatch(self, frame: ClientFrame) -> None:
        if isinstance(frame, ClientPing):
            self.connection.offer(PONG)
        elif isinstance(frame, CancelReply):
            self.last_activity = time.monotonic()
            if self.reply is None or self.reply.done():
                self._send_error("nothing_to_cancel", "No reply is streaming.")
            else:
                await self._cancel_reply()
        elif isinstance(frame, UserMessage):
            self.last_activity = time.monotonic()
            await self._on_user_message(frame)
        elif isinstance(frame, HistoryRequest):
            await self._send_history()
        # ClientPong only proves liveness, which receiving it already recorded.

    async def _on_user_message(self, frame: UserMessage) -> None:
        if self.reply is not None and not self.reply.done():
            self._send_error("busy", "A reply is still streaming; cancel it or wait for its end.")
            return
        if not await self._within_rate_limit():
            return
        history = await self._remembered()
        request = CompletionRequest(
            messages=(*[turn.message for turn in history], ModelMessage("user", frame.content)),
            max_tokens=frame.max_tokens,
        )
        await self._remember(Turn("user", frame.content))
        self.reply = asyncio.create_task(self._stream_reply(request))

    async def _remembered(self) -> list[Turn]:
        try:
            return await self.deps.conversations.turns(self.conversation_id)
        except ConversationUnavailableError as exc:
            logger.warning("chat_history_unavailable", detail=str(exc))
            return []

    async def _remember(self, turn: Turn) -> None:
        try:
            await self.deps.conversations.append(self.conversation_id, turn)
        except ConversationUnavailableError as exc:
            logger.warning("chat_history_unavailable", detail=str(exc))

    async def _send_history(self) -> None:
        try:
            turns = await self.deps.conversations.turns(self.conversation_id)
        except ConversationUnavailableError:
            self._send_error("history_unavailable", "The history is unavailable; try again.")
            return
        entries = [
            HistoryEntry(role=turn.role, content=turn.content, finish_reason=turn.finish_reason)
            for turn in turns
        ]
        frame = HistoryFrame(conversation_id=self.conversation_id, messages=entries)
        self.connection.offer(encode(frame))

    async def _within_rate_limit(self) -> bool:
        try:
            decision = await self.deps.rate_limiter.hit(self.caller.key, self.caller.tier)
        except RateLimitBackendError:
            # Fail open: a chat must not die because the shared counter is away.
            logger.warning("chat_rate_limit_unavailable", key=self.caller.key)
            return True
        if decision.allowed:
            return True
        self.deps.metrics.refusals.labels(self.caller.tier, "chat_messages").inc()
        self._send_error(
            "rate_limit_exceeded",
            f"Too many messages; retry in {decision.retry_after} seconds.",
        )
        self._strike()
        return False

    async def _bad_frame(self, exc: BadFrameError) -> None:
        self._send_error(exc.code, exc.message)
        self._strike()

    def _strike(self) -> None:
        """Record a bad frame; too many in the window is abuse."""
        now = time.monotonic()
        self._strikes.append(now)
        while self._strikes and now - self._strikes[0] > ABUSE_WINDOW_SECONDS:
            self._strikes.popleft()
        if len(self._strikes) > self.settings.ws_abuse_threshold:
            logger.warning("chat_abuse", key=self.caller.key, strikes=len(self._strikes))
            self.connection.request_close(
                CLOSE_POLICY_VIOLATION, "too many invalid messages", flush=True
            )

    def _send_error(self, code: ErrorCode, message: str) -> None:
        payload = error_payload(self.websocket.scope, 400, code, message)
        frame = ErrorFrame(code=code, message=message, request_id=payload.get("request_id"))
        self.connection.offer(encode(frame))

    # --- replies ------------------------------------------------------------

    async def _stream_reply(self, request: CompletionRequest) -> None:
        """Stream one reply to the room; cancellation closes the model's stream."""
        rooms = self.deps.rooms
        # 32 hex digits like uuid4().hex, random throughout, and cheaper to make.
        reply_id = secrets.token_hex(16)
        started = time.perf_counter()
        sent = 0
        reason: FinishReason = "stop"
        parts: list[str] = []
        frames = ReplyFrames(reply_id, self.conversation_id)
        tokens_out = self.deps.metrics.websocket_messages.labels("out", "token")
        rooms.publish(self.conversation_id, frames.start())
        stream = self.deps.llm.stream(request)
        try:
            async for delta in stream:
                if delta.text:
                    rooms.publish(self.conversation_id, frames.token(delta.text, sent))
                    tokens_out.inc()
                    parts.append(delta.text)
                    sent += 1
                if delta.finish_reason is not None:
                    reason = delta.finish_reason
        except asyncio.CancelledError:
            reason = "cancelled"
            raise
        except LLMError as exc:
            reason = "error"
            logger.warning("chat_llm_error", error=type(exc).__name__, detail=str(exc))
            self._send_error(_LLM_CODES.get(exc.code, "upstream_error"), exc.public_message)
        finally:
            # However the loop ended, close the stream so the model stops now: an
            # iterator that is not a generator is not closed by the exception
            # passing through it, nor by an error raised in this loop.
            await _close_stream(stream)
            # Remembered before ``end`` goes out: a client may send its next
            # message on ``end``, and that turn must see this reply.
            if parts or reason != "error":
                await self._remember(Turn("assistant", "".join(parts), reason))
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            rooms.publish(self.conversation_id, frames.end(reason, sent, duration_ms))

    async def _cancel_reply(self) -> None:
        """Cancel the running reply and wait until the model's stream is closed."""
        task = self.reply
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})

    # --- timers -------------------------------------------------------------

    async def _heartbeat(self) -> None:
        interval = self.settings.ws_heartbeat_interval_seconds
        timeout = self.settings.ws_peer_timeout_seconds
        while True:
            await asyncio.sleep(interval)
            pinged = time.monotonic()
            self.connection.offer(PING)
            await asyncio.sleep(timeout)
            if self.last_seen < pinged:
                self.connection.request_close(
                    CLOSE_INTERNAL_ERROR, "heartbeat timeout", flush=False
                )
                return

    async def _idle_watch(self) -> None:
        idle = self.settings.ws_idle_timeout_seconds
        while True:
            replying = self.reply is not None and not self.reply.done()
            remaining = self.last_activity + idle - time.monotonic()
            if remaining <= 0 and not replying:
                self.connection.request_close(CLOSE_NORMAL, "idle timeout", flush=True)
                return
            await asyncio.sleep(max(remaining, min(idle, 1.0)))

    async def _shutdown_watch(self) -> None:
        await self.deps.lifecycle.shutting_down.wait()
        self.connection.request_close(CLOSE_SERVICE_RESTART, "service restarting", flush=True)


async def _close_stream(stream: AsyncIterator[TokenDelta]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


_LLM_CODES: dict[str, ErrorCode] = {
    "upstream_error": "upstream_error",
    "upstream_unavailable": "upstream_unavailable",
    "upstream_timeout": "upstream_timeout",
}
