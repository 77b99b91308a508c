"""``plantheme serve``: run the service with uvicorn.

Options given on the command line win over ``PLANTHEME_*`` variables, which win
over the defaults (one :class:`plantheme.settings.Settings`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import uvicorn

from plantheme.errors import PlanthemeError
from plantheme.model.persistence import load_predictor
from plantheme.settings import Settings, SettingsError, load_settings

from .app import create_app
from .http_protocol import GuardedH11Protocol

__all__ = ["serve", "server_options"]


def _say(message: str) -> None:
    print(f"plantheme: error: {message}", file=sys.stderr, flush=True)


def _check(settings: Settings) -> str | None:
    if settings.workers < 1:
        return f"--workers must be at least 1, not {settings.workers}"
    if not 0 <= settings.port <= 65535:
        return f"--port must be between 0 and 65535, not {settings.port}"
    return None


def server_options(settings: Settings) -> dict[str, object]:
    """uvicorn options that bound what connections may cost (see the README's "Limits")."""
    # The protocol class reads its limits from class attributes (uvicorn builds it per connection).
    GuardedH11Protocol.header_timeout_s = settings.header_timeout_s
    GuardedH11Protocol.max_header_bytes = settings.max_header_bytes
    return {
        "http": GuardedH11Protocol,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "limit_concurrency": settings.max_connections,
        "timeout_graceful_shutdown": settings.graceful_shutdown_s,
    }


# Classification threads and the event loop share the GIL; at the default 5 ms
# switch interval /health waited behind them (p99 over 100 ms under 64 clients).
SWITCH_INTERVAL_S = 0.001


def serve(
    *,
    host: str | None = None,
    port: int | None = None,
    model_dir: Path | None = None,
    workers: int | None = None,
) -> int:
    """Serve until interrupted; returns the exit status (1 when the model cannot be loaded)."""
    try:
        settings = load_settings(host=host, port=port, model_dir=model_dir, workers=workers)
    except SettingsError as exc:
        _say(str(exc))  # "invalid settings: PLANTHEME_PORT: should be a whole number, not 'eighty'"
        return 2
    problem = _check(settings)
    if problem:
        _say(problem)
        return 2

    sys.setswitchinterval(SWITCH_INTERVAL_S)
    if settings.workers == 1:
        # The lifespan loads the model; a failure there is logged as its one-line message.
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings),
                host=settings.host,
                port=settings.port,
                lifespan="on",
                **server_options(settings),  # type: ignore[arg-type]
            )
        )
        try:
            server.run()
        except SystemExit:
            pass  # uvicorn exits when start-up fails; it has logged why
        except KeyboardInterrupt:
            pass  # uvicorn re-raises Ctrl-C after its graceful shutdown: a normal stop
        return 0 if server.started else 1

    # Several workers: the supervisor of older uvicorn releases restarts a worker
    # that dies in start-up, forever. A model that cannot load is caught here first.
    try:
        load_predictor(settings.model_dir)
    except PlanthemeError as exc:
        _say(str(exc))
        return 1
    # Worker processes import the app afresh; they read the resolved settings from the environment.
    os.environ.update(settings.to_environment())
    try:
        uvicorn.run(
            "plantheme_service.app:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            lifespan="on",
            **server_options(settings),  # type: ignore[arg-type]
        )
    except SystemExit as exc:
        return 0 if exc.code in (0, None) else 1  # a worker could not start; uvicorn said why
    except KeyboardInterrupt:
        pass
    return 0
