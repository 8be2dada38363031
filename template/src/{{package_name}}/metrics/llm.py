"""The model, measured: every route that calls it feeds the same LLM metrics.

Wrapping the port (rather than instrumenting each route) is what makes the
service's own SSE, the OpenAI-compatible and AI SDK routes, the WebSocket chat
and GraphQL subscriptions count alike. A stream closed early (a client left, a
cancel, shutdown) finishes as ``cancelled``; a model failure as ``error``.

Model names come from requests, so at most ``MAX_MODEL_LABELS`` of them get a
label of their own (the rest count as ``other``): a client must not be able to
grow the metrics without bound.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ..llm.port import LLM, Completion, CompletionRequest, FinishReason, LLMError, TokenDelta, Usage
from ..llm.wrapper import LLMWrapper, close_stream
from .registry import ServiceMetrics

MAX_MODEL_LABELS = 20
OTHER_MODELS = "other"


@dataclass(frozen=True, slots=True)
class _ModelMetrics:
    """One model's metric children, looked up once instead of on every call."""

    time_to_first_token: Any
    inter_token_latency: Any
    e2e_request_latency: Any
    prompt_tokens: Any
    generation_tokens: Any
    finished: dict[str, Any]


class MeteredLLM(LLMWrapper):
    """An ``LLM`` that reports what ``inner`` does to ``metrics``."""

    def __init__(self, inner: LLM, metrics: ServiceMetrics) -> None:
        super().__init__(inner)
        self.metrics = metrics
        self._models: dict[str, _ModelMetrics] = {}

    def _for(self, request: CompletionRequest) -> _ModelMetrics:
        model = request.model or self.inner.model
        found = self._models.get(model)
        if found is not None:
            return found
        if len(self._models) >= MAX_MODEL_LABELS:
            model = OTHER_MODELS
            found = self._models.get(model)
            if found is not None:
                return found
        metrics = self.metrics
        reasons = ("stop", "length", "cancelled", "error")
        found = _ModelMetrics(
            time_to_first_token=metrics.time_to_first_token.labels(model),
            inter_token_latency=metrics.inter_token_latency.labels(model),
            e2e_request_latency=metrics.e2e_request_latency.labels(model),
            prompt_tokens=metrics.prompt_tokens.labels(model),
            generation_tokens=metrics.generation_tokens.labels(model),
            finished={reason: metrics.request_success.labels(reason, model) for reason in reasons},
        )
        self._models[model] = found
        return found

    async def complete(self, request: CompletionRequest) -> Completion:
        measured = self._for(request)
        running = self.metrics.requests_running
        started = time.perf_counter()
        reason: FinishReason = "cancelled"
        usage: Usage | None = None
        running.inc()
        try:
            completion = await self.inner.complete(request)
            reason, usage = completion.finish_reason, completion.usage
            return completion
        except LLMError:
            reason = "error"
            raise
        finally:
            running.dec()
            _finished(measured, reason, usage, time.perf_counter() - started)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[TokenDelta]:
        measured = self._for(request)
        inter_token = measured.inter_token_latency
        running = self.metrics.requests_running
        started = time.perf_counter()
        last = 0.0
        tokens = 0
        reason: FinishReason = "cancelled"
        usage: Usage | None = None
        inner = self.inner.stream(request)
        running.inc()
        try:
            async for delta in inner:
                now = time.perf_counter()
                if tokens:
                    inter_token.observe(now - last)
                else:
                    measured.time_to_first_token.observe(now - started)
                last = now
                tokens += 1
                if delta.finish_reason is not None:
                    reason, usage = delta.finish_reason, delta.usage
                yield delta
            if reason == "cancelled":  # ended without saying why: a complete answer
                reason = "stop"
        except LLMError:
            reason = "error"
            raise
        finally:
            await close_stream(inner)
            running.dec()
            _finished(measured, reason, usage or Usage(0, tokens), time.perf_counter() - started)


def _finished(
    measured: _ModelMetrics, reason: FinishReason, usage: Usage | None, seconds: float
) -> None:
    measured.e2e_request_latency.observe(seconds)
    measured.finished[reason].inc()
    if usage is not None:
        measured.prompt_tokens.inc(usage.prompt_tokens)
        measured.generation_tokens.inc(usage.completion_tokens)
