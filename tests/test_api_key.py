"""The API key: generated once when unset, shown once, stored only as a hash; WAQTOR_API_KEY wins."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from waqtor.access.gateway_key import KEY_FILE, ApiKeys
from waqtor.app import create_app
from waqtor.config import Settings


async def test_first_start_generates_prints_once_and_stores_only_the_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    ApiKeys.from_settings(settings)
    printed = capsys.readouterr().err
    key = next(word for word in printed.split() if word.startswith("wqt_"))
    assert len(key) >= 40
    stored = (tmp_path / "d" / KEY_FILE).read_text().strip()
    assert stored == hashlib.sha256(key.encode()).hexdigest()
    assert key not in stored
    assert (tmp_path / "d" / KEY_FILE).stat().st_mode & 0o077 == 0

    again = ApiKeys.from_settings(settings)
    assert capsys.readouterr().err == ""
    assert again.verify(key)
    assert not again.verify(key[:-1])


async def test_generated_key_opens_the_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(Settings(data_dir=tmp_path / "d", port=0))
    async with app.router.lifespan_context(app):
        key = next(word for word in capsys.readouterr().err.split() if word.startswith("wqt_"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as client:
            assert (await client.get("/api/session/state")).status_code == 401
            assert (await client.get("/api/session/state", headers={"X-API-Key": key})).status_code == 200


def test_configured_key_is_used_and_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAQTOR_API_KEY", "my-own-long-secret-key")
    keys = ApiKeys.from_settings(Settings(data_dir=tmp_path / "d"))
    assert keys.verify("my-own-long-secret-key")
    assert not (tmp_path / "d" / KEY_FILE).exists()


def test_a_short_configured_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 16"):
        Settings(api_key="short")


def test_empty_or_missing_keys_never_verify(tmp_path: Path) -> None:
    keys = ApiKeys.from_settings(Settings(data_dir=tmp_path, api_key="x" * 20))
    assert not keys.verify(None)
    assert not keys.verify("")
