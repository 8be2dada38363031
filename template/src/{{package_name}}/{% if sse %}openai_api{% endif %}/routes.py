"""``POST /v1/chat/completions`` and ``GET /v1/models``: OpenAI's API over the service's model."""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..api.dependencies import IdentityDep
from ..errors import AppError, error_responses
from ..llm.port import LLM
from ..settings import Settings
from ..sse.frames import usage_payload
from ..sse.openapi import DONE_SENTINEL, event, event_stream_response, json_data
from ..sse.start import start_token_stream
from .chunks import ChatCompletionChunks
from .schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ModelCard,
    ModelList,
    OpenAIError,
    Usage,
)

router = APIRouter(tags=["openai"])

# When this process started serving: the `created` of the models it lists.
_STARTED = int(time.time())

_EXAMPLE_STREAM = (
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"fake",'
    '"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,'
    '"finish_reason":null}],"usage":null}\n\n'
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"fake",'
    '"choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,'
    '"finish_reason":null}],"usage":null}\n\n'
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"fake",'
    '"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n'
    "data: [DONE]\n\n"
)


def _chat_completion_openapi() -> dict[str, Any]:
    """A whole ``chat.completion``, or with ``stream: true`` its chunks as events."""
    events = [
        event("chunk", json_data(ChatCompletionChunk, OpenAIError)),
        DONE_SENTINEL,
    ]
    return event_stream_response(
        "A `chat.completion` object; with `stream: true`, `text/event-stream` of "
        "`chat.completion.chunk` objects (or one `error` object) ending with `data: [DONE]`.",
        events,
        _EXAMPLE_STREAM,
    )


@router.post(
    "/chat/completions",
    summary="Create a chat completion (OpenAI-compatible)",
    response_model=ChatCompletion,
    responses={
        200: _chat_completion_openapi(),
        **error_responses(400, 401, 413, 429, 500, 502, 503, 504, model=OpenAIError),
    },
)
async def create_chat_completion(
    body: ChatCompletionRequest, request: Request, identity: IdentityDep
) -> ChatCompletion | Response:
    """Answer a conversation whole, or stream it as OpenAI's chunks with `stream: true`."""
    state = request.app.state
    settings: Settings = state.settings
    completion_request = body.to_completion_request(settings)
    completion_id = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    if body.stream:
        chunks = ChatCompletionChunks(completion_id, created, body.model, body.include_usage)
        return await start_token_stream(request, completion_request, chunks)
    llm: LLM = state.llm
    completion = await llm.complete(completion_request)
    usage = completion.usage
    return ChatCompletion(
        id=completion_id,
        created=created,
        model=completion.model,
        choices=[
            Choice(
                message=AssistantMessage(content=completion.text),
                finish_reason="length" if completion.finish_reason == "length" else "stop",
            )
        ],
        usage=Usage(**usage_payload(usage)),
    )


def _served_model(request: Request) -> ModelCard:
    llm: LLM = request.app.state.llm
    settings: Settings = request.app.state.settings
    return ModelCard(id=llm.model, created=_STARTED, owned_by=settings.service_name)


@router.get(
    "/models",
    summary="List models (OpenAI-compatible)",
    responses=error_responses(401, 429, model=OpenAIError),
)
async def list_models(request: Request, identity: IdentityDep) -> ModelList:
    """The model that answers requests; other names are passed to the model as they are."""
    return ModelList(data=[_served_model(request)])


@router.get(
    "/models/{model_id:path}",
    summary="Retrieve a model (OpenAI-compatible)",
    responses=error_responses(401, 404, 429, model=OpenAIError),
)
async def retrieve_model(model_id: str, request: Request, identity: IdentityDep) -> ModelCard:
    """The served model by its id; 404 for any other."""
    card = _served_model(request)
    if model_id != card.id:
        raise AppError(404, "model_not_found", f"The model '{model_id}' does not exist.")
    return card
