"""The chat wire protocol: JSON text frames, one object per frame, tagged by ``type``.

Client frames: ``message`` (ask for a reply), ``cancel`` (stop the reply being
streamed), ``ping`` (answered with ``pong``) and ``pong`` (the answer to the
server's heartbeat ``ping``). Server frames: ``start``, ``token``, ``end``,
``pong``, ``ping`` and ``error``. Replies carry a ``reply_id`` so that clients
sharing a conversation can tell concurrent replies apart.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

# Stable error codes a client may see in an ``error`` frame.
ErrorCode = Literal[
    "invalid_json",
    "unknown_type",
    "invalid_message",
    "message_too_large",
    "binary_not_supported",
    "rate_limit_exceeded",
    "busy",
    "nothing_to_cancel",
    "upstream_error",
    "upstream_unavailable",
    "upstream_timeout",
]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- client → server --------------------------------------------------------


class UserMessage(_Frame):
    """Ask the assistant; the reply is streamed to everyone in the conversation."""

    type: Literal["message"] = "message"
    content: str = Field(
        min_length=1, description="The user's message.", examples=["What is a WebSocket?"]
    )
    max_tokens: int = Field(
        default=256, ge=1, le=4096, description="Upper bound on the reply's tokens."
    )


class ClientPing(_Frame):
    """Ask the server whether it is there; answered with ``pong``."""

    type: Literal["ping"] = "ping"


class ClientPong(_Frame):
    """The answer to the server's heartbeat ``ping``."""

    type: Literal["pong"] = "pong"


class CancelReply(_Frame):
    """Stop the reply this connection asked for; it ends with ``finish_reason: cancelled``."""

    type: Literal["cancel"] = "cancel"


ClientFrame = Annotated[
    UserMessage | ClientPing | ClientPong | CancelReply, Field(discriminator="type")
]
CLIENT_TYPES = frozenset({"message", "ping", "pong", "cancel"})
_client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


class BadFrameError(Exception):
    """A frame the server cannot act on; the connection stays open."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


def parse_client_frame(text: str, max_bytes: int) -> ClientFrame:
    """Decode one text frame, or raise ``BadFrameError`` saying exactly what is wrong."""
    if len(text) > max_bytes or len(text.encode()) > max_bytes:
        raise BadFrameError("message_too_large", f"Frames may be at most {max_bytes} bytes.")
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise BadFrameError("invalid_json", "The frame is not valid JSON.") from None
    if not isinstance(data, dict) or data.get("type") not in CLIENT_TYPES:
        raise BadFrameError(
            "unknown_type", "The frame needs a type: one of " + ", ".join(sorted(CLIENT_TYPES))
        )
    try:
        return _client_frame.validate_python(data)
    except ValidationError as exc:
        # Say where and what, without echoing the input back.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'][1:]) or 'frame'}: {error['msg']}"
            for error in exc.errors()
        )
        raise BadFrameError("invalid_message", problems) from None


# --- server → client --------------------------------------------------------


class ReplyStart(_Frame):
    """A reply begins; tokens with the same ``reply_id`` follow."""

    type: Literal["start"] = "start"
    reply_id: str = Field(description="Identifies this reply.", examples=["5f0c2e9a1b7d4c3e"])
    conversation_id: str = Field(description="The conversation.", examples=["support-42"])


class ReplyToken(_Frame):
    """One piece of the reply, in order."""

    type: Literal["token"] = "token"
    reply_id: str = Field(description="The reply it belongs to.", examples=["5f0c2e9a1b7d4c3e"])
    content: str = Field(description="The token's text.", examples=["Hello "])
    index: int = Field(description="Position in the reply, from 0.", examples=[0])


class ReplyEnd(_Frame):
    """A reply is over, finished or not."""

    type: Literal["end"] = "end"
    reply_id: str = Field(description="The reply that ended.", examples=["5f0c2e9a1b7d4c3e"])
    finish_reason: Literal["stop", "length", "cancelled", "error"] = Field(
        description="stop/length: complete; cancelled: by a client or shutdown; error: failed.",
        examples=["stop"],
    )
    tokens: int = Field(description="Tokens sent for this reply.", examples=[42])
    duration_ms: float = Field(description="Time from start to end.", examples=[812.5])


class ServerPing(_Frame):
    """Heartbeat: answer with ``{"type": "pong"}`` (any frame will do) or be closed."""

    type: Literal["ping"] = "ping"


class ServerPong(_Frame):
    """The answer to a client's ``ping``."""

    type: Literal["pong"] = "pong"


class ErrorFrame(_Frame):
    """Something went wrong; unless the socket closes, the connection is still usable."""

    type: Literal["error"] = "error"
    code: ErrorCode = Field(description="Stable snake_case code.", examples=["busy"])
    message: str = Field(
        description="Human-readable explanation.",
        examples=["A reply is still streaming; cancel it or wait for its end."],
    )
    request_id: str | None = Field(
        default=None, description="The handshake's X-Request-ID, for support and logs."
    )


ServerFrame = ReplyStart | ReplyToken | ReplyEnd | ServerPing | ServerPong | ErrorFrame


def encode(frame: ServerFrame) -> str:
    """Serialize once; the same text goes to every connection in a room."""
    return frame.model_dump_json(exclude_none=True)
