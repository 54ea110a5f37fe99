"""The neonize engine's contacts (waqtor.engines.neonize.contacts): numbers, profiles, pictures and the
blocklist, through neonize's real client code over the fake Go layer, answers built from neonize's own
protobuf classes."""

from __future__ import annotations

from pathlib import Path

import pytest
from neonize.events import ConnectedEv
from neonize.proto.Neonize_pb2 import ContactInfo, ProfilePictureInfo, UserInfo, VerifiedName
from neonize.proto.waVnameCert.WAWebProtobufsVnameCert_pb2 import VerifiedNameCertificate

from tests.api.test_media_uploads import Files, files  # noqa: F401  (the fixture)
from tests.conftest import eventually, in_process, make_settings
from tests.engines.neonize_fakes import FakeGoEngine, fake_in_gateway, feed
from tests.engines.test_neonize_engine import Rig, rig  # noqa: F401  (the fixture)
from waqtor.engines.base import ContactProfile, ProfilePicture
from waqtor.errors import EngineError, InvalidInput, SessionNotReady

ANA = "4915199999999@s.whatsapp.net"


async def test_a_check_answers_the_jid_whatsapp_gives_and_none_without_an_account(rig: Rig) -> None:  # noqa: F811
    await rig.linked()
    rig.fake.registered = {"4915199999999"}
    rig.fake.unanswered = {"4915100000000"}
    answers = await rig.engine.check_numbers([ANA, "4915188888888@s.whatsapp.net", "4915100000000@s.whatsapp.net"])
    assert rig.fake.checked == [["+4915199999999", "+4915188888888", "+4915100000000"]]
    assert answers == {ANA: ANA, "4915188888888@s.whatsapp.net": None}


async def test_a_profile_has_the_about_text_and_the_push_name_the_account_saw(rig: Rig) -> None:  # noqa: F811
    await rig.linked()
    rig.fake.users["4915199999999"] = UserInfo(Status="At the gym", PictureID="1700")
    rig.fake.contacts["4915199999999"] = ContactInfo(Found=True, PushName="Ana", FullName="Ana Lima")
    profile = await rig.engine.contact_profile(ANA)
    assert profile == ContactProfile(jid=ANA, name="Ana", about="At the gym", business=False)


async def test_a_contact_store_that_cannot_answer_leaves_only_the_name_unknown(rig: Rig) -> None:  # noqa: F811
    await rig.linked()
    rig.fake.users["4915199999999"] = UserInfo(Status="At the gym")
    rig.fake.contact_error = "failed to get contact: database is locked"
    profile = await rig.engine.contact_profile(ANA)
    assert profile == ContactProfile(jid=ANA, name=None, about="At the gym", business=False)


async def test_a_business_shows_its_verified_name(rig: Rig) -> None:  # noqa: F811
    await rig.linked()
    details = VerifiedNameCertificate.Details(serial=1, issuer="smb:wa", verifiedName="Lima Bakery")
    rig.fake.users["4915199999999"] = UserInfo(VerifiedName=VerifiedName(Details=details), Status="")
    rig.fake.contacts["4915199999999"] = ContactInfo(Found=True, PushName="ana")
    profile = await rig.engine.contact_profile(ANA)
    assert profile == ContactProfile(jid=ANA, name="Lima Bakery", about=None, business=True)


async def test_a_profile_of_someone_whatsapp_does_not_know_is_not_on_whatsapp(rig: Rig) -> None:  # noqa: F811
    await rig.linked()
    with pytest.raises(InvalidInput) as caught:
        await rig.engine.contact_profile(ANA)
    assert caught.value.code == "not_on_whatsapp"


async def test_the_full_size_picture_is_asked_for_and_its_url_given(rig: Rig) -> None:  # noqa: F811
    await rig.linked()
    rig.fake.pictures["4915199999999"] = ProfilePictureInfo(URL="https://pps.whatsapp.net/v/t61/ana.jpg", ID="1700",
                                                            Type="image")
    picture = await rig.engine.profile_picture(ANA)
    assert picture == ProfilePicture(url="https://pps.whatsapp.net/v/t61/ana.jpg", picture_id="1700")
    ((who, params),) = rig.fake.picture_asks
    assert who == "4915199999999" and params.Preview is False


@pytest.mark.parametrize("error", ["", "that user doesn't have a profile picture",
                                   "the user has hidden their profile picture from you"])
async def test_no_picture_or_a_hidden_one_is_none(rig: Rig, error: str) -> None:  # noqa: F811
    await rig.linked()
    rig.fake.picture_error = error
    assert await rig.engine.profile_picture(ANA) is None


async def test_another_picture_failure_is_whatsapp_s_error(rig: Rig) -> None:  # noqa: F811
    await rig.linked()
    rig.fake.picture_error = "info query timed out"
    with pytest.raises(EngineError) as caught:
        await rig.engine.profile_picture(ANA)
    assert caught.value.code == "whatsapp_error" and "timed out" in caught.value.message


async def test_block_and_unblock_update_the_blocklist(rig: Rig) -> None:  # noqa: F811
    await rig.linked()
    await rig.engine.set_blocked(ANA, True)
    await rig.engine.set_blocked(ANA, False)
    assert rig.fake.blocklist == [("4915199999999", b"block"), ("4915199999999", b"unblock")]


async def test_no_contact_question_reaches_go_before_the_session_is_connected(rig: Rig) -> None:  # noqa: F811
    await rig.running()
    for call in (rig.engine.check_numbers([ANA]), rig.engine.contact_profile(ANA), rig.engine.profile_picture(ANA),
                 rig.engine.set_blocked(ANA, True)):
        with pytest.raises(SessionNotReady):
            await call
    assert (rig.fake.checked, rig.fake.picture_asks, rig.fake.blocklist) == ([], [], [])


async def test_through_the_api_the_picture_is_downloaded_from_its_url_into_the_media_store(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, files: str,  # noqa: F811
) -> None:
    fake = fake_in_gateway(monkeypatch)
    fake.pictures["4915199999999"] = ProfilePictureInfo(URL=f"{files}/cat.png", ID="1700")
    # media_allow_private: the test's server stands in for WhatsApp's CDN on 127.0.0.1.
    async with in_process(make_settings(data_dir, engine="neonize", media_allow_private=True)) as gw:
        await eventually(lambda: fake.entered.is_set() and bool(FakeGoEngine.clients), what="connect running")
        await feed(FakeGoEngine.clients[-1], ConnectedEv(status=True))
        monitor = gw.gateway.sessions.get("default").monitor
        await eventually(lambda: monitor.state.ready, what="connected")
        response = await gw.client.get("/api/contacts/+4915199999999/picture")
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert (data["jid"], data["pictureId"]) == (ANA, "1700")
        assert Files.seen == ["/cat.png"]
        download = await gw.client.get(data["media"]["url"])
        assert download.content == Files.routes["/cat.png"][2]
        fake.picture_error = "the user has hidden their profile picture from you"
        response = await gw.client.get("/api/contacts/+4915199999999/picture")
        assert response.status_code == 404 and response.json()["error"]["code"] == "no_picture"
