"""OpenTelemetry traces, opt-in with ``APP_TRACING_ENABLED``.

FastAPI's own instrumentation makes a span for every HTTP request and WebSocket
connection and, from the standard ``OTEL_*`` variables, exports them over OTLP
(``config.py``); the model wrapper adds a span per model call with the GenAI
semantic-convention attributes (``llm.py``); log lines carry the trace and span
ids (``logs.py``). Only ``config.py`` is imported when tracing is off.
"""
