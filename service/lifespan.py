"""Loading the model once at start-up, and failing start-up in one line when it cannot be loaded.

The lifespan loads the model folder named in the settings (never one named by
a request), warms it up with one prediction (the tokenizer builds its
dictionary on first use) and only then lets the server accept connections, so
no request ever meets a half-loaded model.
"""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TYPE_CHECKING
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plantheme.errors import PlanthemeError
from plantheme.model.scoring import CompiledModel
from plantheme.model.persistence import ModelCard, load_predictor
from plantheme.settings import Settings

from .batching import PredictionBatcher
from .work_guard import WorkGuard

if TYPE_CHECKING:  # the pickled pipeline, for word or union models only: scikit-learn is imported when one loads
    from plantheme.model.model import ThemeModel

__all__ = ["LoadedModel", "model_lifespan", "StartupFailureMiddleware", "STATE_KEY"]

# Key of the loaded model in the lifespan state (request.state in endpoints).
STATE_KEY = "plantheme"


@dataclass(frozen=True)
class LoadedModel:
    """What the endpoints use: the model, its card, the batcher that runs it and the document pool."""

    model: CompiledModel | ThemeModel
    card: ModelCard
    batcher: PredictionBatcher
    guard: WorkGuard


def model_lifespan(settings: Settings) -> Callable[[FastAPI], Any]:
    """The lifespan of an app: load the model of ``settings`` before serving, stop the batcher after."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        model, card = load_predictor(settings.model_dir)
        model.predict(["推动重点项目开工建设。"])  # warm-up: tokenizer dictionaries load on first use
        batcher = PredictionBatcher(model, linger=settings.predict_linger_ms / 1000).start()
        guard = WorkGuard(settings.work_threads, settings.request_timeout_s)
        try:
            yield {STATE_KEY: LoadedModel(model=model, card=card, batcher=batcher, guard=guard)}
        finally:
            guard.close()
            batcher.close()

    return lifespan


class StartupFailureMiddleware:
    """Report a model that cannot be loaded as its one-line message, not a traceback.

    Starlette answers a failed lifespan with the formatted traceback, which the
    server prints. The PlanthemeError message already names the file and what
    to do, so that message alone is sent instead. The exception still propagates:
    uvicorn, already told, logs nothing more and exits; a test client raises it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_one_line(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                # Starlette sends this from inside its `except` block: the error is the one handled.
                error = sys.exc_info()[1]
                if isinstance(error, PlanthemeError):
                    message = {**message, "message": f"cannot start: {error}"}
            await send(message)

        await self.app(scope, receive, send_one_line)
