"""The WebSocket test page (waqtor/dashboard/static/websocket-test.html): self-contained, in step with
the protocol, and careful with the API key. Its behaviour in a DOM is tested in test_page_in_jsdom.py."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from tests.npm import require_node
from waqtor.events import EVENT_TYPES
from waqtor.ws.protocol import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "waqtor" / "dashboard" / "static" / "websocket-test.html"
DOCS_COPY = ROOT / "docs" / "websocket-test.html"


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script += data


def page() -> Elements:
    parser = Elements()
    parser.feed(PAGE.read_text())
    return parser


def test_the_docs_page_is_the_served_page() -> None:
    # A link, not a copy, so the two can never drift apart.
    assert DOCS_COPY.is_symlink() and DOCS_COPY.resolve() == PAGE.resolve()


def test_page_loads_nothing_from_elsewhere() -> None:
    text = PAGE.read_text()
    assert not re.search(r"https?://", text)
    assert "@import" not in text and "url(" not in text
    for tag, attrs in page().tags:
        assert tag != "link", "no external stylesheets or icons"
        assert "src" not in attrs, f"<{tag}> loads {attrs['src']}"


def test_page_has_no_inline_handlers_or_style_attributes_the_policy_would_block() -> None:
    for tag, attrs in page().tags:
        assert not [name for name in attrs if name.startswith("on")], f"<{tag}> has an inline handler"
        assert "style" not in attrs, f"<{tag}> has a style attribute"


def test_event_checkboxes_are_all_and_every_event_type() -> None:
    boxes = [attrs["value"] for tag, attrs in page().tags if tag == "input" and attrs.get("name") == "event"]
    assert boxes == ["all", *EVENT_TYPES]


def test_quick_command_buttons_are_protocol_commands() -> None:
    buttons = [attrs["data-command"] for _, attrs in page().tags if "data-command" in attrs]
    assert buttons == ["ping", "get_state", "get_qr"]
    assert set(buttons) <= set(COMMANDS)


def test_every_element_the_script_uses_exists() -> None:
    parsed = page()
    ids = {attrs["id"] for _, attrs in parsed.tags if attrs.get("id")}
    used = set(re.findall(r"\$\('([a-z-]+)'\)", parsed.script))
    assert used, "the script looks elements up with $('id')"
    assert used <= ids, f"missing elements: {sorted(used - ids)}"


def test_key_is_never_hard_coded_nor_kept_beyond_the_tab() -> None:
    parsed = page()
    assert "localStorage" not in parsed.script
    assert "document.cookie" not in parsed.script
    [key_input] = [attrs for tag, attrs in parsed.tags if attrs.get("id") == "key"]
    assert key_input["type"] == "password"
    assert "value" not in key_input


def test_script_is_valid_javascript(tmp_path: Path) -> None:
    node = require_node()
    module = tmp_path / "page.mjs"
    module.write_text(page().script)
    result = subprocess.run([node, "--check", str(module)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
