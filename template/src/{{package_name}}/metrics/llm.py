"""The model, measured: every route that calls it feeds the same LLM metrics.

Wrapping the port (rather than instrumenting each route) is what makes the
service's own SSE, the OpenAI-compatible and AI SDK routes, the WebSocket chat
and GraphQL subscriptions count alike. A stream closed early (a client left, a
cancel, shutdown) finishes as ``cancelled``; a model failure as ``error``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from ..llm.port import LLM, Completion, CompletionRequest, FinishReason, LLMError, TokenDelta, Usage
from .registry import ServiceMetrics


class MeteredLLM:
    """An ``LLM`` that reports what ``inner`` does to ``metrics``."""

    def __init__(self, inner: LLM, metrics: ServiceMetrics) -> None:
        self.inner = inner
        self.metrics = metrics

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    async def complete(self, request: CompletionRequest) -> Completion:
        metrics = self.metrics
        model = request.model or self.inner.model
        started = time.perf_counter()
        reason: FinishReason = "cancelled"
        usage: Usage | None = None
        metrics.requests_running.inc()
        try:
            completion = await self.inner.complete(request)
            reason, usage = completion.finish_reason, completion.usage
            return completion
        except LLMError:
            reason = "error"
            raise
        finally:
            metrics.requests_running.dec()
            self._finished(model, reason, usage, time.perf_counter() - started)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[TokenDelta]:
        metrics = self.metrics
        model = request.model or self.inner.model
        inter_token = metrics.inter_token_latency.labels(model)
        started = time.perf_counter()
        last = 0.0
        tokens = 0
        reason: FinishReason = "cancelled"
        usage: Usage | None = None
        inner = self.inner.stream(request)
        metrics.requests_running.inc()
        try:
            async for delta in inner:
                now = time.perf_counter()
                if tokens == 0:
                    metrics.time_to_first_token.labels(model).observe(now - started)
                else:
                    inter_token.observe(now - last)
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
            aclose = getattr(inner, "aclose", None)
            if aclose is not None:
                await aclose()
            metrics.requests_running.dec()
            usage = usage or Usage(0, tokens)
            self._finished(model, reason, usage, time.perf_counter() - started)

    def _finished(
        self, model: str, reason: FinishReason, usage: Usage | None, seconds: float
    ) -> None:
        metrics = self.metrics
        metrics.e2e_request_latency.labels(model).observe(seconds)
        metrics.request_success.labels(reason, model).inc()
        if usage is not None:
            metrics.prompt_tokens.labels(model).inc(usage.prompt_tokens)
            metrics.generation_tokens.labels(model).inc(usage.completion_tokens)

    async def aclose(self) -> None:
        await self.inner.aclose()
