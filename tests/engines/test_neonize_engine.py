"""The neonize engine driven by real neonize event objects through neonize's own dispatcher, over a fake
Go layer (no WhatsApp is reachable here)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from neonize.events import (
    ConnectedEv,
    LoggedOutEv,
    MessageEv,
    PairStatusEv,
    ReceiptEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.proto.Neonize_pb2 import ConnectFailureReason, MessageInfo, MessageSource
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    ButtonsResponseMessage,
    ContactMessage,
    ContactsArrayMessage,
    ContextInfo,
    ImageMessage,
    Message,
    ProtocolMessage,
)
from neonize.utils.enum import ChatPresence, ChatPresenceMedia, MediaType, ReceiptType

from tests.conftest import eventually, make_settings
from tests.engines.neonize_fakes import FakeGo, FakeGoEngine, feed, jid, show_qr, use_fake
from waqtor.engines.base import (
    Authenticated,
    Connecting,
    ContactCard,
    Disconnected,
    EngineContext,
    EngineStore,
    Location,
    LoggedOut,
    MessageEdited,
    MessageIn,
    MessageRevoked,
    MessageStatus,
    OutgoingMedia,
    OutgoingMessage,
    QRCode,
    Ready,
)
from waqtor.engines.neonize import engine as engine_module
from waqtor.engines.neonize import translate
from waqtor.engines.neonize.engine import NeonizeEngine
from waqtor.errors import Conflict, SessionNotReady

QR1 = b"2@AAAA,BBBB,CCCC,DDDD"
QR2 = b"2@EEEE,FFFF,GGGG,HHHH"


class MemoryStore(EngineStore):
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data = data

    async def load(self) -> dict[str, Any] | None:
        return self.data

    async def save(self, data: dict[str, Any] | None) -> None:
        self.data = data


@dataclass
class Rig:
    engine: NeonizeEngine
    fake: FakeGo
    events: list[Any] = field(default_factory=list)

    @property
    def client(self) -> Any:
        return self.engine._client

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def running(self) -> Any:
        """Wait until the engine's connect is running on the fake; the client it runs."""
        await eventually(lambda: self.fake.entered.is_set() and self.client is not None, what="connect running")
        return self.client

    async def linked(self) -> Any:
        client = await self.running()
        await feed(client, ConnectedEv(status=True))
        await eventually(lambda: bool(self.of(Ready)), what="Ready")
        return client


async def start_rig(tmp_path: Path, store: EngineStore | None = None, **overrides: Any) -> Rig:
    """A neonize engine on a fake Go side, started; the caller stops it."""
    fake = FakeGo()
    events: list[Any] = []

    async def emit(event: Any) -> None:
        events.append(event)

    settings = make_settings(tmp_path, engine="neonize", reconnect_min=0.01, reconnect_max=0.05, **overrides)
    engine = use_fake(fake)(EngineContext("shop", emit, store or MemoryStore(), settings))
    await engine.start()
    return Rig(engine, fake, events)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    started = await start_rig(tmp_path)
    try:
        yield started
    finally:
        await started.engine.stop()


def text_message(sender: str, body: str, *, from_me: bool = False, ms: int = 1_761_650_000_123) -> MessageEv:
    source = MessageSource(Chat=jid(sender), Sender=jid(sender), IsFromMe=from_me, IsGroup=False)
    info = MessageInfo(MessageSource=source, ID="3EB0INBOUND01", Pushname="Ana", Timestamp=ms, Type="text")
    return MessageEv(Info=info, Message=Message(conversation=body))


async def test_each_qr_code_is_published_with_the_expiry_the_gateway_tracks(rig: Rig) -> None:
    client = await rig.running()
    before = datetime.now(UTC)
    await show_qr(client, QR1)
    await show_qr(client, QR2)
    await eventually(lambda: len(rig.of(QRCode)) == 2, what="two QR codes")
    first, second = rig.of(QRCode)
    assert (first.code, second.code) == (QR1.decode(), QR2.decode())
    assert timedelta(seconds=59) < first.expires_at - before < timedelta(seconds=62)
    assert timedelta(seconds=19) < second.expires_at - before < timedelta(seconds=22)
    assert isinstance(rig.events[0], Connecting)


async def test_a_pairing_code_is_asked_once_the_socket_is_up_and_success_authenticates(rig: Rig) -> None:
    client = await rig.running()
    with pytest.raises(Conflict):  # no QR yet: the socket is not up
        await rig.engine.pair("4915112345678")
    await show_qr(client, QR1)
    await eventually(lambda: rig.engine.phase == "qr", what="QR phase")
    first_qr = rig.of(QRCode)[0]
    pairing = await rig.engine.pair("4915112345678")
    assert pairing.code == "WQTR-2026"
    # whatsmeow closes the login socket 160 s after it opened (with the first QR code).
    assert pairing.expires_at is not None
    assert timedelta(seconds=99) < pairing.expires_at - first_qr.expires_at < timedelta(seconds=101)
    assert rig.fake.paired == ["4915112345678"]
    await feed(client, PairStatusEv(ID=jid("4915112345678", device=7), Status=PairStatusEv.SUCCESS,
                                    BusinessName="", Platform="android"))
    await eventually(lambda: bool(rig.of(Authenticated)), what="Authenticated")
    await eventually(lambda: rig.engine.ctx.store.data == {"jid": "4915112345678:7@s.whatsapp.net"},
                     what="device JID kept")
    # Paired: the QR code's deadline no longer applies; the login now has the connect timeout to finish.
    assert rig.engine.phase == "linking"
    left = rig.engine._shown_qr_expiry() - datetime.now(UTC)
    assert timedelta(seconds=rig.engine.ctx.settings.connect_timeout - 5) < left


async def test_a_pairing_code_asked_late_in_the_login_gets_a_fresh_login_first(rig: Rig) -> None:
    client = await rig.running()
    await show_qr(client, QR1)
    await eventually(lambda: rig.engine.phase == "qr", what="QR phase")
    # 130 s into the 160 s login window: a code now would die before anyone typed it.
    rig.engine._socket_since = datetime.now(UTC) - timedelta(seconds=130)
    asked = asyncio.create_task(rig.engine.pair("4915112345678"))
    await eventually(lambda: len(FakeGoEngine.clients) == 2 and rig.client is FakeGoEngine.clients[1],
                     what="a second login attempt")
    assert rig.fake.stops >= 1, "the old login was closed"
    assert not asked.done()
    await show_qr(rig.client, QR2)
    pairing = await asked
    assert rig.fake.paired == ["4915112345678"]
    assert pairing.expires_at is not None
    assert pairing.expires_at - datetime.now(UTC) > timedelta(seconds=150)
    # Every attempt has a client id of its own, so a late Stop of the old one cannot reach the new one.
    first, second = (client.uuid for client in FakeGoEngine.clients)
    assert first != second
    assert first.startswith(b"waqtor/shop/") and second.startswith(b"waqtor/shop/")


async def test_connected_reports_the_account_from_the_device(rig: Rig) -> None:
    await rig.linked()
    (ready,) = rig.of(Ready)
    assert ready.account.phone == "4915112345678"
    assert ready.account.pushname == "Tariq Said"
    assert ready.account.platform == "android (business)"
    assert ready.account.platform_raw == "smba"
    await eventually(lambda: rig.engine.ctx.store.data == {"jid": "4915112345678:7@s.whatsapp.net"},
                     what="device JID kept")


async def test_an_inbound_text_becomes_message_in(rig: Rig) -> None:
    client = await rig.linked()
    await feed(client, text_message("4915199999999", "hello there"))
    await eventually(lambda: bool(rig.of(MessageIn)), what="MessageIn")
    (message,) = rig.of(MessageIn)
    assert message.id == "3EB0INBOUND01"
    assert message.sender == message.chat == "4915199999999@s.whatsapp.net"
    assert (message.type, message.text, message.push_name) == ("text", "hello there", "Ana")
    assert message.timestamp == datetime(2025, 10, 28, 11, 13, 20, 123000, tzinfo=UTC)


def image_message(sender: str, caption: str) -> MessageEv:
    source = MessageSource(Chat=jid(sender), Sender=jid(sender), IsFromMe=False, IsGroup=False)
    info = MessageInfo(MessageSource=source, ID="3EB0INBOUND02", Pushname="Ana", Timestamp=1_761_650_000_123,
                       Type="media")
    image = ImageMessage(caption=caption, mimetype="image/png", fileLength=9)
    return MessageEv(Info=info, Message=Message(imageMessage=image))


async def test_an_inbound_image_arrives_with_its_downloaded_bytes(rig: Rig) -> None:
    client = await rig.linked()
    rig.fake.media = b"\x89PNGdata"
    await feed(client, image_message("4915199999999", "look"))
    await eventually(lambda: bool(rig.of(MessageIn)), what="MessageIn")
    (message,) = rig.of(MessageIn)
    assert (message.type, message.text) == ("image", "look")
    assert message.media == {"mimetype": "image/png", "size": 9, "data": b"\x89PNGdata"}


async def test_a_failed_download_keeps_the_message_without_its_bytes(rig: Rig) -> None:
    client = await rig.linked()
    rig.fake.download_error = "media expired"
    await feed(client, image_message("4915199999999", "look"))
    await eventually(lambda: bool(rig.of(MessageIn)), what="MessageIn")
    (message,) = rig.of(MessageIn)
    assert message.media == {"mimetype": "image/png", "size": 9,
                             "error": "the download failed: WhatsApp refused: media expired"}


async def test_a_download_that_hangs_is_given_up_and_the_message_goes_on_without_its_file(tmp_path: Path) -> None:
    rig = await start_rig(tmp_path, media_download_timeout=0.2)
    release = threading.Event()
    rig.fake.download_gate = release
    try:
        client = await rig.linked()
        await feed(client, image_message("4915199999999", "look"))
        await feed(client, text_message("4915199999999", "and this"))
        await eventually(lambda: len(rig.of(MessageIn)) == 2, what="both messages")
        image, text = rig.of(MessageIn)  # in the order they came
        assert (image.type, text.text) == ("image", "and this")
        assert image.media == {"mimetype": "image/png", "size": 9, "error": "the download took longer than 0.2 s"}
    finally:
        release.set()
        await rig.engine.stop()


@pytest.mark.parametrize("declared", [None, 0])
async def test_the_bytes_received_decide_the_size_limit_not_the_declared_size(
    tmp_path: Path, declared: int | None
) -> None:
    rig = await start_rig(tmp_path, media_max_image=64, media_max_video=64, media_max_audio=64,
                          media_max_document=64)
    try:
        client = await rig.linked()
        rig.fake.media = b"\x89PNG" + b"x" * 100
        event = image_message("4915199999999", "huge")
        if declared is None:
            event.Message.imageMessage.ClearField("fileLength")  # declares nothing
        else:
            event.Message.imageMessage.fileLength = declared
        await feed(client, event)
        await eventually(lambda: bool(rig.of(MessageIn)), what="MessageIn")
        (message,) = rig.of(MessageIn)
        assert "data" not in (message.media or {})
        assert message.media == {"mimetype": "image/png", "size": declared or None,
                                 "error": "the file is 104 bytes, over the media limit of 64 bytes"}
    finally:
        await rig.engine.stop()


async def test_a_message_from_a_lid_sender_names_the_phone_when_the_event_carries_it(rig: Rig) -> None:
    client = await rig.linked()
    source = MessageSource(Chat=jid("215327923232839", "lid"), Sender=jid("215327923232839", "lid"),
                           IsFromMe=False, IsGroup=False, SenderAlt=jid("4915199999999"))
    hidden = MessageSource(Chat=jid("998877665544332", "lid"), Sender=jid("998877665544332", "lid"),
                           IsFromMe=False, IsGroup=False)
    for source_, wa_id in ((source, "3EB0LID1"), (hidden, "3EB0LID2")):
        info = MessageInfo(MessageSource=source_, ID=wa_id, Pushname="Ana", Timestamp=1_761_650_000_123, Type="text")
        await feed(client, MessageEv(Info=info, Message=Message(conversation="hi")))
    await eventually(lambda: len(rig.of(MessageIn)) == 2, what="two messages")
    assert [(m.chat, m.sender) for m in rig.of(MessageIn)] == [
        ("4915199999999@s.whatsapp.net", "4915199999999@s.whatsapp.net"),
        ("998877665544332@lid", "998877665544332@lid"),
    ]


async def test_a_server_error_receipt_fails_the_message_with_the_reason(rig: Rig) -> None:
    client = await rig.linked()
    source = MessageSource(Chat=jid("4915199999999"), Sender=jid("4915199999999"), IsFromMe=False, IsGroup=False)
    # neonize's EncodeReceipts leaves Type out for whatsmeow's server-error receipt.
    await feed(client, ReceiptEv(MessageSource=source, MessageIDs=["3EB0REFUSED"], Timestamp=1_761_650_100))
    await eventually(lambda: bool(rig.of(MessageStatus)), what="a status")
    (status,) = rig.of(MessageStatus)
    assert (status.id, status.status, status.error) == ("3EB0REFUSED", "failed", translate.SERVER_ERROR)


async def test_edits_and_revokes_arrive_as_their_own_events(rig: Rig) -> None:
    client = await rig.linked()
    source = MessageSource(Chat=jid("4915199999999"), Sender=jid("4915199999999"), IsFromMe=False, IsGroup=False)
    edit = ProtocolMessage(type=ProtocolMessage.MESSAGE_EDIT, key=MessageKey(ID="3EB0INBOUND01"),
                           editedMessage=Message(conversation="hello, edited"), timestampMS=1_761_650_060_000)
    revoke = ProtocolMessage(type=ProtocolMessage.REVOKE, key=MessageKey(ID="3EB0INBOUND01"))
    for wa_id, body in (("3EB0EDIT", edit), ("3EB0REVOKE", revoke)):
        info = MessageInfo(MessageSource=source, ID=wa_id, Pushname="Ana", Timestamp=1_761_650_070_000, Type="text")
        await feed(client, MessageEv(Info=info, Message=Message(protocolMessage=body)))
    await eventually(lambda: bool(rig.of(MessageRevoked)), what="the revoke")
    (edited,) = rig.of(MessageEdited)
    assert (edited.id, edited.text, edited.chat) == ("3EB0INBOUND01", "hello, edited", "4915199999999@s.whatsapp.net")
    (revoked,) = rig.of(MessageRevoked)
    assert (revoked.id, revoked.by) == ("3EB0INBOUND01", "4915199999999@s.whatsapp.net")
    assert not rig.of(MessageIn)


async def test_a_message_from_the_phone_is_from_me_and_our_own_send_coming_back_is_dropped(rig: Rig) -> None:
    client = await rig.linked()
    for device, wa_id in ((0, "3EB0PHONE"), (7, "3EB0ECHO")):  # FakeGo's linked device is :7
        source = MessageSource(Chat=jid("4915199999999"), Sender=jid("4915112345678", device=device),
                               IsFromMe=True, IsGroup=False)
        info = MessageInfo(MessageSource=source, ID=wa_id, Pushname="", Timestamp=1_761_650_000_123, Type="text")
        await feed(client, MessageEv(Info=info, Message=Message(conversation=wa_id)))
    await feed(client, text_message("4915199999999", "after"))
    await eventually(lambda: len(rig.of(MessageIn)) == 2, what="the phone's message and the next")
    phone, after = rig.of(MessageIn)
    assert (phone.id, phone.from_me, phone.chat, phone.sender) == (
        "3EB0PHONE", True, "4915199999999@s.whatsapp.net", "4915112345678@s.whatsapp.net")
    assert after.text == "after" and not after.from_me


async def test_contact_lists_and_button_replies_are_not_dropped(rig: Rig) -> None:
    client = await rig.linked()
    source = MessageSource(Chat=jid("4915199999999"), Sender=jid("4915199999999"), IsFromMe=False, IsGroup=False)
    cards = ContactsArrayMessage(displayName="2 contacts", contacts=[
        ContactMessage(displayName="Ana", vcard="BEGIN:VCARD\nFN:Ana\nEND:VCARD"),
        ContactMessage(displayName="Omar", vcard="BEGIN:VCARD\nFN:Omar\nEND:VCARD")])
    button = ButtonsResponseMessage(selectedButtonID="yes", selectedDisplayText="Yes please",
                                    contextInfo=ContextInfo(stanzaID="3EB0ASK"))
    for wa_id, body in (("3EB0CARDS", Message(contactsArrayMessage=cards)),
                        ("3EB0TAP", Message(buttonsResponseMessage=button))):
        info = MessageInfo(MessageSource=source, ID=wa_id, Pushname="Ana", Timestamp=1_761_650_000_123, Type="text")
        await feed(client, MessageEv(Info=info, Message=body))
    await eventually(lambda: len(rig.of(MessageIn)) == 2, what="two messages")
    contact, reply = rig.of(MessageIn)
    assert contact.type == "contact" and contact.content is not None
    assert [card["vcard"] for card in contact.content["contacts"]] == [
        "BEGIN:VCARD\nFN:Ana\nEND:VCARD", "BEGIN:VCARD\nFN:Omar\nEND:VCARD"]
    assert (reply.type, reply.text, reply.content, reply.reply_to) == (
        "reply", "Yes please", {"id": "yes", "title": "Yes please", "kind": "button"}, "3EB0ASK")


async def test_receipts_become_one_status_per_message(rig: Rig) -> None:
    client = await rig.linked()
    source = MessageSource(Chat=jid("4915199999999"), Sender=jid("4915199999999"), IsFromMe=False, IsGroup=False)
    await feed(client, ReceiptEv(MessageSource=source, MessageIDs=["3EB0A", "3EB0B"], Timestamp=1_761_650_100,
                                 Type=ReceiptEv.READ))
    await eventually(lambda: len(rig.of(MessageStatus)) == 2, what="two statuses")
    assert [(s.id, s.status) for s in rig.of(MessageStatus)] == [("3EB0A", "read"), ("3EB0B", "read")]


async def test_logged_out_by_the_phone_forgets_the_device_and_offers_a_new_qr(rig: Rig) -> None:
    client = await rig.linked()
    await feed(client, LoggedOutEv(OnConnect=False, Reason=ConnectFailureReason.Value("LOGGED_OUT")))
    await eventually(lambda: bool(rig.of(LoggedOut)), what="LoggedOut")
    assert rig.of(LoggedOut)[0].code == "logged_out"
    assert rig.engine.ctx.store.data is None
    # A new attempt pairs a new device: its client carries no JID, and its QR codes are offered.
    await eventually(lambda: len(rig.of(Connecting)) == 2 and len(FakeGoEngine.clients) == 2, what="a new attempt")
    assert FakeGoEngine.clients[1].jid is None
    assert rig.fake.stops >= 1


async def test_with_relink_off_a_logged_out_session_stays_down(tmp_path: Path) -> None:
    rig = await start_rig(tmp_path, relink_after_logout=False)
    try:
        client = await rig.linked()
        await feed(client, LoggedOutEv(OnConnect=False, Reason=ConnectFailureReason.Value("LOGGED_OUT")))
        await eventually(lambda: rig.engine.phase == "halted", what="halted")
    finally:
        await rig.engine.stop()
    assert rig.engine.ctx.store.data is None
    assert len(rig.of(Connecting)) == 1, "a logged-out session must not reconnect when relinking is off"


async def test_a_temporary_ban_waits_until_it_ends(rig: Rig) -> None:
    client = await rig.linked()
    await feed(client, TemporaryBanEv(Code=TemporaryBanEv.SENT_TOO_MANY_SAME_MESSAGE, Expire=3600))
    await eventually(lambda: any(e.code == "temporary_ban" for e in rig.of(Disconnected)), what="ban")
    ban = next(e for e in rig.of(Disconnected) if e.code == "temporary_ban")
    assert ban.reconnecting is True
    assert ban.details["banReason"] == "SENT_TOO_MANY_SAME_MESSAGE"
    assert ban.details["banCode"] == 4
    assert 3590 <= ban.details["retryInSeconds"] <= 3600
    assert ban.details["expiresAt"].endswith("Z")


async def test_stream_replaced_halts_so_two_gateways_do_not_fight(rig: Rig) -> None:
    client = await rig.linked()
    await feed(client, StreamReplacedEv())
    await eventually(lambda: rig.engine.phase == "halted", what="halted")
    (event,) = [e for e in rig.of(Disconnected) if e.code == "stream_replaced"]
    assert event.reconnecting is False
    assert len(rig.of(Connecting)) == 1


async def test_text_is_sent_through_neonize_to_the_recipient(rig: Rig) -> None:
    await rig.linked()
    result = await rig.engine.send(OutgoingMessage(to="4915199999999@s.whatsapp.net", text="Hi Ana"))
    assert result.id == "3EB0FAKE0001"
    (to, body), = rig.fake.sent
    assert (to.User, to.Server) == ("4915199999999", "s.whatsapp.net")
    assert body.conversation == "Hi Ana"


async def test_an_image_is_uploaded_then_sent_with_its_caption(rig: Rig, tmp_path: Path) -> None:
    await rig.linked()
    stored = tmp_path / "menu.png"
    stored.write_bytes(b"\x89PNG fake")
    media = OutgoingMedia(id="m1", path=str(stored), kind="image", mimetype="image/png", size=10,
                          file_name="menu.png")
    await rig.engine.send(OutgoingMessage(to="4915199999999@s.whatsapp.net", type="image", text="our menu",
                                          media=media))
    assert rig.fake.uploads == [(b"\x89PNG fake", MediaType.MediaImage.value)]
    (_, body), = rig.fake.sent
    assert body.imageMessage.caption == "our menu"
    assert body.imageMessage.mimetype == "image/png"
    assert body.imageMessage.fileLength == len(b"\x89PNG fake")


async def test_a_location_and_a_contact_card_are_sent_as_their_whatsapp_messages(rig: Rig) -> None:
    await rig.linked()
    await rig.engine.send(OutgoingMessage(to="4915199999999@s.whatsapp.net", type="location",
                                          location=Location(52.52, 13.405, name="Office", address="Berlin")))
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana\r\nTEL;type=CELL;waid=4915112345678:+4915112345678\r\nEND:VCARD"
    await rig.engine.send(OutgoingMessage(to="4915199999999@s.whatsapp.net", type="contact",
                                          contact=ContactCard(display_name="Ana", vcard=card)))
    (_, location), (_, contact) = rig.fake.sent
    assert (location.locationMessage.degreesLatitude, location.locationMessage.name) == (52.52, "Office")
    assert (contact.contactMessage.displayName, contact.contactMessage.vcard) == ("Ana", card)


async def test_numbers_are_checked_on_whatsapp_in_one_query_with_a_plus(rig: Rig) -> None:
    await rig.linked()
    rig.fake.registered = {"4915199999999"}
    rig.fake.unanswered = {"4915100000000"}
    known = await rig.engine.is_on_whatsapp(["4915199999999@s.whatsapp.net", "4915188888888@s.whatsapp.net",
                                             "4915100000000@s.whatsapp.net"])
    assert rig.fake.checked == [["+4915199999999", "+4915188888888", "+4915100000000"]]
    assert known == {"4915199999999@s.whatsapp.net": True, "4915188888888@s.whatsapp.net": False}


async def test_an_edit_is_sent_as_whatsapps_edit_of_the_accounts_message(rig: Rig) -> None:
    await rig.linked()
    at = await rig.engine.edit_message("4915199999999@s.whatsapp.net", "3EB0SENT01", "see you at 6")
    assert at == datetime.fromtimestamp(1_761_650_000, UTC)
    (to, body), = rig.fake.sent
    assert (to.User, to.Server) == ("4915199999999", "s.whatsapp.net")
    edit = body.editedMessage.message.protocolMessage
    assert edit.type == ProtocolMessage.MESSAGE_EDIT
    assert (edit.key.ID, edit.key.fromMe, edit.key.remoteJID) == ("3EB0SENT01", True, "4915199999999@s.whatsapp.net")
    assert edit.editedMessage.conversation == "see you at 6"


async def test_a_deletion_for_everyone_is_sent_as_a_revoke_from_the_account(rig: Rig) -> None:
    await rig.linked()
    await rig.engine.revoke_message("4915199999999@s.whatsapp.net", "3EB0SENT01")
    (to, body), = rig.fake.sent
    assert (to.User, to.Server) == ("4915199999999", "s.whatsapp.net")
    revoke = body.protocolMessage
    assert revoke.type == ProtocolMessage.REVOKE
    assert (revoke.key.ID, revoke.key.fromMe, revoke.key.remoteJID) == (
        "3EB0SENT01", True, "4915199999999@s.whatsapp.net")


async def test_a_chat_is_marked_read_with_one_receipt_per_sender(rig: Rig) -> None:
    await rig.linked()
    group = "120363025246125486@g.us"
    await rig.engine.mark_read(group, [("3EB0A1", "4915100000001@s.whatsapp.net"),
                                       ("3EB0B1", "4915100000002@s.whatsapp.net"),
                                       ("3EB0A2", "4915100000001@s.whatsapp.net")])
    assert [(ids, chat.User, chat.Server, sender.User, receipt) for ids, chat, sender, receipt in rig.fake.read] == [
        (["3EB0A1", "3EB0A2"], "120363025246125486", "g.us", "4915100000001", ReceiptType.READ.value),
        (["3EB0B1"], "120363025246125486", "g.us", "4915100000002", ReceiptType.READ.value),
    ]


async def test_typing_recording_and_paused_are_whatsapps_chat_presences(rig: Rig) -> None:
    await rig.linked()
    for state in ("typing", "recording", "paused"):
        await rig.engine.send_chat_presence("4915199999999@s.whatsapp.net", state)
    composing, paused = ChatPresence.CHAT_PRESENCE_COMPOSING.value, ChatPresence.CHAT_PRESENCE_PAUSED.value
    text, audio = ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT.value, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_AUDIO.value
    assert [(chat.User, state, media) for chat, state, media in rig.fake.presences] == [
        ("4915199999999", composing, text), ("4915199999999", composing, audio), ("4915199999999", paused, text)]


async def test_edits_deletions_receipts_and_typing_wait_for_the_connection(rig: Rig) -> None:
    await rig.running()
    with pytest.raises(SessionNotReady):
        await rig.engine.edit_message("4915199999999@s.whatsapp.net", "3EB0SENT01", "x")
    with pytest.raises(SessionNotReady):
        await rig.engine.revoke_message("4915199999999@s.whatsapp.net", "3EB0SENT01")
    with pytest.raises(SessionNotReady):
        await rig.engine.mark_read("4915199999999@s.whatsapp.net", [("3EB0IN01", "4915199999999@s.whatsapp.net")])
    with pytest.raises(SessionNotReady):
        await rig.engine.send_chat_presence("4915199999999@s.whatsapp.net", "typing")
    assert (rig.fake.sent, rig.fake.read, rig.fake.presences) == ([], [], [])


async def test_nothing_reaches_go_before_the_session_is_connected(rig: Rig) -> None:
    await rig.running()
    with pytest.raises(SessionNotReady):
        await rig.engine.send(OutgoingMessage(to="4915199999999@s.whatsapp.net", text="too early"))
    with pytest.raises(SessionNotReady):
        await rig.engine.is_on_whatsapp(["4915199999999@s.whatsapp.net"])
    assert rig.fake.checked == []
    assert rig.fake.sent == []


async def test_a_failed_connect_is_reported_and_retried_with_backoff(tmp_path: Path) -> None:
    fake = FakeGo(connect_error=b"dial tcp: no such host")
    events: list[Any] = []

    async def emit(event: Any) -> None:
        events.append(event)

    settings = make_settings(tmp_path, engine="neonize", reconnect_min=0.01, reconnect_max=0.02)
    engine = use_fake(fake)(EngineContext("shop", emit, MemoryStore(), settings))
    await engine.start()
    try:
        await eventually(lambda: len([e for e in events if isinstance(e, Disconnected)]) >= 3, what="3 failures")
    finally:
        await engine.stop()
    failures = [e for e in events if isinstance(e, Disconnected)]
    assert all(e.code == "connect_failure" and e.reconnecting for e in failures)
    assert [e.details["attempt"] for e in failures[:3]] == [1, 2, 3]
    assert "no such host" in failures[0].message


async def test_a_connect_that_hangs_is_cut_by_the_watchdog(tmp_path: Path) -> None:
    fake = FakeGo()
    events: list[Any] = []

    async def emit(event: Any) -> None:
        events.append(event)

    settings = make_settings(tmp_path, engine="neonize", connect_timeout=0.2, reconnect_min=0.01, reconnect_max=0.02)
    engine = use_fake(fake)(EngineContext("shop", emit, MemoryStore(), settings))
    await engine.start()
    try:
        await eventually(lambda: any(isinstance(e, Disconnected) for e in events), what="watchdog")
        await eventually(lambda: fake.connects >= 2, what="a new attempt")
    finally:
        await engine.stop()
    timeout = next(e for e in events if isinstance(e, Disconnected))
    assert timeout.code == "connect_timeout" and timeout.reconnecting is True
    assert fake.stops >= 1


async def test_logout_unlinks_at_whatsapp_and_starts_pairing_anew(rig: Rig) -> None:
    await rig.linked()
    await eventually(lambda: rig.engine.ctx.store.data is not None, what="device JID kept")
    await rig.engine.logout()
    assert rig.fake.logouts == 1
    assert rig.engine.ctx.store.data is None
    await eventually(lambda: rig.fake.connects == 2, what="a new pairing attempt")
    assert len(rig.of(Connecting)) == 2


async def test_when_every_qr_code_expired_unscanned_a_new_attempt_fetches_fresh_ones(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(translate, "QR_FIRST_TTL", timedelta(milliseconds=50))
    monkeypatch.setattr(engine_module, "QR_GRACE", timedelta(milliseconds=10))
    client = await rig.running()
    await show_qr(client, QR1)
    await eventually(lambda: any(e.code == "qr_timeout" for e in rig.of(Disconnected)), what="QR timeout")
    await eventually(lambda: rig.fake.connects == 2, what="a new attempt")
    assert rig.fake.stops >= 1


class BrokenStore(MemoryStore):
    """A store that cannot forget the link: the connection supervisor cannot go on after a logout."""

    async def save(self, data: dict[str, Any] | None) -> None:
        if data is None:
            raise RuntimeError("the link store is broken")
        await super().save(data)


async def test_a_supervisor_that_dies_reports_the_engine_crashed(tmp_path: Path) -> None:
    from waqtor.engines.base import Crashed

    rig = await start_rig(tmp_path, BrokenStore())
    try:
        client = await rig.linked()
        await feed(client, LoggedOutEv(OnConnect=False, Reason=ConnectFailureReason.Value("LOGGED_OUT")))
        await eventually(lambda: bool(rig.of(Crashed)), what="Crashed")
    finally:
        await rig.engine.stop()
    assert len(rig.of(Crashed)) == 1
    assert rig.of(Crashed)[0].reason == "connection failed: RuntimeError: the link store is broken"


@pytest.mark.parametrize("config", [
    {"proxy": "ftp://10.0.0.5:21"},
    {"proxy": "socks5://10.0.0.5"},
    {"proxy": "http://:8080"},
    {"proxy": 8080},
    {"proxy": "socks5://10.0.0.5:99999"},
    {"proxy": "socks5://10.0.0.5:1080", "timeout": 5},
])
def test_a_wrong_proxy_setting_is_refused_with_a_stable_code(config: dict[str, Any]) -> None:
    from waqtor.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        NeonizeEngine.validate_config(config)
    assert caught.value.code == "invalid_engine_config"


def test_a_proxy_is_kept_and_shown_without_its_password() -> None:
    config = NeonizeEngine.validate_config({"proxy": "socks5://shop:s3cret@10.0.0.5:1080"})
    assert config == {"proxy": "socks5://shop:s3cret@10.0.0.5:1080"}
    assert NeonizeEngine.public_config(config) == {"proxy": "socks5://shop:********@10.0.0.5:1080"}
    assert NeonizeEngine.validate_config({}) == {}
    assert NeonizeEngine.public_config({"proxy": "http://10.0.0.5:3128"}) == {"proxy": "http://10.0.0.5:3128"}
