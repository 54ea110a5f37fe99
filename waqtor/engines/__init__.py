"""Engines by name, imported lazily so an engine's heavy vendor library loads only when it is used."""

from __future__ import annotations

import importlib

from waqtor.config import ENGINE_NAMES
from waqtor.engines.base import Engine
from waqtor.errors import ConfigError, NotSupportedByEngine

_ENGINES: dict[str, str] = {
    "neonize": "waqtor.engines.neonize.remote:NeonizeRemote",
    "cloud": "waqtor.engines.cloud.engine:CloudEngine",
    "sandbox": "waqtor.engines.sandbox.engine:SandboxEngine",
}
assert tuple(_ENGINES) == ENGINE_NAMES, "every engine the settings accept has an adapter, and no other"

TEMPLATES = "templates"  # sending WhatsApp message templates
# Contacts (GET/POST /api/contacts/...): the Cloud API tells none of it, and blocks no one for us.
CONTACT_CHECK = "contact_check"
CONTACT_PROFILE = "contact_profile"
CONTACT_PICTURE = "contact_picture"
CONTACT_BLOCK = "contact_block"
EDIT = "edit"  # editing a sent message (PATCH /api/messages/{id})
REVOKE = "revoke"  # deleting a sent message for everyone (DELETE /api/messages/{id}?for=everyone)
PRESENCE = "presence"  # typing or recording in a chat (POST /api/chats/{chat}/presence, typingSeconds)
# Presence (issue 18 item 6): a contact's online/offline (POST /api/contacts/{phone}/presence/subscribe) and
# the account's own (POST /api/sessions/{name}/presence); the Cloud API tells and shows neither.
PRESENCE_SUBSCRIBE = "presence_subscribe"
OWN_PRESENCE = "own_presence"
POLLS = "polls"  # sending a poll (POST /api/messages/send-poll)
# What an engine cannot do, by feature, with how the refusal says it. Read without importing the engine,
# so a request is refused before anything else is checked, whatever the session's state.
_CANNOT: dict[str, dict[str, str]] = {
    "neonize": {TEMPLATES: "send message templates (Cloud API only)"},
    "cloud": {CONTACT_CHECK: "check whether numbers are on WhatsApp", CONTACT_PROFILE: "read contact profiles",
              CONTACT_PICTURE: "fetch profile pictures", CONTACT_BLOCK: "block or unblock contacts",
              EDIT: "edit messages (the WhatsApp Cloud API has no edit)",
              REVOKE: "delete messages for everyone (the WhatsApp Cloud API has no deletion)",
              PRESENCE: "show typing or recording in a chat (the WhatsApp Cloud API shows typing only while "
                        "marking a received message read)",
              PRESENCE_SUBSCRIBE: "subscribe to a contact's presence (the WhatsApp Cloud API tells no one's presence)",
              OWN_PRESENCE: "set the account's own presence (the WhatsApp Cloud API has no presence)",
              POLLS: "send polls (the WhatsApp Cloud API has no polls)"},
}


def require_feature(engine: str, feature: str) -> None:
    """NotSupportedByEngine (422 `not_supported_by_engine`, naming the engine) when `engine` cannot offer
    `feature`."""
    what = _CANNOT.get(engine, {}).get(feature)
    if what is not None:
        raise NotSupportedByEngine(engine, what)


def engine_class(name: str) -> type[Engine]:
    """The engine class registered under `name`; ConfigError naming it when there is none."""
    try:
        target = _ENGINES[name]
    except KeyError:
        raise ConfigError(f"unknown engine {name!r}; choose one of: {', '.join(_ENGINES)}") from None
    module_name, _, attr = target.partition(":")
    engine: type[Engine] = getattr(importlib.import_module(module_name), attr)
    return engine
