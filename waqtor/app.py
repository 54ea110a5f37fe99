"""`create_app(settings)`: the ASGI application. Its lifespan runs the Gateway (waqtor.gateway), which
owns everything long-lived; this module adds only what is HTTP: middleware, routes, error answers and
the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from waqtor import __version__
from waqtor.api import errors as api_errors
from waqtor.api import methods, openapi
from waqtor.api.access_log import AccessLog
from waqtor.api.bodies import FORM_OVERHEAD
from waqtor.api.body_limit import BodyLimit
from waqtor.api.rate_limit import RateLimit
from waqtor.api.routes import (
    campaigns,
    chat_actions,
    chats,
    cloud_webhooks,
    contacts,
    default_session,
    health,
    keys,
    media,
    message_changes,
    message_log,
    sandbox,
    sending,
    sessions,
    status,
    tools,
    webhooks,
    websocket,
)
from waqtor.api.routes import metrics as metrics_route
from waqtor.api.routes.default_session import StateAnswers
from waqtor.clock import Clock, utcnow
from waqtor.config import Settings
from waqtor.dashboard import api_docs
from waqtor.dashboard import routes as dashboard
from waqtor.gateway import Gateway
from waqtor.metrics import Metrics
from waqtor.rate_window import RateWindow, parse_rate

DESCRIPTION = """
Self-hosted WhatsApp gateway. Every `/api` route needs an API key with the route's scope (read, send,
control or admin), in the `X-API-Key` header or the `apiKey` query parameter. Errors answer
`{"success": false, "error": {"code", "message", "requestId"}}`; every answer has an `X-Request-ID`
header. Prometheus metrics are at `/metrics`.
See docs/api-reference.md for the full guide.
"""


def create_app(settings: Settings, *, clock: Clock = utcnow, console_qr: bool = False) -> FastAPI:
    """Build the application for `settings`; nothing starts until the lifespan runs. A bad database
    or bus URL, or engine settings the default session cannot start with, raise ConfigError here,
    before anything is opened. `console_qr` draws every new QR code on stderr (the CLI sets it when
    stderr is a terminal)."""
    metrics = Metrics()
    gateway = Gateway(settings, clock=clock, console_qr=console_qr, publish_hooks=[metrics.on_publish])
    rest_rate = parse_rate(settings.rate_limit)
    rest_window = RateWindow(rest_rate, settings.resolved_rate_limit_storage, "rest") if rest_rate else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await gateway.start()
            try:
                app.state.gateway = gateway
                metrics.attach(gateway)
                yield
            finally:
                metrics.detach()
                await gateway.stop()
        finally:
            if rest_window is not None:
                await rest_window.close()

    app = FastAPI(
        title="Waqtor",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are the gateway's own, with no CDN (waqtor.dashboard.api_docs)
        redoc_url=None,
    )
    app.state.metrics = metrics
    app.state.state_answers = StateAnswers()  # the state routes' answers, made once per state
    api_errors.install(app)
    openapi.install(app)
    methods.install(app)  # innermost: the rate and body limits still see a request it refuses
    app.add_middleware(RateLimit, window=rest_window, rate=settings.rate_limit)
    largest_media = settings.media_max
    app.add_middleware(BodyLimit, default=settings.max_body, limits={
        ("POST", "/api/messages/send-media"): largest_media + FORM_OVERHEAD,
        ("POST", "/api/campaigns"): settings.campaign_max_upload + largest_media + FORM_OVERHEAD,
    })
    if settings.cors_origin_list:
        # Closed unless configured: without these headers a browser keeps other sites' pages from the API.
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["X-API-Key", "Content-Type"], max_age=600)
    # Outermost: it gives every request its id and logs and times the rate limit's 429s too.
    app.add_middleware(AccessLog, latency=metrics)
    app.include_router(health.router)
    app.include_router(default_session.router)
    app.include_router(status.router)
    app.include_router(sending.router)
    app.include_router(message_log.router)
    app.include_router(contacts.router)
    app.include_router(message_changes.router)
    app.include_router(chat_actions.router)
    app.include_router(chats.router)
    app.include_router(campaigns.router)
    app.include_router(media.router)
    app.include_router(websocket.router)
    app.include_router(tools.router)
    app.include_router(webhooks.router)
    app.include_router(keys.router)
    app.include_router(sessions.router)
    app.include_router(cloud_webhooks.router)
    app.include_router(metrics_route.router)
    dashboard.install(app)
    api_docs.install(app)
    if settings.sandbox_offered:
        app.include_router(sandbox.router)
    return app
