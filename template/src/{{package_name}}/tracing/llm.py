"""A span per model call, with the OpenTelemetry GenAI semantic-convention attributes.

Wrapping the port gives every route that calls the model (SSE, the
OpenAI-compatible and AI SDK routes, WebSocket chat, GraphQL subscriptions)
the same span, a child of the request's. A stream's span lasts until the
stream ends: closed early (a client left, a cancel, shutdown) it ends with
finish reason ``cancelled``; a model failure sets the error status.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from opentelemetry.trace import (
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    TracerProvider,
    get_tracer,
)

from ..llm.port import LLM, Completion, CompletionRequest, FinishReason, LLMError, TokenDelta, Usage
from ..llm.wrapper import LLMWrapper, close_stream

TRACER_NAME = __name__
OPERATION = "chat"


class TracedLLM(LLMWrapper):
    """An ``LLM`` whose calls are spans of ``tracer_provider`` (the global one if None)."""

    def __init__(self, inner: LLM, tracer_provider: TracerProvider | None = None) -> None:
        super().__init__(inner)
        self.tracer: Tracer = get_tracer(TRACER_NAME, tracer_provider=tracer_provider)

    def _attributes(self, request: CompletionRequest) -> dict[str, str | int | float | list[str]]:
        attributes: dict[str, str | int | float | list[str]] = {
            "gen_ai.operation.name": OPERATION,
            "gen_ai.provider.name": self.inner.name,
            "gen_ai.request.model": request.model or self.inner.model,
            "gen_ai.request.max_tokens": request.max_tokens,
            "gen_ai.request.temperature": request.temperature,
        }
        if request.stop:
            attributes["gen_ai.request.stop_sequences"] = list(request.stop)
        return attributes

    async def complete(self, request: CompletionRequest) -> Completion:
        model = request.model or self.inner.model
        with self.tracer.start_as_current_span(
            f"{OPERATION} {model}",
            kind=SpanKind.CLIENT,
            attributes=self._attributes(request),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                completion = await self.inner.complete(request)
            except LLMError as exc:
                _failed(span, exc)
                _finished(span, "error", None)
                raise
            span.set_attribute("gen_ai.response.model", completion.model)
            _finished(span, completion.finish_reason, completion.usage)
            return completion

    async def stream(self, request: CompletionRequest) -> AsyncIterator[TokenDelta]:
        model = request.model or self.inner.model
        # Not made current: a generator may be resumed and closed from other
        # contexts, and the span must end however the stream ends.
        span = self.tracer.start_span(
            f"{OPERATION} {model}", kind=SpanKind.CLIENT, attributes=self._attributes(request)
        )
        reason: FinishReason = "cancelled"
        usage: Usage | None = None
        tokens = 0
        inner = self.inner.stream(request)
        try:
            async for delta in inner:
                tokens += 1
                if delta.finish_reason is not None:
                    reason, usage = delta.finish_reason, delta.usage
                yield delta
            if reason == "cancelled":  # ended without saying why: a complete answer
                reason = "stop"
        except LLMError as exc:
            reason = "error"
            _failed(span, exc)
            raise
        finally:
            await close_stream(inner)
            _finished(span, reason, usage)
            if usage is None:  # the upstream did not count: one token per piece
                span.set_attribute("gen_ai.usage.output_tokens", tokens)
            span.end()


def _finished(span: Span, reason: FinishReason, usage: Usage | None) -> None:
    span.set_attribute("gen_ai.response.finish_reasons", [reason])
    if usage is not None:
        span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)


def _failed(span: Span, exc: LLMError) -> None:
    span.record_exception(exc)
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, exc.public_message))
