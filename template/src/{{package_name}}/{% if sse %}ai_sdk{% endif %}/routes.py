"""``POST /api/v1/chat``: a chat answered as the AI SDK's ``useChat`` reads it."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..api.dependencies import IdentityDep
from ..errors import error_responses
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


@router.post(
    "/chat",
    summary="Answer a chat as an AI SDK UI message stream",
    response_class=Response,
    responses={
        200: {
            "description": (
                f"The UI message stream protocol v1 (header `{PROTOCOL_HEADER}: v1`): "
                "JSON chunks on `data:` lines, then `data: [DONE]`; a failure after the "
                "start is an `error` chunk with `errorText`."
            ),
            "content": {"text/event-stream": {"schema": {"type": "string"}, "example": _EXAMPLE}},
        },
        **error_responses(400, 401, 413, 422, 429, 502, 503, 504),
    },
)
async def chat(body: ChatRequest, request: Request, identity: IdentityDep) -> Response:
    """Stream the next assistant message for `useChat` (`DefaultChatTransport`)."""
    completion = body.to_completion_request(request.app.state.settings)
    chunks = UIMessageChunks(message_id=f"msg-{secrets.token_hex(12)}")
    return await start_token_stream(request, completion, chunks)
