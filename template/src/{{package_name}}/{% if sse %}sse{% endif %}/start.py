"""Open a token stream: everything that may refuse it happens here, before a 200.

Every SSE route (the service's own, the OpenAI-compatible one) starts its
stream through ``start_token_stream``, so draining, the per-caller stream cap
and the first-token wait behave the same whatever the wire format.
"""

from __future__ import annotations

import asyncio
import math
import time
from contextlib import AsyncExitStack

from starlette.requests import Request

from ..errors import AppError
from ..lifecycle import Lifecycle
from ..llm.port import LLM, CompletionRequest, LLMTimeoutError
from ..metrics.registry import ServiceMetrics
from ..ratelimit.concurrency import ConcurrencyLimiter
from ..ratelimit.keys import caller_of
from ..ratelimit.port import ConcurrencyLimitExceededError
from ..settings import Settings
from .frames import SERVICE_EVENTS, EventFormat
from .response import SHUTDOWN_CODE, StreamLimits, TokenEventStream


async def start_token_stream(
    request: Request,
    completion: CompletionRequest,
    events: EventFormat = SERVICE_EVENTS,
) -> TokenEventStream:
    """The response streaming ``completion``, or an ``AppError``/``LLMError`` before it starts.

    The model's first token is pulled before the response starts, so a client
    never gets a 200 stream that dies at once.
    """
    started = time.perf_counter()
    # App-wide objects are read from app.state rather than through one
    # Depends() each: solving a dependency costs every stream noticeable CPU.
    state = request.app.state
    settings: Settings = state.settings
    llm: LLM = state.llm
    lifecycle: Lifecycle = state.lifecycle
    limiter: ConcurrencyLimiter = state.concurrency_limiter
    deadline = asyncio.get_running_loop().time() + settings.sse_max_duration_seconds
    retry_after = {"Retry-After": str(max(1, math.ceil(settings.sse_retry_ms / 1000)))}
    if lifecycle.draining:
        raise AppError(503, SHUTDOWN_CODE, "The service is shutting down.", retry_after)

    metrics: ServiceMetrics = state.metrics
    caller = caller_of(request.scope)
    cleanup = AsyncExitStack()
    slot = limiter.acquire(caller.key, settings.sse_max_concurrent_streams)
    try:
        await cleanup.enter_async_context(slot)
    except ConcurrencyLimitExceededError as exc:
        metrics.refusals.labels(caller.tier, "concurrent_streams").inc()
        raise AppError(429, "too_many_streams", str(exc), retry_after) from None

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
    return TokenEventStream(
        first=first,
        tokens=tokens,
        cleanup=cleanup,
        shutting_down=lifecycle.shutting_down,
        limits=StreamLimits(
            keepalive_seconds=settings.sse_keepalive_seconds,
            retry_ms=settings.sse_retry_ms,
            max_duration_seconds=settings.sse_max_duration_seconds,
        ),
        started=started,
        deadline=deadline,
        events=events,
        metrics=metrics,
    )


async def _close(tokens: object) -> None:
    """Close the model's iterator (stops generation upstream) if it can be closed."""
    aclose = getattr(tokens, "aclose", None)
    if aclose is not None:
        await aclose()
