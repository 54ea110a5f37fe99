"""WebSocket tickets: a browser asks for one over HTTP (key in a header) and opens `/ws?ticket=…`, so
no API key ever sits in a URL, a browser history or a proxy log.

A ticket is 256 random bits, valid `TICKET_TTL` seconds and once; it carries the identity of the key it
was issued to (scopes and sessions). Only its SHA-256 is stored, in the database, so the WebSocket may
land on any instance that shares it; redeeming deletes it in the same statement that reads it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from waqtor.access.gateway_key import hash_key
from waqtor.access.scopes import Identity
from waqtor.clock import Clock, utcnow
from waqtor.storage.keys import KeyRepository
from waqtor.storage.records import TicketRecord

TICKET_TTL = 60.0
TICKET_PREFIX = "wqtt_"


class Tickets:
    def __init__(self, repo: KeyRepository, clock: Clock = utcnow, ttl: float = TICKET_TTL) -> None:
        self._repo = repo
        self._clock = clock
        self._ttl = timedelta(seconds=ttl)

    async def issue(self, identity: Identity) -> tuple[str, datetime]:
        """A new ticket for `identity` and when it expires."""
        now = self._clock()
        expires_at = now + self._ttl
        ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
        record = TicketRecord(
            key_id=identity.key_id, scopes=tuple(sorted(identity.scopes)),
            sessions=tuple(sorted(identity.sessions)) if identity.sessions is not None else None,
            expires_at=expires_at,
        )
        await self._repo.add_ticket(hash_key(ticket), record, now)
        return ticket, expires_at

    async def redeem(self, ticket: str | None) -> Identity | None:
        """The identity the ticket carries, once; None when it is unknown, used or expired (a ticket
        whose key was revoked is gone with the key)."""
        if not ticket or len(ticket) > 256:
            return None
        record = await self._repo.take_ticket(hash_key(ticket))
        if record is None or record.expires_at <= self._clock():
            return None
        return Identity(
            key_id=record.key_id, name="ticket", scopes=frozenset(record.scopes),
            sessions=frozenset(record.sessions) if record.sessions is not None else None,
        )
