"""The FastAPI application of the prediction service: :func:`create_app`.

Endpoints are thin: validation lives in the request models, the work in the
library (``ThemeModel.predict`` through the batcher, ``tag_text``), the shaping
in :mod:`plantheme_service.responses`. Classification is CPU work, so it never
runs on the event loop: single predictions go to the batcher's worker thread,
documents to the thread pool; ``/health`` keeps answering meanwhile.
"""

# No `from __future__ import annotations`: FastAPI reads endpoint annotations
# when the endpoints are defined, and the request models are local to
# create_app (they carry the limits of its settings).

import asyncio
import json
import threading
from typing import Annotated, Any
from collections.abc import Sequence

from fastapi import Body, FastAPI, Request
from fastapi.responses import Response
from fastapi_offline import FastAPIOffline

from plantheme import __version__
from plantheme.settings import Settings, load_settings

from .errors import ApiError, install_error_handlers
from .head_requests import HeadAsGetMiddleware
from .lifespan import STATE_KEY, LoadedModel, StartupFailureMiddleware, model_lifespan
from .request_limits import RequestLimitMiddleware
from .responses import (
    card_body,
    count_sentences,
    document_body,
    prediction_body,
    themes_body,
)
from .schemas import (
    PREDICT_EXAMPLES,
    TAG_EXAMPLES,
    ErrorResponse,
    HealthResponse,
    ModelCardOut,
    PredictResponse,
    TagResponse,
    ThemesResponse,
    request_models,
)
from .work_guard import Cancelled

__all__ = ["create_app", "app_from_environment"]

PREDICT_PATH = "/v1/predict"
TAG_PATH = "/v1/tag"
# Where the Swagger UI and ReDoc scripts, styles and icon of /docs and /redoc are served.
DOCS_ASSETS_PATH = "/docs-assets"
GET_PATHS = ("/health", "/v1/themes", "/v1/model", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")

_DESCRIPTION = """
给中国地方政府工作计划、政府工作报告中的每一句话标注政策主题（八类）。

Tags each sentence of Chinese local-government plans with one of eight policy
themes (`GET /v1/themes`). Every error is `{"error": {"code", "message", "field"}}`.
"""


def _error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse} for status in statuses}


def _loaded(request: Request) -> LoadedModel:
    loaded = getattr(request.state, STATE_KEY, None)
    if loaded is None:
        # Only reachable when a server runs the app without its lifespan (uvicorn --lifespan off).
        raise ApiError(503, "model_not_loaded", "no model is loaded; start the service with its lifespan")
    return loaded


def check_sentences(texts: Sequence[str], fields: Sequence[str], limit: int, cancel: threading.Event) -> None:
    """Refuse (413) texts that hold more than ``limit`` sentences together, before classifying any."""
    total = 0
    for text, field in zip(texts, fields):
        if cancel.is_set():
            raise Cancelled()
        total += count_sentences(text, limit - total)
        if total > limit:
            where = "the request's texts" if len(texts) > 1 else field
            raise ApiError(
                413,
                "too_many_sentences",
                f"{where} hold more than {limit:,} sentences; the limit is {limit:,} per request"
                " (PLANTHEME_MAX_SENTENCES); send the document in parts",
                field,
            )


def json_answer(body: Any, limit: int) -> Response:
    """``body`` as a JSON response, encoded here (in the worker thread, off the event loop).

    Refused (413) when the encoded answer would exceed ``limit`` bytes.
    """
    data = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    if len(data) > limit:
        raise ApiError(
            413,
            "response_too_large",
            f"the answer would be {len(data):,} bytes; the limit is {limit:,}"
            " (PLANTHEME_MAX_RESPONSE_BYTES); send fewer or shorter texts",
            None,
        )
    return Response(data, media_type="application/json")


def create_app(settings: Settings) -> FastAPI:
    """Build the service for ``settings``; the model is loaded when the app starts (lifespan)."""
    models = request_models(settings)
    PredictRequest = models.predict
    TagRequest = models.tag

    # FastAPIOffline is FastAPI with /docs and /redoc served from the Swagger UI and ReDoc
    # files its package ships, not from a CDN: the docs work on a machine without internet.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS_PATH,
        title="plantheme",
        version=__version__,
        summary="政策主题分类服务 · policy-theme classifier for Chinese local-government plans",
        description=_DESCRIPTION,
        lifespan=model_lifespan(settings),
        responses=_error_responses(404, 405),
        # A redirect would take its Location from the Host header: /v1/tag/ is a 404 instead.
        redirect_slashes=False,
    )
    install_error_handlers(app)
    app.add_middleware(
        RequestLimitMiddleware,  # type: ignore[arg-type]
        max_body_bytes=settings.max_body_bytes,
        json_paths=(PREDICT_PATH, TAG_PATH),
        max_header_count=settings.max_header_count,
        max_header_bytes=settings.max_header_bytes,
        body_timeout_s=settings.body_timeout_s,
    )
    app.add_middleware(HeadAsGetMiddleware, get_paths=GET_PATHS)  # type: ignore[arg-type]
    app.add_middleware(StartupFailureMiddleware)  # type: ignore[arg-type]
    body_errors = _error_responses(400, 408, 413, 415, 422, 503)

    @app.post(
        PREDICT_PATH,
        response_model=PredictResponse,
        responses=body_errors,
        tags=["predict"],
        summary="预测文本主题 · predict the theme of texts",
    )
    async def predict(
        request: Request,
        body: Annotated[PredictRequest, Body(openapi_examples=PREDICT_EXAMPLES)],  # type: ignore[valid-type]
    ) -> Any:
        """Classify 1..max_batch texts, in order; with `"split": true`, every sentence of each text."""
        loaded = _loaded(request)
        texts: list[str] = body.texts  # type: ignore[attr-defined]
        if body.split:  # type: ignore[attr-defined]
            # Whole documents: counted, tagged and encoded in the work pool, a text at a time.
            def work(cancel: threading.Event) -> Response:
                check_sentences(texts, [f"texts[{i}]" for i in range(len(texts))], settings.max_sentences, cancel)
                results = []
                for text in texts:
                    if cancel.is_set():
                        raise Cancelled()
                    results.append(document_body(loaded.model, text, low_confidence=settings.low_confidence))
                return json_answer({"model": loaded.model.model_id, "results": results}, settings.max_response_bytes)

            return await loaded.guard.run(request, work)
        # Sentences go through the batcher's thread (merged with concurrent requests).
        try:
            predictions = await asyncio.wait_for(
                asyncio.wrap_future(loaded.batcher.submit(texts)), settings.request_timeout_s
            )
        except asyncio.TimeoutError:
            raise ApiError(
                503,
                "deadline_exceeded",
                f"the request took longer than {settings.request_timeout_s:g} s"
                " (PLANTHEME_REQUEST_TIMEOUT_S); send fewer or shorter texts",
            ) from None
        return {"model": loaded.model.model_id, "results": [prediction_body(p) for p in predictions]}

    @app.post(
        TAG_PATH,
        response_model=TagResponse,
        responses=body_errors,
        tags=["predict"],
        summary="整篇文档分句标注 · tag every sentence of one document",
    )
    async def tag(
        request: Request,
        body: Annotated[TagRequest, Body(openapi_examples=TAG_EXAMPLES)],  # type: ignore[valid-type]
    ) -> Any:
        """Split one document into sentences, classify each, and give the theme counts and shares."""
        loaded = _loaded(request)
        text: str = body.text  # type: ignore[attr-defined]

        def work(cancel: threading.Event) -> Response:
            check_sentences([text], ["text"], settings.max_sentences, cancel)
            if cancel.is_set():
                raise Cancelled()
            document = document_body(loaded.model, text, low_confidence=settings.low_confidence)
            return json_answer({"model": loaded.model.model_id, **document}, settings.max_response_bytes)

        return await loaded.guard.run(request, work)

    @app.get("/v1/themes", response_model=ThemesResponse, tags=["reference"], summary="八类政策主题 · the eight themes")
    async def themes() -> Any:
        """The eight theme ids with their Chinese names and descriptions, in taxonomy order."""
        return themes_body()

    @app.get("/v1/model", response_model=ModelCardOut, tags=["reference"], summary="模型信息 · the loaded model's card")
    async def model_card(request: Request) -> Any:
        """Training data counts, cross-validation metrics, parameters, versions and creation time."""
        return card_body(_loaded(request).card)

    @app.get("/health", response_model=HealthResponse, tags=["operations"], summary="存活检查 · liveness")
    async def health(request: Request) -> Any:
        """Answers as long as the server runs (also during a large batch), with the model id."""
        return {"status": "ok", "model": _loaded(request).model.model_id}

    return app


def app_from_environment() -> FastAPI:
    """App factory for worker processes: settings from ``PLANTHEME_*`` variables."""
    from .http_protocol import GuardedH11Protocol

    settings = load_settings()
    # A worker process imports the protocol afresh: its limits come from this process's settings.
    GuardedH11Protocol.header_timeout_s = settings.header_timeout_s
    GuardedH11Protocol.max_header_bytes = settings.max_header_bytes
    return create_app(settings)
