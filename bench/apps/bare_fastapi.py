"""Baselines written the plain FastAPI way: no middleware, no auth, no limits, no checks.

- ``POST /api/v1/generate``: the same request and response models and the same
  fake as the service, so the difference measured is the service's stack.
- ``POST /api/v1/stream/generate``: a plain ``StreamingResponse`` writing the
  same SSE frames (no keep-alives, no disconnect or shutdown handling).
- ``WS /api/v1/ws/chat/{conversation_id}``: a bare echo that answers each
  message with the same start/token/end frames from the same fake, with no
  auth, validation or rate limiting.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from bench_common import (
    PACKAGE,
    SETTINGS,
    CompletionRequest,
    bench_llm,
    sse_done_frame,
    sse_token_frame,
)

_generate = importlib.import_module(f"{PACKAGE}.api.v1.generate")
GenerateRequest: Any = _generate.GenerateRequest
GenerateResponse: Any = _generate.GenerateResponse
UsageReport: Any = _generate.UsageReport

llm = bench_llm()
app = FastAPI()


@app.post("/api/v1/generate")
async def generate(body: GenerateRequest) -> GenerateResponse:
    started = time.perf_counter()
    completion = await llm.complete(body.to_completion_request(SETTINGS))
    return GenerateResponse(
        text=completion.text,
        tokens=completion.usage.completion_tokens,
        finish_reason=completion.finish_reason,
        model=completion.model,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        usage=UsageReport.of(completion.usage),
    )


@app.post("/api/v1/stream/generate")
async def stream(body: GenerateRequest) -> StreamingResponse:
    async def frames() -> AsyncIterator[bytes]:
        started = time.perf_counter()
        index = 0
        reason = "stop"
        usage = None
        async for delta in llm.stream(body.to_completion_request(SETTINGS)):
            yield sse_token_frame(index, delta.text)
            index += 1
            reason = delta.finish_reason or reason
            usage = delta.usage or usage
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        yield sse_done_frame(index, duration_ms, reason, usage)

    return StreamingResponse(frames(), media_type="text/event-stream")


@app.websocket("/api/v1/ws/chat/{conversation_id}")
async def chat(websocket: WebSocket, conversation_id: str) -> None:
    await websocket.accept()
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            await websocket.send_text('{"type": "start"}')
            tokens = 0
            request = CompletionRequest.from_prompt(message.get("content", ""))
            async for delta in llm.stream(request):
                await websocket.send_text(json.dumps({"type": "token", "content": delta.text}))
                tokens += 1
            await websocket.send_text(json.dumps({"type": "end", "tokens": tokens}))
    except WebSocketDisconnect:
        return
