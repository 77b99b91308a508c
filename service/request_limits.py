"""ASGI middleware that refuses oversized bodies and non-JSON posts before anything parses them.

The size check runs twice: on the declared ``Content-Length`` (refused without
reading a byte) and on the bytes actually received, since a chunked request
declares no length. The body is read here, up to the limit, and replayed to
the application, so nothing downstream ever holds more than the limit.
"""

from __future__ import annotations

from email.message import Message as _HeaderParser
from typing import Iterable

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

    def __init__(self, app: ASGIApp, max_body_bytes: int, json_paths: Iterable[str]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.json_paths = frozenset(json_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = self.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await self._refuse(scope, receive, send, 400, "bad_request",
                                   "Content-Length is not a number", "Content-Length")
                return
            if int(declared) > limit:
                await self._refuse(scope, receive, send, 413, "body_too_large",
                                   _too_large(limit, f"Content-Length is {int(declared):,}"), "body")
                return
        if scope["method"] == "POST" and scope["path"] in self.json_paths:
            content_type = headers.get("content-type", "")
            if not is_json_media_type(content_type):
                got = f"got {content_type!r}" if content_type else "no Content-Type was sent"
                await self._refuse(scope, receive, send, 415, "unsupported_media_type",
                                   f"send the body as application/json; {got}", "Content-Type")
                return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away; nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, 413, "body_too_large",
                                   _too_large(limit, "the body sent is larger"), "body")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        body = b"".join(chunks)
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
        scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str, field: str
    ) -> None:
        # Connection: close, because the unread rest of the body cannot be skipped on keep-alive.
        response = error_response(status, code, message, field, headers={"Connection": "close"})
        await response(scope, receive, send)


def _too_large(limit: int, what: str) -> str:
    return f"request body too large: {what}; the limit is {limit:,} bytes"
