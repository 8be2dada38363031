"""OpenAI's streaming format: ``chat.completion.chunk`` objects, then ``data: [DONE]``.

Only ``data:`` lines, no event names: the first chunk's delta carries the
role, each token is a content delta, the last choice carries the finish
reason, ``stream_options.include_usage`` adds one chunk with empty
``choices`` and the usage, and a failure is a ``data:`` line holding an
``error`` object (which the official clients raise). Token chunks are built
from a prefix and suffix made once per stream: one format per token, as for
the service's own events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii
from typing import Any

from ..llm.port import Usage
from ..sse.frames import DONE, StreamSummary, data_frame, usage_payload
from .errors import openai_error


class ChatCompletionChunks:
    """Frames one streamed chat completion (an ``EventFormat``)."""

    headers: Mapping[str, str] = {}

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        self._head = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        self._include_usage = include_usage
        head = json.dumps(self._head, separators=(",", ":"))[:-1]
        self._token_prefix = f'data: {head},"choices":[{{"index":0,"delta":{{"content":'.encode()
        self._token_suffix = b'},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'

    def _chunk(self, choices: list[dict[str, Any]], usage: Usage | None = None) -> bytes:
        return data_frame(
            {**self._head, "choices": choices, "usage": usage_payload(usage) if usage else None}
        )

    def opening(self) -> bytes:
        delta = {"role": "assistant", "content": ""}
        return self._chunk([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}])

    def token(self, index: int, text: str) -> bytes:
        return self._token_prefix + encode_basestring_ascii(text).encode() + self._token_suffix

    def done(self, summary: StreamSummary) -> bytes:
        reason = "length" if summary.finish_reason == "length" else "stop"
        last = self._chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reason}])
        if self._include_usage:
            last += self._chunk([], summary.usage)
        return last + DONE

    def error(self, status: int, payload: dict[str, Any], retry_ms: int | None = None) -> bytes:
        _, body = openai_error(status, payload)
        return data_frame(body)
