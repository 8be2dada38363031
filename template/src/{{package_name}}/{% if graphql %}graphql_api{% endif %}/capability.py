"""GraphQL with token-streaming subscriptions, behind the service's own auth and quotas."""

from __future__ import annotations

from collections.abc import Sequence

from ..capability import Capability, Mount
from ..settings import Settings
from . import GRAPHQL_PATH
from .routes import build_graphql_router


def mounts(settings: Settings) -> Sequence[Mount]:
    # The router carries its whole path, under the /api/v1 that other mounts guard.
    return [Mount("", build_graphql_router(settings), guarded=False)]


CAPABILITY = Capability(
    name="graphql",
    mounts=mounts,
    # A GraphQL socket authenticates in its connection_init message.
    in_protocol_websocket_paths=frozenset({GRAPHQL_PATH}),
    # One request may hold several operations: each is charged on its own.
    self_counting_paths=frozenset({GRAPHQL_PATH}),
)
