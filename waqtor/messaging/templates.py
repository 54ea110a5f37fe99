"""Message templates: `Hello {name}, your code is {code}`. Pure; shared by single sends and campaigns.

Syntax: `{variable}` where a variable is a letter or `_` followed by letters, digits or `_`;
`{{` and `}}` write literal braces. Nothing else is evaluated (no attributes, indexes or format
specs), so a template can never reach into Python objects.

Values: the built-ins `{phone}` (the recipient in E.164, `+4915112345678`), `{date}` (`2025-10-28`)
and `{time}` (`14:05`, 24-hour) from `builtin_values`, and any custom field (`{name}`, a CSV
column…). A custom field overrides a built-in of the same name. A variable without a value — absent,
None, or only whitespace — is an error (`missing_variables`, listing every missing name), never a
blank in a sent text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from waqtor.errors import InvalidInput

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|\{|\}")


class MissingVariables(InvalidInput):
    """The template uses variables that have no value; `missing` lists them in order of first use."""

    def __init__(self, missing: list[str]) -> None:
        names = ", ".join("{" + name + "}" for name in missing)
        super().__init__(f"the message uses {names} with no value", code="missing_variables",
                         details={"missing": missing})
        self.missing = missing


def _invalid(template: str, position: int, what: str) -> InvalidInput:
    return InvalidInput(
        f"invalid template at character {position + 1}: {what} (write {{{{ or }}}} for a literal brace)",
        code="invalid_template",
        details={"position": position},
    )


def _parse(template: str) -> list[str | tuple[str]]:
    """Literal text (str) and variables (1-tuples) in order; InvalidInput(code="invalid_template")."""
    parts: list[str | tuple[str]] = []
    last = 0
    for match in _TOKEN.finditer(template):
        if match.start() > last:
            parts.append(template[last : match.start()])
        token = match.group(0)
        if match.group(1) is not None:
            parts.append((match.group(1),))
        elif token in ("{{", "}}"):
            parts.append(token[0])
        elif token == "{":
            raise _invalid(template, match.start(), "a { that does not start a {variable}")
        else:
            raise _invalid(template, match.start(), "a } with no { before it")
        last = match.end()
    if last < len(template):
        parts.append(template[last:])
    return parts


def variables_in(template: str) -> list[str]:
    """The variables `template` uses, each once, in order of first use; InvalidInput when malformed."""
    seen: dict[str, None] = {}
    for part in _parse(template):
        if isinstance(part, tuple):
            seen.setdefault(part[0], None)
    return list(seen)


def builtin_values(phone: str | None, now: datetime) -> dict[str, str]:
    """`{phone}`, `{date}` and `{time}` for a recipient at `now` (already in the wanted time zone);
    no `phone` entry for a group."""
    values = {"date": now.strftime("%Y-%m-%d"), "time": now.strftime("%H:%M")}
    if phone:
        values["phone"] = phone
    return values


def render(template: str, values: Mapping[str, object]) -> str:
    """`template` with every variable replaced by its value (converted with str()).

    Raises MissingVariables naming every variable without a value, or InvalidInput
    (code `invalid_template`) when the template is malformed.
    """
    parts = _parse(template)
    missing: dict[str, None] = {}
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = values.get(part[0])
        text = "" if value is None else str(value)
        if not text.strip():
            missing.setdefault(part[0], None)
        out.append(text)
    if missing:
        raise MissingVariables(list(missing))
    return "".join(out)
