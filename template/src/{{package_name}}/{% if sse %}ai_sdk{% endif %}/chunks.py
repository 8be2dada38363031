"""The UI message stream protocol v1: one JSON chunk per ``data:`` line, then ``[DONE]``.

An answer is ``start`` (with the message id), ``start-step``, ``text-start``,
one ``text-delta`` per token, ``text-end``, ``finish-step`` and ``finish``
(with the finish reason and the usage as message metadata). A failure after
the start is one ``error`` chunk, and the stream ends. Each chunk carries
exactly the keys the protocol defines.
"""

from __future__ import annotations

from collections.abc import Mapping
from json.encoder import encode_basestring_ascii
from typing import Any

from ..sse.frames import DONE, StreamSummary, data_frame, usage_payload

PROTOCOL_HEADER = "x-vercel-ai-ui-message-stream"


class UIMessageChunks:
    """Frames one assistant message (an ``EventFormat``)."""

    headers: Mapping[str, str] = {PROTOCOL_HEADER: "v1"}

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.text_id = f"{message_id}-text"
        text_id = encode_basestring_ascii(self.text_id)
        self._delta_prefix = f'data: {{"type":"text-delta","id":{text_id},"delta":'.encode()

    def opening(self) -> bytes:
        return (
            data_frame({"type": "start", "messageId": self.message_id})
            + data_frame({"type": "start-step"})
            + data_frame({"type": "text-start", "id": self.text_id})
        )

    def token(self, index: int, text: str) -> bytes:
        return self._delta_prefix + encode_basestring_ascii(text).encode() + b"}\n\n"

    def done(self, summary: StreamSummary) -> bytes:
        finish: dict[str, Any] = {
            "type": "finish",
            "finishReason": "length" if summary.finish_reason == "length" else "stop",
        }
        if summary.usage is not None:
            finish["messageMetadata"] = {"usage": usage_payload(summary.usage)}
        return (
            data_frame({"type": "text-end", "id": self.text_id})
            + data_frame({"type": "finish-step"})
            + data_frame(finish)
            + DONE
        )

    def error(self, status: int, payload: dict[str, Any], retry_ms: int | None = None) -> bytes:
        return data_frame({"type": "error", "errorText": payload["message"]})
