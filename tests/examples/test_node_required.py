"""Without Node.js the JavaScript example tests fail, saying what to install: they never skip."""

from __future__ import annotations

import pytest

from tests.npm import require_node


def test_missing_node_fails_with_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(pytest.fail.Exception, match=r"need Node.js and npm: install Node.js and npm"):
        require_node()


def test_too_old_node_fails_naming_the_version_needed() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"999.0 or newer is needed"):
        require_node((999, 0))
