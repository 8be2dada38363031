"""The FastAPI router serving GraphQL over HTTP and over graphql-transport-ws."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any, overload

import orjson
from cross_web import HTTPException as StrawberryHTTPException
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from ..errors import error_responses, send_error
from ..middleware.authentication import AuthenticationError
from ..middleware.cors import origin_allowed
from ..settings import Settings
from . import GRAPHQL_PATH
from .context import GraphQLContext, authenticate_connection, get_context
from .extensions import SchemaLimits, graphiql_enabled
from .schema import schema_with


class ServiceGraphQLRouter(GraphQLRouter[GraphQLContext, None]):
    """Strawberry's router, authenticating subscriptions at ``connection_init``."""

    @overload
    async def run(
        self, request: Request, context: GraphQLContext = UNSET, root_value: None = UNSET
    ) -> Response: ...

    @overload
    async def run(
        self, request: WebSocket, context: GraphQLContext = UNSET, root_value: None = UNSET
    ) -> WebSocket: ...

    async def run(
        self,
        request: Request | WebSocket,
        context: GraphQLContext = UNSET,
        root_value: None = UNSET,
    ) -> Response | WebSocket:
        """Answer malformed requests and foreign origins with the service's error schema.

        Strawberry refuses them (bad JSON, GET queries, wrong content type) with
        a plain-text body; re-raising as Starlette's exception sends them
        through the app's handlers like any other 4xx.
        """
        if isinstance(request, WebSocket) and not origin_allowed(
            request.headers, request.app.state.settings.cors_origins
        ):
            await send_error(
                request.scope,
                request.send,
                403,
                "origin_not_allowed",
                "This origin may not open GraphQL connections; add it to APP_CORS_ORIGINS.",
            )
            return request
        try:
            return await super().run(request, context, root_value)
        except StrawberryHTTPException as exc:
            raise StarletteHTTPException(exc.status_code, exc.reason) from None

    def decode_json(self, data: str | bytes) -> object:
        """Request bodies and socket messages, read by orjson.

        JSON nested deeper than orjson's limit is a ``JSONDecodeError``, which
        Strawberry answers with 400, where the standard library's parser
        would hit Python's recursion limit and fail the request with a 500.
        """
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        """An HTTP body that is one operation: a JSON object whose name, if any, is a string.

        Strawberry checks ``query``, ``variables`` and ``extensions``; a body
        that is not an object would fail inside it (500), and a name of
        another type would be ignored.
        """
        parsed = super().parse_json(data)
        if isinstance(parsed, list):
            return parsed  # a batch: Strawberry refuses it, batching is off
        if not isinstance(parsed, dict):
            raise StrawberryHTTPException(400, "The request body must be a JSON object.")
        if not isinstance(parsed.get("operationName"), str | None):
            raise StrawberryHTTPException(
                400, "The GraphQL operation's `operationName` must be a string or null."
            )
        return parsed

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        """Refuse bad or missing credentials with 4403 before any operation runs."""
        try:
            await authenticate_connection(context)
        except AuthenticationError as exc:
            raise ConnectionRejectionError({"code": "unauthorized", "message": str(exc)}) from None
        acknowledge: UnsetType = UNSET  # a plain connection_ack, no payload
        return acknowledge


def build_graphql_router(settings: Settings) -> ServiceGraphQLRouter:
    """The GraphQL endpoint, with the options this service allows.

    Only graphql-transport-ws is offered (the legacy graphql-ws protocol is
    off); queries via GET are off, so a mutation can never ride a link or an
    image tag; browsers may open the socket only from ``APP_CORS_ORIGINS`` (or
    the service's own origin).
    """
    return _router_with(
        SchemaLimits.from_settings(settings),
        graphiql=graphiql_enabled(settings),
        max_subscriptions_per_connection=settings.graphql_max_subscriptions_per_connection,
        allowed_origins=tuple(settings.cors_origins),
    )


@functools.cache
def _router_with(
    limits: SchemaLimits,
    *,
    graphiql: bool,
    max_subscriptions_per_connection: int,
    allowed_origins: tuple[str, ...],
) -> ServiceGraphQLRouter:
    # Like the schema, one router for equal options: building it analyses its
    # routes, and it holds nothing of an app (each app includes it anew, and
    # an operation's state lives in its request's context).
    router = ServiceGraphQLRouter(
        schema_with(limits),
        path=GRAPHQL_PATH,
        graphql_ide="graphiql" if graphiql else None,
        allow_queries_via_get=False,
        context_getter=get_context,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=timedelta(seconds=10),
        max_subscriptions_per_connection=max_subscriptions_per_connection,
        allowed_origins=list(allowed_origins),
        multipart_uploads_enabled=False,
        tags=["graphql"],
    )
    # What the service answers before Strawberry does (a body it cannot read,
    # no or bad credentials, too large, too many failed credentials), in the
    # error schema, as on every other route.
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        if "POST" in (route.methods or ()):
            route.openapi_extra = {"requestBody": _REQUEST_BODY}
            route.responses.update(
                {200: {"description": "The operation's result.", "content": _RESULT}}
            )
            route.responses.update(error_responses(400, 401, 413, 429))
        else:
            route.responses.update({200: _IDE_PAGE, **error_responses(400, 401, 429)})
    return router


# Strawberry's routes take a raw request; this is the body they read.
_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["query"],
                "properties": {
                    "query": {"type": "string", "minLength": 1, "description": "The document."},
                    "variables": {"type": ["object", "null"]},
                    "operationName": {"type": ["string", "null"]},
                },
            }
        }
    },
}
_RESULT = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {
                "data": {"type": ["object", "null"]},
                "errors": {"type": "array", "items": {"type": "object"}},
            },
        }
    }
}
_IDE_PAGE = {
    "description": "The GraphiQL page (404 when APP_GRAPHIQL is off).",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
