"""One session's campaign sender: the only task that sends campaign messages on that session, whatever
the number of campaigns on it: one at a time, or, for a campaign with no throttle at all (no delay, no
caps) on a session with no send rate, up to `window.SIZE` recipients at once (and, with `stopAfterFailures`,
no more than the failures it may still take), so that their database writes (claims, the log, status
moves) are committed together (`waqtor.storage.groupcommit`). Each recipient still goes through the
steps below in order, so a crash leaves what it left before, for each recipient in flight; a throttled
campaign waits for the window to empty and is then sent one at a time, exactly as before.

Each pass: pause the campaigns if the session reported an error, resume those a reconnect clears,
start scheduled campaigns whose time came, then pick the running campaign that may send soonest
(`throttle.next_send_time`; ties go round) and, when that moment has come and the session is ready,
send to its next pending recipient. Otherwise it sleeps until that moment or until woken (a change
through the API, a session update, the runner's periodic look for changes made on other instances).

Sending one recipient: (1) check it is on WhatsApp when the campaign asks; (2) claim it,
`pending → sending`, a conditional UPDATE that only succeeds while the campaign is running; (3) the
message service waits for a slot of the session's send rate, logs the message `queued` with the
campaign and recipient ids, and hands it to the engine; (4) the result (sent, or failed with the
reason) goes to the outcome buffer. A crash between (2) and (4) is settled from the message log when
the sender starts again (`settle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from waqtor.campaigns import model
from waqtor.campaigns.context import SenderContext
from waqtor.campaigns.definition import checks_whatsapp, schedule_of, stop_after, throttle_of
from waqtor.campaigns.importer import template_values
from waqtor.campaigns.throttle import draw_delay, next_send_time
from waqtor.campaigns.window import SendWindow
from waqtor.errors import SessionNotFound, SessionNotReady, WaqtorError
from waqtor.messaging.draft import Draft
from waqtor.messaging.phones import Recipient
from waqtor.storage.campaigns import Outcome
from waqtor.storage.records import CampaignRecord, MediaRecord, RecipientRecord

log = logging.getLogger(__name__)

BATCH = 100
LONGEST_SLEEP = 3600.0
RETRY_SOON = 0.05  # seconds after a pass that found its campaigns changed under it
NOT_ON_WHATSAPP = "not_on_whatsapp: the number has no WhatsApp account"


@dataclass
class _Campaign:
    """What the sender keeps of one campaign between passes."""

    record: CampaignRecord
    media: MediaRecord | None = None
    queue: deque[RecipientRecord] = field(default_factory=deque)
    after: int = 0
    history: deque[datetime] = field(default_factory=deque)
    failures: int = 0
    flying: int = 0  # its sends in flight


class SessionSender:
    def __init__(self, ctx: SenderContext, session: str) -> None:
        self.session = session
        self._ctx = ctx
        self._wake = asyncio.Event()
        self.idle = asyncio.Event()  # set while it sleeps with nothing to do before a wake or a time
        self.stopping = False
        self._reload = True
        self._campaigns: dict[str, _Campaign] = {}
        self._errors: list[dict[str, Any]] = []
        self._resume_due = True
        self._turn = 0
        self.not_before: datetime | None = None
        self._primed = False
        self._flight = SendWindow(session)  # sends in flight (unthrottled campaigns)
        self._broken = False  # a send in flight failed unexpectedly
        state = ctx.sessions.get(session).monitor.state
        self._seen_error = (state.last_error or {}).get("at")
        self._ready = state.ready

    @property
    def sees_ready(self) -> bool:
        """Whether the last session update it took in said the session was ready."""
        return self._ready

    # ---- what others tell it ------------------------------------------------------------------------

    def wake(self, reload: bool = False) -> None:
        self._reload = self._reload or reload
        self.idle.clear()
        self._wake.set()

    def observe(self, view: dict[str, Any]) -> None:
        """A `session_update` of this session: a new error while not ready pauses the campaigns; being
        ready lets those a reconnect clears continue."""
        error, ready = view.get("lastError"), bool(view.get("ready"))
        if not ready and error and error.get("at") != self._seen_error:
            self._seen_error = error.get("at")
            self._errors.append(error)
            self.wake()
        # Only a change matters: every message sent publishes the session's state (its counters) too.
        if ready and not self._ready:
            self._resume_due = True
            self.wake()
        self._ready = ready

    # ---- the loop -------------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
            await self._flight.drain()
        finally:
            await self._flight.cut_off()

    async def _run(self) -> None:
        while not self.stopping:
            try:
                await self._ctx.settle(self.session)
                break
            except Exception:
                log.exception("session %s: could not settle the campaign sends a previous run left", self.session)
                await asyncio.sleep(self._ctx.poll_interval)
        while not self.stopping:
            self._wake.clear()
            try:
                wait = await self._pass()
            except WaqtorError as exc:
                # A campaign moved or vanished under us (another instance, the API): look again.
                log.info("session %s: campaigns changed during a pass (%s); looking again", self.session, exc.message)
                self._reload = True
                wait = RETRY_SOON
            except Exception:
                log.exception("session %s: the campaign sender failed; it tries again shortly", self.session)
                self._reload = True
                wait = self._ctx.poll_interval
            # Woken during the pass: go round again at once (idle would describe a pass that is stale).
            if wait is not None and not self.stopping and not self._wake.is_set():
                self.idle.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(max(wait, 0.0), LONGEST_SLEEP))
                self.idle.clear()

    async def _pass(self) -> float | None:
        """Do one thing; None to go on at once, else seconds to sleep (or until woken)."""
        ctx = self._ctx
        if self._errors:
            error, self._errors = self._errors[-1], []
            await self._pause_all(error)
        state = ctx.sessions.get(self.session).monitor.state
        if state.ready and self._resume_due:
            self._resume_due = False
            await self._resume_cleared()
        if self._reload:
            await self._load()
        now = ctx.clock()
        wait = float("inf")
        for item in list(self._campaigns.values()):
            record = item.record
            if record.status == model.SCHEDULED:
                if record.start_at is None or record.start_at <= now:
                    await ctx.lifecycle.move(record.id, "begin")
                    return None
                wait = min(wait, (record.start_at - now).total_seconds())
        for item in list(self._campaigns.values()):
            # A campaign with no one left is done, whatever its throttle would say about the next send.
            if item.record.status == model.RUNNING and not await self._refill(item):
                if self._flight:  # its last recipients are in flight (one may yet go back to pending)
                    await self._flight.drain()
                    return None
                return None if await self._finish(item) else self._ctx.poll_interval
        if not state.ready:
            return wait
        chosen, at = self._choose(now)
        if chosen is None or at is None:
            return wait
        if at > now:
            return min(wait, (at - now).total_seconds())
        if not self._unthrottled(chosen):
            if self._flight:
                await self._flight.drain()  # a throttled send waits until nothing else is in flight
                return None
            await self._send(chosen, chosen.queue.popleft())
            return None
        if self._broken:
            # A send in flight failed unexpectedly (the database?): pause as a failed pass would.
            self._broken = False
            await self._flight.drain()
            return self._ctx.poll_interval
        limit = stop_after(chosen.record)
        # With `stopAfterFailures`, never more in flight than failures it may still take: the campaign
        # pauses after exactly that many failures in a row, as when it sends one at a time.
        if self._flight.full or (limit is not None and chosen.failures + chosen.flying >= limit):
            await self._flight.landing()  # at once when nothing is in flight
            return None
        chosen.flying += 1
        self._flight.launch(self._send_in_flight(chosen, chosen.queue.popleft()))
        return None

    def _unthrottled(self, item: _Campaign) -> bool:
        """No delay, no caps, no send rate on the session: nothing orders its sends in time."""
        throttle = throttle_of(item.record.throttle)
        return (self._ctx.session_interval == 0 and throttle.max_delay <= 0 and throttle.min_delay <= 0
                and not throttle.caps())

    async def _send_in_flight(self, item: _Campaign, recipient: RecipientRecord) -> None:
        try:
            await self._send(item, recipient)
        except WaqtorError as exc:
            log.info("session %s: campaigns changed during a send (%s); looking again", self.session, exc.message)
            self._reload = True
        except Exception:
            log.exception("session %s: a campaign send failed; the recipient is settled from the message log",
                          self.session)
            self._reload = True
            self._broken = True
        finally:
            item.flying -= 1
            self.wake()

    def _choose(self, now: datetime) -> tuple[_Campaign | None, datetime | None]:
        running = [c for c in self._campaigns.values() if c.record.status == model.RUNNING]
        if not running:
            return None, None
        self._turn = (self._turn + 1) % len(running)
        best: tuple[_Campaign | None, datetime | None] = (None, None)
        for item in running[self._turn:] + running[:self._turn]:
            at = next_send_time(now, throttle_of(item.record.throttle), schedule_of(item.record),
                                list(item.history), self.not_before)
            if at is not None and (best[1] is None or at < best[1]):
                best = (item, at)
        return best

    async def _load(self) -> None:
        self._reload = False
        repo = self._ctx.repo
        found = await repo.for_session(self.session, model.ACTIVE)
        if not self._primed and found:
            # The delay after the last send of a previous run still applies.
            self._primed = True
            last = await repo.last_attempt([record.id for record in found])
            if last is not None:
                self.not_before = last + timedelta(seconds=min(throttle_of(r.throttle).min_delay for r in found))
        kept: dict[str, _Campaign] = {}
        for record in found:
            item = self._campaigns.get(record.id)
            if item is None:
                item = _Campaign(record)
                count, span = throttle_of(record.throttle).history_needed
                item.history = deque(await repo.history(record.id, self._ctx.clock() - span, count),
                                     maxlen=count)
            item.record = record
            if record.message.get("mediaId") and item.media is None:
                try:
                    item.media = await self._ctx.messages.media.get(record.message["mediaId"])
                except WaqtorError as exc:
                    await self._ctx.lifecycle.move(record.id, "fail", reason=exc.code,
                                                      message=f"its media file is gone: {exc.message}")
                    continue
            kept[record.id] = item
        self._campaigns = kept

    async def _refill(self, item: _Campaign) -> bool:
        """Make sure the campaign's queue holds its next pending recipients; False when none is left."""
        if not item.queue:
            batch = await self._ctx.repo.pending(item.record.id, item.after, BATCH)
            if not batch and item.after:
                # A recipient may have gone back to pending behind us; what waits to be written first.
                await self._ctx.outcomes.flush()
                item.after = 0
                batch = await self._ctx.repo.pending(item.record.id, 0, BATCH)
            item.queue.extend(batch)
            if batch:
                item.after = batch[-1].id
        return bool(item.queue)

    async def _finish(self, item: _Campaign) -> bool:
        """Complete a campaign with no one pending; False when a recipient is still left `sending`."""
        ctx = self._ctx
        self._reload = True
        await ctx.outcomes.flush()
        await ctx.messages.flush_counts(self.session)  # a completed campaign is counted in messagesSent
        if await ctx.repo.has_open(item.record.id):
            # Nothing is in flight on this session between two sends: a recipient left sending was cut
            # off by an error of an earlier pass, and is settled from the message log like after a crash.
            await ctx.settle(self.session)
            if await ctx.repo.has_open(item.record.id):
                return False
        await ctx.lifecycle.move(item.record.id, "complete")
        return True

    # ---- one recipient --------------------------------------------------------------------------------

    async def _send(self, item: _Campaign, recipient: RecipientRecord) -> None:
        ctx, record = self._ctx, item.record
        to = Recipient(jid=recipient.jid, phone=recipient.phone if recipient.phone.startswith("+") else None)
        if checks_whatsapp(record):
            engine = ctx.sessions.get(self.session).engine
            try:
                known = await engine.is_on_whatsapp([recipient.jid])
            except SessionNotReady:
                item.queue.appendleft(recipient)
                return
            except Exception:
                log.exception("session %s: could not check whether %s is on WhatsApp", self.session, to.phone)
                known = None
            if known is not None and known.get(recipient.jid) is False:
                if await ctx.repo.skip(recipient.id, NOT_ON_WHATSAPP, ctx.clock()):
                    await ctx.events.recipient(record.session, record.id, recipient.id, recipient.phone, model.SKIPPED,
                                               NOT_ON_WHATSAPP)
                return
        text = record.message.get("text")
        try:
            if text is not None:
                text = ctx.messages.render(text, to, template_values(recipient.name, recipient.variables))
        except WaqtorError as exc:
            failure = f"{exc.code}: {exc.message}"
            if ctx.outcomes.put(Outcome(recipient.id, model.R_FAILED, ctx.clock(), failure)):
                await ctx.events.recipient(record.session, record.id, recipient.id, recipient.phone, model.R_FAILED,
                                           failure)
            return
        now = ctx.clock()
        if not await ctx.repo.claim(recipient.id, record.id, now):
            # Paused or cancelled meanwhile, or no longer pending: look again from the start.
            self._reload = True
            item.queue.clear()
            item.after = 0
            return
        ctx.outcomes.know(recipient.id, model.SENDING)
        await ctx.events.recipient(record.session, record.id, recipient.id, recipient.phone, model.SENDING)
        item.history.append(now)
        self.not_before = now + timedelta(seconds=draw_delay(throttle_of(record.throttle), ctx.rng))
        draft = Draft(to=to, type=record.message.get("type", "text"), text=text, media=item.media)
        try:
            sent = await ctx.messages.send_for_campaign(self.session, draft, campaign_id=record.id,
                                                           recipient_id=recipient.id)
        except (SessionNotReady, SessionNotFound):
            await self._release(item, recipient)
            return
        if sent.status == "failed":
            code = model.error_code(sent.error)
            if code == "session_not_ready":
                await self._release(item, recipient)
                return
            if code != "not_on_whatsapp":
                item.failures += 1
            status = model.R_FAILED
        else:
            item.failures = 0
            status = model.FROM_MESSAGE.get(sent.status, model.SENT)
        reason = sent.error if status == model.R_FAILED else None
        if ctx.outcomes.put(Outcome(recipient.id, status, ctx.clock(), reason, sent.id)):
            await ctx.events.recipient(record.session, record.id, recipient.id, recipient.phone, status, reason,
                                       sent.id)
        limit = stop_after(record)
        if limit is not None and item.failures >= limit:
            # The count goes back to 0 only once the pause is written: until then it keeps the send
            # window from launching more recipients, whose claims would still find the campaign running.
            try:
                await ctx.lifecycle.move(record.id, "pause", reason=model.TOO_MANY_FAILURES,
                                            message=f"{limit} messages in a row failed; the last: {sent.error}")
            finally:
                item.failures = 0

    async def _release(self, item: _Campaign, recipient: RecipientRecord) -> None:
        """The engine never had the message (the session was not ready): back to pending, sent later."""
        ctx = self._ctx
        await ctx.repo.apply([Outcome(recipient.id, model.PENDING, ctx.clock())])
        ctx.outcomes.know(recipient.id, model.PENDING)
        item.queue.appendleft(recipient)
        await ctx.events.recipient(item.record.session, item.record.id, recipient.id, recipient.phone, model.PENDING)

    # ---- the session's health -------------------------------------------------------------------------

    async def _pause_all(self, error: dict[str, Any]) -> None:
        code = str(error.get("code") or "session_error")
        message = str(error.get("message") or code)
        for record in await self._ctx.repo.for_session(self.session, model.ACTIVE):
            try:
                await self._ctx.lifecycle.move(record.id, "pause", reason=code, message=message)
            except WaqtorError:
                continue  # it moved meanwhile
        self._reload = True

    async def _resume_cleared(self) -> None:
        for record in await self._ctx.repo.for_session(self.session, {model.PAUSED}):
            if not model.resumes_by_itself(record.reason_code):
                continue
            ahead = record.start_at is not None and record.start_at > self._ctx.clock()
            try:
                await self._ctx.lifecycle.move(record.id, "resume", to=model.SCHEDULED if ahead else None)
            except WaqtorError:
                continue
        self._reload = True
