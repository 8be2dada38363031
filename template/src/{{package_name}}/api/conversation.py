"""Conversations as clients send them, and the limits checked before any model call.

Every endpoint that calls the model (the service's own, the OpenAI-compatible
ones, GraphQL) checks its conversation here, so one pair of settings bounds
what a caller can make the model read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import AppError
from ..llm.port import Message
from ..settings import Settings

TOO_LARGE_CODE = "conversation_too_large"


class ChatMessage(BaseModel):
    """One turn: the system prompt, a user message, or an earlier assistant reply."""

    model_config = ConfigDict(strict=True, extra="forbid")

    role: Literal["system", "user", "assistant"] = Field(examples=["user"])
    content: str = Field(description="The turn's text.", examples=["What is SSE?"])

    def to_message(self) -> Message:
        return Message(self.role, self.content)


def check_conversation(messages: Sequence[Message], settings: Settings) -> None:
    """Refuse a conversation over the configured size with 413, before the model sees it."""
    if len(messages) > settings.max_conversation_messages:
        raise AppError(
            413,
            TOO_LARGE_CODE,
            f"The conversation has {len(messages)} messages; "
            f"at most {settings.max_conversation_messages} are accepted.",
        )
    characters = sum(len(message.content) for message in messages)
    if characters > settings.max_conversation_chars:
        raise AppError(
            413,
            TOO_LARGE_CODE,
            f"The conversation has {characters} characters; "
            f"at most {settings.max_conversation_chars} are accepted.",
        )
