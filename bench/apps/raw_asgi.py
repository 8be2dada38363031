"""The floor: hand-written ASGI with no framework at all, the same fake and the same bytes out.

Shows how much of any app's cost is the server and the fake themselves.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench_common import (
    CompletionRequest,
    bench_llm,
    sse_done_frame,
    sse_token_frame,
    usage_payload,
)

llm = bench_llm()


async def _read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = json.loads(await _read_body(receive))
    request = CompletionRequest.from_prompt(
        body["prompt"], max_tokens=body.get("max_tokens", 256), model=body.get("model")
    )
    if scope["path"] == "/api/v1/stream/generate":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream; charset=utf-8")],
            }
        )
        started = time.perf_counter()
        index = 0
        reason = "stop"
        usage = None
        async for delta in llm.stream(request):
            await send(
                {
                    "type": "http.response.body",
                    "body": sse_token_frame(index, delta.text),
                    "more_body": True,
                }
            )
            index += 1
            reason = delta.finish_reason or reason
            usage = delta.usage or usage
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        done = sse_done_frame(index, duration_ms, reason, usage)
        await send({"type": "http.response.body", "body": done})
        return
    started = time.perf_counter()
    completion = await llm.complete(request)
    payload = json.dumps(
        {
            "text": completion.text,
            "tokens": completion.usage.completion_tokens,
            "finish_reason": completion.finish_reason,
            "model": completion.model,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "usage": usage_payload(completion.usage),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
