"""The generated service, exactly as ``create_app`` builds it, with the bench's scripted fake.

Settings (API keys, rate limits, production mode, Redis) come from the
environment like in a deployment; only the model is swapped for a fake that
produces a known number of tokens, the same fake the baselines use.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import Any

from bench_common import PACKAGE, bench_llm

_main = importlib.import_module(f"{PACKAGE}.main")


def tracer_provider() -> Any:
    """With ``BENCH_TRACING=1``: an SDK provider whose batches are dropped, not sent.

    Spans are made, filled and batched as in a deployment; only the network
    write to a collector is left out.
    """
    if os.environ.get("BENCH_TRACING") != "1":
        return None
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    return provider


_provider = tracer_provider()
app: Any = (
    _main.create_app(llm=bench_llm(), tracer_provider=_provider)
    if _provider is not None
    else _main.create_app(llm=bench_llm())
)
