"""What a chat conversation remembers, and who it belongs to.

A conversation is owned by the caller that opened it first (the quota key:
user, else API key, else client address); another caller is refused at the
handshake. Its history is the users' messages and the completed replies,
oldest first; a cancelled reply is kept as far as it got, marked by its
``finish_reason``. The history is bounded by messages and characters (the
oldest turns drop first) and forgotten after a time without use.

This module holds the in-process store; with ``redis`` the store lives in Redis
so that every replica shares ownership and history.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..llm.port import FinishReason, Message

# The in-process store forgets the least recently used conversations beyond this.
MAX_CONVERSATIONS_IN_MEMORY = 10_000


@dataclass(frozen=True, slots=True)
class Turn:
    """One remembered message; replies say how they ended."""

    role: Literal["user", "assistant"]
    content: str
    finish_reason: FinishReason | None = None
    message: Message = field(init=False, repr=False, compare=False)
    """The turn as the model is sent it: built once, since every new message
    sends the model the whole history again."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", Message(self.role, self.content))

    def to_message(self) -> Message:
        return self.message


@dataclass(frozen=True, slots=True)
class HistoryLimits:
    max_messages: int
    max_chars: int
    ttl_seconds: float


def within_limits(turns: Sequence[Turn], limits: HistoryLimits) -> list[Turn]:
    """The newest turns that fit the limits, oldest first."""
    kept: list[Turn] = []
    chars = 0
    for turn in reversed(turns):
        chars += len(turn.content)
        if len(kept) == limits.max_messages or chars > limits.max_chars:
            break
        kept.append(turn)
    kept.reverse()
    return kept


class ConversationUnavailableError(Exception):
    """The store cannot be reached; ownership cannot be checked."""


class ConversationStore(Protocol):
    """Ownership and history of chat conversations."""

    async def claim(self, conversation_id: str, owner: str) -> bool:
        """Open the conversation for ``owner``, or confirm it is theirs; False if another's."""
        ...

    async def turns(self, conversation_id: str) -> list[Turn]:
        """The remembered turns, oldest first, within the limits."""
        ...

    async def append(self, conversation_id: str, turn: Turn) -> None:
        """Remember a turn, dropping the oldest beyond the limits."""
        ...


@dataclass(slots=True)
class _Conversation:
    owner: str
    expires_at: float
    turns: deque[Turn] = field(default_factory=deque)
    chars: int = 0
    """Of all ``turns`` together, kept as turns come and go."""


class MemoryConversations:
    """Conversations in this process only: other processes know nothing of them."""

    def __init__(self, limits: HistoryLimits) -> None:
        self.limits = limits
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()

    def _live(self, conversation_id: str) -> _Conversation | None:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            return None
        now = time.monotonic()
        if conversation.expires_at <= now:
            del self._conversations[conversation_id]
            return None
        conversation.expires_at = now + self.limits.ttl_seconds
        self._conversations.move_to_end(conversation_id)
        return conversation

    async def claim(self, conversation_id: str, owner: str) -> bool:
        conversation = self._live(conversation_id)
        if conversation is not None:
            return conversation.owner == owner
        expires_at = time.monotonic() + self.limits.ttl_seconds
        self._conversations[conversation_id] = _Conversation(owner, expires_at)
        while len(self._conversations) > MAX_CONVERSATIONS_IN_MEMORY:
            self._conversations.popitem(last=False)
        return True

    async def turns(self, conversation_id: str) -> list[Turn]:
        conversation = self._live(conversation_id)
        # ``append`` keeps every conversation within the limits.
        return list(conversation.turns) if conversation else []

    async def append(self, conversation_id: str, turn: Turn) -> None:
        conversation = self._live(conversation_id)
        if conversation is None:
            return
        # What stays is what ``within_limits`` keeps; the running total makes
        # this cost the turns dropped, not the whole history, every message.
        turns, limits = conversation.turns, self.limits
        turns.append(turn)
        conversation.chars += len(turn.content)
        while turns and (len(turns) > limits.max_messages or conversation.chars > limits.max_chars):
            conversation.chars -= len(turns.popleft().content)
