"""Fuzzing the API with hypothesis: no request gives a 5xx, every answer matches its schema.

Requests are drawn around the request models (valid bodies, bodies with one
thing wrong, arbitrary JSON, arbitrary bytes and content types). A 200 must
validate against the endpoint's response model (the models the OpenAPI schema
is generated from) and answer every text; anything else must be a 4xx in the
one error shape. The default run is kept short; ``-m slow`` runs many more examples.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings, strategies as st

from plantheme.settings import Settings
from plantheme_service import create_app
from plantheme_service.schemas import ErrorResponse, PredictResponse, TagResponse

MAX_TEXT = 120
MAX_BATCH = 6
MAX_BODY = 8_000
MAX_DOCUMENT = 600

FAST = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LONG = settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

# Plan-like fragments, so that many texts tokenize into real features.
FRAGMENTS = [
    "推进",
    "招商引资",
    "项目",
    "开工",
    "河长制",
    "污水",
    "养老",
    "网格化",
    "乡村振兴",
    "高标准农田",
    "2024年",
    "（一）",
    "。",
    "，",
    "；",
    "\n",
    " ",
    "規劃",
    "guī",
    "锛屾",
    "?",
    "\ufffd",
    "１２",
    "**",
    "#",
]

any_text = st.one_of(
    st.text(max_size=MAX_TEXT + 10),
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=40),  # surrogates too
    st.sampled_from(["", " ", "\u3000", "\n\t", "。", "a" * (MAX_TEXT + 1), "句" * MAX_TEXT]),
)
# Texts the service must answer with 200: non-blank, within the limit, any characters but surrogates.
good_text = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=30).map("".join),
    st.text(min_size=1, max_size=MAX_TEXT),
).filter(lambda text: bool(text.strip()) and len(text) <= MAX_TEXT)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)

predict_body = st.one_of(
    st.fixed_dictionaries(
        {"texts": st.lists(good_text, min_size=1, max_size=MAX_BATCH)}, optional={"split": st.booleans()}
    ),
    st.fixed_dictionaries(
        {"texts": st.lists(any_text, min_size=1, max_size=MAX_BATCH)}, optional={"split": st.booleans()}
    ),
    st.fixed_dictionaries(
        {"texts": st.lists(any_text | json_value, max_size=MAX_BATCH + 2)},
        optional={"split": json_value, "extra": json_value},
    ),
    json_value,
)
tag_body = st.one_of(
    st.fixed_dictionaries({"text": st.lists(good_text, min_size=1, max_size=12).map("\n".join)}),
    st.fixed_dictionaries({"text": st.lists(any_text, max_size=12).map("\n".join)}),
    st.fixed_dictionaries({"text": json_value}, optional={"extra": json_value}),
    json_value,
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/vnd.api+json",
        "application/json; charset=latin-1",
    ]
)


@pytest.fixture(scope="module")
def client(tiny_model_dir: Path) -> Iterator[TestClient]:
    settings_ = Settings(
        model_dir=tiny_model_dir,
        max_text_chars=MAX_TEXT,
        max_batch=MAX_BATCH,
        max_body_bytes=MAX_BODY,
        max_document_chars=MAX_DOCUMENT,
    )
    # raise_server_exceptions=False: a bug must show up as the 500 it would be, not as an exception here.
    with TestClient(create_app(settings_), raise_server_exceptions=False) as test_client:
        yield test_client


def check(response: Any, request_body: Any, path: str) -> None:
    """No 5xx; a 200 matches the response model and answers each text; else the one error shape."""
    assert response.status_code < 500, (response.status_code, response.text, request_body)
    event(f"status {response.status_code}")
    body = response.json()
    if response.status_code == 200:
        if path == "/v1/predict":
            parsed = PredictResponse.model_validate(body)
            assert len(parsed.results) == len(request_body["texts"])
        else:
            TagResponse.model_validate(body)
        return
    assert 400 <= response.status_code < 500
    ErrorResponse.model_validate(body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}


def post_json(client: TestClient, path: str, payload: Any) -> Any:
    # ensure_ascii=True also carries lone surrogates ("\ud800"), which JSON allows and UTF-8 cannot encode.
    return client.post(path, content=json.dumps(payload).encode(), headers={"content-type": "application/json"})


def _predict(client: TestClient, payload: Any) -> None:
    check(post_json(client, "/v1/predict", payload), payload, "/v1/predict")


def _tag(client: TestClient, payload: Any) -> None:
    check(post_json(client, "/v1/tag", payload), payload, "/v1/tag")


def _raw(client: TestClient, path: str, body: bytes, content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code < 500, (response.status_code, response.text, body)
    event(f"status {response.status_code}")
    if response.status_code != 200:
        ErrorResponse.model_validate(response.json())


raw_body = st.one_of(
    st.binary(max_size=300),
    json_value.map(lambda v: json.dumps(v).encode()),
    predict_body.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
)
paths = st.sampled_from(["/v1/predict", "/v1/tag", "/v1/themes", "/health", "/v1/nope"])


@FAST
@given(payload=predict_body)
def test_fuzz_predict(client: TestClient, payload: Any) -> None:
    _predict(client, payload)


@FAST
@given(payload=tag_body)
def test_fuzz_tag(client: TestClient, payload: Any) -> None:
    _tag(client, payload)


@FAST
@given(path=paths, body=raw_body, content_type=content_types)
def test_fuzz_raw_bodies(client: TestClient, path: str, body: bytes, content_type: str) -> None:
    _raw(client, path, body, content_type)


@pytest.mark.slow
@LONG
@given(payload=predict_body)
def test_fuzz_predict_long(client: TestClient, payload: Any) -> None:
    _predict(client, payload)


@pytest.mark.slow
@LONG
@given(payload=tag_body)
def test_fuzz_tag_long(client: TestClient, payload: Any) -> None:
    _tag(client, payload)


@pytest.mark.slow
@LONG
@given(path=paths, body=raw_body, content_type=content_types)
def test_fuzz_raw_bodies_long(client: TestClient, path: str, body: bytes, content_type: str) -> None:
    _raw(client, path, body, content_type)
