"""Per-operation quotas and the abuse limits, as Strawberry schema extensions.

Extensions are passed to the schema as factories, so each operation gets fresh
instances and no state leaks from one request to the next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial

import structlog
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from ..settings import Settings
from .context import GraphQLContext
from .errors import CodedError, CodedErrors

logger = structlog.get_logger(__name__)


class OperationRateLimit(SchemaExtension):
    """Count one hit per operation against the caller's quota, the one REST uses.

    Runs after validation, so a malformed query costs nothing; a subscription
    counts once when it starts, not per event.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(context, GraphQLContext):
            try:
                caller = context.caller
                decision = await context.rate_limiter.hit(caller.key, caller.tier)
            except Exception as exc:
                logger.warning("graphql_rate_limit_unavailable", error=type(exc).__name__)
                raise CodedError(
                    "service_unavailable", "The rate limiter is unavailable; try again later."
                ) from None
            context.report_rate_limit(decision)
            if not decision.allowed:
                raise CodedError(
                    "rate_limit_exceeded",
                    "Too many requests; slow down.",
                    retry_after=decision.retry_after,
                )
        yield


def introspection_enabled(settings: Settings) -> bool:
    """On unless configured off; in production off unless configured on."""
    configured = settings.graphql_introspection
    return not settings.is_production if configured is None else configured


def graphiql_enabled(settings: Settings) -> bool:
    configured = settings.graphql_graphiql
    return not settings.is_production if configured is None else configured


@dataclass(frozen=True, slots=True)
class SchemaLimits:
    """What the schema's extensions read from settings; equal limits, one schema."""

    max_tokens: int
    max_depth: int
    max_aliases: int
    introspection: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> SchemaLimits:
        return cls(
            max_tokens=settings.graphql_max_tokens,
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            introspection=introspection_enabled(settings),
        )


def build_extensions(limits: SchemaLimits) -> list[Callable[[], SchemaExtension]]:
    """The schema's extensions, each one a factory."""
    extensions: list[Callable[[], SchemaExtension]] = [
        CodedErrors,
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(QueryDepthLimiter, max_depth=limits.max_depth),
        partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
        OperationRateLimit,
    ]
    if not limits.introspection:
        extensions.append(DisableIntrospection)
    return extensions
