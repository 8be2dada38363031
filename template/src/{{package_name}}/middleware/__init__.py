"""Pure ASGI middleware, one concern a file.

No ``BaseHTTPMiddleware``: it costs far more per request than a pure ASGI
layer and breaks streaming. The order is fixed in ``main.middleware_stack``
and its rules are checked at start-up by ``order.check_order``.
"""
