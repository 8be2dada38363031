"""The GraphQL capability's settings: its tools, and limits on what one operation may ask."""

from __future__ import annotations

from pydantic import Field

from ..core_settings import SettingsBase


class GraphQLSettings(SettingsBase):
    """GraphiQL and introspection (None: on outside production, off in it), and query limits."""

    graphql_graphiql: bool | None = None
    graphql_introspection: bool | None = None
    graphql_max_depth: int = Field(default=8, ge=1)
    graphql_max_aliases: int = Field(default=15, ge=0)
    graphql_max_tokens: int = Field(default=1000, ge=1)
    graphql_max_subscriptions_per_connection: int = Field(default=5, ge=1)
    graphql_max_concurrent_subscriptions: int = Field(
        default=5,
        ge=1,
        description="Subscriptions one caller may hold open, over all its sockets (per process).",
    )
