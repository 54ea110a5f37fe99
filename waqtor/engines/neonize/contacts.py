"""Contacts on the neonize engine: whatsmeow's answers about numbers, profiles and pictures, mapped to ours.

Blocking calls into neonize's client; the engine runs them in a thread through its GoGuard. Imports
neonize: only the engine loads it, lazily.
"""

from __future__ import annotations

from typing import Any

from neonize.exc import ContactStoreError, GetProfilePictureError
from neonize.proto.Neonize_pb2 import GetProfilePictureParams
from neonize.utils.enum import BlocklistAction

from waqtor.engines.base import ContactProfile, ProfilePicture
from waqtor.engines.neonize.outgoing import recipient
from waqtor.engines.neonize.translate import jid_string
from waqtor.errors import InvalidInput

# whatsmeow's ErrProfilePictureNotSet and ErrProfilePictureUnauthorized: no picture to show, not a failure.
NO_PICTURE = ("doesn't have a profile picture", "hidden their profile picture")


def check(client: Any, jids: list[str]) -> dict[str, str | None]:
    """One IsOnWhatsApp query for all of `jids`. whatsmeow wants international numbers with `+` and
    answers each with the query as sent, so a number is matched back through its digits; one WhatsApp
    did not answer for stays out (unknown)."""
    users = {jid: jid.partition("@")[0] for jid in jids}
    queries = ["+" + user for user in dict.fromkeys(users.values())]
    if not queries:
        return {}
    found: dict[str, str | None] = {}
    for answer in client.is_on_whatsapp(*queries):
        user = answer.Query.lstrip("+")
        account = jid_string(answer.JID) if answer.JID.User else f"{user}@s.whatsapp.net"
        found[user] = account if answer.IsIn else None
    return {jid: found[user] for jid, user in users.items() if user in found}


def profile(client: Any, jid: str) -> ContactProfile:
    """The contact's profile from whatsmeow's user info (about text, verified business name) and its
    contact store (the push name it has seen); InvalidInput (`not_on_whatsapp`) when WhatsApp knows no
    such user."""
    target = recipient(jid)
    users = [user for user in client.get_user_info(target) if user.JID.User == target.User]
    if not users:
        raise InvalidInput(f"{jid} is not on WhatsApp", code="not_on_whatsapp")
    info = users[0].UserInfo
    business = info.HasField("VerifiedName")
    verified = info.VerifiedName.Details.verifiedName if business else ""
    try:
        seen = client.contact.get_contact(target)
    except ContactStoreError:  # the device's own contact store: a name it cannot read is just unknown
        seen = None
    name = verified or (seen and (seen.BusinessName or seen.PushName or seen.FullName)) or None
    return ContactProfile(jid=jid, name=name, about=info.Status or None, business=business)


def picture(client: Any, jid: str) -> ProfilePicture | None:
    """The full-size profile picture's URL on WhatsApp's CDN, or None when the contact has none or hides it."""
    try:
        info = client.get_profile_picture(recipient(jid), GetProfilePictureParams(Preview=False))
    except GetProfilePictureError as exc:
        # neonize raises it with its whole answer message; the text is in its `Error`.
        reason = str(getattr(exc.args[0], "Error", exc.args[0])) if exc.args else ""
        if any(known in reason for known in NO_PICTURE):
            return None
        raise
    if not info.URL:
        return None
    return ProfilePicture(url=info.URL, picture_id=info.ID or None)


def block(client: Any, jid: str, blocked: bool) -> None:
    client.update_blocklist(recipient(jid), BlocklistAction.BLOCK if blocked else BlocklistAction.UNBLOCK)
