"""The WhatsApp edge of the neonize engine, faked at neonize's Go layer.

A real `neonize.client.NewClient` is built by the engine; `FakeGo` replaces only its Go library
(`client._NewClient__client`). Its `Neonize` blocks like the real connect until `Stop`; events and QR
codes are fed through neonize's own dispatcher (`client.event.execute`, `client._NewClient__onQr`)
from a worker thread, as the Go side would.
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
from typing import Any

from neonize.events import EVENT_TO_INT
from neonize.proto.Neonize_pb2 import (
    JID,
    ArrayString,
    Blocklist,
    BuildMessageReturnFunction,
    ContactInfo,
    ContactsGetContactReturnFunction,
    Device,
    DownloadReturnFunction,
    GetBlocklistReturnFunction,
    GetProfilePictureParams,
    GetProfilePictureReturnFunction,
    GetUserInfoReturnFunction,
    GetUserInfoSingleReturnFunction,
    IsOnWhatsAppResponse,
    IsOnWhatsAppReturnFunction,
    JIDArray,
    PairPhoneParams,
    PairPhoneReturnFunction,
    ProfilePictureInfo,
    ReturnFunctionWithError,
    SendMessageReturnFunction,
    SendResponse,
    UploadResponse,
    UploadReturnFunction,
    UserInfo,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message, MessageContextInfo, PollCreationMessage, PollVoteMessage

from waqtor.engines.neonize.engine import NeonizeEngine, _build_client


def jid(user: str, server: str = "s.whatsapp.net", device: int = 0) -> JID:
    return JID(User=user, Server=server, Device=device, RawAgent=0, Integrator=0, IsEmpty=False)


class FakeGo:
    """Stands in for neonize's Go library: records what the engine asks and answers like a linked device."""

    def __init__(self, me: Device | None = None, connect_error: bytes = b"") -> None:
        self.me = me or Device(JID=jid("4915112345678", device=7), PushName="Tariq Said", Platform="smba",
                               BussinessName="", Initialized=True)
        self.connect_error = connect_error
        self.entered = threading.Event()  # a connect is running
        self._stop = threading.Event()
        self.connects = 0
        self.stops = 0
        self.sent: list[tuple[JID, Message]] = []
        self.uploads: list[tuple[bytes, int]] = []
        self.paired: list[str] = []
        self.logouts = 0
        self.media: bytes = b""  # what DownloadAny answers
        self.download_error = ""
        self.download_gate: threading.Event | None = None  # DownloadAny waits for it when set
        self.registered: set[str] = set()  # numbers (digits) IsOnWhatsApp says have an account
        self.unanswered: set[str] = set()  # numbers IsOnWhatsApp leaves out of its answer
        self.checked: list[list[str]] = []
        self.users: dict[str, UserInfo] = {}  # what GetUserInfo answers, by user (digits)
        self.contacts: dict[str, ContactInfo] = {}  # the contact store (GetContact), by user
        self.contact_error = ""  # GetContact's error, when set
        self.pictures: dict[str, ProfilePictureInfo] = {}  # GetProfilePicture, by user
        self.picture_error = ""  # GetProfilePicture's error, when set
        self.picture_asks: list[tuple[str, GetProfilePictureParams]] = []
        self.blocklist: list[tuple[str, bytes]] = []  # UpdateBlocklist calls: user, action
        self.read: list[tuple[list[str], JID, JID, bytes]] = []  # MarkRead: ids, chat, sender, receipt type
        self.presences: list[tuple[JID, int, int]] = []  # SendChatPresence: chat, state, media
        self.presence_subscriptions: list[JID] = []  # SubscribePresence calls
        self.own_presences: list[bytes] = []  # SendPresence calls: b"available" or b"unavailable"
        self.presence_error = ""  # SubscribePresence's and SendPresence's error, when set
        self.poll_secrets: list[bytes] = []  # the secrets BuildPollVoteCreation drew, as whatsmeow keeps them
        self.vote: PollVoteMessage = PollVoteMessage()  # what DecryptPollVote answers
        self.vote_error = ""  # DecryptPollVote's error, when set
        self.decrypted: list[Message] = []  # the votes DecryptPollVote was given (neonize's whole event)

    # -- connection --
    def Neonize(self, *args: Any) -> bytes:
        self.connects += 1
        self._stop.clear()
        self.entered.set()
        if self.connect_error:
            return self.connect_error
        self._stop.wait()
        return b""

    def Stop(self, uuid: bytes) -> None:
        self.stops += 1
        self.entered.clear()
        self._stop.set()

    def Disconnect(self, uuid: bytes) -> None:
        self._stop.set()

    def IsConnected(self, uuid: bytes) -> bool:
        return True

    # -- calls --
    def GetMe(self, uuid: bytes) -> bytes:
        return self.me.SerializePartialToString()

    def SendMessage(self, uuid: bytes, to: bytes, to_size: int, message: bytes, size: int) -> bytes:
        self.sent.append((JID.FromString(to), Message.FromString(message)))
        reply = SendMessageReturnFunction(SendResponse=SendResponse(ID=f"3EB0FAKE{len(self.sent):04d}",
                                                                    Timestamp=1_761_650_000, ServerID=0))
        return reply.SerializePartialToString()

    def Upload(self, uuid: bytes, data: bytes, size: int, kind: int) -> bytes:
        self.uploads.append((data, kind))
        response = UploadResponse(url="https://mmg.whatsapp.net/x", DirectPath="/v/x", Handle="h",
                                  MediaKey=b"k" * 32, FileEncSHA256=b"e" * 32, FileSHA256=b"s" * 32,
                                  FileLength=len(data))
        return UploadReturnFunction(UploadResponse=response).SerializePartialToString()

    def DownloadAny(self, uuid: bytes, message: bytes, size: int) -> bytes:
        if self.download_gate is not None:
            self.download_gate.wait()
        return DownloadReturnFunction(Binary=self.media, Error=self.download_error).SerializePartialToString()

    def PairPhone(self, uuid: bytes, payload: bytes, size: int) -> bytes:
        self.paired.append(PairPhoneParams.FromString(payload).phone)
        return PairPhoneReturnFunction(Code="WQTR-2026").SerializePartialToString()

    def IsOnWhatsApp(self, uuid: bytes, numbers: bytes, size: int) -> bytes:
        queries = numbers.decode().split(" ")
        self.checked.append(queries)
        answers = [IsOnWhatsAppResponse(Query=query, IsIn=query.lstrip("+") in self.registered,
                                        JID=jid(query.lstrip("+")))
                   for query in queries if query.lstrip("+") not in self.unanswered]
        return IsOnWhatsAppReturnFunction(IsOnWhatsAppResponse=answers).SerializePartialToString()

    def GetUserInfo(self, uuid: bytes, jids: bytes, size: int) -> bytes:
        asked = JIDArray.FromString(jids).JIDS
        found = [GetUserInfoSingleReturnFunction(JID=user, UserInfo=self.users[user.User])
                 for user in asked if user.User in self.users]
        return GetUserInfoReturnFunction(UsersInfo=found).SerializePartialToString()

    def GetContact(self, uuid: bytes, user: bytes, size: int) -> bytes:
        info = self.contacts.get(JID.FromString(user).User, ContactInfo(Found=False))
        return ContactsGetContactReturnFunction(ContactInfo=info, Error=self.contact_error).SerializePartialToString()

    def GetProfilePicture(self, uuid: bytes, user: bytes, size: int, extra: bytes, extra_size: int) -> bytes:
        who = JID.FromString(user).User
        self.picture_asks.append((who, GetProfilePictureParams.FromString(extra)))
        if self.picture_error:
            return GetProfilePictureReturnFunction(Error=self.picture_error).SerializePartialToString()
        # whatsmeow answers no picture (nil) without an error when there is nothing to give.
        picture = self.pictures.get(who, ProfilePictureInfo())
        return GetProfilePictureReturnFunction(Picture=picture).SerializePartialToString()

    def UpdateBlocklist(self, uuid: bytes, user: bytes, size: int, action: bytes) -> bytes:
        self.blocklist.append((JID.FromString(user).User, action))
        blocked = Blocklist(DHash="h", JIDs=[JID.FromString(user)])
        return GetBlocklistReturnFunction(Blocklist=blocked).SerializePartialToString()

    def MarkRead(self, uuid: bytes, ids: bytes, timestamp: int, chat: bytes, chat_size: int, sender: bytes,
                 sender_size: int, receipt: bytes) -> bytes:
        self.read.append((ids.decode().split(" "), JID.FromString(chat), JID.FromString(sender), receipt))
        return b""

    def SendChatPresence(self, uuid: bytes, chat: bytes, size: int, state: int, media: int) -> bytes:
        self.presences.append((JID.FromString(chat), state, media))
        return b""

    def SubscribePresence(self, uuid: bytes, jid_proto: bytes, size: int) -> bytes:
        self.presence_subscriptions.append(JID.FromString(jid_proto))
        return self.presence_error.encode()

    def SendPresence(self, uuid: bytes, presence: bytes) -> bytes:
        self.own_presences.append(presence)
        return self.presence_error.encode()

    def BuildPollVoteCreation(self, uuid: bytes, name: bytes, options: bytes, size: int, selectable: int) -> bytes:
        # As whatsmeow's BuildPollCreation: the options by name, how many a voter may choose (0: any), and
        # a fresh 32-byte secret in the MessageContextInfo (the key the votes are encrypted with).
        secret = bytes([len(self.poll_secrets) + 1]) * 32
        self.poll_secrets.append(secret)
        names = ArrayString.FromString(options).data
        poll = PollCreationMessage(name=name.decode(), selectableOptionsCount=selectable,
                                   options=[PollCreationMessage.Option(optionName=n) for n in names])
        body = Message(pollCreationMessage=poll, messageContextInfo=MessageContextInfo(messageSecret=secret))
        return BuildMessageReturnFunction(Message=body).SerializePartialToString()

    def DecryptPollVote(self, uuid: bytes, message: bytes, size: int) -> bytes:
        from neonize.proto.Neonize_pb2 import Message as EventMessage

        self.decrypted.append(EventMessage.FromString(message))
        return ReturnFunctionWithError(PollVoteMessage=self.vote, Error=self.vote_error).SerializePartialToString()

    def Logout(self, uuid: bytes) -> bytes:
        self.logouts += 1
        return b""


class FakeGoEngine(NeonizeEngine):
    """The neonize engine with every client it builds sitting on `fake`."""

    fake: FakeGo
    clients: list[Any]

    @staticmethod
    def make_client(dsn: str, link: str | None, session: str) -> Any:  # type: ignore[override]
        client = _build_client(dsn, link, session)
        client._NewClient__client = FakeGoEngine.fake
        client.contact._ContactStore__client = FakeGoEngine.fake
        FakeGoEngine.clients.append(client)
        return client


def use_fake(fake: FakeGo) -> type[FakeGoEngine]:
    FakeGoEngine.fake = fake
    FakeGoEngine.clients = []
    return FakeGoEngine


def _execute(client: Any, event: Any) -> None:
    raw = event.SerializePartialToString()
    buffer = ctypes.create_string_buffer(raw, len(raw))
    client.event.execute(0, ctypes.addressof(buffer), len(raw), EVENT_TO_INT[type(event)])


def _qr(client: Any, code: bytes) -> None:
    buffer = ctypes.create_string_buffer(code)
    client._NewClient__onQr(0, ctypes.addressof(buffer))


async def feed(client: Any, event: Any) -> None:
    """Deliver `event` through neonize's dispatcher from another thread, as the Go side does."""
    await asyncio.to_thread(_execute, client, event)


async def show_qr(client: Any, code: bytes) -> None:
    """Deliver a QR code through neonize's QR callback from another thread."""
    await asyncio.to_thread(_qr, client, code)


def fake_in_gateway(monkeypatch: Any) -> FakeGo:
    """Sessions of the `neonize` engine run NeonizeEngine over a fresh FakeGo in the gateway's own process
    (the fake cannot be reached in a worker): for tests of what the gateway makes of the engine's events.
    The workers have their own tests, with the real library (tests/engines/test_workers.py)."""
    from waqtor import engines

    fake = FakeGo()
    engine = use_fake(fake)
    monkeypatch.setattr(NeonizeEngine, "make_client", staticmethod(engine.make_client))
    monkeypatch.setitem(engines._ENGINES, "neonize", "tests.engines.neonize_fakes:FakeGoEngine")
    return fake
