"""uvicorn's h11 protocol with a header deadline and JSON errors: :class:`GuardedH11Protocol`.

uvicorn arms its keep-alive timer only after a response, so a connection that
never sends a request, or stops half-way through its headers, stays open for
ever (20,000 of them exhausted the file descriptors). This protocol gives every
request head ``header_timeout_s`` seconds to arrive, counted from the moment
the connection opens or the previous response was sent.

h11 (not httptools) because h11 bounds the request head in bytes
(``h11_max_incomplete_event_size``), which bounds the number of headers too.
Requests h11 cannot parse (bad Content-Length, a head over the limit) are
answered in the service's one error shape instead of uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["GuardedH11Protocol", "error_bytes"]


def error_bytes(code: str, message: str, field: str | None = None) -> bytes:
    """The JSON body of one error, in the service's error shape (for the protocol layer)."""
    return json.dumps({"error": {"code": code, "message": message, "field": field}}).encode()


class GuardedH11Protocol(H11Protocol):
    """H11Protocol that closes connections whose request head is late, and answers 400/431 in JSON."""

    # Set by plantheme_service.run before the server starts (one value per process).
    header_timeout_s: float = 10.0
    max_header_bytes: int = 16_384

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._protocol_error: h11.RemoteProtocolError | None = None
        parse = self.conn.next_event

        def next_event() -> Any:
            # Keep h11's reason: uvicorn's handler only says "Invalid HTTP request received."
            try:
                return parse()
            except h11.RemoteProtocolError as exc:
                self._protocol_error = exc
                raise

        self.conn.next_event = next_event  # type: ignore[method-assign]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            if not self.transport.is_closing():
                self._arm_head_timer()  # part of a head: the deadline keeps running
        else:
            self._cancel_head_timer()  # the head is complete: the body has its own deadline

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The keep-alive timer covers silence; a head started after it needs this one.
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.our_state is h11.IDLE and self.conn.trailing_data[0]:
            # Part of a head arrived: say why the connection closes.
            self._send_error(
                408,
                "request_timeout",
                f"the request line and headers took longer than {self.header_timeout_s:g} s"
                " (PLANTHEME_HEADER_TIMEOUT_S)",
                None,
            )
        else:
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        exc = self._protocol_error
        status = exc.error_status_hint if exc is not None else 400
        if status == 431:
            self._send_error(
                431,
                "headers_too_large",
                f"the request line and headers are larger than {self.max_header_bytes:,} bytes"
                " (PLANTHEME_MAX_HEADER_BYTES)",
                "headers",
            )
        else:
            reason = f": {exc}" if exc is not None and str(exc) else ""
            self._send_error(400, "bad_request", f"the request is not valid HTTP/1.1{reason}", None)

    def _send_error(self, status: int, code: str, message: str, field: str | None) -> None:
        self._cancel_head_timer()
        body = error_bytes(code, message, field)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        # h11 refuses to send once the peer broke the protocol: write the response by hand.
        head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()
        head += b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n"
        self.transport.write(head + body)
        self.transport.close()
