"""Token streaming over server-sent events: ``POST /api/v1/stream/generate``.

Everything that can fail before the first token (validation, authentication,
rate and concurrency limits, draining, an unavailable model) is answered with
an ordinary JSON error: the model's first token is pulled before the response
starts, so a client never gets a 200 stream that dies at once. From the first
token on, failures arrive in-band as an ``error`` event.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..api.dependencies import IdentityDep
from ..api.v1.generate import GenerateRequest, UsageReport
from ..errors import ErrorBody, error_responses
from ..llm.port import FinishReason
from .openapi import event, event_stream_response, json_data
from .start import start_token_stream

router = APIRouter(tags=["generation"])


class TokenEvent(BaseModel):
    """The data of each unnamed event: one token."""

    token: str = Field(description="The next piece of the answer.", examples=["Server-sent "])
    index: int = Field(description="Position of the token, from 0; equals the event id.", ge=0)


class DoneEvent(BaseModel):
    """The data of the final ``done`` event."""

    total_tokens: int = Field(description="Tokens streamed.", examples=[42])
    duration_ms: float = Field(description="Time from request to last token.", examples=[840.5])
    finish_reason: FinishReason = Field(
        description="stop: the model finished; length: max_tokens was reached.",
        examples=["stop"],
    )
    usage: UsageReport | None = Field(
        description="Prompt and completion tokens; null when the model did not report them."
    )


_EXAMPLE = (
    'id: 0\ndata: {"token":"Server-sent ","index":0}\n\n'
    'id: 1\ndata: {"token":"events ","index":1}\n\n'
    ": keep-alive\n\n"
    'id: 2\ndata: {"token":"stream.","index":2}\n\n'
    'event: done\ndata: {"total_tokens":3,"duration_ms":61.2,"finish_reason":"stop",'
    '"usage":{"prompt_tokens":6,"completion_tokens":3,"total_tokens":9}}\n\n'
)


def _event_stream_openapi() -> dict[str, Any]:
    """The 200 response as ``text/event-stream``, with each event's shape."""
    events = [
        event("token", json_data(TokenEvent), extra={"id": {"type": "string"}}),
        event("done", json_data(DoneEvent), name="done"),
        event(
            "error",
            json_data(ErrorBody),
            name="error",
            description=(
                "A failure after the first token, the maximum duration (stream_timeout), or "
                "shutdown (server_shutting_down, with a retry hint in milliseconds)."
            ),
            extra={"retry": {"type": "integer", "minimum": 0}},
        ),
    ]
    return event_stream_response(
        "One unnamed event per token, then `done`; or `error` if the stream fails, "
        "times out or the server shuts down. Idle streams get `:` comments.",
        events,
        _EXAMPLE,
    )


@router.post(
    "/stream/generate",
    summary="Stream a completion as server-sent events",
    response_class=Response,
    responses={
        200: _event_stream_openapi(),
        **error_responses(400, 401, 413, 422, 429, 502, 503, 504),
    },
)
async def stream_generate(
    body: GenerateRequest,
    request: Request,
    identity: IdentityDep,
) -> Response:
    """Stream the answer token by token (`EventSource` cannot POST: read it with `fetch`)."""
    # IdentityDep declares the auth schemes in OpenAPI; the middleware has checked them.
    completion = body.to_completion_request(request.app.state.settings)
    return await start_token_stream(request, completion)
