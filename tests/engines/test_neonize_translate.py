"""neonize events to engine events: the pure mapping, fed real neonize protobuf objects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from neonize.events import (
    ClientOutdatedEv,
    ConnectFailureEv,
    DisconnectedEv,
    KeepAliveTimeoutEv,
    LoggedOutEv,
    MessageEv,
    ReceiptEv,
    StreamErrorEv,
    TemporaryBanEv,
)
from neonize.proto.Neonize_pb2 import ConnectFailureReason, Device, MessageInfo, MessageSource
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    AudioMessage,
    ButtonsResponseMessage,
    ContactMessage,
    ContactsArrayMessage,
    ContextInfo,
    DocumentMessage,
    FutureProofMessage,
    InteractiveResponseMessage,
    ListResponseMessage,
    Message,
    ProtocolMessage,
    TemplateButtonReplyMessage,
)

from tests.engines.neonize_fakes import jid
from waqtor.engines.base import Disconnected, LoggedOut, MessageEdited, MessageIn, MessageRevoked
from waqtor.engines.neonize import translate
from waqtor.messaging import phones

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def inbound(body: Message, *, sender: str = "4915199999999", server: str = "s.whatsapp.net", from_me: bool = False,
            alt: str | None = None, chat_server: str = "s.whatsapp.net") -> MessageEv:
    source = MessageSource(Chat=jid(sender, chat_server), Sender=jid(sender, server), IsFromMe=from_me,
                           IsGroup=False)
    if alt:
        source.SenderAlt.CopyFrom(jid(alt))
    return MessageEv(Info=MessageInfo(MessageSource=source, ID="X1", Pushname="", Timestamp=1_761_650_000),
                     Message=body)


@pytest.mark.parametrize(("raw", "name"), [("android", "android"), ("smba", "android (business)"),
                                           ("iphone", "iphone"), ("smbi", "iphone (business)"),
                                           ("SomethingNew", "somethingnew"), ("", None)])
def test_platform_codes_get_readable_names(raw: str, name: str | None) -> None:
    assert translate.platform_name(raw) == name


def test_the_account_comes_from_the_device_jid_and_push_name() -> None:
    device = Device(JID=jid("4915112345678", device=3), PushName="Ana", Platform="iphone", BussinessName="",
                    Initialized=True)
    info = translate.account(device)
    assert info is not None
    assert (info.phone, info.pushname, info.platform, info.platform_raw) == ("4915112345678", "Ana", "iphone", "iphone")


def test_a_device_without_a_jid_is_no_account_yet() -> None:
    assert translate.account(Device(Platform="", BussinessName="", PushName="", Initialized=False)) is None


def test_device_jids_round_trip_through_the_stored_form() -> None:
    assert translate.device_jid_string(jid("4915112345678", device=12)) == "4915112345678:12@s.whatsapp.net"
    assert translate.parse_device_jid("4915112345678:12@s.whatsapp.net")["Device"] == 12
    with pytest.raises(ValueError):
        translate.parse_device_jid("not a jid")


def test_status_stories_and_our_own_sends_coming_back_are_not_inbound() -> None:
    assert translate.message_in(inbound(Message(conversation="story"), chat_server="broadcast")) is None
    echo = inbound(Message(conversation="sent by the gateway"), from_me=True)
    echo.Info.MessageSource.Sender.Device = 7
    assert translate.message_in(echo, own_device="4915199999999:7@s.whatsapp.net") is None


def test_a_message_written_on_the_phone_is_from_me() -> None:
    source = MessageSource(Chat=jid("4915100000001"), Sender=jid("4915112345678"), IsFromMe=True, IsGroup=False)
    event = MessageEv(Info=MessageInfo(MessageSource=source, ID="P1", Pushname="", Timestamp=1_761_650_000),
                      Message=Message(conversation="from my phone"))
    message = translate.message_in(event, own_device="4915112345678:7@s.whatsapp.net")
    assert isinstance(message, MessageIn)
    assert (message.from_me, message.chat, message.sender, message.text) == (
        True, "4915100000001@s.whatsapp.net", "4915112345678@s.whatsapp.net", "from my phone")


def test_a_sender_known_by_lid_is_named_by_the_phone_whatsapp_gave() -> None:
    message = translate.message_in(inbound(Message(conversation="hi"), sender="123456789", server="lid",
                                           alt="4915199999999", chat_server="lid"))
    assert isinstance(message, MessageIn)
    assert message.sender == message.chat == "4915199999999@s.whatsapp.net"


def test_a_lid_without_a_phone_stays_a_lid_the_send_api_accepts() -> None:
    message = translate.message_in(inbound(Message(conversation="hi"), sender="215327923232839", server="lid",
                                           chat_server="lid"))
    assert isinstance(message, MessageIn)
    assert message.sender == message.chat == "215327923232839@lid"
    assert phones.normalize(message.chat).jid == "215327923232839@lid"


def test_what_the_account_sent_a_lid_chat_is_named_by_the_recipients_phone() -> None:
    source = MessageSource(Chat=jid("215327923232839", "lid"), Sender=jid("4915112345678"), IsFromMe=True,
                           IsGroup=False, RecipientAlt=jid("4915100000001"))
    event = MessageEv(Info=MessageInfo(MessageSource=source, ID="P2", Pushname="", Timestamp=1_761_650_000),
                      Message=Message(conversation="hello"))
    message = translate.message_in(event)
    assert isinstance(message, MessageIn) and message.chat == "4915100000001@s.whatsapp.net"


def test_a_group_member_known_by_lid_is_named_by_phone_and_the_chat_stays_the_group() -> None:
    source = MessageSource(Chat=jid("120363025246125486", "g.us"), Sender=jid("215327923232839", "lid"),
                           IsFromMe=False, IsGroup=True, SenderAlt=jid("4915199999999"))
    event = MessageEv(Info=MessageInfo(MessageSource=source, ID="G1", Pushname="", Timestamp=1_761_650_000),
                      Message=Message(conversation="hi all"))
    message = translate.message_in(event)
    assert isinstance(message, MessageIn)
    assert (message.chat, message.sender) == ("120363025246125486@g.us", "4915199999999@s.whatsapp.net")


def test_an_edit_carries_the_new_text_of_the_message_it_names() -> None:
    edit = ProtocolMessage(type=ProtocolMessage.MESSAGE_EDIT, key=MessageKey(ID="3EB0ORIGINAL", fromMe=False),
                           editedMessage=Message(conversation="fixed typo"), timestampMS=1_761_650_060_000)
    edited = translate.message_in(inbound(Message(protocolMessage=edit)))
    assert edited == MessageEdited(id="3EB0ORIGINAL", chat="4915199999999@s.whatsapp.net", text="fixed typo",
                                   timestamp=datetime(2025, 10, 28, 11, 14, 20, tzinfo=UTC),
                                   sender="4915199999999@s.whatsapp.net", from_me=False)
    wrapped = Message(editedMessage=FutureProofMessage(message=Message(protocolMessage=edit)))
    assert translate.message_in(inbound(wrapped)) == edited


def test_a_revoke_names_the_message_and_who_deleted_it() -> None:
    revoke = ProtocolMessage(type=ProtocolMessage.REVOKE, key=MessageKey(ID="3EB0GONE", fromMe=True))
    revoked = translate.message_in(inbound(Message(protocolMessage=revoke), from_me=True))
    assert isinstance(revoked, MessageRevoked)
    assert (revoked.id, revoked.by, revoked.from_me) == ("3EB0GONE", "4915199999999@s.whatsapp.net", True)


def test_other_protocol_messages_show_nothing() -> None:
    setting = ProtocolMessage(type=ProtocolMessage.EPHEMERAL_SETTING, key=MessageKey(ID="X"))
    assert translate.message_in(inbound(Message(protocolMessage=setting))) is None


def test_a_contact_list_keeps_every_card() -> None:
    cards = [ContactMessage(displayName="Ana", vcard="BEGIN:VCARD\nFN:Ana\nEND:VCARD"),
             ContactMessage(displayName="Omar", vcard="BEGIN:VCARD\nFN:Omar\nEND:VCARD")]
    message = translate.message_in(inbound(Message(contactsArrayMessage=ContactsArrayMessage(
        displayName="2 contacts", contacts=cards))))
    assert isinstance(message, MessageIn)
    assert (message.type, message.text) == ("contact", "2 contacts")
    assert message.content is not None
    assert [c["displayName"] for c in message.content["contacts"]] == ["Ana", "Omar"]
    assert message.content["vcard"] == "BEGIN:VCARD\nFN:Ana\nEND:VCARD"


@pytest.mark.parametrize(("body", "chosen"), [
    (Message(buttonsResponseMessage=ButtonsResponseMessage(
        selectedButtonID="yes", selectedDisplayText="Yes please", contextInfo=ContextInfo(stanzaID="3EB0ASK")),
    ), {"id": "yes", "title": "Yes please", "kind": "button"}),
    (Message(templateButtonReplyMessage=TemplateButtonReplyMessage(
        selectedID="track", selectedDisplayText="Track order", contextInfo=ContextInfo(stanzaID="3EB0ASK")),
    ), {"id": "track", "title": "Track order", "kind": "button"}),
    (Message(listResponseMessage=ListResponseMessage(
        title="Large", description="40 cm", singleSelectReply=ListResponseMessage.SingleSelectReply(
            selectedRowID="size-l"), contextInfo=ContextInfo(stanzaID="3EB0ASK")),
    ), {"id": "size-l", "title": "Large", "kind": "list", "description": "40 cm"}),
    (Message(interactiveResponseMessage=InteractiveResponseMessage(
        body=InteractiveResponseMessage.Body(text="Book for 2"),
        nativeFlowResponseMessage=InteractiveResponseMessage.NativeFlowResponseMessage(
            name="booking", paramsJSON='{"id": "slot-7"}', version=1),
        contextInfo=ContextInfo(stanzaID="3EB0ASK")),
    ), {"id": "slot-7", "title": "Book for 2", "kind": "flow"}),
])
def test_button_and_list_replies_become_reply_messages(body: Message, chosen: dict[str, str]) -> None:
    message = translate.message_in(inbound(body))
    assert isinstance(message, MessageIn)
    assert (message.type, message.text, message.content, message.reply_to) == (
        "reply", chosen["title"], chosen, "3EB0ASK")


def test_message_times_in_milliseconds_and_seconds_are_both_understood() -> None:
    seconds = translate.message_in(inbound(Message(conversation="hi")))
    assert seconds is not None and seconds.timestamp == datetime(2025, 10, 28, 11, 13, 20, tzinfo=UTC)
    event = inbound(Message(conversation="hi"))
    event.Info.Timestamp = 1_761_650_000_500
    millis = translate.message_in(event)
    assert millis is not None and millis.timestamp == datetime(2025, 10, 28, 11, 13, 20, 500000, tzinfo=UTC)


def test_voice_notes_and_documents_carry_their_media_facts() -> None:
    voice = translate.message_in(inbound(Message(audioMessage=AudioMessage(PTT=True, mimetype="audio/ogg"))))
    assert voice is not None and (voice.type, voice.media["mimetype"]) == ("voice", "audio/ogg")
    doc = translate.message_in(inbound(Message(documentMessage=DocumentMessage(
        fileName="menu.pdf", mimetype="application/pdf", caption="today", fileLength=2048))))
    assert doc is not None
    assert (doc.type, doc.text, doc.media) == ("document", "today",
                                               {"mimetype": "application/pdf", "size": 2048, "fileName": "menu.pdf"})


def test_a_body_with_nothing_to_show_is_skipped() -> None:
    assert translate.message_in(inbound(Message())) is None


def test_receipts_for_own_reads_elsewhere_give_no_status() -> None:
    source = MessageSource(Chat=jid("1"), Sender=jid("1"), IsFromMe=False, IsGroup=False)
    assert translate.statuses(ReceiptEv(MessageSource=source, MessageIDs=["A"], Timestamp=1,
                                        Type=ReceiptEv.READ_SELF)) == []
    # neonize 0.5.2 labels whatsmeow's played-self receipt SERVER_ERROR: the account played it elsewhere.
    assert translate.statuses(ReceiptEv(MessageSource=source, MessageIDs=["A"], Timestamp=1,
                                        Type=ReceiptEv.SERVER_ERROR)) == []


def test_a_receipt_without_a_type_is_a_refused_send_not_a_delivery() -> None:
    source = MessageSource(Chat=jid("1"), Sender=jid("1"), IsFromMe=False, IsGroup=False)
    # What neonize 0.5.2 sends for whatsmeow's server-error receipt: the Type field left out.
    raw = ReceiptEv(MessageSource=source, MessageIDs=["A", "B"], Timestamp=1_761_650_100).SerializePartialToString()
    refused = ReceiptEv.FromString(raw)
    assert refused.Type == ReceiptEv.DELIVERED  # what proto2 reads for the missing field
    assert [(s.id, s.status, s.error) for s in translate.statuses(refused)] == [
        ("A", "failed", translate.SERVER_ERROR), ("B", "failed", translate.SERVER_ERROR)]
    delivered = ReceiptEv.FromString(ReceiptEv(MessageSource=source, MessageIDs=["A"], Timestamp=1,
                                               Type=ReceiptEv.DELIVERED).SerializePartialToString())
    assert [s.status for s in translate.statuses(delivered)] == ["delivered"]


@pytest.mark.parametrize(("event", "code", "action"), [
    (LoggedOutEv(OnConnect=True, Reason=ConnectFailureReason.Value("MAIN_DEVICE_GONE")), "logged_out", "halt"),
    (ClientOutdatedEv(), "client_outdated", "halt"),
    (ConnectFailureEv(Reason=ConnectFailureReason.Value("SERVICE_UNAVAILABLE"), Message="try later"),
     "connect_failure", "retry"),
    (ConnectFailureEv(Reason=ConnectFailureReason.Value("LOGGED_OUT"), Message=""), "logged_out", "halt"),
    (DisconnectedEv(status=True), "connection_lost", "retry"),
    (StreamErrorEv(Code="503"), "stream_error", "retry"),
    (KeepAliveTimeoutEv(ErrorCount=1, LastSuccess=1_761_650_000), "keepalive_timeout", "keep"),
    (KeepAliveTimeoutEv(ErrorCount=3, LastSuccess=1_761_650_000), "keepalive_timeout", "retry"),
])
def test_every_disconnect_reason_has_a_stable_code_and_a_retry_policy(event: object, code: str, action: str) -> None:
    verdict = translate.connection_verdict(event, NOW)
    assert verdict is not None
    assert (verdict.event.code, verdict.action) == (code, action)
    assert isinstance(verdict.event, LoggedOut if code == "logged_out" else Disconnected)


def test_a_ban_without_an_end_stays_down() -> None:
    verdict = translate.connection_verdict(TemporaryBanEv(Code=TemporaryBanEv.BLOCKED_BY_USERS, Expire=0), NOW)
    assert verdict is not None and verdict.action == "halt" and verdict.event.details["banReason"] == "BLOCKED_BY_USERS"


def test_a_ban_with_an_end_waits_for_it() -> None:
    verdict = translate.connection_verdict(TemporaryBanEv(Code=TemporaryBanEv.SEND_TO_TOO_MANY_PEOPLE, Expire=90), NOW)
    assert verdict is not None
    assert verdict.action == "wait" and verdict.retry_at == datetime(2026, 11, 2, 10, 1, 30, tzinfo=UTC)
    assert verdict.event.details["expiresAt"] == "2026-11-02T10:01:30Z"
