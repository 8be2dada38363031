"""WebSocket chat with streamed replies, rooms and history."""

from __future__ import annotations

from collections.abc import Sequence

from ..api import API_PREFIX
from ..capability import Capability, Mount
from ..settings import Settings
from .lifespan import chat_lifespan
from .routes import router


def mounts(settings: Settings) -> Sequence[Mount]:
    return [Mount(API_PREFIX, router)]


CAPABILITY = Capability(name="websocket", mounts=mounts, lifespan=chat_lifespan)
