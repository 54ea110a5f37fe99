"""The Gateway: every long-lived part, built, started and stopped in one place (no HTTP in it).

`Gateway(settings)` checks the settings and opens nothing: a bad database or bus URL, or engine
settings the default session cannot start with, raise ConfigError there. `start()` opens and starts the
parts in this order: storage (migrations) → API keys → bus → webhooks → WebSocket bridge → console QR →
message service → campaign runner → sessions (each session's campaign sender runs while the session runs
on this instance). `stop()` runs the reverse, so the campaign senders stop first (each finishes the
message it is sending), then queued sends, before the sessions (so none reaches an engine that is
stopping), and the sessions' last events reach WebSocket clients and are queued for webhooks before
those stop. A part that fails to start stops the ones started before it.

Several instances may share one PostgreSQL database and one Redis (docs/deployment.md): the session
manager then runs this instance's share of the sessions and carries commands for the others to the
instance that runs them, over the Redis command channel.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack

from waqtor import __version__
from waqtor.access.gateway_key import ApiKeys
from waqtor.access.keys import KeyService
from waqtor.access.notices import notices_for
from waqtor.access.throttle import AuthThrottle
from waqtor.access.tickets import Tickets
from waqtor.bus import Bus, PublishHook, backend_factory
from waqtor.campaigns.runner import CampaignRunner
from waqtor.campaigns.service import CampaignService
from waqtor.clock import Clock, utcnow
from waqtor.cluster.channel import CommandChannel, LocalChannel
from waqtor.cluster.identity import default_instance_id
from waqtor.cluster.leases import LeaseKeeper
from waqtor.config import Settings
from waqtor.console import ConsoleQR
from waqtor.engines import engine_class
from waqtor.engines.cloud.commands import COMMANDS as CLOUD_COMMANDS
from waqtor.engines.sandbox.commands import COMMANDS as SANDBOX_COMMANDS
from waqtor.errors import ConfigError, InvalidInput
from waqtor.exports import ExportSlots
from waqtor.files import prepare_data_dir
from waqtor.messaging.contacts import ContactService
from waqtor.messaging.service import MessageService
from waqtor.rate_window import RateWindow, parse_rate
from waqtor.sessions.manager import SessionManager
from waqtor.storage import Storage
from waqtor.webhooks.service import Webhooks
from waqtor.ws.bridge import Bridge

log = logging.getLogger(__name__)


def _check_default_engine(settings: Settings) -> None:
    try:
        engine_class(settings.engine).validate_config(settings.default_engine_config())
    except InvalidInput as exc:
        hint = ("; set WAQTOR_CLOUD_PHONE_ID, WAQTOR_CLOUD_TOKEN, WAQTOR_CLOUD_APP_SECRET and "
                "WAQTOR_CLOUD_VERIFY_TOKEN" if settings.engine == "cloud" else "")
        raise ConfigError(f"the default session's {settings.engine} engine cannot start: {exc.message}{hint}") from None


class Gateway:
    """Everything the routes reach: `settings`, `clock`, `instance`, `storage` and `throttle` from the
    start, the parts declared here once `start()` has returned."""

    bus: Bus
    keys: KeyService
    tickets: Tickets
    sessions: SessionManager
    bridge: Bridge
    webhooks: Webhooks
    messages: MessageService
    contacts: ContactService
    campaigns: CampaignService

    def __init__(self, settings: Settings, *, clock: Clock = utcnow, console_qr: bool = False,
                 publish_hooks: Sequence[PublishHook] = ()) -> None:
        """`console_qr` draws every new QR code on stderr (the CLI sets it when stderr is a terminal);
        `publish_hooks` hear every event this instance publishes, from the first."""
        _check_default_engine(settings)
        self.settings = settings
        self.clock = clock
        self.instance = settings.instance_id or default_instance_id()
        self.storage = Storage(settings.resolved_database_url, timeout=settings.database_timeout,
                               pool_size=settings.database_pool_size)
        self._make_bus_backend = backend_factory(settings.bus_url, replay=settings.ws_replay)
        auth_rate = parse_rate(settings.auth_failures)
        self.throttle = AuthThrottle(RateWindow(auth_rate, settings.resolved_rate_limit_storage, "authfail")
                                     if auth_rate else None)
        self.exports = ExportSlots(settings.exports_per_key)
        self._console_qr = console_qr
        self._publish_hooks = tuple(publish_hooks)
        self._stack = AsyncExitStack()

    def _channel(self) -> CommandChannel:
        settings = self.settings
        if settings.bus_url.split("://", 1)[0].lower() in ("redis", "rediss"):
            from waqtor.cluster.redis_channel import RedisChannel

            return RedisChannel(settings.bus_url, self.instance, settings.forward_timeout)
        return LocalChannel()

    async def start(self) -> None:
        """Open and start every part, in the order of the module's docstring."""
        async with AsyncExitStack() as stack:
            await self._start(stack)
            self._stack = stack.pop_all()
        log.info("waqtor %s ready (engine %s, instance %s)", __version__, self.settings.engine, self.instance)

    async def stop(self) -> None:
        """Stop every part started, in the reverse order."""
        await self._stack.aclose()

    async def _start(self, stack: AsyncExitStack) -> None:
        # Each part is stopped by the stack in the reverse order of its start, even when a later start fails.
        settings, clock, storage = self.settings, self.clock, self.storage
        prepare_data_dir(settings.data_dir)
        await storage.open()
        stack.push_async_callback(storage.close)
        stack.push_async_callback(self.throttle.close)
        self.keys = KeyService(ApiKeys.from_settings(settings), storage.keys, notices_for(settings.bus_url),
                               refresh_interval=settings.key_refresh_interval, clock=clock)
        await self.keys.start()
        stack.push_async_callback(self.keys.stop)
        self.tickets = Tickets(storage.keys, clock)
        self.bus = bus = Bus(self._make_bus_backend(), settings.bus_queue_size)
        for hook in self._publish_hooks:
            bus.add_publish_hook(hook)
        await bus.start()
        stack.push_async_callback(bus.stop)
        self.webhooks = Webhooks(settings, storage.webhooks, bus, clock)
        await self.webhooks.start()
        stack.push_async_callback(self.webhooks.stop)
        # The heartbeat and lease renewals on the housekeeping pool: requests never hold them up.
        leases = LeaseKeeper(storage.housekeeping.cluster, self.instance, settings.lease_ttl)
        self.sessions = sessions = SessionManager(settings, storage, bus, clock, leases=leases,
                                                  channel=self._channel())
        for op, handler in {**SANDBOX_COMMANDS, **CLOUD_COMMANDS}.items():
            sessions.handle(op, handler)
        self.messages = messages = MessageService(settings, storage, bus, sessions, clock)
        sessions.route_messages(messages.handle)
        self.contacts = ContactService(settings, sessions, messages.media, messages.http, clock)
        runner = CampaignRunner(settings, storage, bus, sessions, messages, clock)
        sessions.add_hooks(running=runner.session_running, stopping=runner.stop_session_runner,
                           deleted=runner.session_deleted)
        self.campaigns = CampaignService(settings, storage, runner, clock)
        self.bridge = Bridge(settings, bus, self.keys, self.tickets, self.throttle, sessions, clock)
        await self.bridge.start()
        stack.push_async_callback(self.bridge.stop)
        if self._console_qr:
            console = ConsoleQR(bus)
            await console.start()
            stack.push_async_callback(console.stop)
        await messages.start()
        stack.push_async_callback(sessions.stop)
        # Registered after the sessions so they run before them: no send reaches an engine that stops.
        stack.push_async_callback(messages.stop)
        await runner.start()
        stack.push_async_callback(runner.stop)
        await sessions.start()
