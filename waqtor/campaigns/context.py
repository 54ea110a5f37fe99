"""What a session's campaign sender works with, handed to it by the runner that starts it."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from waqtor.campaigns.lifecycle import Lifecycle
from waqtor.campaigns.notify import CampaignEvents
from waqtor.campaigns.outcomes import OutcomeBuffer
from waqtor.clock import Clock
from waqtor.messaging.service import MessageService
from waqtor.sessions.manager import SessionManager
from waqtor.storage.campaigns import CampaignRepository


@dataclass(frozen=True, slots=True)
class SenderContext:
    repo: CampaignRepository
    lifecycle: Lifecycle  # every status change of a campaign
    outcomes: OutcomeBuffer  # recipients' statuses, written in batches
    events: CampaignEvents  # `recipient` publishes a recipient's new status
    messages: MessageService  # renders, sends, counts; its media store has the campaigns' files
    sessions: SessionManager  # the sender's session, its state and engine
    settle: Callable[[str], Awaitable[None]]  # settles what a previous run left in flight on a session
    clock: Clock
    rng: random.Random  # draws the delays between sends
    poll_interval: float  # seconds between looks for changes made on other instances
    session_interval: float  # seconds between two sends the session's send rate allows (0: no rate)
