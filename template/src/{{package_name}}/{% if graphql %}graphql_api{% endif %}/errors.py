"""GraphQL errors that carry the REST error codes, and masking of everything else.

GraphQL answers failures with HTTP 200 and an ``errors`` list; clients branch on
``extensions.code``, which is the very code a REST response would carry
(``unauthorized``, ``rate_limit_exceeded``, ``validation_error``, ...). Any
error the service did not raise on purpose is masked as ``internal_error`` so
no exception text or stack trace reaches a client.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from graphql import GraphQLError
from pydantic import ValidationError
from strawberry.extensions import MaskErrors

from ..errors import AppError
from ..llm.port import LLMError

logger = structlog.get_logger(__name__)

INTERNAL_ERROR_MESSAGE = "Internal server error."


class CodedError(GraphQLError):
    """A failure the service raises on purpose, shown to the client with its code."""

    def __init__(self, code: str, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def validation_failed(exc: ValidationError) -> CodedError:
    """Pydantic's complaints, without echoing the input (it may hold secrets)."""
    details = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return CodedError("validation_error", "The request is invalid; see details.", details=details)


def is_unexpected(error: GraphQLError) -> bool:
    """True for errors that come from a bug or an unknown failure, not from our own checks.

    Errors without an original exception come from parsing and validation
    (syntax, unknown fields, depth and alias limits), and those caused by a
    GraphQLError from coercing variables: they describe the query, not the
    server, and are safe to show.
    """
    original = error.original_error
    # graphql-core raises GraphQLError for what is wrong with the request
    # (a variable of the wrong type, say); the service raises CodedError.
    if original is None or isinstance(original, GraphQLError):
        return False
    return not isinstance(original, LLMError | AppError)


# graphql-core's hint at the names a query could have meant, e.g.
# "Cannot query field 'statu' on type 'Query'. Did you mean 'status'?"
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def coded(error: GraphQLError, suggest_names: bool = True) -> GraphQLError:
    """The error as the client sees it: always with ``extensions.code``.

    Without ``suggest_names`` (introspection off) the message keeps its point
    but names no field, argument or type the query did not already name.
    """
    original = error.original_error
    if isinstance(original, LLMError):
        code, message = original.code, original.public_message
    elif isinstance(original, AppError):
        code, message = original.code, original.message
    elif isinstance(error.extensions, dict) and "code" in error.extensions:
        return error
    else:
        code, message = "validation_error", error.message
    if not suggest_names:
        message = SUGGESTION.sub("", message)
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": code},
    )


class CodedErrors(MaskErrors):
    """Strawberry's MaskErrors, extended to give every error its REST code.

    Unexpected errors become ``internal_error`` with a fixed message; the
    original is logged by ``Schema.process_errors`` before this runs.
    """

    def __init__(self, suggest_names: bool = True) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=INTERNAL_ERROR_MESSAGE)
        self.suggest_names = suggest_names

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "internal_error"}
        return masked

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [coded(error, self.suggest_names) for error in super()._process_errors(errors)]
