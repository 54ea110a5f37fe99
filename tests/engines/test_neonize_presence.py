"""Presence on the neonize engine: real neonize Presence and ChatPresence events through neonize's own event
path become PresenceUpdate events, and a subscription or the account's own presence reaches neonize's client
(on the fake Go side). A PresenceUpdate crosses the worker pipe as it is."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest
from neonize.events import ChatPresenceEv, PresenceEv
from neonize.proto.Neonize_pb2 import MessageSource

from tests.conftest import eventually
from tests.engines import test_neonize_engine
from tests.engines.neonize_fakes import feed, jid
from tests.engines.test_neonize_engine import Rig
from waqtor.engines.base import PresenceUpdate
from waqtor.engines.neonize import translate
from waqtor.errors import EngineError, SessionNotReady

ANA = "4915199999999"
ANA_JID = f"{ANA}@s.whatsapp.net"
NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)

rig = test_neonize_engine.rig  # the fixture: a neonize engine on the fake Go side


def typing_in(chat: str, server: str = "s.whatsapp.net", *, state: int = ChatPresenceEv.COMPOSING,
              media: int = ChatPresenceEv.TEXT, sender: str = ANA) -> ChatPresenceEv:
    source = MessageSource(Chat=jid(chat, server), Sender=jid(sender), IsFromMe=False, IsGroup=server == "g.us")
    return ChatPresenceEv(MessageSource=source, State=state, Media=media)


async def test_a_contact_online_and_offline_with_last_seen_arrive_as_presence_updates(rig: Rig) -> None:
    client = await rig.linked()
    await feed(client, PresenceEv(From=jid(ANA), Unavailable=False, LastSeen=0))
    await feed(client, PresenceEv(From=jid(ANA), Unavailable=True, LastSeen=1_765_159_200))
    await eventually(lambda: len(rig.of(PresenceUpdate)) == 2, what="two PresenceUpdates")
    online, offline = rig.of(PresenceUpdate)
    assert (online.chat, online.sender, online.state, online.last_seen) == (ANA_JID, ANA_JID, "available", None)
    assert (offline.sender, offline.state) == (ANA_JID, "unavailable")
    assert offline.last_seen == datetime(2025, 12, 8, 2, 0, tzinfo=UTC)


def test_offline_without_a_last_seen_or_with_whatsmeows_zero_time_has_none() -> None:
    for seen in (0, -62_135_596_800):  # not told; Go's zero time as Unix seconds
        update = translate.presence(PresenceEv(From=jid(ANA), Unavailable=True, LastSeen=seen), NOW)
        assert update is not None
        assert (update.state, update.last_seen, update.timestamp) == ("unavailable", None, NOW)


async def test_typing_recording_and_paused_in_a_chat_arrive_as_presence_updates(rig: Rig) -> None:
    client = await rig.linked()
    await feed(client, typing_in(ANA))
    await feed(client, typing_in(ANA, media=ChatPresenceEv.AUDIO))
    await feed(client, typing_in(ANA, state=ChatPresenceEv.PAUSED))
    await eventually(lambda: len(rig.of(PresenceUpdate)) == 3, what="three PresenceUpdates")
    assert [(u.chat, u.sender, u.state, u.last_seen) for u in rig.of(PresenceUpdate)] == [
        (ANA_JID, ANA_JID, "typing", None), (ANA_JID, ANA_JID, "recording", None), (ANA_JID, ANA_JID, "paused", None)]


def test_typing_in_a_group_names_the_group_and_the_member() -> None:
    update = translate.presence(typing_in("120363000000000001", "g.us"), NOW)
    assert update is not None
    assert (update.chat, update.sender, update.state) == ("120363000000000001@g.us", ANA_JID, "typing")


def test_a_presence_without_a_person_is_dropped() -> None:
    assert translate.presence(PresenceEv(Unavailable=False), NOW) is None
    assert translate.presence(ChatPresenceEv(MessageSource=MessageSource(Chat=jid(ANA))), NOW) is None


def test_a_presence_update_crosses_the_worker_pipe_unchanged() -> None:
    update = PresenceUpdate(chat=ANA_JID, sender=ANA_JID, state="unavailable", timestamp=NOW, last_seen=NOW)
    assert pickle.loads(pickle.dumps(update)) == update


async def test_a_subscription_and_the_accounts_own_presence_reach_neonize(rig: Rig) -> None:
    await rig.linked()
    await rig.engine.subscribe_presence(ANA_JID)
    await rig.engine.send_presence("available")
    await rig.engine.send_presence("unavailable")
    assert [(j.User, j.Server) for j in rig.fake.presence_subscriptions] == [(ANA, "s.whatsapp.net")]
    assert rig.fake.own_presences == [b"available", b"unavailable"]


async def test_whatsapps_refusal_of_a_subscription_is_an_engine_error(rig: Rig) -> None:
    await rig.linked()
    rig.fake.presence_error = "server returned error 401"
    with pytest.raises(EngineError):
        await rig.engine.subscribe_presence(ANA_JID)
    with pytest.raises(EngineError):
        await rig.engine.send_presence("available")


async def test_presence_calls_wait_for_the_connection(rig: Rig) -> None:
    await rig.running()
    with pytest.raises(SessionNotReady):
        await rig.engine.subscribe_presence(ANA_JID)
    with pytest.raises(SessionNotReady):
        await rig.engine.send_presence("available")
    assert rig.fake.presence_subscriptions == [] and rig.fake.own_presences == []
