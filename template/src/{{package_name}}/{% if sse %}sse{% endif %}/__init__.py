"""Server-sent events: the wire format and the response that streams tokens with it.

The route lives in ``api/v1/stream.py``; this package holds what makes the
stream correct under disconnects, slow clients, limits and shutdown.
"""
