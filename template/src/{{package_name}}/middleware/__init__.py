"""Pure ASGI middleware, one concern a file.

No ``BaseHTTPMiddleware``: it costs an order of magnitude per request and
breaks streaming. The order is fixed in ``main.build_middleware``.
"""
