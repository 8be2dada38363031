"""Prometheus metrics under the names LLM operators know (vLLM's, SGLang's, without colons).

``ServiceMetrics`` holds every metric; the model wrapper (``llm.py``) feeds the
LLM ones from every route that calls the model; the request-context
middleware feeds the HTTP ones; streams, sockets and limiters count their own
events. ``GET /metrics`` (``routes.py``) exposes them in the text format.
"""
