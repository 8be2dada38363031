"""The SSE wire format of the token stream, encoded straight to bytes.

Each token is an unnamed event (a browser's ``EventSource.onmessage`` sees it)
with an increasing ``id``; the stream ends with ``event: done`` or
``event: error``; ``:`` comments keep idle connections open. Data is always a
single line of JSON (``json`` escapes newlines), so no field needs splitting.

Token frames are built with one format operation instead of a model dump: they
are the hot path, written once per token of every open stream. The token is
escaped by the C function behind ``json.dumps`` for strings (cheaper than
calling ``json.dumps`` itself); ASCII-only output keeps any text, even a lone
surrogate, encodable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any, Protocol

from ..llm.port import FinishReason, Usage

KEEPALIVE = b": keep-alive\n\n"
# The end of streams whose clients read only ``data:`` lines (OpenAI's, the AI SDK's).
DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class StreamSummary:
    """How a stream ended, for its last frame."""

    total_tokens: int
    duration_ms: float
    finish_reason: FinishReason
    usage: Usage | None


class EventFormat(Protocol):
    """How one kind of client wants a token stream framed.

    The writer (``response.TokenEventStream``) owns the timing, limits and
    cancellation; a format only turns tokens and endings into bytes, so the
    service's own events, OpenAI's chunks and the AI SDK's share every
    behaviour.
    """

    headers: Mapping[str, str]
    """Response headers the clients of this format expect, beside the SSE ones."""

    def opening(self) -> bytes:
        """Written before the first token (empty for none)."""
        ...

    def token(self, index: int, text: str) -> bytes:
        """One token's frame; the hot path."""
        ...

    def done(self, summary: StreamSummary) -> bytes:
        """The frames that end a complete stream."""
        ...

    def error(self, status: int, payload: dict[str, Any], retry_ms: int | None = None) -> bytes:
        """A failure after the start: its HTTP-like status and the service's error schema."""
        ...


def token_frame(index: int, text: str) -> bytes:
    """``id: N`` and ``data: {"token": ..., "index": N}``."""
    return b'id: %d\ndata: {"token":%s,"index":%d}\n\n' % (
        index,
        encode_basestring_ascii(text).encode(),
        index,
    )


def data_frame(payload: Mapping[str, Any]) -> bytes:
    """An unnamed event whose data is one line of JSON."""
    return b"data: %s\n\n" % json.dumps(payload, separators=(",", ":")).encode()


def event_frame(event: str, data: Mapping[str, Any], retry_ms: int | None = None) -> bytes:
    """A named event with a JSON payload, and optionally a reconnect hint."""
    payload = json.dumps(data, separators=(",", ":"))
    retry = f"retry: {retry_ms}\n" if retry_ms is not None else ""
    return f"{retry}event: {event}\ndata: {payload}\n\n".encode()


def usage_payload(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


class ServiceEvents:
    """The service's own format: unnamed token events, then ``done`` or ``error``."""

    headers: Mapping[str, str] = {}

    def opening(self) -> bytes:
        return b""

    def token(self, index: int, text: str) -> bytes:
        return token_frame(index, text)

    def done(self, summary: StreamSummary) -> bytes:
        return event_frame(
            "done",
            {
                "total_tokens": summary.total_tokens,
                "duration_ms": summary.duration_ms,
                "finish_reason": summary.finish_reason,
                "usage": usage_payload(summary.usage) if summary.usage else None,
            },
        )

    def error(self, status: int, payload: dict[str, Any], retry_ms: int | None = None) -> bytes:
        return event_frame("error", payload, retry_ms)


SERVICE_EVENTS = ServiceEvents()


class ResumableServiceEvents(ServiceEvents):
    """The service's format for a resumable stream: event ids ``<stream id>-<number>``.

    ``Last-Event-ID`` alone then says which stream and where; the ending gets
    an id too (``final_id``), so a client that saw it asks for nothing more.
    """

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self._id = stream_id.encode()

    def token(self, index: int, text: str) -> bytes:
        return b'id: %s-%d\ndata: {"token":%s,"index":%d}\n\n' % (
            self._id,
            index,
            encode_basestring_ascii(text).encode(),
            index,
        )

    def final_id(self, index: int) -> bytes:
        """The ``id:`` line of the ending, numbered after the last token."""
        return b"id: %s-%d\n" % (self._id, index)
