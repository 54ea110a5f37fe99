"""Contacts of a session's account on WhatsApp: whether numbers have an account, a contact's profile and
picture, blocking. Every question goes to the session's engine on the instance that runs the session
(session commands `contacts.*`); an engine that cannot answer refuses with NotSupportedByEngine before
anything else is checked. Profile pictures are kept in the media store like any other file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from waqtor.clock import Clock
from waqtor.config import Settings
from waqtor.engines import (
    CONTACT_BLOCK,
    CONTACT_CHECK,
    CONTACT_PICTURE,
    CONTACT_PROFILE,
    PRESENCE_SUBSCRIBE,
    require_feature,
)
from waqtor.errors import InvalidInput, NotFound, SessionNotReady, WaqtorError
from waqtor.messaging import phones
from waqtor.messaging.download import fetch
from waqtor.messaging.media import MediaStore
from waqtor.messaging.number_cache import NumberCache
from waqtor.messaging.views import media_view
from waqtor.sessions.manager import SessionManager
from waqtor.sessions.session import Session

MAX_CHECK = 100  # numbers one check may ask about


class ContactService:
    def __init__(self, settings: Settings, sessions: SessionManager, media: MediaStore, http: httpx.AsyncClient,
                 clock: Clock) -> None:
        self._settings = settings
        self._sessions = sessions
        self._media = media
        self._http = http
        self._clock = clock
        self._cache = NumberCache()
        sessions.handle("contacts.check", self._check_here)
        sessions.handle("contacts.profile", self._profile_here)
        sessions.handle("contacts.picture", self._picture_here)
        sessions.handle("contacts.block", self._block_here)
        sessions.handle("contacts.presence_subscribe", self._subscribe_here)
        sessions.add_hooks(stopped=self._forget, deleted=self._forget)

    async def _forget(self, session: str) -> None:
        self._cache.forget(session)

    def person(self, raw: str) -> phones.Recipient:
        """The person `raw` names (any phone format); InvalidInput (`invalid_phone`) for anything else,
        a group or a `@lid` chat included."""
        recipient = phones.normalize(raw, self._settings.default_region)
        if recipient.phone is None:
            raise phones.invalid_phone(raw, "not_a_person", "name a person by phone number, not a group or a @lid chat")
        return recipient

    async def _ready(self, session: str, feature: str) -> None:
        state = await self._sessions.state_of(session)
        require_feature(state.engine, feature)  # first: an engine that cannot never will, connected or not
        if not state.ready:
            raise SessionNotReady(f"session {session!r} is not connected (it is {state.status})")

    # ---- check ------------------------------------------------------------------------------------

    async def check(self, session: str, numbers: Sequence[str]) -> list[dict[str, Any]]:
        """One answer per entry of `numbers`, in order: `{input, phone, onWhatsApp, jid}` (`onWhatsApp`
        null when WhatsApp did not answer for it), or for an entry that is no phone number, `phone`
        null and its `error` (`invalid_phone`)."""
        if len(numbers) > MAX_CHECK:
            raise InvalidInput(f"phones: at most {MAX_CHECK} numbers per check (got {len(numbers)})",
                               code="too_many_numbers")
        await self._ready(session, CONTACT_CHECK)
        people: list[phones.Recipient | WaqtorError] = []
        for raw in numbers:
            try:
                people.append(self.person(raw))
            except InvalidInput as exc:
                people.append(exc)
        jids = list(dict.fromkeys(person.jid for person in people if isinstance(person, phones.Recipient)))
        known: dict[str, Any] = {}
        if jids:
            known = (await self._sessions.command(session, "contacts.check", {"jids": jids}))["answers"]
        answers: list[dict[str, Any]] = []
        for raw, person in zip(numbers, people, strict=True):
            if isinstance(person, WaqtorError):
                answers.append({"input": raw, "phone": None, "onWhatsApp": None, "jid": None,
                                "error": {"code": person.code, "message": person.message}})
                continue
            account = known.get(person.jid, _UNKNOWN)
            answers.append({"input": raw, "phone": person.phone, "onWhatsApp": None if account is _UNKNOWN
                            else account is not None, "jid": None if account is _UNKNOWN else account})
        return answers

    async def _check_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        jids = [str(jid) for jid in args["jids"]]
        cached = self._cache.known(session.name, jids, self._clock())
        asked = [jid for jid in jids if jid not in cached]
        fresh = await session.engine.check_numbers(asked) if asked else {}
        self._cache.put(session.name, fresh, self._clock())
        return {"answers": {**cached, **fresh}}

    # ---- profile, picture, block ----------------------------------------------------------------

    async def profile(self, session: str, raw: str) -> dict[str, Any]:
        """`{phone, jid, name, about, business}` of the person `raw` names."""
        person = self.person(raw)
        await self._ready(session, CONTACT_PROFILE)
        answer = await self._sessions.command(session, "contacts.profile", {"jid": person.jid})
        return {"phone": person.phone, **answer}

    async def _profile_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        profile = await session.engine.contact_profile(str(args["jid"]))
        return {"jid": profile.jid, "name": profile.name, "about": profile.about, "business": profile.business}

    async def picture(self, session: str, raw: str) -> dict[str, Any]:
        """`{phone, jid, pictureId, media}`: the person's profile picture, stored in the media store;
        NotFound (`no_picture`) when the person has none or hides it from the account."""
        person = self.person(raw)
        await self._ready(session, CONTACT_PICTURE)
        answer = await self._sessions.command(session, "contacts.picture", {"jid": person.jid})
        return {"phone": person.phone, **answer}

    async def _picture_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        jid = str(args["jid"])
        picture = await session.engine.profile_picture(jid)
        if picture is None:
            raise NotFound(f"{jid} has no profile picture, or hides it from this account", code="no_picture")
        name = f"profile-{jid.partition('@')[0]}.jpg"
        if picture.data is not None:
            stored = await self._media.save(_once(picture.data), name, "image")
        else:
            assert picture.url is not None, "an engine's picture has its bytes or a URL"
            stored = await fetch(self._media, self._http, picture.url, timeout=self._settings.media_download_timeout,
                                 given_name=name, requested="image")
        return {"jid": jid, "pictureId": picture.picture_id, "media": media_view(stored)}

    async def block(self, session: str, raw: str, blocked: bool) -> dict[str, Any]:
        """Block (`blocked`) or unblock the person `raw` names: `{phone, jid, blocked}`."""
        person = self.person(raw)
        await self._ready(session, CONTACT_BLOCK)
        await self._sessions.command(session, "contacts.block", {"jid": person.jid, "blocked": blocked})
        return {"phone": person.phone, "jid": person.jid, "blocked": blocked}

    async def _block_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        await session.engine.set_blocked(str(args["jid"]), bool(args["blocked"]))
        return {}

    # ---- presence ---------------------------------------------------------------------------------

    async def subscribe_presence(self, session: str, raw: str) -> dict[str, Any]:
        """Ask WhatsApp to tell the account when the person `raw` names goes online or offline (published as
        `presence_update`): `{phone, jid, subscribed}`. WhatsApp forgets it when the connection drops."""
        person = self.person(raw)
        await self._ready(session, PRESENCE_SUBSCRIBE)
        await self._sessions.command(session, "contacts.presence_subscribe", {"jid": person.jid})
        return {"phone": person.phone, "jid": person.jid, "subscribed": True}

    async def _subscribe_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        await session.engine.subscribe_presence(str(args["jid"]))
        return {}


_UNKNOWN = object()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
