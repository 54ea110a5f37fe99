"""Without Chromium the browser tests fail and say how to get it; they are never skipped."""

from __future__ import annotations

import pytest

from tests.dashboard import browser


def test_a_missing_chromium_fails_with_the_way_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.fail.Exception) as failure:
        browser.require_chromium()
    assert "/nonexistent/chromium" in str(failure.value)
    assert "apt-get install -y chromium" in str(failure.value)

