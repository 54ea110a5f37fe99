"""The campaign runner: sends campaigns in the background, owned by the app's lifespan.

- **One sender per session** (`sender.SessionSender`), and only while that session's engine runs on
  this instance: the session manager calls `start_session_runner(name)` after it started the engine
  and `stop_session_runner(name)` before it stops it. So a session sends one campaign message at a
  time whatever the number of campaigns on it (a campaign with no throttle, on a session with no send
  rate, a bounded window of them: see `sender`), and with several gateway instances only the one that
  runs a session sends its campaigns (and every claim of a recipient is a conditional UPDATE besides).
- **Statuses from the acknowledgements**: the runner listens to the message service
  (`add_status_listener`): each delivered, read or failed report of a campaign message moves its
  recipient (through the outcome buffer) and is published as a `recipient` event. A listener, rather
  than a bus subscription, cannot miss a report when the bus cuts off a slow subscriber.
- **The session's health**: a subscription to `session_update` tells each sender about a new error
  (a ban, a logout, a disconnect: the session's campaigns pause with that reason) and about the session
  being ready again (campaigns paused for a reason a reconnect clears continue; a ban does not).
- **Crash safety** (`settle`, run by each sender before it sends): a recipient left `sending` is settled
  from the message log — sent, delivered or read when the engine took the message, back to pending
  when no message was logged (the engine never had it), and `unknown` when the message was logged but
  never confirmed: it is never sent again. Campaign messages left `queued` are marked failed.
- Every `WAQTOR_CAMPAIGN_POLL_INTERVAL` seconds each sender looks at its campaigns again, which picks up
  changes made through another instance.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from waqtor import events
from waqtor.bus import Bus, SubscriptionOverflow
from waqtor.campaigns import model
from waqtor.campaigns.context import SenderContext
from waqtor.campaigns.lifecycle import Lifecycle
from waqtor.campaigns.notify import CampaignEvents
from waqtor.campaigns.outcomes import OutcomeBuffer
from waqtor.campaigns.sender import SessionSender
from waqtor.campaigns.views import phone_of
from waqtor.clock import Clock
from waqtor.config import Settings
from waqtor.errors import WaqtorError
from waqtor.messaging.service import MessageService
from waqtor.rate_window import parse_rate
from waqtor.sessions.manager import SessionManager
from waqtor.storage import Storage
from waqtor.storage.campaigns import Outcome
from waqtor.storage.records import MessageRecord
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

STOP_GRACE = 10.0  # seconds a sender may take to finish the message it is sending when stopped
CATCH_UP_DAYS = 3  # acknowledgements are caught up for campaigns finished this recently
UNKNOWN_REASON = ("unknown: the gateway stopped while this message was being handed to WhatsApp, and WhatsApp "
                  "never confirmed it; it is not sent again (it may or may not have arrived)")
INTERRUPTED = ("interrupted: the gateway stopped while this campaign message was being handed to WhatsApp; "
               "its recipient is marked unknown and it is not sent again")


class CampaignRunner:
    def __init__(self, settings: Settings, storage: Storage, bus: Bus, sessions: SessionManager,
                 messages: MessageService, clock: Clock, rng: random.Random | None = None) -> None:
        self.repo = storage.campaigns
        self.messages = messages
        self._sessions = sessions
        self._clock = clock
        self._poll_interval = settings.campaign_poll_interval
        self._storage = storage
        self._bus = bus
        rate = parse_rate(settings.send_rate)
        self.session_interval = rate.get_expiry() / rate.amount if rate else 0.0
        self.outcomes = OutcomeBuffer(self.repo)
        self.events = CampaignEvents(bus, self.repo, self.outcomes.flush, self.session_interval)
        self.lifecycle = Lifecycle(self.repo, self.events, clock, self.wake)
        self._context = SenderContext(
            repo=self.repo, lifecycle=self.lifecycle, outcomes=self.outcomes, events=self.events, messages=messages,
            sessions=sessions, settle=self.settle, clock=clock, rng=rng or random.Random(),
            poll_interval=self._poll_interval, session_interval=self.session_interval,
        )
        self._senders: dict[str, SessionSender] = {}
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._tasks = TaskSet("campaigns")
        self._closed = False
        messages.add_status_listener(self.on_status)

    # ---- lifespan -------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks.spawn(self.outcomes.run(), "outcomes")
        self._tasks.spawn(self._watch_sessions(), "session-watch")
        self._tasks.spawn(self._poll(), "poll")

    async def stop(self) -> None:
        """Stop every sender (each finishes the message it is sending), then write what waits."""
        self._closed = True
        for name in list(self._senders):
            await self.stop_session_runner(name)
        await self._tasks.close()
        try:
            await self.outcomes.flush()
        except Exception:
            log.exception("campaigns: %d recipient statuses were not written at shutdown; the next start "
                          "settles them from the message log", len(self.outcomes))
        await self.events.close()

    # ---- what the session manager calls ---------------------------------------------------------------

    async def session_running(self, name: str) -> None:
        """The session manager's `running` hook: the session now runs on this instance."""
        self.start_session_runner(name)

    def start_session_runner(self, name: str) -> None:
        """Start sending the campaigns of session `name` (its engine now runs on this instance)."""
        if self._closed or name in self._senders:
            return
        sender = SessionSender(self._context, name)
        self._senders[name] = sender
        self._runs[name] = self._tasks.spawn(sender.run(), f"sender[{name}]")

    async def stop_session_runner(self, name: str) -> None:
        """Stop sending the campaigns of session `name`, letting the message in flight finish."""
        sender = self._senders.pop(name, None)
        task = self._runs.pop(name, None)
        if sender is None or task is None:
            return
        sender.stopping = True
        sender.wake()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
        except TimeoutError:
            log.warning("session %s: the campaign sender did not stop within %.0f s; cut off (the message it "
                        "was sending is settled at the next start)", name, STOP_GRACE)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        except Exception:
            pass  # its crash is logged by the task set

    async def session_deleted(self, name: str) -> None:
        """The session is gone: its campaigns that were not finished fail."""
        await self.stop_session_runner(name)
        for record in await self.repo.for_session(name, set(model.STATUSES) - model.FINAL):
            try:
                await self.lifecycle.move(record.id, "fail", reason="session_deleted",
                                          message=f"its session {name!r} was deleted")
            except WaqtorError:
                continue

    # ---- helpers for the senders and the service ------------------------------------------------------

    def sender(self, name: str) -> SessionSender | None:
        return self._senders.get(name)

    def wake(self, session: str) -> None:
        """Something changed for the session's campaigns: its sender (if it runs here) looks again."""
        sender = self._senders.get(session)
        if sender is not None:
            sender.wake(reload=True)

    async def on_status(self, record: MessageRecord, previous: str) -> None:
        """The message service's listener: an acknowledgement of a campaign message moves its recipient."""
        if record.campaign_recipient_id is None or record.campaign_id is None:
            return
        status = model.FROM_MESSAGE.get(record.status)
        if status is None:
            return
        reason = record.error if status == model.R_FAILED else None
        if status == model.R_FAILED and model.error_code(record.error) == "session_not_ready":
            return  # the engine never had it: the sender puts the recipient back to pending
        if self.outcomes.put(Outcome(record.campaign_recipient_id, status, self._clock(), reason, record.id)):
            await self.events.recipient(record.session, record.campaign_id, record.campaign_recipient_id,
                                        phone_of(record.chat), status, reason, record.id)

    # ---- crash safety ----------------------------------------------------------------------------------

    async def settle(self, session: str) -> None:
        """Settle what a previous run (or a dead instance) left in flight on `session`; see the module."""
        found = await self.repo.for_session(session, set(model.STATUSES) - {model.DRAFT})
        if not found:
            return
        now = self._clock()
        ids = [record.id for record in found]
        outcomes: list[tuple[Outcome, str, str]] = []
        for item in await self.repo.in_flight(ids):
            message, reason = item.message, None
            if message is None:
                status = model.PENDING
            elif message.status == "queued":
                status, reason = model.UNKNOWN, UNKNOWN_REASON
            elif message.status == "failed" and model.error_code(message.error) == "session_not_ready":
                status = model.PENDING
            else:
                status = model.FROM_MESSAGE.get(message.status, model.UNKNOWN)
                reason = message.error if status == model.R_FAILED else None
            outcome = Outcome(item.recipient.id, status, now, reason, message.id if message else None)
            outcomes.append((outcome, item.recipient.campaign_id, item.recipient.phone))
        await self.repo.apply([outcome for outcome, _, _ in outcomes])
        queued = await self.repo.queued_messages(ids)
        if queued:
            await self._storage.messages.fail_queued(now, INTERRUPTED, queued)
        recent = [r.id for r in found if r.finished_at is None or r.finished_at > now - timedelta(days=CATCH_UP_DAYS)]
        await self.repo.catch_up(recent, now)
        for outcome, campaign_id, phone in outcomes:
            self.outcomes.know(outcome.recipient_id, outcome.status)
            await self.events.recipient(session, campaign_id, outcome.recipient_id, phone, outcome.status,
                                        outcome.reason, outcome.message_id)
        if outcomes:
            log.warning("session %s: settled %d campaign recipient(s) a previous run left sending (%d unknown)",
                        session, len(outcomes), sum(1 for o, _, _ in outcomes if o.status == model.UNKNOWN))

    # ---- background ------------------------------------------------------------------------------------

    async def _watch_sessions(self) -> None:
        while True:
            subscription = self._bus.subscribe()
            try:
                async for event in subscription:
                    if event.type == events.SESSION_UPDATE and event.session in self._senders:
                        self._senders[event.session].observe(event.data)
            except SubscriptionOverflow:
                log.warning("campaigns: fell behind the session updates; looking at every session again")
                for name, sender in list(self._senders.items()):
                    sender.observe(self._sessions.get(name).monitor.view())
            finally:
                subscription.close()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            for sender in list(self._senders.values()):
                sender.wake(reload=True)
