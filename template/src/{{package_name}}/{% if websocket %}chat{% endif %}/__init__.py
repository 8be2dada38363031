"""WebSocket chat: the protocol, rooms, fan-out and the route.

A capability in whole files: ``capability.py`` is all the rest of the service
sees of it.
"""
