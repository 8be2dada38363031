"""One error schema for every non-2xx response the service produces.

Clients get ``{"code", "message", "request_id"}`` (plus ``details`` for
validation errors) whatever failed: routing, validation, middleware, the LLM
upstream or our own bug. Stack traces go to the log, never to the client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.openapi.models import Schema
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send
from starlette.websockets import WebSocket

from .llm.port import LLMError
from .metrics.route_templates import RouteTemplates

logger = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"

# Stable, documented codes for the statuses the framework raises by itself.
STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "upstream_timeout",
}


# Reshapes the error schema for clients that expect another one (OpenAI's
# clients under /v1): the status and the error-schema payload in, both out.
ErrorShape = Callable[[int, dict[str, Any]], tuple[int, dict[str, Any]]]


class ErrorBody(BaseModel):
    """The body of every error response."""

    code: str = Field(description="Stable snake_case error code.", examples=["not_found"])
    message: str = Field(description="Human-readable explanation.", examples=["Not Found"])
    request_id: str | None = Field(
        description="The X-Request-ID of the failed request, for support and logs.",
        examples=["0b6c1b9d4f0e4a54a7a1f0c8d6d3e2a1"],
    )
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Per-field problems, for validation errors only."
    )


class AppError(Exception):
    """An expected failure that maps to one status and one error code."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def request_id_of(scope: Scope) -> str | None:
    """The id the request-id middleware stored for this request, if any."""
    state = scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


def error_payload(
    scope: Scope,
    status_code: int,
    code: str | None = None,
    message: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build the error schema as a plain dict (for WebSocket and SSE as well as HTTP)."""
    body = ErrorBody(
        code=code or STATUS_CODES.get(status_code, "error"),
        message=message or HTTPStatus(status_code).phrase,
        request_id=request_id_of(scope),
        details=details,
    )
    return body.model_dump(exclude_none=True)


def error_response(
    scope: Scope,
    status_code: int,
    code: str | None = None,
    message: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An error-schema JSON response, usable from handlers and from raw ASGI middleware.

    Under a path prefix listed in ``app.state.error_shapes`` the body (and
    possibly the status) takes that prefix's shape instead.
    """
    payload = error_payload(scope, status_code, code, message, details)
    shape = error_shape_for(scope)
    if shape is not None:
        status_code, payload = shape(status_code, payload)
    return JSONResponse(payload, status_code=status_code, headers=headers)


def error_shape_for(scope: Scope) -> ErrorShape | None:
    """The error shape registered for this request's path prefix, if any."""
    state = getattr(scope.get("app"), "state", None)
    shapes: Mapping[str, ErrorShape] = getattr(state, "error_shapes", {})
    path: str = scope.get("path", "")
    for prefix, shape in shapes.items():
        if path.startswith(prefix):
            return shape
    return None


async def send_error(
    scope: Scope,
    send: Send,
    status_code: int,
    code: str | None = None,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> None:
    """Refuse a request from ASGI middleware: an HTTP error, or a refused WebSocket handshake.

    A WebSocket is refused before ``accept()`` with a real HTTP response when the
    server supports the denial-response extension (uvicorn does), else with a
    close, which the server turns into a 403. Each refused handshake is logged
    with its reason and origin, which the access line does not carry.
    """
    code = code or STATUS_CODES.get(status_code, "error")
    response = error_response(scope, status_code, code, message, details, headers=headers)
    if scope["type"] == "http":
        await response(scope, _unused_receive, send)
        return
    origin = next(
        (value.decode("latin-1") for name, value in scope["headers"] if name == b"origin"), None
    )
    logger.info(
        "websocket_refused",
        path=scope["path"],
        status=status_code,
        code=code,
        origin=origin,
    )
    if "websocket.http.response" in scope.get("extensions", {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "websocket.http.response.body", "body": response.body})
    else:
        await send({"type": "websocket.close", "code": 1008})


async def _unused_receive() -> dict[str, Any]:  # pragma: no cover - never awaited
    return {"type": "http.disconnect"}


def _validation_details(
    exc: RequestValidationError | WebSocketRequestValidationError,
) -> list[dict[str, Any]]:
    """Where and what, without echoing the input (it may hold secrets)."""
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else None
    headers = exc.headers
    templates: RouteTemplates | None = getattr(request.app.state, "route_templates", None)
    if exc.status_code == 405 and templates is not None:
        allowed = templates.allowed_methods(request.url.path)
        if allowed:
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return error_response(request.scope, exc.status_code, message=message, headers=headers)


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        request.scope,
        422,
        message="The request is invalid; see details.",
        details=_validation_details(exc),
    )


async def _handle_websocket_validation_error(websocket: WebSocket, exc: Exception) -> None:
    """A handshake with a malformed path or query is refused like a bad request."""
    assert isinstance(exc, WebSocketRequestValidationError)
    await send_error(
        websocket.scope,
        websocket.send,
        422,
        "validation_error",
        "The connection request is invalid.",
        details=_validation_details(exc),
    )


async def _handle_app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(
        request.scope, exc.status_code, exc.code, exc.message, headers=exc.headers
    )


async def _handle_llm_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LLMError)
    logger.warning("llm_error", error=type(exc).__name__, detail=str(exc))
    return error_response(request.scope, exc.status_code, exc.code, exc.public_message)


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Runs in Starlette's outermost error middleware, after our own middleware
    # has unwound: the request id is still in the scope state.
    # That middleware never sees this response, so the id header is set here.
    logger.exception("unhandled_error", path=request.url.path)
    request_id = request_id_of(request.scope)
    headers = {REQUEST_ID_HEADER: request_id} if request_id else None
    return error_response(request.scope, 500, message="Internal server error.", headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure the framework knows about through the error schema."""
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(WebSocketRequestValidationError, _handle_websocket_validation_error)
    app.add_exception_handler(AppError, _handle_app_error)
    app.add_exception_handler(LLMError, _handle_llm_error)
    app.add_exception_handler(Exception, _handle_unexpected)


_COMPONENTS = "#/components/schemas/"
# The models that error_responses refers to, by their OpenAPI component name.
_REFERENCED_BODIES: dict[str, type[BaseModel]] = {}


def error_responses(
    *statuses: int, model: type[BaseModel] = ErrorBody
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries, so the docs show the error body for failures too.

    The body is a reference to a component that ``document_error_bodies`` adds,
    rather than FastAPI's ``"model"`` key: for each ``"model"`` entry FastAPI
    builds a pydantic adapter per route and status in every app it serves
    (used only to write the schema), and every test builds an app.
    """
    _REFERENCED_BODIES[model.__name__] = model
    content = {"application/json": {"schema": {"$ref": f"{_COMPONENTS}{model.__name__}"}}}
    return {
        status: {"description": HTTPStatus(status).phrase, "content": content}
        for status in statuses
    }


def document_error_bodies(app: FastAPI) -> None:
    """Add the schemas that ``error_responses`` refers to, once, when OpenAPI is first built."""
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build_schema()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in _REFERENCED_BODIES.items():
            body = model.model_json_schema(
                mode="serialization", ref_template=_COMPONENTS + "{model}"
            )
            definitions = {**body.pop("$defs", {}), name: body}
            # Written as FastAPI writes every other component (no null values).
            components.update(
                (key, Schema.model_validate(value).model_dump(by_alias=True, exclude_none=True))
                for key, value in definitions.items()
            )
        schema["components"]["schemas"] = dict(sorted(components.items()))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
