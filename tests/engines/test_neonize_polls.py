"""Polls on the neonize engine, both ways: the poll neonize's build_poll_vote_creation makes (with its secret)
handed to send_message, and real PollCreationMessage and encrypted PollUpdateMessage events through neonize's
own event path; the vote is decrypted by neonize's decrypt_poll_vote (faked at the Go layer, which is where
whatsmeow's DecryptPollVote and its store of poll secrets live)."""

from __future__ import annotations

import hashlib
import logging

import pytest
from neonize.events import MessageEv
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    Message,
    PollCreationMessage,
    PollEncValue,
    PollUpdateMessage,
    PollVoteMessage,
)

from tests.conftest import eventually
from tests.engines import test_neonize_engine
from tests.engines.neonize_fakes import feed, jid
from tests.engines.test_neonize_engine import Rig
from tests.engines.test_neonize_replies_reactions import ANA_JID, OWN_JID, event
from waqtor.engines.base import MessageIn, OutgoingMessage, PollSpec, PollVote, Quoted, poll_option_hash
from waqtor.engines.neonize import translate

rig = test_neonize_engine.rig  # the fixture: a neonize engine on the fake Go side


async def test_a_poll_is_sent_as_whatsmeow_builds_it_with_its_secret(rig: Rig) -> None:
    await rig.linked()
    poll = PollSpec("Which bread?", ("Rye", "Spelt", "Wheat"), multiple=False)
    result = await rig.engine.send(OutgoingMessage(to=ANA_JID, type="poll", text="Which bread?", poll=poll))
    assert result.id == "3EB0FAKE0001"
    (to, body), = rig.fake.sent
    assert (to.User, to.Server) == ("4915199999999", "s.whatsapp.net")
    sent = body.pollCreationMessage
    assert (sent.name, [o.optionName for o in sent.options], sent.selectableOptionsCount) == (
        "Which bread?", ["Rye", "Spelt", "Wheat"], 1)
    assert body.messageContextInfo.messageSecret == rig.fake.poll_secrets[0]
    assert len(rig.fake.poll_secrets[0]) == 32


async def test_a_poll_of_several_answers_that_quotes_carries_the_quote_on_the_poll(rig: Rig) -> None:
    await rig.linked()
    quoted = Quoted(id="3EB0OURS", sender=None, from_me=True, type="text", text="menu")
    await rig.engine.send(OutgoingMessage(to=ANA_JID, type="poll", text="Extras?", reply_to="3EB0OURS", quoted=quoted,
                                          poll=PollSpec("Extras?", ("Butter", "Jam"), multiple=True)))
    (_, body), = rig.fake.sent
    assert body.pollCreationMessage.selectableOptionsCount == 0  # whatsmeow: 0 lets a voter choose any
    context = body.pollCreationMessage.contextInfo
    assert (context.stanzaID, context.participant, context.quotedMessage.conversation) == ("3EB0OURS", OWN_JID, "menu")


def test_an_inbound_poll_is_a_poll_message_with_an_empty_tally() -> None:
    options = [PollCreationMessage.Option(optionName=name) for name in ("Yes", "No")]
    body = Message(pollCreationMessage=PollCreationMessage(name="Open on Sunday?", options=options,
                                                           selectableOptionsCount=1))
    message = translate.message_in(event(body))
    assert isinstance(message, MessageIn)
    assert (message.type, message.text) == ("poll", "Open on Sunday?")
    assert message.content == {"question": "Open on Sunday?", "multiple": False, "voters": {},
                               "options": [{"name": "Yes", "votes": 0}, {"name": "No", "votes": 0}]}


def vote_event(poll_id: str = "3EB0POLL") -> MessageEv:
    # As WhatsApp sends it: the poll's key and the vote AES-GCM encrypted (payload and IV); only whatsmeow,
    # holding the poll's secret, can read it.
    update = PollUpdateMessage(pollCreationMessageKey=MessageKey(remoteJID=ANA_JID, fromMe=True, ID=poll_id),
                               vote=PollEncValue(encPayload=b"\x8a" * 48, encIV=b"\x01" * 12),
                               senderTimestampMS=1_761_650_002_000)
    vote = event(Message(pollUpdateMessage=update), message_id="3EB0VOTE01")
    # What the Go side always fills (proto2 required fields: neonize serializes the event back to decrypt it).
    for name in ("IsEphemeral", "IsViewOnce", "IsViewOnceV2", "IsViewOnceV2Extension", "IsDocumentWithCaption",
                 "IsLottieSticker", "IsEdit"):
        setattr(vote, name, False)
    vote.UnavailableRequestID, vote.RetryCount = "", 0
    info = vote.Info
    info.ServerID, info.Type, info.Category, info.Multicast, info.MediaType, info.Edit = 0, "text", "", False, "", ""
    for name in ("SenderAlt", "RecipientAlt", "BroadcastListOwner"):
        getattr(info.MessageSource, name).CopyFrom(jid(""))
    return vote


async def test_a_vote_is_decrypted_by_neonize_and_becomes_poll_vote_with_the_options_hashes(rig: Rig) -> None:
    client = await rig.linked()
    chosen = [hashlib.sha256(b"Spelt").digest(), hashlib.sha256(b"Rye").digest()]
    rig.fake.vote = PollVoteMessage(selectedOptions=chosen)
    await feed(client, vote_event())
    await eventually(lambda: bool(rig.of(PollVote)), what="PollVote")
    (vote,) = rig.of(PollVote)
    assert (vote.id, vote.chat, vote.sender, vote.from_me) == ("3EB0POLL", ANA_JID, ANA_JID, False)
    assert vote.options == (poll_option_hash("Spelt"), poll_option_hash("Rye"))
    assert vote.timestamp.timestamp() == 1_761_650_002.0
    (asked,) = rig.fake.decrypted  # neonize's whole event, as whatsmeow's DecryptPollVote takes it
    assert (asked.Info.ID, asked.Message.pollUpdateMessage.vote.encIV) == ("3EB0VOTE01", b"\x01" * 12)
    assert rig.of(MessageIn) == []


async def test_a_vote_neonize_cannot_decrypt_is_dropped_with_a_warning(rig: Rig,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    client = await rig.linked()
    rig.fake.vote_error = "failed to get message secret: not found"
    await feed(client, vote_event("3EB0UNKNOWN"))
    await eventually(lambda: "could not be decrypted" in caplog.text, what="the warning")
    assert rig.of(PollVote) == [] and rig.of(MessageIn) == []
