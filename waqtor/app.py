"""`create_app(settings)`: the FastAPI application and the lifespan that owns everything long-lived.

Start-up order: storage (migrations) → API keys → bus → webhooks → WebSocket bridge → message service →
campaign runner → sessions (each session's campaign sender runs while the session runs on this
instance). Shutdown runs the reverse, except that the campaign senders stop first (each finishes the
message it is sending), then queued sends, before the sessions (so none reaches an engine that is
stopping), and the sessions' last events are queued for webhooks before the sender stops.

Several instances may share one PostgreSQL database and one Redis (docs/deployment.md): the session
manager then runs this instance's share of the sessions and carries commands for the others to the
instance that runs them, over the Redis command channel.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from waqtor import __version__
from waqtor.access.keys import KeyService
from waqtor.access.notices import notices_for
from waqtor.access.throttle import AuthThrottle
from waqtor.access.tickets import Tickets
from waqtor.api import errors as api_errors
from waqtor.api import openapi
from waqtor.api.access_log import AccessLog
from waqtor.api.body_limit import FORM_OVERHEAD, BodyLimit
from waqtor.api.ratelimit import RateLimit
from waqtor.api.routes import (
    campaigns,
    cloud_webhooks,
    health,
    keys,
    media,
    message_log,
    messages,
    sandbox,
    session,
    sessions,
    status,
    tools,
    webhooks,
    websocket,
)
from waqtor.api.routes import (
    metrics as metrics_route,
)
from waqtor.api.routes.session import StateAnswers
from waqtor.api.ws import Bridge
from waqtor.auth import ApiKeys
from waqtor.bus import Bus, backend_factory
from waqtor.campaigns.runner import CampaignRunner
from waqtor.campaigns.service import CampaignService
from waqtor.cluster.channel import CommandChannel, LocalChannel
from waqtor.cluster.identity import default_instance_id
from waqtor.cluster.leases import LeaseKeeper
from waqtor.config import Settings
from waqtor.console import ConsoleQR
from waqtor.dashboard import routes as dashboard
from waqtor.engines import engine_class
from waqtor.engines.sandbox.commands import COMMANDS as SANDBOX_COMMANDS
from waqtor.errors import ConfigError, InvalidInput
from waqtor.messaging.service import MessageService
from waqtor.metrics import Metrics
from waqtor.ratelimit import RateWindow, parse_rate
from waqtor.sessions.manager import SessionManager
from waqtor.sessions.monitor import Clock, utcnow
from waqtor.storage import Storage
from waqtor.webhooks.service import Webhooks

log = logging.getLogger(__name__)

DESCRIPTION = """
Self-hosted WhatsApp gateway. Every `/api` route needs an API key with the route's scope (read, send,
control or admin), in the `X-API-Key` header or the `apiKey` query parameter. Errors answer
`{"success": false, "error": {"code", "message", "requestId"}}`; every answer has an `X-Request-ID`
header. Prometheus metrics are at `/metrics`.
See docs/api-reference.md for the full guide.
"""


@dataclass
class Gateway:
    """Everything the routes reach, built and torn down by the lifespan."""

    settings: Settings
    storage: Storage
    bus: Bus
    keys: KeyService
    tickets: Tickets
    throttle: AuthThrottle
    sessions: SessionManager
    bridge: Bridge
    webhooks: Webhooks
    messages: MessageService
    campaigns: CampaignService
    clock: Clock = utcnow


def _check_default_engine(settings: Settings) -> None:
    try:
        engine_class(settings.engine).validate_config(settings.default_engine_config())
    except InvalidInput as exc:
        hint = ("; set WAQTOR_CLOUD_PHONE_ID, WAQTOR_CLOUD_TOKEN, WAQTOR_CLOUD_APP_SECRET and "
                "WAQTOR_CLOUD_VERIFY_TOKEN" if settings.engine == "cloud" else "")
        raise ConfigError(f"the default session's {settings.engine} engine cannot start: {exc.message}{hint}") from None


def create_app(settings: Settings, *, clock: Clock = utcnow, console_qr: bool = False) -> FastAPI:
    """Build the application for `settings`; nothing starts until the lifespan runs. A bad database
    or bus URL, or engine settings the default session cannot start with, raise ConfigError here,
    before anything is opened. `console_qr` draws every new QR code on stderr (the CLI sets it when
    stderr is a terminal)."""
    _check_default_engine(settings)
    storage = Storage(settings.resolved_database_url, timeout=settings.database_timeout)
    make_bus_backend = backend_factory(settings.bus_url, replay=settings.ws_replay)
    rest_rate = parse_rate(settings.rate_limit)
    rest_window = RateWindow(rest_rate, settings.resolved_rate_limit_storage, "rest") if rest_rate else None
    auth_rate = parse_rate(settings.auth_failures)
    throttle = AuthThrottle(RateWindow(auth_rate, settings.resolved_rate_limit_storage, "authfail")
                            if auth_rate else None)
    instance = settings.instance_id or default_instance_id()
    metrics = Metrics()

    def make_channel() -> CommandChannel:
        if settings.bus_url.split("://", 1)[0].lower() in ("redis", "rediss"):
            from waqtor.cluster.redis_channel import RedisChannel

            return RedisChannel(settings.bus_url, instance, settings.forward_timeout)
        return LocalChannel()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each part is stopped by the stack in the reverse order of its start, even when a later start fails.
        async with AsyncExitStack() as stack:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            await storage.open()
            stack.push_async_callback(storage.close)
            if rest_window is not None:
                stack.push_async_callback(rest_window.close)
            stack.push_async_callback(throttle.close)
            key_service = KeyService(ApiKeys.from_settings(settings), storage.keys, notices_for(settings.bus_url),
                                     refresh_interval=settings.key_refresh_interval, clock=clock)
            await key_service.start()
            stack.push_async_callback(key_service.stop)
            tickets = Tickets(storage.keys, clock)
            bus = Bus(make_bus_backend(), settings.bus_queue_size)
            await bus.start()
            stack.push_async_callback(bus.stop)
            hooks = Webhooks(settings, storage.webhooks, bus, clock)
            await hooks.start()
            stack.push_async_callback(hooks.stop)
            leases = LeaseKeeper(storage.cluster, instance, settings.lease_ttl)
            manager = SessionManager(settings, storage, bus, clock, leases=leases, channel=make_channel())
            for op, handler in {**SANDBOX_COMMANDS, **cloud_webhooks.COMMANDS}.items():
                manager.handle(op, handler)
            messages_service = MessageService(settings, storage, bus, manager, clock)
            manager.message_sink = messages_service.handle
            runner = CampaignRunner(settings, storage, bus, manager, messages_service, clock)
            manager.add_hooks(running=runner.session_running, stopping=runner.stop_session_runner,
                              deleted=runner.session_deleted)
            bridge = Bridge(settings, bus, key_service, tickets, throttle, manager, clock)
            app.state.gateway = Gateway(settings=settings, storage=storage, bus=bus, keys=key_service, tickets=tickets,
                                        throttle=throttle, sessions=manager,
                                        bridge=bridge, webhooks=hooks, messages=messages_service,
                                        campaigns=CampaignService(settings, storage, runner, clock), clock=clock)
            stack.callback(metrics.attach(app.state.gateway))
            await bridge.start()
            stack.push_async_callback(bridge.stop)
            if console_qr:
                console = ConsoleQR(bus)
                await console.start()
                stack.push_async_callback(console.stop)
            await messages_service.start()
            stack.push_async_callback(manager.stop)
            # Registered after the manager so they run before it: no send reaches an engine that stops.
            stack.push_async_callback(messages_service.stop)
            await runner.start()
            stack.push_async_callback(runner.stop)
            await manager.start()
            log.info("waqtor %s ready (engine %s, instance %s)", __version__, settings.engine, instance)
            yield

    app = FastAPI(
        title="Waqtor",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.state_answers = StateAnswers()  # the state routes' answers, made once per state
    api_errors.install(app)
    openapi.install(app)
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
    app.include_router(session.router)
    app.include_router(status.router)
    app.include_router(messages.router)
    app.include_router(message_log.router)
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
    if settings.sandbox_offered:
        app.include_router(sandbox.router)
    return app
