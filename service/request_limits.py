"""ASGI middleware that refuses oversized, slow or malformed requests before anything parses them.

Headers are counted (431 over ``max_header_count``), the body must arrive
within ``body_timeout_s`` (408), and a JSON body is checked for what the
framework's parser would let through or misreport: duplicate keys (400, naming
the key) and nesting too deep to parse (400, "nested too deeply").

The size check runs twice: on the declared ``Content-Length`` (refused without
reading a byte) and on the bytes actually received, since a chunked request
declares no length. The body is read here, up to the limit, and replayed to
the application, so nothing downstream ever holds more than the limit.
"""

from __future__ import annotations

import asyncio
import json
import time
from email.message import Message as _HeaderParser
from typing import Any
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

__all__ = ["RequestLimitMiddleware", "is_json_media_type"]


def is_json_media_type(content_type: str) -> bool:
    """True for ``application/json`` and ``application/*+json``, parameters allowed."""
    parser = _HeaderParser()
    parser["content-type"] = content_type
    if parser.get_content_maintype() != "application":
        return False
    subtype = parser.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


class RequestLimitMiddleware:
    """Refuse bodies over ``max_body_bytes`` (413) and POSTs to ``json_paths`` that are not JSON (415)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        json_paths: Iterable[str],
        *,
        max_header_count: int = 100,
        max_header_bytes: int = 16_384,
        body_timeout_s: float = 10.0,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.json_paths = frozenset(json_paths)
        self.max_header_count = max_header_count
        self.max_header_bytes = max_header_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope["headers"]) > self.max_header_count:
            await self._refuse(
                scope,
                receive,
                send,
                431,
                "too_many_headers",
                f"the request has {len(scope['headers']):,} headers; the limit is"
                f" {self.max_header_count:,} (PLANTHEME_MAX_HEADER_COUNT)",
                "headers",
            )
            return
        # The server bounds a head that arrives in pieces; one that arrives whole is measured here.
        head_bytes = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if head_bytes > self.max_header_bytes:
            await self._refuse(
                scope,
                receive,
                send,
                431,
                "headers_too_large",
                f"the request headers are {head_bytes:,} bytes; the limit is"
                f" {self.max_header_bytes:,} (PLANTHEME_MAX_HEADER_BYTES)",
                "headers",
            )
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = self.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await self._refuse(
                    scope, receive, send, 400, "bad_request", "Content-Length is not a number", "Content-Length"
                )
                return
            if int(declared) > limit:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    413,
                    "body_too_large",
                    _too_large(limit, f"Content-Length is {int(declared):,}"),
                    "body",
                )
                return
        if scope["method"] == "POST" and scope["path"] in self.json_paths:
            content_type = headers.get("content-type", "")
            if not is_json_media_type(content_type):
                got = f"got {content_type!r}" if content_type else "no Content-Type was sent"
                await self._refuse(
                    scope,
                    receive,
                    send,
                    415,
                    "unsupported_media_type",
                    f"send the body as application/json; {got}",
                    "Content-Type",
                )
                return

        chunks: list[bytes] = []
        size = 0
        # One deadline for the whole body: a client trickling a byte a second gets no longer.
        deadline = time.monotonic() + self.body_timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    408,
                    "request_timeout",
                    f"the request body took longer than {self.body_timeout_s:g} s to arrive (PLANTHEME_BODY_TIMEOUT_S)",
                    "body",
                )
                return
            if message["type"] == "http.disconnect":
                return  # the client went away; nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(
                    scope, receive, send, 413, "body_too_large", _too_large(limit, "the body sent is larger"), "body"
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        body = b"".join(chunks)
        if scope["method"] == "POST" and scope["path"] in self.json_paths:
            problem = json_problem(body)
            if problem is not None:
                await self._refuse(scope, receive, send, 400, "invalid_json", problem, "body", close=False)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as servers do

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        code: str,
        message: str,
        field: str,
        *,
        close: bool = True,
    ) -> None:
        # Connection: close, because the unread rest of the body cannot be skipped on keep-alive.
        response = error_response(status, code, message, field, headers={"Connection": "close"} if close else None)
        await response(scope, receive, send)


def _too_large(limit: int, what: str) -> str:
    return f"request body too large: {what}; the limit is {limit:,} bytes"


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def json_problem(body: bytes) -> str | None:
    """Why ``body`` must be refused before the framework parses it, or None.

    Duplicate keys (the framework keeps the last silently) and nesting too deep
    for the parser (the framework calls it "not valid JSON"). Other syntax
    errors are left to the framework, which names the position.
    """
    try:
        json.loads(body, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        return f"the request body has the key {exc.key!r} more than once in one object"
    except RecursionError:
        return "the request body is nested too deeply to parse (JSON arrays and objects within each other)"
    except (ValueError, UnicodeDecodeError):
        return None
    return None
