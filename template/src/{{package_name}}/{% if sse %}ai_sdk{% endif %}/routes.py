"""``POST /api/v1/chat``: a chat answered as the AI SDK's ``useChat`` reads it."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..api.dependencies import IdentityDep
from ..api.v1.generate import UsageReport
from ..errors import error_responses
from ..sse.openapi import DONE_SENTINEL, event, event_stream_response, json_data
from ..sse.start import start_token_stream
from .chunks import PROTOCOL_HEADER, UIMessageChunks
from .messages import ChatRequest

router = APIRouter(tags=["ai-sdk"])

_EXAMPLE = (
    'data: {"type":"start","messageId":"msg-1"}\n\n'
    'data: {"type":"start-step"}\n\n'
    'data: {"type":"text-start","id":"msg-1-text"}\n\n'
    'data: {"type":"text-delta","id":"msg-1-text","delta":"Hello"}\n\n'
    'data: {"type":"text-end","id":"msg-1-text"}\n\n'
    'data: {"type":"finish-step"}\n\n'
    'data: {"type":"finish","finishReason":"stop","messageMetadata":{"usage":'
    '{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}}\n\n'
    "data: [DONE]\n\n"
)


def _chunk(kind: str, **properties: dict[str, Any]) -> dict[str, Any]:
    """One chunk type: ``type`` and exactly the keys the protocol gives it."""
    optional = {"messageMetadata"}
    return {
        "title": kind,
        "type": "object",
        "required": ["type", *(name for name in properties if name not in optional)],
        "properties": {"type": {"const": kind}, **properties},
        "additionalProperties": False,
    }


def _ui_message_stream_openapi() -> dict[str, Any]:
    text = {"type": "string"}
    chunks = [
        _chunk("start", messageId=text),
        _chunk("start-step"),
        _chunk("text-start", id=text),
        _chunk("text-delta", id=text, delta=text),
        _chunk("text-end", id=text),
        _chunk("finish-step"),
        _chunk(
            "finish",
            finishReason={"enum": ["stop", "length"]},
            messageMetadata={
                "type": "object",
                "properties": {"usage": UsageReport.model_json_schema()},
            },
        ),
        _chunk("error", errorText=text),
    ]
    return event_stream_response(
        f"The UI message stream protocol v1 (header `{PROTOCOL_HEADER}: v1`): JSON chunks "
        "on `data:` lines, then `data: [DONE]`; a failure after the start is an `error` "
        "chunk with `errorText`.",
        [event("chunk", json_data(*chunks)), DONE_SENTINEL],
        _EXAMPLE,
    )


@router.post(
    "/chat",
    summary="Answer a chat as an AI SDK UI message stream",
    response_class=Response,
    responses={
        200: _ui_message_stream_openapi(),
        **error_responses(400, 401, 413, 422, 429, 502, 503, 504),
    },
)
async def chat(body: ChatRequest, request: Request, identity: IdentityDep) -> Response:
    """Stream the next assistant message for `useChat` (`DefaultChatTransport`)."""
    completion = body.to_completion_request(request.app.state.settings)
    chunks = UIMessageChunks(message_id=f"msg-{secrets.token_hex(12)}")
    return await start_token_stream(request, completion, chunks)
