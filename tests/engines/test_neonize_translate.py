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
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import AudioMessage, DocumentMessage, Message

from tests.engines.neonize_fakes import jid
from waqtor.engines.base import Disconnected, LoggedOut
from waqtor.engines.neonize import translate

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


def test_own_messages_and_status_stories_are_not_inbound() -> None:
    assert translate.message_in(inbound(Message(conversation="mine"), from_me=True)) is None
    assert translate.message_in(inbound(Message(conversation="story"), chat_server="broadcast")) is None


def test_a_sender_known_by_lid_is_named_by_the_phone_whatsapp_gave() -> None:
    message = translate.message_in(inbound(Message(conversation="hi"), sender="123456789", server="lid",
                                           alt="4915199999999"))
    assert message is not None and message.sender == "4915199999999@s.whatsapp.net"


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
    failed = translate.statuses(ReceiptEv(MessageSource=source, MessageIDs=["A"], Timestamp=1,
                                          Type=ReceiptEv.SERVER_ERROR))
    assert [(s.status, s.error is not None) for s in failed] == [("failed", True)]


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
