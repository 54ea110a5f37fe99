"""`/api/contacts/...` on the sandbox: checking numbers (per entry, cached), a contact's profile and
picture, block and unblock; and the refusals."""

from __future__ import annotations

from typing import Any

from tests.api.test_bad_input import assert_error
from tests.conftest import Harness
from waqtor.engines.sandbox.engine import SandboxEngine
from waqtor.messaging.contacts import MAX_CHECK

ANA = "+49 151 12345678"
ANA_JID = "4915112345678@s.whatsapp.net"
NOBODY = "+971 50 123 4567"
NOBODY_JID = "971501234567@s.whatsapp.net"


async def set_contact(gw: Harness, phone: str, **body: Any) -> None:
    response = await gw.client.post("/api/sandbox/contacts", json={"phone": phone} | body)
    assert response.status_code == 200, response.text


async def check(gw: Harness, *phones: str) -> list[dict[str, Any]]:
    response = await gw.client.post("/api/contacts/check", json={"phones": list(phones)})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def sandbox(gw: Harness) -> SandboxEngine:
    engine = gw.gateway.sessions.get("default").engine
    assert isinstance(engine, SandboxEngine)
    return engine


async def test_a_check_answers_each_number_in_order_with_its_jid(gw: Harness) -> None:
    await gw.scan()
    await set_contact(gw, NOBODY, onWhatsApp=False)
    answers = await check(gw, ANA, NOBODY, "004915112345678")
    assert answers == [
        {"input": ANA, "phone": "+4915112345678", "onWhatsApp": True, "jid": ANA_JID, "error": None},
        {"input": NOBODY, "phone": "+971501234567", "onWhatsApp": False, "jid": None, "error": None},
        {"input": "004915112345678", "phone": "+4915112345678", "onWhatsApp": True, "jid": ANA_JID, "error": None},
    ]


async def test_an_invalid_entry_is_reported_alone_and_the_others_are_answered(gw: Harness) -> None:
    await gw.scan()
    answers = await check(gw, "hello", ANA, "120363025246125486@g.us")
    assert [answer["onWhatsApp"] for answer in answers] == [None, True, None]
    assert [answer["error"] and answer["error"]["code"] for answer in answers] == [
        "invalid_phone", None, "invalid_phone"]
    assert "group" in answers[2]["error"]["message"]


async def test_an_answer_is_remembered_so_a_second_check_does_not_ask_whatsapp(gw: Harness) -> None:
    await gw.scan()
    assert (await check(gw, ANA))[0]["onWhatsApp"] is True
    await set_contact(gw, ANA, onWhatsApp=False)  # WhatsApp would now say no; the answer of before holds
    assert (await check(gw, ANA))[0]["onWhatsApp"] is True
    assert (await check(gw, NOBODY))[0]["onWhatsApp"] is True, "a number not asked before is asked"


async def test_a_check_of_more_than_the_limit_is_refused(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/contacts/check", json={"phones": [ANA] * (MAX_CHECK + 1)})
    assert_error(response, 422, "validation_error")


async def test_a_check_on_a_session_that_is_not_connected_is_409(gw: Harness) -> None:
    response = await gw.client.post("/api/contacts/check", json={"phones": [ANA]})
    assert_error(response, 409, "session_not_ready")


async def test_a_profile_shows_name_about_and_business(gw: Harness) -> None:
    await gw.scan()
    await set_contact(gw, ANA, name="Lima Bakery", about="Fresh bread daily", business=True)
    response = await gw.client.get("/api/contacts/+4915112345678")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"phone": "+4915112345678", "jid": ANA_JID, "name": "Lima Bakery",
                                       "about": "Fresh bread daily", "business": True}


async def test_a_profile_of_a_number_without_whatsapp_is_400_not_on_whatsapp(gw: Harness) -> None:
    await gw.scan()
    await set_contact(gw, NOBODY, onWhatsApp=False)
    assert_error(await gw.client.get("/api/contacts/971501234567"), 400, "not_on_whatsapp")


async def test_a_profile_of_no_phone_number_is_400_invalid_phone(gw: Harness) -> None:
    await gw.scan()
    assert_error(await gw.client.get("/api/contacts/not-a-number"), 400, "invalid_phone")


async def test_the_picture_is_stored_as_media_and_downloadable(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.get("/api/contacts/+4915112345678/picture")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["phone"], data["jid"], data["pictureId"]) == ("+4915112345678", ANA_JID, "4915112345678")
    media = data["media"]
    assert media["kind"] == "image" and media["mimetype"] == "image/png"
    assert media["fileName"] == "profile-4915112345678.png", "named for the type of its content"
    download = await gw.client.get(media["url"])
    assert download.status_code == 200
    assert download.content.startswith(b"\x89PNG") and len(download.content) == media["size"]


async def test_a_contact_without_a_picture_is_404_no_picture(gw: Harness) -> None:
    await gw.scan()
    await set_contact(gw, ANA, picture=False)
    assert_error(await gw.client.get("/api/contacts/+4915112345678/picture"), 404, "no_picture")


async def test_block_and_unblock_reach_the_account(gw: Harness) -> None:
    await gw.scan()
    response = await gw.client.post("/api/contacts/+4915112345678/block")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"phone": "+4915112345678", "jid": ANA_JID, "blocked": True}
    assert sandbox(gw).blocked == {ANA_JID}
    response = await gw.client.post("/api/contacts/+4915112345678/unblock")
    assert response.json()["data"]["blocked"] is False
    assert sandbox(gw).blocked == set()


async def test_a_session_that_does_not_exist_is_404(gw: Harness) -> None:
    response = await gw.client.get("/api/contacts/+4915112345678", params={"session": "nope"})
    assert_error(response, 404, "session_not_found")

