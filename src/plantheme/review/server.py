"""The local labelling server: one page, three JSON endpoints, bound to 127.0.0.1 only.

Built on the standard library's ``ThreadingHTTPServer`` rather than the
service's FastAPI/uvicorn stack: one person labels at a time on their own
machine, every request is a few hundred bytes, and the review layer may not
import the service; the standard library starts at once and adds nothing to
install. Answers are written to disk (synced) before the request is answered
(:class:`plantheme.review.store.LabelStore`).

Endpoints: ``GET /`` the page; ``GET /api/state`` the current sentence,
progress and per-theme counts; ``POST /api/answer`` ``{"key", "answer"}``
(a theme id, ``accept`` for the model's guess, ``skip`` or ``unsure``);
``POST /api/undo``. Requests whose ``Host`` is not this server's loopback
address are refused (a web page elsewhere cannot reach the server through
DNS rebinding), and POSTs must be JSON (a plain form post from another site
cannot send it without the browser asking first).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import PlanthemeError
from ..themes import THEMES, is_theme
from .labelling_page import render_page
from .queue import ReviewItem
from .store import SKIP, UNSURE, Answer, LabelStore, now_utc

__all__ = ["ACCEPT", "LOOPBACK", "ReviewSession", "make_server"]

ACCEPT = "accept"
LOOPBACK = "127.0.0.1"
_MAX_BODY = 64 * 1024


class ReviewSession:
    """A queue being labelled: which sentence is next, and the answers given (through the store)."""

    def __init__(self, items: Sequence[ReviewItem], store: LabelStore, *, who: str, model_id: str) -> None:
        self.items = tuple(items)
        self.store = store
        self.who = who
        self.model_id = model_id
        self._by_key = {item.key: item for item in self.items}
        self._lock = threading.Lock()

    def _current(self, answered: set[str]) -> ReviewItem | None:
        return next((item for item in self.items if item.key not in answered), None)

    def state(self) -> dict[str, Any]:
        """What the page shows: the next unanswered sentence (None when done), progress and counts."""
        answered = self.store.answered()
        current = self._current(answered)
        answers = self.store.answers
        return {
            "item": current.to_dict() if current else None,
            "done": sum(item.key in answered for item in self.items),
            "total": len(self.items),
            "labels": sum(a.is_label for a in answers),
            "counts": self.store.counts(),
            "last": answers[-1].answer if answers else None,
            "model": self.model_id,
        }

    def answer(self, key: str, answer: str) -> dict[str, Any]:
        """Record the answer to the sentence ``key`` and return the new state."""
        with self._lock:
            item = self._by_key.get(key)
            if item is None:
                raise PlanthemeError(f"field 'key': no sentence {key!r} in this queue")
            theme = item.guess if answer == ACCEPT else answer
            if not (is_theme(theme) or theme in (SKIP, UNSURE)):
                raise PlanthemeError(f"field 'answer': {answer!r} is no theme id, {ACCEPT}, {SKIP} or {UNSURE}")
            self.store.add(
                Answer(
                    doc=item.doc,
                    start=item.start,
                    end=item.end,
                    text=item.text,
                    answer=theme,
                    guess=item.guess,
                    who=self.who,
                    when=now_utc(),
                )
            )
            return self.state()

    def undo(self) -> dict[str, Any]:
        """Take back the newest answer and return the new state (its sentence is next again)."""
        with self._lock:
            self.store.undo()
            return self.state()


def _handler(session: ReviewSession, page: bytes, allowed_hosts: Callable[[], set[str]]) -> type:
    class ReviewHandler(BaseHTTPRequestHandler):
        server_version = "plantheme-review"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # the terminal shows the URL and the answers are on disk; request lines are noise

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            # The page loads nothing from anywhere: the browser enforces it.
            self.send_header(
                "Content-Security-Policy",
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';"
                " connect-src 'self'; base-uri 'none'; form-action 'none'",
            )
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value, ensure_ascii=False).encode("utf-8"), "application/json")

        def _host_ok(self) -> bool:
            if self.headers.get("Host", "") in allowed_hosts():
                return True
            self._json(HTTPStatus.FORBIDDEN, {"error": "Host: open the address plantheme review printed"})
            return False

        def do_GET(self) -> None:  # noqa: N802 - the base class's name
            if not self._host_ok():
                return
            if self.path == "/":
                self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
            elif self.path == "/api/state":
                self._json(HTTPStatus.OK, session.state())
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {self.path}"})

        do_HEAD = do_GET

        def do_POST(self) -> None:  # noqa: N802 - the base class's name
            if not self._host_ok():
                return
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "Content-Type: send application/json"})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if not 0 <= length <= _MAX_BODY:
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body: at most {_MAX_BODY} bytes"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("not a JSON object")
                if self.path == "/api/answer":
                    key, answer = body.get("key"), body.get("answer")
                    if not isinstance(key, str) or not isinstance(answer, str):
                        raise PlanthemeError("fields 'key' and 'answer' must be strings")
                    self._json(HTTPStatus.OK, session.answer(key, answer))
                elif self.path == "/api/undo":
                    self._json(HTTPStatus.OK, session.undo())
                else:
                    self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {self.path}"})
            except (ValueError, PlanthemeError) as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

    return ReviewHandler


def make_server(session: ReviewSession, port: int = 0) -> ThreadingHTTPServer:
    """A server for ``session`` on 127.0.0.1 (``port`` 0: any free port); call ``serve_forever`` on it."""
    themes = [{"id": theme.id, "name": theme.name_zh} for theme in THEMES]
    page = render_page(themes).encode("utf-8")
    ports: list[int] = []

    def allowed_hosts() -> set[str]:
        return {f"{LOOPBACK}:{ports[0]}", f"localhost:{ports[0]}"}

    server = ThreadingHTTPServer((LOOPBACK, port), _handler(session, page, allowed_hosts))
    server.daemon_threads = True
    ports.append(server.server_address[1])
    return server
