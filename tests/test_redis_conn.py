"""The reconnect loop every Redis reader shares: growing pauses, and one log line when Redis is lost and
one when it is back, however many retries lie between."""

from __future__ import annotations

import logging
import time

import pytest

from waqtor.errors import ConfigError
from waqtor.redis_conn import Reconnect, parse_url


async def test_pauses_grow_to_the_maximum_and_start_over_after_a_success() -> None:
    link = Reconnect("test reader", minimum=0.01, maximum=0.04)
    pauses = []
    for _ in range(4):
        started = time.monotonic()
        await link.failed(OSError("refused"))
        pauses.append(time.monotonic() - started)
    assert pauses[0] >= 0.01 and pauses[1] >= 0.02 and pauses[2] >= 0.04 and pauses[3] >= 0.04
    assert pauses[3] < 0.04 + 0.5, "capped at the maximum"
    link.succeeded()
    started = time.monotonic()
    await link.failed(OSError("refused"))
    assert time.monotonic() - started < 0.02 + 0.5 and link.connected is False


async def test_a_loss_and_a_return_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    link = Reconnect("test reader", minimum=0.001, maximum=0.001)
    with caplog.at_level(logging.INFO, logger="waqtor.redis_conn"):
        for _ in range(3):
            await link.failed(OSError("refused"))
        link.succeeded()
        link.succeeded()
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["test reader: lost Redis (refused); reconnecting", "test reader: reconnected"]


def test_the_url_keeps_its_other_options_and_gives_up_its_prefix() -> None:
    url = "redis://h:6380/2?prefix=shop&ssl_cert_reqs=none"
    assert parse_url(url) == ("redis://h:6380/2?ssl_cert_reqs=none", "shop")
    assert parse_url("rediss://h/0") == ("rediss://h/0", "waqtor")
    with pytest.raises(ConfigError):
        parse_url("http://h/0")
