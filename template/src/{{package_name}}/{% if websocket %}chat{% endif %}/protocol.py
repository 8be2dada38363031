"""The chat wire protocol: JSON text frames, one object per frame, tagged by ``type``.

Client frames: ``message`` (ask for a reply), ``cancel`` (stop the reply being
streamed), ``history`` (ask for the conversation so far), ``ping`` (answered
with ``pong``) and ``pong`` (the answer to the server's heartbeat ``ping``).
Server frames: ``start``, ``token``, ``end``, ``history``, ``pong``, ``ping``
and ``error``. Replies carry a ``reply_id`` so that clients
sharing a conversation can tell concurrent replies apart.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..llm.port import FinishReason

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
    "history_unavailable",
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


class HistoryRequest(_Frame):
    """Ask for the conversation so far; answered to this connection only."""

    type: Literal["history"] = "history"


ClientFrame = Annotated[
    UserMessage | ClientPing | ClientPong | CancelReply | HistoryRequest,
    Field(discriminator="type"),
]
CLIENT_TYPES = frozenset({"message", "ping", "pong", "cancel", "history"})
_client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
# Validation errors that mean "not an object with a known type" rather than a bad message.
_NOT_A_CLIENT_FRAME = frozenset({"dict_type", "union_tag_not_found", "union_tag_invalid"})


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
        # One pass with pydantic's own JSON parser: cheaper than ``json.loads``
        # then ``validate_python``.
        return _client_frame.validate_json(text)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
    kind = errors[0]["type"]
    if kind == "json_invalid":
        raise BadFrameError("invalid_json", "The frame is not valid JSON.")
    if kind in _NOT_A_CLIENT_FRAME:
        raise BadFrameError(
            "unknown_type", "The frame needs a type: one of " + ", ".join(sorted(CLIENT_TYPES))
        )
    # Say where and what, without echoing the input back.
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'][1:]) or 'frame'}: {error['msg']}"
        for error in errors
    )
    raise BadFrameError("invalid_message", problems)


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


class HistoryEntry(_Frame):
    """One remembered turn; a reply says how it ended (``cancelled``: kept as far as it got)."""

    role: Literal["user", "assistant"]
    content: str
    finish_reason: Literal["stop", "length", "cancelled", "error"] | None = None


class HistoryFrame(_Frame):
    """The conversation so far, oldest first, within the configured bounds."""

    type: Literal["history"] = "history"
    conversation_id: str = Field(examples=["support-42"])
    messages: list[HistoryEntry]


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


ServerFrame = (
    ReplyStart | ReplyToken | ReplyEnd | HistoryFrame | ServerPing | ServerPong | ErrorFrame
)


def encode(frame: ServerFrame) -> str:
    """Serialize once; the same text goes to every connection in a room."""
    return frame.model_dump_json(exclude_none=True)


PONG = encode(ServerPong())
PING = encode(ServerPing())

# Reply frames are nearly all of the traffic (one per token), so they are
# written from strings prepared once per reply instead of through the models:
# an f-string costs a fraction of building a ``ReplyToken`` and calling
# ``model_dump_json`` for every frame. The text is byte for byte
# what the models produce (a test compares them), so the models above remain
# the schema of record.
_json_string = json.JSONEncoder(ensure_ascii=False).encode


class ReplyFrames:
    """The encoded ``start``, ``token`` and ``end`` frames of one reply."""

    __slots__ = ("_end_prefix", "_start", "_token_prefix")

    def __init__(self, reply_id: str, conversation_id: str) -> None:
        reply = _json_string(reply_id)
        conversation = _json_string(conversation_id)
        self._start = f'{{"type":"start","reply_id":{reply},"conversation_id":{conversation}}}'
        self._token_prefix = f'{{"type":"token","reply_id":{reply},"content":'
        self._end_prefix = f'{{"type":"end","reply_id":{reply},"finish_reason":'

    def start(self) -> str:
        return self._start

    def token(self, content: str, index: int) -> str:
        return f'{self._token_prefix}{_json_string(content)},"index":{index}}}'

    def end(self, finish_reason: FinishReason, tokens: int, duration_ms: float) -> str:
        # ``repr`` of a float matches pydantic's output for durations (no
        # exponent between 1e-4 and 1e16; rounded to 3 decimals, so never below).
        return (
            f'{self._end_prefix}{_json_string(finish_reason)},"tokens":{tokens},'
            f'"duration_ms":{float(duration_ms)!r}}}'
        )
