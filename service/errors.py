"""One error shape for every failed request: ``{"error": {"code", "message", "field"}}``.

FastAPI's own handlers answer validation errors and HTTP exceptions with other
shapes (``{"detail": ...}``); :func:`install_error_handlers` replaces them, and
translates pydantic's error list into one message that names the field and the
limit. Users see messages, never tracebacks: an unexpected exception is logged
here and answered with a generic 500.
"""

from __future__ import annotations

import logging
from typing import Any
from collections.abc import Mapping, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from plantheme.errors import PlanthemeError

__all__ = ["ApiError", "error_response", "install_error_handlers", "field_name", "describe"]

log = logging.getLogger("plantheme_service")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

_TYPE_NAMES = {
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
    "int_type": "an integer",
}


class ApiError(Exception):
    """A request the service refuses, with the status and the error fields to send."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The JSON response of one error, in the service's one error shape."""
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def field_name(loc: Sequence[Any]) -> str:
    """``("body", "texts", 3)`` → ``"texts[3]"``; the body itself is ``"body"``."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def describe(error: Mapping[str, Any]) -> tuple[int, str, str, str]:
    """Status, code, message and field of one pydantic/FastAPI validation error."""
    kind = str(error.get("type", ""))
    loc = tuple(error.get("loc", ()))
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "json_invalid":
        position = f" at character {loc[1]}" if len(loc) > 1 else ""
        detail = ctx.get("error", "JSON decode error")
        return 400, "invalid_json", f"the request body is not valid JSON: {detail}{position}", "body"
    field = field_name(loc)
    if kind == "missing":
        if field == "body":
            return 422, "missing_field", "the request body is empty; send a JSON object", field
        return 422, "missing_field", f"{field} is required", field
    if kind == "extra_forbidden":
        return 422, "unknown_field", f"{field} is not a field of this request", field
    if kind == "string_too_long":
        size = f" has {len(value):,} characters;" if isinstance(value, str) else " is too long;"
        return 422, "text_too_long", f"{field}{size} the limit is {ctx.get('max_length', 0):,}", field
    if kind == "too_long":
        items = ctx.get("actual_length")
        size_text = f" has {items:,} items;" if isinstance(items, int) else " has too many items;"
        return 422, "batch_too_large", f"{field}{size_text} the limit is {ctx.get('max_length', 0):,}", field
    if kind == "too_short":
        return 422, "batch_empty", f"{field} is empty; send at least one text", field
    if kind == "empty_text":
        return 422, "empty_text", f"{field} is empty or only whitespace", field
    if kind in ("invalid_text", "string_unicode"):
        # JSON "\ud800" escapes decode to lone surrogates, which no tokenizer or UTF-8 answer can carry.
        return 422, "invalid_text", f"{field} is not valid Unicode (unpaired surrogate code points)", field
    if kind in _TYPE_NAMES or kind.endswith("_type"):
        expected = _TYPE_NAMES.get(kind, kind.removesuffix("_type"))
        return 422, "wrong_type", f"{field} must be {expected}, not {_json_type(value)}", field
    return 422, "invalid_value", f"{field}: {error.get('msg', 'invalid value')}", field


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    # One error shape means one error: the first, in field order, is the one to fix first.
    status, code, message, field = (
        describe(errors[0]) if errors else (422, "invalid_request", "the request is not valid", None)
    )
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return error_response(status, code, message, field)


async def _on_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _STATUS_CODES.get(exc.status_code, "error")
    if exc.status_code == 404:
        message = f"no such endpoint: {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    elif exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # FastAPI's answer when the body cannot be decoded at all (bad UTF-8, nesting too deep).
        return error_response(400, "invalid_json", "the request body is not valid JSON", "body")
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, code, message, None, headers=exc.headers)


async def _on_api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.field)


async def _on_plantheme_error(request: Request, exc: PlanthemeError) -> JSONResponse:
    return error_response(422, "invalid_input", str(exc), None)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal error; the service log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` in the one error shape."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _on_api_error)  # type: ignore[arg-type]
    app.add_exception_handler(PlanthemeError, _on_plantheme_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)
