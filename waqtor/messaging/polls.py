"""Polls: the running tally of a logged poll, and the votes the engines report.

A poll is logged as a message of type `poll` whose content is the tally (`waqtor.engines.base.new_poll`):
`{"question", "options": [{"name", "votes"}], "multiple", "voters": {voter: [names]}}`. WhatsApp carries a
vote as the SHA-256 hashes of the option names chosen; they are named from the poll's own options (a hash
no option has is left out). A voter's latest vote replaces the earlier one, and an empty vote takes it
away. Each vote is published as `poll_vote`. Votes of a session are applied by the instance that runs it,
one at a time (a lock per session), so a read-modify-write of a tally cannot lose one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from waqtor import events
from waqtor.bus import Bus
from waqtor.clock import Clock, iso_ms
from waqtor.engines.base import PollVote, poll_option_hash
from waqtor.storage.messages import MessageRepository

log = logging.getLogger(__name__)

MAX_OPTIONS = 12  # WhatsApp's limit of options in a poll


def named(poll: dict[str, Any], hashes: tuple[str, ...]) -> list[str]:
    """The option names of `poll` that `hashes` (SHA-256, hex) choose, in the poll's order."""
    chosen = {value.lower() for value in hashes if isinstance(value, str)}
    return [option["name"] for option in poll.get("options") or []
            if poll_option_hash(str(option["name"])) in chosen]


def tallied(poll: dict[str, Any], voter: str, names: list[str]) -> dict[str, Any] | None:
    """`poll` with `voter`'s vote for `names` ([] takes it away), its counts recomputed; None when nothing
    changes (the same vote again)."""
    voters: dict[str, list[str]] = {key: list(value) for key, value in (poll.get("voters") or {}).items()}
    if voters.get(voter, []) == names:
        return None
    if names:
        voters[voter] = names
    else:
        voters.pop(voter, None)
    counts: defaultdict[str, int] = defaultdict(int)
    for chosen in voters.values():
        for name in chosen:
            counts[name] += 1
    options = [{"name": option["name"], "votes": counts[option["name"]]} for option in poll.get("options") or []]
    return {**poll, "options": options, "voters": voters}


class Polls:
    """Applies the votes the engines report (`received`) to the polls of the log."""

    def __init__(self, repo: MessageRepository, bus: Bus, clock: Clock) -> None:
        self._repo = repo
        self._bus = bus
        self._clock = clock
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def received(self, session: str, vote: PollVote) -> None:
        """Count `vote` on its poll and publish `poll_vote`. A vote on a poll the log does not have cannot
        be named (only the hashes travel): it is dropped with a note; the same vote again changes nothing
        and is not published again."""
        if not isinstance(vote.id, str) or not vote.id or not isinstance(vote.sender, str) or not vote.sender:
            log.warning("session %s: ignored a poll vote without poll id or voter", session)
            return
        at = vote.timestamp if isinstance(vote.timestamp, datetime) else self._clock()
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        voter = vote.sender[:128]
        async with self._locks[session]:
            record = await self._repo.find_by_wa_id(session, vote.id[:128])
            if record is None or record.type != "poll" or not isinstance(record.content, dict):
                log.info("session %s: a vote on poll %s, which the log does not have, was dropped", session,
                         vote.id[:128])
                return
            names = named(record.content, tuple(vote.options[:MAX_OPTIONS]))
            poll = tallied(record.content, voter, names)
            if poll is None:
                return
            await self._repo.set_content(record.id, poll)
        data = {"messageId": record.id, "waId": record.wa_id, "session": session, "chat": record.chat,
                "from": voter, "fromMe": vote.from_me, "options": names, "timestamp": iso_ms(at)}
        await self._bus.publish(events.POLL_VOTE, data, session=session)
