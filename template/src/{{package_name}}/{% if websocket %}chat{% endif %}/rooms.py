"""Rooms: every connection to one conversation receives every reply in it.

Delivery to this process's connections is direct. A ``Fanout`` carries the same
frames to other processes and instances (Redis pub/sub with ``redis``); the
in-process one does nothing more, which is all a single process needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .connection import ChatConnection

Deliver = Callable[[str, str], None]
"""``deliver(conversation_id, frame_text)``: hand a frame to local connections."""


class Fanout(Protocol):
    """Carries room frames between processes."""

    def publish(self, conversation_id: str, text: str) -> None:
        """Send a frame to the other processes' connections in this conversation.

        Never waits (on the network or anything else): a reply publishes every
        token, and must neither slow down nor be cancelled inside a publish.
        """
        ...

    async def run(self, deliver: Deliver) -> None:
        """Receive other processes' frames until cancelled, surviving outages."""
        ...

    @property
    def healthy(self) -> bool:
        """Whether frames currently cross processes (for readiness)."""
        ...

    async def wait_healthy(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for ``healthy``; startup must not hang on it."""
        ...


class LocalFanout:
    """A single process: local delivery is all there is."""

    def publish(self, conversation_id: str, text: str) -> None:
        return None

    async def run(self, deliver: Deliver) -> None:
        return None

    @property
    def healthy(self) -> bool:
        return True

    async def wait_healthy(self, seconds: float) -> bool:
        return True


class ChatRooms:
    """Connections by conversation, in this process; empty rooms are removed."""

    def __init__(self, fanout: Fanout) -> None:
        self.fanout = fanout
        self._rooms: dict[str, set[ChatConnection]] = {}

    def join(self, conversation_id: str, connection: ChatConnection) -> None:
        self._rooms.setdefault(conversation_id, set()).add(connection)

    def leave(self, conversation_id: str, connection: ChatConnection) -> None:
        room = self._rooms.get(conversation_id)
        if room is None:
            return
        room.discard(connection)
        if not room:
            del self._rooms[conversation_id]

    def members(self, conversation_id: str) -> int:
        return len(self._rooms.get(conversation_id, ()))

    def deliver(self, conversation_id: str, text: str) -> None:
        """Offer a frame to this process's connections; never waits on a client."""
        for connection in tuple(self._rooms.get(conversation_id, ())):
            connection.offer(text)

    def publish(self, conversation_id: str, text: str) -> None:
        """Send an encoded frame to everyone in the conversation, here and elsewhere."""
        self.deliver(conversation_id, text)
        self.fanout.publish(conversation_id, text)
