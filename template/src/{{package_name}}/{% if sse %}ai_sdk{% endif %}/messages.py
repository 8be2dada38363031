"""The body ``DefaultChatTransport`` sends, and its UI messages as a conversation.

Text parts are the conversation. ``step-start`` parts only mark where a step
of an assistant message began and carry no content, so they are skipped.
Every other part type (files, reasoning, tools, sources, ``data-*``) is
refused with a 400 naming it, rather than silently dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ..api.conversation import check_conversation
from ..api.v1.generate import WholeNumber
from ..errors import AppError
from ..llm.port import CompletionRequest, Message
from ..settings import Settings

CONTENTLESS_PARTS = frozenset({"step-start"})


_PARTS_SCHEMA = {
    "type": "array",
    "items": {
        "anyOf": [
            {
                "type": "object",
                "required": ["type", "text"],
                "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
            },
            {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"const": "step-start"}},
            },
        ]
    },
}


class UIMessage(BaseModel):
    """One message as the SDK keeps it: an id, a role and its parts."""

    # The SDK may add fields to messages; only the ones read here matter.
    model_config = ConfigDict(extra="ignore", strict=True)

    id: str = Field(max_length=200)
    role: Literal["system", "user", "assistant"]
    # Parts of other types are refused by name (below) rather than by a generic type error.
    parts: Annotated[list[dict[str, Any]], WithJsonSchema(_PARTS_SCHEMA)]


class ChatRequest(BaseModel):
    """What ``DefaultChatTransport`` posts: the chat id, its messages, why it asks.

    Fields added with the transport's ``body`` option are accepted and ignored.
    """

    model_config = ConfigDict(extra="ignore", strict=True)

    id: str | None = Field(default=None, max_length=200, description="The chat's id.")
    messages: list[UIMessage] = Field(min_length=1, description="The whole chat, oldest first.")
    trigger: Literal["submit-message", "regenerate-message"] | None = None
    message_id: str | None = Field(default=None, alias="messageId", max_length=200)
    max_tokens: WholeNumber = Field(
        default=1024, ge=1, le=4096, description="Upper bound on the answer's tokens."
    )
    resumable: bool | None = Field(
        default=None,
        description=(
            "Let `GET /api/v1/chat/{id}/stream` resume the answer (the transport's `body` "
            "option); default: APP_STREAM_RESUMABLE_DEFAULT."
        ),
    )

    def to_completion_request(self, settings: Settings) -> CompletionRequest:
        """The conversation in the messages' text parts; 400 for parts that are not text."""
        messages = tuple(
            Message(message.role, _text_of(message, position))
            for position, message in enumerate(self.messages)
        )
        check_conversation(messages, settings)
        return CompletionRequest(messages=messages, max_tokens=self.max_tokens)


def _text_of(message: UIMessage, position: int) -> str:
    texts: list[str] = []
    for part in message.parts:
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif not (isinstance(kind, str) and kind in CONTENTLESS_PARTS):
            raise AppError(
                400,
                "unsupported_message_part",
                f"Message {position} has a part of type {kind!r}; "
                "this service reads text parts only.",
            )
    return "".join(texts)
