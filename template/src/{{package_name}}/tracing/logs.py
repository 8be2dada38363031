"""Trace and span ids in every log line written inside a traced request."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from opentelemetry import trace


def add_trace_ids(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: ``trace_id`` and ``span_id`` in the W3C hex form."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event
