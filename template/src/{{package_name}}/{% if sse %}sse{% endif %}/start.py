"""Open a token stream: everything that may refuse it happens here, before a 200.

Every SSE route (the service's own, the OpenAI-compatible one, the AI SDK's)
starts its stream through ``start_token_stream``, so draining, the per-caller
stream cap and the first-token wait behave the same whatever the wire format,
resumable or not.
"""

from __future__ import annotations

import asyncio
import math
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from ..errors import AppError
from ..lifecycle import Lifecycle
from ..llm.port import LLM, CompletionRequest, LLMTimeoutError
from ..metrics.registry import ServiceMetrics
from ..ratelimit.concurrency import ConcurrencyLimiter
from ..ratelimit.keys import caller_of
from ..ratelimit.port import ConcurrencyLimitExceededError
from ..settings import Settings
from .buffer import LocalReader
from .frames import SERVICE_EVENTS, EventFormat
from .producer import Generation, ResumableStreams
from .replay import ReplayStream
from .response import SHUTDOWN_CODE, StreamLimits, TokenEventStream

# The header that names a resumable stream, for ``GET /api/v1/streams/{id}``.
STREAM_ID_HEADER = "X-Stream-Id"


@dataclass(frozen=True, slots=True)
class Resumable:
    """A stream that is to survive its client: its id, and the AI SDK chat it answers."""

    stream_id: str
    chat_id: str | None = None


async def start_token_stream(
    request: Request,
    completion: CompletionRequest,
    events: EventFormat = SERVICE_EVENTS,
    resume: Resumable | None = None,
) -> Response:
    """The response streaming ``completion``, or an ``AppError``/``LLMError`` before it starts.

    The model's first token is pulled before the response starts, so a client
    never gets a 200 stream that dies at once. With ``resume``, a producer
    generates into the stream's buffer and the response is its first reader.
    """
    generation = await _begin(request, completion)
    state = request.app.state
    settings: Settings = state.settings
    limits = stream_limits(settings)
    lifecycle: Lifecycle = state.lifecycle
    if resume is not None:
        streams: ResumableStreams = state.resumable_streams
        owner = caller_of(request.scope).key
        stream = await streams.start(
            resume.stream_id, owner, resume.chat_id, generation, request.scope
        )
        return ReplayStream(
            reader=LocalReader(stream, 0),
            start=0,
            events=events,
            shutting_down=lifecycle.shutting_down,
            limits=limits,
            metrics=state.metrics,
            headers={STREAM_ID_HEADER: resume.stream_id},
        )
    return TokenEventStream(
        first=generation.first,
        tokens=generation.tokens,
        cleanup=generation.cleanup,
        shutting_down=lifecycle.shutting_down,
        limits=limits,
        started=generation.started,
        deadline=generation.deadline,
        events=events,
        metrics=state.metrics,
    )


async def _begin(request: Request, completion: CompletionRequest) -> Generation:
    """Refuse while draining or over the stream cap; else the model's stream and first token."""
    started = time.perf_counter()
    # App-wide objects are read from app.state rather than through one
    # Depends() each: solving a dependency costs every stream noticeable CPU.
    state = request.app.state
    settings: Settings = state.settings
    llm: LLM = state.llm
    deadline = asyncio.get_running_loop().time() + settings.sse_max_duration_seconds
    cleanup = await admit(request, "", "concurrent_streams")
    try:
        tokens = llm.stream(completion)
        cleanup.push_async_callback(_close, tokens)
        try:
            async with asyncio.timeout(settings.sse_max_duration_seconds):
                first = await anext(tokens, None)
        except TimeoutError:
            raise LLMTimeoutError("no first token within the maximum stream duration") from None
    except BaseException:
        await cleanup.aclose()
        raise
    return Generation(first, tokens, cleanup, started, deadline)


async def admit(request: Request, key_prefix: str, kind: str) -> AsyncExitStack:
    """Refuse while draining (503) or over the caller's cap (429); else hold a slot.

    The slot is counted under the caller's key after ``key_prefix``, and a
    refusal under ``kind`` in the metrics; closing the returned stack frees it.
    """
    state = request.app.state
    settings: Settings = state.settings
    lifecycle: Lifecycle = state.lifecycle
    limiter: ConcurrencyLimiter = state.concurrency_limiter
    retry_after = retry_after_header(settings)
    if lifecycle.draining:
        raise AppError(503, SHUTDOWN_CODE, "The service is shutting down.", retry_after)
    caller = caller_of(request.scope)
    cleanup = AsyncExitStack()
    slot = limiter.acquire(key_prefix + caller.key, settings.sse_max_concurrent_streams)
    try:
        await cleanup.enter_async_context(slot)
    except ConcurrencyLimitExceededError as exc:
        metrics: ServiceMetrics = state.metrics
        metrics.refusals.labels(caller.tier, kind).inc()
        raise AppError(429, "too_many_streams", str(exc), retry_after) from None
    return cleanup


def stream_limits(settings: Settings) -> StreamLimits:
    return StreamLimits(
        keepalive_seconds=settings.sse_keepalive_seconds,
        retry_ms=settings.sse_retry_ms,
        max_duration_seconds=settings.sse_max_duration_seconds,
    )


def retry_after_header(settings: Settings) -> dict[str, str]:
    """``Retry-After`` for refusals that a client may retry: the reconnect hint, in seconds."""
    return {"Retry-After": str(max(1, math.ceil(settings.sse_retry_ms / 1000)))}


async def _close(tokens: object) -> None:
    """Close the model's iterator (stops generation upstream) if it can be closed."""
    aclose = getattr(tokens, "aclose", None)
    if aclose is not None:
        await aclose()
