"""What FastAPI's native telemetry does in this service: traces or nothing."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry.trace import TracerProvider

# Probes and scrapes arrive every few seconds and say nothing about a request.
UNTRACED_PATHS = frozenset({"/health", "/ready", "/metrics"})

# Off means off, even where some library has set a global provider. Metrics and
# logs stay with the service's own Prometheus metrics and structured log lines.
TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


def telemetry_config(enabled: bool, tracer_provider: TracerProvider | None) -> TelemetryConfig:
    """FastAPI's ``telemetry`` argument: a span per request and connection, or nothing.

    With no ``tracer_provider`` FastAPI uses the global one, and adds an OTLP
    exporter to it when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces one) is
    set. Spans per dependency and serialisation step stay off: one span per
    request plus one per model call is what an LLM trace needs.
    """
    if not enabled:
        return TELEMETRY_OFF
    return {
        "tracing": True,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": True,
        "tracer_provider": tracer_provider,
        "exclude": _untraced,
    }
