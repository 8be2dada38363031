"""What every resolver needs, resolved once per HTTP request or WebSocket connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext

from ..identity import Identity
from ..lifecycle import Lifecycle
from ..llm.port import LLM
from ..metrics.registry import ServiceMetrics
from ..middleware.authentication import AuthenticationError, Authenticator
from ..ratelimit.concurrency import ConcurrencyLimiter
from ..ratelimit.keys import Caller, caller_for
from ..ratelimit.port import RateLimitDecision, RateLimiter
from ..settings import Settings


class GraphQLContext(BaseContext):
    """The service's shared objects plus who is calling.

    Over HTTP the identity comes from the authentication middleware. Over a
    WebSocket it is settled by ``authenticate_connection`` when the client
    sends ``connection_init``, and holds for every operation on that socket.
    """

    def __init__(self, connection: HTTPConnection) -> None:
        super().__init__()
        state = connection.app.state
        self.settings: Settings = state.settings
        self.llm: LLM = state.llm
        self.lifecycle: Lifecycle = state.lifecycle
        self.rate_limiter: RateLimiter = state.rate_limiter
        self.concurrency_limiter: ConcurrencyLimiter = state.concurrency_limiter
        self.metrics: ServiceMetrics = state.metrics
        self.authenticators: Sequence[Authenticator] = state.authenticators
        self.identity: Identity | None = getattr(connection.state, "identity", None)
        self.authentication_required: bool = getattr(
            connection.state, "authentication_required", False
        )
        self.connection = connection

    @property
    def caller(self) -> Caller:
        """Counted like every other route; over a WebSocket, once ``connection_init`` settles it."""
        return caller_for(self.identity, self.connection.scope)

    def report_rate_limit(self, decision: RateLimitDecision) -> None:
        """Tell HTTP clients their quota, as the REST endpoints do (no headers on a socket)."""
        if self.response is None:
            return
        self.response.headers["X-RateLimit-Limit"] = str(decision.limit)
        self.response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
        if not decision.allowed:
            self.response.headers["Retry-After"] = str(decision.retry_after)


async def get_context(connection: HTTPConnection) -> GraphQLContext:
    """FastAPI dependency building the context (Strawberry adds request and response)."""
    return GraphQLContext(connection)


def credential_headers(payload: object) -> Headers:
    """The ``connection_init`` payload read as request headers.

    Clients send what they would put in headers, e.g. ``{"Authorization":
    "Bearer ..."}`` or ``{"X-API-Key": "..."}``, so the very authenticators of
    the HTTP middleware (API key, JWT, ...) judge them. Non-string values are
    ignored; a value that cannot be a header is a bad credential.
    """
    if not isinstance(payload, Mapping):
        return Headers()
    values = {str(key): value for key, value in payload.items() if isinstance(value, str)}
    try:
        return Headers(headers=values)
    except UnicodeEncodeError as exc:
        raise AuthenticationError("The credentials are not valid header values.") from exc


async def authenticate_connection(context: GraphQLContext) -> None:
    """Settle who is on this WebSocket, or raise ``AuthenticationError``.

    Credentials in ``connection_init`` win; without any, the handshake's own
    headers (non-browser clients may send them) stand; without either, the
    connection is anonymous, which is refused when authentication is required.
    """
    headers = credential_headers(context.connection_params)
    for authenticator in context.authenticators:
        identity = await authenticator.authenticate(headers, context.connection.scope)
        if identity is not None:
            context.identity = identity
            break
    if context.identity is None and context.authentication_required:
        raise AuthenticationError("Authentication is required.")
