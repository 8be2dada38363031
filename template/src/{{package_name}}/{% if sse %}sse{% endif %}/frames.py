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
from json.encoder import encode_basestring_ascii
from typing import Any

KEEPALIVE = b": keep-alive\n\n"


def token_frame(index: int, text: str) -> bytes:
    """``id: N`` and ``data: {"token": ..., "index": N}``."""
    return b'id: %d\ndata: {"token":%s,"index":%d}\n\n' % (
        index,
        encode_basestring_ascii(text).encode(),
        index,
    )


def event_frame(event: str, data: Mapping[str, Any], retry_ms: int | None = None) -> bytes:
    """A named event with a JSON payload, and optionally a reconnect hint."""
    payload = json.dumps(data, separators=(",", ":"))
    retry = f"retry: {retry_ms}\n" if retry_ms is not None else ""
    return f"{retry}event: {event}\ndata: {payload}\n\n".encode()
