"""`create_app(settings)`: the FastAPI application and the lifespan that owns everything long-lived.

Start-up order: storage (migrations) → API key → bus → sessions. Shutdown runs the reverse.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from waqtor import __version__
from waqtor.api import errors as api_errors
from waqtor.api.access_log import AccessLog
from waqtor.api.routes import health, sandbox, session, status, tools, websocket
from waqtor.api.ws import Bridge
from waqtor.auth import ApiKeys
from waqtor.bus import Bus, backend_factory
from waqtor.config import Settings
from waqtor.dashboard import routes as dashboard
from waqtor.sessions.manager import SessionManager
from waqtor.sessions.monitor import Clock, utcnow
from waqtor.storage import Storage

log = logging.getLogger(__name__)

DESCRIPTION = """
Self-hosted WhatsApp gateway. Every `/api` route needs the API key, in the `X-API-Key` header or
the `apiKey` query parameter. Errors answer `{"success": false, "error": {"code", "message"}}`.
See docs/api-reference.md for the full guide.
"""


@dataclass
class Gateway:
    """Everything the routes reach, built and torn down by the lifespan."""

    settings: Settings
    storage: Storage
    bus: Bus
    keys: ApiKeys
    sessions: SessionManager
    bridge: Bridge
    clock: Clock = utcnow


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    """Build the application for `settings`; nothing starts until the lifespan runs. A bad database
    or bus URL raises ConfigError here, before anything is opened."""
    storage = Storage(settings.resolved_database_url)
    make_bus_backend = backend_factory(settings.bus_url, replay=settings.ws_replay)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await storage.open()
        try:
            keys = ApiKeys.from_settings(settings)
            bus = Bus(make_bus_backend(), settings.bus_queue_size)
            await bus.start()
            try:
                manager = SessionManager(settings, storage, bus, clock)
                bridge = Bridge(settings, bus, keys, manager)
                gateway = Gateway(settings, storage, bus, keys, manager, bridge, clock)
                app.state.gateway = gateway
                await gateway.bridge.start()
                try:
                    await manager.start()
                    try:
                        log.info("waqtor %s ready (engine %s)", __version__, settings.engine)
                        yield
                    finally:
                        await manager.stop()
                finally:
                    await gateway.bridge.stop()
            finally:
                await bus.stop()
        finally:
            await storage.close()

    app = FastAPI(
        title="Waqtor",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    api_errors.install(app)
    app.add_middleware(AccessLog)
    app.include_router(health.router)
    app.include_router(session.router)
    app.include_router(status.router)
    app.include_router(websocket.router)
    app.include_router(tools.router)
    dashboard.install(app)
    if settings.engine == "sandbox":
        app.include_router(sandbox.router)
    return app
