"""Server-sent events: the wire format and the response that streams tokens with it.

The route lives in ``routes.py``; the rest of this package is what makes the
stream correct under disconnects, slow clients, limits and shutdown.
"""
