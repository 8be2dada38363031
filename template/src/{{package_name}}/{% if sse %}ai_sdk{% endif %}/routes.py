"""``POST /api/v1/chat``: a chat answered as the AI SDK's ``useChat`` reads it.

A resumable answer (``"resumable": true`` in the body, or
``APP_STREAM_RESUMABLE_DEFAULT``) is registered under the chat's id while it
is generated, and ``GET /api/v1/chat/{chat_id}/stream`` (what ``useChat``
asks with ``resume: true``) replays it from its start and follows it; with
no answer generating for that caller's chat it answers 204, as the SDK
expects.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from ..api.dependencies import IdentityDep
from ..api.v1.generate import UsageReport
from ..errors import AppError, error_responses
from ..ratelimit.keys import caller_of
from ..settings import Settings
from ..sse.buffer import BufferUnavailableError
from ..sse.openapi import DONE_SENTINEL, event, event_stream_response, json_data, model_schema
from ..sse.producer import ResumableStreams, new_stream_id
from ..sse.replay import UNAVAILABLE_CODE
from ..sse.resume import resume_token_stream
from ..sse.start import Resumable, start_token_stream
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
                "properties": {"usage": model_schema(UsageReport)},
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
    settings: Settings = request.app.state.settings
    completion = body.to_completion_request(settings)
    resumable = settings.stream_resumable_default if body.resumable is None else body.resumable
    if not resumable:
        chunks = UIMessageChunks(message_id=f"msg-{secrets.token_hex(12)}")
        return await start_token_stream(request, completion, chunks)
    stream_id = new_stream_id()
    resume = Resumable(stream_id, chat_id=body.id)
    return await start_token_stream(request, completion, _chunks(stream_id), resume)


def _chunks(stream_id: str) -> UIMessageChunks:
    """The message's frames, its id derived from the stream so a replay names the same message."""
    return UIMessageChunks(message_id=f"msg-{stream_id}")


@router.get(
    "/chat/{chat_id}/stream",
    summary="Resume the answer generating for a chat",
    response_class=Response,
    responses={
        200: {
            **_ui_message_stream_openapi(),
            "description": "The answer's UI message stream from its start, then its live tail.",
        },
        204: {"description": "No answer is generating for this chat."},
        **error_responses(401, 422, 429, 503),
    },
)
async def resume_chat(
    chat_id: Annotated[str, Path(max_length=200, description="The chat's id.")],
    request: Request,
    identity: IdentityDep,
) -> Response:
    """What `useChat` with `resume: true` asks on mount (the transport's `reconnectToStream`)."""
    streams: ResumableStreams = request.app.state.resumable_streams
    owner = caller_of(request.scope).key
    try:
        stream_id = await streams.buffer.active_stream(owner, chat_id)
    except BufferUnavailableError:
        message = "Resumable streams are unavailable; try again shortly."
        raise AppError(503, UNAVAILABLE_CODE, message) from None
    if stream_id is None:
        request.app.state.metrics.stream_resumes.labels("idle").inc()
        return Response(status_code=204)
    try:
        return await resume_token_stream(request, stream_id, 0, _chunks(stream_id))
    except AppError as exc:
        if exc.status_code != 404:
            raise
        return Response(status_code=204)
