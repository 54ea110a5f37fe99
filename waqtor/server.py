"""How the gateway runs under uvicorn: one place for the server options, shared by the CLI and tests."""

from __future__ import annotations

import gc
from typing import Any

import uvicorn

from waqtor.config import Settings
from waqtor.http_protocol import http_protocol
from waqtor.logs import install_redaction


def uvicorn_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration for `app`: WebSocket frame limit and protocol-level heartbeat from the
    settings, a deadline and a size limit for request headers (`waqtor.http_protocol`), WAQTOR_LIMIT_CONCURRENCY,
    no access log of uvicorn's own (ours leaves query strings, and so keys, out), and
    X-Forwarded-For believed only from WAQTOR_TRUSTED_PROXIES (uvicorn's own default trusts loopback,
    so anyone on the host could pick the address the failed-authentication limit counts)."""
    install_redaction()
    proxies = settings.trusted_proxy_list
    options: dict[str, Any] = {
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies,
        "host": settings.host,
        "port": settings.port,
        "http": http_protocol(settings.header_timeout),
        "limit_concurrency": settings.limit_concurrency or None,
        "log_level": settings.log_level,
        "ws": "websockets-sansio",
        "ws_max_size": settings.ws_max_frame,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_timeout,
        # Broadcast frames would be compressed once per client: at fan-out that costs more than it saves.
        "ws_per_message_deflate": False,
        "lifespan": "on",
        "access_log": False,
        "log_config": None,
        "timeout_graceful_shutdown": 10,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


# Collect young objects every 50,000 allocations instead of 700. With thousands of WebSocket clients,
# each broadcast leaves one waiting future per client alive across collections; with the default the
# collector promoted them by the thousand and ran full collections of the whole heap (up to 1.9 s each
# at 5,000 clients, about 70% of the gateway's CPU during fan-out; bench/profiles.md).
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Set the collector for a long-running server: moves what start-up allocated out of its way
    (`gc.freeze`) and collects the young generation less often. Called once by `waqtor serve`."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
