"""The GraphQL door into the service: same identity, quotas, error codes and model as REST.

Kept light on purpose: the CLI imports ``graphql_api.commands`` on every start, and
Strawberry is only loaded when the app or the schema command needs it.
"""

from __future__ import annotations

GRAPHQL_PATH = "/api/v1/graphql"
