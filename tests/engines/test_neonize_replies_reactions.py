"""Replies and reactions on the neonize engine, both ways: real neonize protobuf messages through neonize's own
event path in, and the bodies the engine hands neonize's send_message out (on the fake Go side)."""

from __future__ import annotations

from neonize.events import MessageEv
from neonize.proto.Neonize_pb2 import MessageInfo, MessageSource
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    ContextInfo,
    ExtendedTextMessage,
    ImageMessage,
    Message,
    ReactionMessage,
)

from tests.conftest import eventually
from tests.engines import test_neonize_engine
from tests.engines.neonize_fakes import feed, jid
from tests.engines.test_neonize_engine import Rig
from waqtor.engines.base import MessageIn, MessageReaction, OutgoingMessage, OutgoingReaction, Quoted
from waqtor.engines.neonize import translate

ANA = "4915199999999"
ANA_JID = f"{ANA}@s.whatsapp.net"
OWN_JID = "4915112345678@s.whatsapp.net"  # the account the fake Go side links (rig.linked)

rig = test_neonize_engine.rig  # the fixture: a neonize engine on the fake Go side


def event(body: Message, *, sender: str = ANA, from_me: bool = False, chat: str | None = None,
          message_id: str = "3EB0IN0001") -> MessageEv:
    chat_jid = jid(chat, "g.us") if chat else jid(sender)
    source = MessageSource(Chat=chat_jid, Sender=jid(sender), IsFromMe=from_me, IsGroup=chat is not None)
    info = MessageInfo(MessageSource=source, ID=message_id, Pushname="Ana", Timestamp=1_761_650_000_123)
    return MessageEv(Info=info, Message=body)


async def test_an_inbound_reply_names_the_message_it_quotes(rig: Rig) -> None:
    client = await rig.linked()
    quote = ContextInfo(stanzaID="3EB0QUOTED", participant=OWN_JID, quotedMessage=Message(conversation="menu?"))
    await feed(client, event(Message(extendedTextMessage=ExtendedTextMessage(text="yes please", contextInfo=quote))))
    await eventually(lambda: bool(rig.of(MessageIn)), what="MessageIn")
    (message,) = rig.of(MessageIn)
    assert (message.type, message.text, message.reply_to) == ("text", "yes please", "3EB0QUOTED")


def test_a_caption_that_quotes_names_the_quoted_message_too() -> None:
    body = Message(imageMessage=ImageMessage(caption="this one", contextInfo=ContextInfo(stanzaID="3EB0Q2")))
    message = translate.message_in(event(body))
    assert isinstance(message, MessageIn)
    assert (message.type, message.reply_to) == ("image", "3EB0Q2")


def test_a_message_that_quotes_nothing_has_no_reply_to() -> None:
    message = translate.message_in(event(Message(extendedTextMessage=ExtendedTextMessage(text="plain"))))
    assert isinstance(message, MessageIn)
    assert message.reply_to is None


async def test_an_inbound_reaction_becomes_message_reaction_not_a_message(rig: Rig) -> None:
    client = await rig.linked()
    key = MessageKey(remoteJID=ANA_JID, fromMe=True, ID="3EB0MINE")
    await feed(client, event(Message(reactionMessage=ReactionMessage(key=key, text="👍",
                                                                     senderTimestampMS=1_761_650_001_000))))
    await eventually(lambda: bool(rig.of(MessageReaction)), what="MessageReaction")
    (reaction,) = rig.of(MessageReaction)
    assert (reaction.id, reaction.chat, reaction.sender, reaction.emoji, reaction.from_me) == (
        "3EB0MINE", ANA_JID, ANA_JID, "👍", False)
    assert reaction.timestamp.timestamp() == 1_761_650_001.0
    assert rig.of(MessageIn) == []


def test_a_reaction_taken_away_has_an_empty_emoji() -> None:
    key = MessageKey(remoteJID=ANA_JID, fromMe=True, ID="3EB0MINE")
    reaction = translate.message_in(event(Message(reactionMessage=ReactionMessage(key=key, text=""))))
    assert isinstance(reaction, MessageReaction)
    assert reaction.emoji == ""


async def test_a_reply_carries_the_quoted_message_with_its_sender(rig: Rig) -> None:
    await rig.linked()
    quoted = Quoted(id="3EB0QUOTED", sender=ANA_JID, from_me=False, type="text", text="menu?")
    await rig.engine.send(OutgoingMessage(to=ANA_JID, text="here it is", reply_to="3EB0QUOTED", quoted=quoted))
    (_, body), = rig.fake.sent
    context = body.extendedTextMessage.contextInfo
    assert body.extendedTextMessage.text == "here it is"
    assert (context.stanzaID, context.participant) == ("3EB0QUOTED", ANA_JID)
    assert context.quotedMessage.conversation == "menu?"


async def test_a_reply_to_the_accounts_own_message_names_the_account_as_its_sender(rig: Rig) -> None:
    await rig.linked()
    quoted = Quoted(id="3EB0OURS", sender=None, from_me=True, type="image", text="our menu")
    await rig.engine.send(OutgoingMessage(to=ANA_JID, text="see above", reply_to="3EB0OURS", quoted=quoted))
    (_, body), = rig.fake.sent
    context = body.extendedTextMessage.contextInfo
    assert (context.stanzaID, context.participant) == ("3EB0OURS", OWN_JID)
    assert context.quotedMessage.imageMessage.caption == "our menu"


async def test_a_reaction_is_sent_with_the_key_of_the_message_it_reacts_to(rig: Rig) -> None:
    await rig.linked()
    result = await rig.engine.react(OutgoingReaction(chat=ANA_JID, message_id="3EB0THEIRS", from_me=False,
                                                     sender=ANA_JID, emoji="❤️"))
    assert result.id == "3EB0FAKE0001"
    (to, body), = rig.fake.sent
    assert (to.User, to.Server) == (ANA, "s.whatsapp.net")
    key = body.reactionMessage.key
    assert (key.remoteJID, key.fromMe, key.ID, key.participant) == (ANA_JID, False, "3EB0THEIRS", "")
    assert body.reactionMessage.text == "❤️"
    assert body.reactionMessage.senderTimestampMS > 0


async def test_a_reaction_in_a_group_names_the_author_of_the_message(rig: Rig) -> None:
    await rig.linked()
    group = "120363000000000001@g.us"
    await rig.engine.react(OutgoingReaction(chat=group, message_id="3EB0OURS", from_me=True, sender=None, emoji=""))
    (_, body), = rig.fake.sent
    key = body.reactionMessage.key
    assert (key.remoteJID, key.fromMe, key.participant, body.reactionMessage.text) == (group, True, OWN_JID, "")
