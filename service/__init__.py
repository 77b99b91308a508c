"""plantheme_service: the HTTP API over the plantheme library.

``create_app(settings)`` builds the FastAPI application; ``run.serve`` starts it
with uvicorn (``plantheme serve``). The endpoints are thin: they validate the
request, call the same library functions the CLI uses (``ThemeModel.predict``,
``tag_text``) and shape the result.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
