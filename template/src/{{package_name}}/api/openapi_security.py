"""Show in OpenAPI what the middleware enforces on every guarded operation.

Authentication, quotas and body limits are middleware (so WebSockets and
GraphQL see the same caller and limits), which OpenAPI cannot see. Every
guarded operation, an owner's new route included, is documented with the
answers they may give: 401 where authentication is required, 429, and 400
and 413 where it takes a body. Declaring a security dependency on
every route would cost a dependency call per request on the hot path; instead
the schema is annotated once, when it is first built, so the docs page's
Authorize button sends credentials to every protected operation.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.security.base import SecurityBase

from ..errors import error_responses
from . import API_PREFIX


def document_authentication(
    app: FastAPI,
    schemes: Sequence[SecurityBase],
    public_paths: Collection[str],
    prefixes: tuple[str, ...] = (API_PREFIX,),
    required: bool = True,
) -> None:
    """Mark every operation under ``prefixes`` (but ``public_paths``) as needing a scheme.

    Each also gets the middleware's error responses it does not document itself.

    Where authentication is not required, the operations say so (an empty
    requirement), whatever schemes their dependencies declare.
    """
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = build_schema()
            declared = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            for scheme in schemes:
                declared.setdefault(
                    scheme.scheme_name,
                    scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True),
                )
            # Any one scheme will do, as in the middleware.
            requirement: list[dict[str, list[str]]] = [
                {scheme.scheme_name: []} for scheme in schemes
            ]
            if not required:
                requirement = [{}]
            for path, operations in schema.get("paths", {}).items():
                if path.startswith(prefixes) and path not in public_paths:
                    for operation in operations.values():
                        operation["security"] = requirement
                        statuses = [401] if required else []
                        statuses.append(429)
                        if "requestBody" in operation:
                            statuses += [400, 413]
                        responses = operation.setdefault("responses", {})
                        for status, response in error_responses(*statuses).items():
                            responses.setdefault(str(status), response)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
