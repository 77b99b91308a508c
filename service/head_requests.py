"""Answer ``HEAD`` on the GET endpoints: :class:`HeadAsGetMiddleware`.

FastAPI routes a GET endpoint for GET only, so ``HEAD /health`` got a 405. HTTP
says every GET resource answers HEAD with the same status and headers and no
body; this middleware runs the GET and sends its head alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadAsGetMiddleware"]


class HeadAsGetMiddleware:
    """Run ``HEAD`` requests to ``get_paths`` as GET, and drop the body of their answer."""

    def __init__(self, app: ASGIApp, get_paths: Iterable[str]) -> None:
        self.app = app
        self.get_paths = frozenset(get_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or scope["path"] not in self.get_paths:
            await self.app(scope, receive, send)
            return

        async def head_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                # Content-Length stays that of the GET answer, as HTTP asks.
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, head_only)
