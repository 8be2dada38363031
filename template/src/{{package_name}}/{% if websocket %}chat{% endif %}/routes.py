"""``WS /api/v1/ws/chat/{conversation_id}``: the handshake, then a ``ChatSession``.

Everything that can refuse a connection happens before ``accept()``, so a
refused client gets a real HTTP status (401, 403, 429, 503) with the error
schema: credentials were checked by the authentication middleware already;
here the browser ``Origin`` is checked, because CORS does not protect
WebSockets and a foreign page could otherwise open a socket with the user's
cookies (cross-site WebSocket hijacking), and the caller's open sockets are
capped, because each holds memory and timers for as long as it stays open.
A conversation belongs to the caller that opened it first: another caller is
refused with 403 ``conversation_forbidden`` (a 403 rather than a 404: ids are
chosen by clients, so the useful answer is "pick another id", and it reveals
only that an id is taken, never what was said in it).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Annotated

from fastapi import APIRouter, Path, WebSocket

from ..errors import send_error
from ..middleware.authentication import BEARER_SUBPROTOCOL
from ..middleware.cors import origin_allowed
from ..ratelimit.concurrency import ConcurrencyLimiter
from ..ratelimit.keys import Caller, caller_of
from ..ratelimit.port import ConcurrencyLimitExceededError
from .history import ConversationStore, ConversationUnavailableError
from .rooms import ChatRooms
from .session import ChatDependencies, ChatSession

router = APIRouter(tags=["chat"])


@router.websocket("/ws/chat/{conversation_id}")
async def chat(
    websocket: WebSocket,
    conversation_id: Annotated[
        str,
        Path(
            pattern=r"^[A-Za-z0-9_-]{1,128}$",
            description="Clients connected to the same conversation share its replies.",
        ),
    ],
) -> None:
    """Chat over JSON text frames; see the protocol in ``chat.protocol`` and docs/chat.md."""
    state = websocket.app.state
    if not origin_allowed(websocket.headers, state.settings.cors_origins):
        await send_error(
            websocket.scope,
            websocket.send,
            403,
            "origin_not_allowed",
            "This origin may not open chat connections; add it to APP_CORS_ORIGINS.",
        )
        return
    if state.lifecycle.draining:
        await send_error(
            websocket.scope, websocket.send, 503, "shutting_down", "The service is restarting."
        )
        return
    caller = caller_of(websocket.scope)
    conversations: ConversationStore = state.chat_conversations
    try:
        owned = await conversations.claim(conversation_id, caller.key)
    except ConversationUnavailableError:
        await send_error(
            websocket.scope,
            websocket.send,
            503,
            "chat_unavailable",
            "Conversations are unavailable; try again shortly.",
            headers={"Retry-After": "1"},
        )
        return
    if not owned:
        await send_error(
            websocket.scope,
            websocket.send,
            403,
            "conversation_forbidden",
            "This conversation belongs to another caller; use another conversation id.",
        )
        return
    limiter: ConcurrencyLimiter = state.concurrency_limiter
    async with AsyncExitStack() as held:
        try:
            await held.enter_async_context(
                # Chat sockets and SSE streams are capped apart.
                limiter.acquire(f"chat:{caller.key}", state.settings.ws_max_connections_per_caller)
            )
        except ConcurrencyLimitExceededError as exc:
            state.metrics.refusals.labels(caller.tier, "concurrent_sockets").inc()
            await send_error(
                websocket.scope,
                websocket.send,
                429,
                "too_many_connections",
                f"At most {exc.limit} open chat connections are allowed per caller.",
                headers={"Retry-After": "1"},
            )
            return
        await _accept_and_chat(websocket, conversation_id, caller)


async def _accept_and_chat(websocket: WebSocket, conversation_id: str, caller: Caller) -> None:
    state = websocket.app.state
    # A browser authenticates with the subprotocol pair ["bearer", "<token>"];
    # it drops the connection unless the server selects one of the offered names.
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(
        subprotocol=BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None
    )
    rooms: ChatRooms = state.chat_rooms
    deps = ChatDependencies(
        settings=state.settings,
        llm=state.llm,
        rooms=rooms,
        rate_limiter=state.rate_limiter,
        lifecycle=state.lifecycle,
        conversations=state.chat_conversations,
        metrics=state.metrics,
    )
    with state.lifecycle.goodbye():
        await ChatSession(websocket, conversation_id, caller, deps).run()
