"""Pure ASGI middleware, one concern a file.

No ``BaseHTTPMiddleware``: it costs far more per request than a pure ASGI
layer and breaks streaming. The order is fixed in ``main.add_middleware``.
"""
