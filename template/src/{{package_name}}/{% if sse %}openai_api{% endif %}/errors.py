"""Errors in OpenAI's shape, so the official clients raise their own exception classes.

The clients pick the class from the status (400 ``BadRequestError``, 401
``AuthenticationError``, 403 ``PermissionDeniedError``, 404 ``NotFoundError``,
422 ``UnprocessableEntityError``, 429 ``RateLimitError``, 5xx
``InternalServerError``) and read ``{"error": {"message", "type", "param",
"code"}}``. Invalid parameters are 400, as OpenAI answers them; the code is the
service's own, so logs and both APIs agree.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def error_type(status: int) -> str:
    return _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def openai_error(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The service's error schema reshaped as OpenAI's; validation errors become 400."""
    message: str = payload["message"]
    param: str | None = None
    details = payload.get("details")
    if status == 422 and details:
        status = 400
        first = details[0]
        param = ".".join(str(part) for part in first["loc"] if part != "body") or None
        if first.get("type") == "extra_forbidden":
            message = f"Unrecognized request argument supplied: {param}"
        else:
            message = f"{param}: {first['msg']}" if param else str(first["msg"])
    body = {"message": message, "type": error_type(status), "param": param, "code": payload["code"]}
    return status, {"error": body}
