"""WebSocket chat: the protocol, rooms, fan-out and the route.

A capability in whole files: ``main`` registers ``chat_router`` and
``chat_lifespan``, nothing else knows this package exists.
"""

from .lifespan import chat_lifespan
from .route import router as chat_router

__all__ = ["chat_lifespan", "chat_router"]
