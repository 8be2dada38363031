"""Per-operation quotas and the abuse limits, as Strawberry schema extensions.

Extensions are passed to the schema as factories, so each operation gets fresh
instances and no state leaks from one request to the next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from functools import partial

import structlog
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionNode,
    get_operation_ast,
)
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


# Root fields that call the model: each one, aliases included, is one charge.
MODEL_FIELDS = frozenset({"generate", "generateStream"})


def model_calls(document: DocumentNode | None, operation_name: str | None) -> int:
    """How many times the operation calls the model, read from its root selections."""
    if document is None:
        return 0
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }

    def count(selections: Iterable[SelectionNode], seen: frozenset[str]) -> int:
        total = 0
        for selection in selections:
            if isinstance(selection, FieldNode):
                total += selection.name.value in MODEL_FIELDS
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set.selections, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    spread = fragments[name].selection_set.selections
                    total += count(spread, seen | {name})
        return total

    return count(operation.selection_set.selections, frozenset())


class OperationRateLimit(SchemaExtension):
    """Charge the caller's quota, the one REST uses, once per model call.

    An operation that calls the model N times (aliased ``generate`` fields,
    say) costs N hits, like N REST requests, all charged before it runs; one
    without a model call costs one. A request that does not parse or validate
    costs one hit too (its answer is the error either way), so malformed
    queries are no free way to hammer the service. A subscription is charged
    when it starts, not per event.
    """

    async def on_parse(self) -> AsyncIterator[None]:
        yield
        if self.execution_context.pre_execution_errors:
            await self._count_invalid_request()

    async def on_validate(self) -> AsyncIterator[None]:
        yield
        if self.execution_context.pre_execution_errors:
            await self._count_invalid_request()

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, GraphQLContext):
            charges = max(1, model_calls(execution.graphql_document, execution.operation_name))
            try:
                caller = context.caller
                for _ in range(charges):
                    decision = await context.rate_limiter.hit(caller.key, caller.tier)
                    if not decision.allowed:
                        break
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

    async def _count_invalid_request(self) -> None:
        """Count one hit; the request is answered with its own error whatever the quota says."""
        context = self.execution_context.context
        if isinstance(context, GraphQLContext):
            caller = context.caller
            try:
                await context.rate_limiter.hit(caller.key, caller.tier)
            except Exception as exc:
                logger.warning("graphql_rate_limit_unavailable", error=type(exc).__name__)


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
        # Without introspection, error messages do not suggest field names either.
        partial(CodedErrors, suggest_names=limits.introspection),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(QueryDepthLimiter, max_depth=limits.max_depth),
        partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
        OperationRateLimit,
    ]
    if not limits.introspection:
        extensions.append(DisableIntrospection)
    return extensions
