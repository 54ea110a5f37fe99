"""WhatsApp message templates (approved in Meta's WhatsApp Manager, sent by name with parameters) as the
message log shows them. Pure. Not to be confused with `templates`, the gateway's own `{variable}` texts."""

from __future__ import annotations

from typing import Any

from waqtor.engines.base import TemplateSpec


def _value(parameter: Any) -> str | None:
    """What a body parameter shows: its text, or the fallback of a currency or a date."""
    if not isinstance(parameter, dict):
        return None
    kind = parameter.get("type")
    if kind == "text":
        text = parameter.get("text")
        return str(text) if text is not None else None
    if kind in ("currency", "date_time") and isinstance(parameter.get(kind), dict):
        fallback = parameter[kind].get("fallback_value")
        return str(fallback) if fallback is not None else None
    return None


def summary(template: TemplateSpec) -> str:
    """The logged text of a template message: its name and language, then the values of its body
    parameters in order (`order_update (en_US): Ana, #1042`). The template's own wording stays with Meta."""
    values = [value for part in template.components if isinstance(part, dict) and part.get("type") == "body"
              for value in map(_value, part.get("parameters") or ()) if value]
    head = f"{template.name} ({template.language})"
    return f"{head}: {', '.join(values)}" if values else head
