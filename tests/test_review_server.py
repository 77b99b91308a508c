"""The labelling server: its endpoints, and the page driven by keyboard in headless Chromium."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plantheme.review.queue import ReviewItem
from plantheme.review.server import ReviewSession, make_server
from plantheme.review.store import LABELS_FILE, LabelStore
from plantheme.themes import THEME_IDS
from plantheme.training.labels import read_labelled_file


def _item(i: int, text: str, guess: str) -> ReviewItem:
    scores = {theme: (0.55 if theme == guess else 0.45 / 7) for theme in THEME_IDS}
    return ReviewItem(
        doc="d.txt",
        index=i,
        start=10 * i,
        end=10 * i + len(text),
        text=text,
        guess=guess,
        scores=scores,
        evidence=(),
        title="标题",
        heading="",
        before="",
        after="",
        reason="",
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Any, ReviewSession]]:
    items = [_item(0, "全面落实河长制。", "ecology"), _item(1, "新建幼儿园2所。", "welfare")]
    session = ReviewSession(items, LabelStore(tmp_path), who="tester", model_id="m-1")
    httpd = make_server(session, 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd, session
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _request(
    httpd: Any, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json"} if data is not None else {}
    connection.request(method, path, body=data, headers={**sent, **(headers or {})})
    response = connection.getresponse()
    result = response.status, dict(response.getheaders()), response.read()
    connection.close()
    return result


def test_the_server_listens_on_loopback_only(server: tuple[Any, ReviewSession]) -> None:
    httpd, _ = server
    assert httpd.server_address[0] == "127.0.0.1"


def test_the_page_is_self_contained(server: tuple[Any, ReviewSession]) -> None:
    status, headers, body = _request(server[0], "GET", "/")
    page = body.decode("utf-8")
    assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
    assert "http://" not in page and "https://" not in page and " src=" not in page
    assert "产业发展" in page


def test_answer_accept_and_undo(server: tuple[Any, ReviewSession], tmp_path: Path) -> None:
    httpd, session = server
    first = json.loads(_request(httpd, "GET", "/api/state")[2])
    assert first["done"] == 0 and first["total"] == 2 and first["item"]["text"] == "全面落实河长制。"
    status, _, body = _request(httpd, "POST", "/api/answer", {"key": first["item"]["key"], "answer": "accept"})
    state = json.loads(body)
    assert status == 200 and state["done"] == 1 and state["counts"]["ecology"] == 1
    assert state["item"]["text"] == "新建幼儿园2所。"
    assert [(r.text, r.theme) for r in read_labelled_file(tmp_path / LABELS_FILE)] == [("全面落实河长制。", "ecology")]
    state = json.loads(_request(httpd, "POST", "/api/undo", {})[2])
    assert state["done"] == 0 and state["item"]["text"] == "全面落实河长制。"


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "message"),
    [
        ("POST", "/api/answer", {"key": "0:8:d.txt", "answer": "safety"}, {}, 400, "field 'answer'"),
        ("POST", "/api/answer", {"key": "nope", "answer": "ecology"}, {}, 400, "field 'key'"),
        ("POST", "/api/answer", {"key": 3}, {}, 400, "must be strings"),
        (
            "POST",
            "/api/answer",
            {"key": "0:8:d.txt", "answer": "ecology"},
            {"Content-Type": "text/plain"},
            415,
            "application/json",
        ),
        ("GET", "/api/state", None, {"Host": "evil.example:80"}, 403, "Host"),
        ("GET", "/etc/passwd", None, {}, 404, "no page"),
    ],
)
def test_bad_requests_are_refused_with_a_message(
    server: tuple[Any, ReviewSession],
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    got, _, answer = _request(server[0], method, path, body, headers)
    assert got == status and message in json.loads(answer)["error"]
    assert server[1].store.answers == ()


# --- the page in a browser ------------------------------------------------------------


def _start_review(out: Path, labels: Path, model: Path) -> tuple[subprocess.Popen[str], str]:
    """``plantheme review`` as a subprocess on a free port, and the URL it printed."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plantheme.cli",
            "review",
            str(out),
            "--labels",
            str(labels),
            "--port",
            "0",
            "--model",
            str(model),
            "--who",
            "tester",
            "--size",
            "8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()  # type: ignore[union-attr]
    if "http://127.0.0.1:" not in line:
        process.kill()
        raise AssertionError(f"review did not start: {line!r} {process.stderr.read()!r}")  # type: ignore[union-attr]
    return process, line.split(" at ", 1)[1].split(" ", 1)[0]


def test_label_by_keyboard_undo_kill_restart(
    browser: Any, review_tag_output: Path, tiny_char_model_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    labels = tmp_path / "mine"
    process, url = _start_review(review_tag_output, labels, tiny_char_model_dir)
    requests: list[str] = []
    context = browser.new_context(viewport={"width": 390, "height": 844})

    def only_loopback(route: Any) -> None:
        requests.append(route.request.url)
        if route.request.url.startswith(url):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    try:
        page.goto(url)
        sentence, progress = page.locator("#sentence"), page.locator("#progress")
        expect(progress).to_have_text("0 / 8 answered")
        keys, texts = [], []
        for n, key in enumerate(["1", "Enter", "3"], start=1):
            keys.append(sentence.get_attribute("data-key"))
            texts.append(sentence.text_content())
            page.keyboard.press(key)
            expect(progress).to_have_text(f"{n} / 8 answered")
        page.keyboard.press("u")
        expect(progress).to_have_text("2 / 8 answered")
        expect(sentence).to_have_attribute("data-key", keys[2])
        # Phone width: nothing wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        process.kill()  # no goodbye: whatever was answered must be on disk already
        process.wait()
    rows = read_labelled_file(labels / LABELS_FILE)
    assert [row.text for row in rows] == texts[:2]
    assert rows[0].theme == "industry"  # key 1
    assert all(key not in {r.text for r in rows} for key in keys[2:])

    process, url = _start_review(review_tag_output, labels, tiny_char_model_dir)
    try:
        page.goto(url)
        expect(progress).to_have_text("2 / 8 answered")
        expect(sentence).to_have_attribute("data-key", keys[2])  # resumed at the undone sentence
        expect(page.locator("#counts")).to_contain_text("产业发展 1")
    finally:
        process.kill()
        process.wait()
        context.close()
    assert len(read_labelled_file(labels / LABELS_FILE)) == 2
    assert requests and all(request.startswith("http://127.0.0.1:") for request in requests)
