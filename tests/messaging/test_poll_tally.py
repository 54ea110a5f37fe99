"""Pure tests of a poll's tally (`waqtor.messaging.polls`) and of a poll carried as JSON to the instance that runs
its session (`waqtor.messaging.draft`)."""

from __future__ import annotations

from waqtor.engines.base import PollSpec, new_poll, poll_option_hash
from waqtor.messaging.draft import Draft, draft_from_json, draft_to_json
from waqtor.messaging.phones import Recipient
from waqtor.messaging.polls import named, tallied
from waqtor.storage.records import MediaRecord

POLL = new_poll("Extras?", ["Butter", "Jam", "Honey"], multiple=True)


def test_hashes_are_named_in_the_poll_s_order_and_unknown_ones_are_left_out() -> None:
    hashes = (poll_option_hash("Honey"), "ab" * 32, poll_option_hash("Butter").upper())
    assert named(POLL, hashes) == ["Butter", "Honey"]


def test_the_same_vote_again_changes_nothing_and_an_empty_one_removes_the_voter() -> None:
    voted = tallied(POLL, "ana", ["Jam"])
    assert voted is not None
    assert tallied(voted, "ana", ["Jam"]) is None
    assert tallied(POLL, "ana", []) is None  # nothing to take back
    cleared = tallied(voted, "ana", [])
    assert cleared is not None
    assert (cleared["voters"], [o["votes"] for o in cleared["options"]]) == ({}, [0, 0, 0])
    assert POLL["voters"] == {}  # the poll given is never changed in place


async def test_a_poll_draft_travels_as_json_unchanged() -> None:
    draft = Draft(to=Recipient(jid="4915100000001@s.whatsapp.net", phone="4915100000001"), type="poll",
                  text="Extras?", poll=PollSpec("Extras?", ("Butter", "Jam"), multiple=True))

    async def no_media(media_id: str) -> MediaRecord:
        raise AssertionError("a poll has no file")

    assert await draft_from_json(draft_to_json(draft), no_media) == draft
