"""Settings: built once (from the environment, `WAQTOR_*`, and CLI overrides) and passed to `create_app`.

Nothing in the package reads the environment at import time; every component receives the `Settings`
instance it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The engines a session may run; `waqtor.engines` maps each name to its adapter.
ENGINE_NAMES = ("neonize", "cloud", "sandbox")


class Settings(BaseSettings):
    """Every setting of the gateway; README.md has the table with each default."""

    model_config = SettingsConfigDict(env_prefix="WAQTOR_", extra="ignore", validate_default=True)

    host: str = Field("0.0.0.0", description="Address the HTTP server binds to.")
    port: int = Field(8080, ge=0, le=65535, description="HTTP port (0 picks a free one).")
    engine: str = Field(
        "neonize", description="Engine of the `default` session: neonize (WhatsApp Web), cloud (Cloud API) or sandbox."
    )
    data_dir: Path = Field(Path("./data"), description="Directory for the database, keys and media.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data dir>/waqtor.db."
    )
    database_timeout: float = Field(
        15.0, gt=0, le=3600, description="PostgreSQL: seconds a connection attempt, a statement or a wait for a "
                                         "pooled connection may take before it fails (503 database_unavailable, "
                                         "or 503 database_busy when every pooled connection stays in use), so a "
                                         "silent network cut cannot hold a request until TCP gives up."
    )
    database_pool_size: int = Field(
        10, ge=1, le=500, description="PostgreSQL: connections kept open for requests and services; as many more "
                                      "are opened for bursts. Session leases have two of their own besides."
    )
    api_key: SecretStr | None = Field(
        None, description="API key; when unset a key is generated on first start and only its hash kept."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # ---- access ----
    key_refresh_interval: float = Field(
        30.0, gt=0, description="Seconds between reloads of the API keys from the database (revocations also "
                                "reach every instance at once through Redis when the bus is redis://)."
    )
    auth_failures: str = Field(
        "10/minute", description="Failed authentications a client address may make per period, e.g. 10/minute; "
                                 "beyond it every attempt is refused (429 too_many_failed_auth). 0 disables."
    )
    trusted_proxies: str = Field(
        "", description="Comma-separated addresses or networks of your reverse proxies (10.0.0.5, 10.0.0.0/24, ::1): "
                        "only from those is X-Forwarded-For believed as the client's address (and X-Forwarded-Proto "
                        "as its scheme); empty (default): none, the client is whoever connects."
    )
    header_timeout: float = Field(
        10.0, gt=0, le=3600,
        description="Seconds a connection has to send a request's complete headers (from when it opens, or from the "
                    "first byte of a later request); then it is closed (408 header_timeout if part of a request came)."
    )
    limit_concurrency: int = Field(
        0, ge=0,
        description="Connections (open WebSockets included) and requests this instance serves at once; beyond, a "
                    "request is answered 503 by the server before it reaches the gateway. 0 (default): no limit."
    )
    max_body: int = Field(
        1_048_576, ge=1024, description="Largest request body in bytes (413 beyond); media uploads and campaign "
                                        "definitions have their own, larger limits."
    )
    cors_origins: str = Field(
        "", description="Comma-separated origins (https://app.example.com) whose pages may call the API from a "
                        "browser; empty (default): none."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or as one JSON object per line (for log shippers)."
    )
    metrics_token: SecretStr | None = Field(
        None, description="Bearer token for GET /metrics; unset: /metrics needs the API key."
    )
    monitor_interval: float = Field(30.0, gt=0, description="Seconds between periodic session-state writes.")
    sandbox_qr_interval: float = Field(20.0, gt=0, description="Seconds between sandbox QR rotations.")
    sandbox_reconnect_delay: float = Field(
        2.0, ge=0, description="Seconds a sandbox session waits before reconnecting after a fault."
    )
    engine_restart_delay: float = Field(
        1.0, gt=0, description="Seconds before a crashed engine is started again; doubles while it keeps crashing."
    )
    engine_restart_max_delay: float = Field(
        60.0, gt=0, description="The longest pause before a crashed engine is started again."
    )
    sandbox_enabled: bool = Field(
        False,
        description="Offer the sandbox (its routes, and sandbox sessions) although `default` runs another engine.",
    )
    connect_timeout: float = Field(
        30.0, gt=0, description="Seconds a WhatsApp connection may take to show a sign of life before it is cut."
    )
    reconnect_min: float = Field(2.0, gt=0, description="Seconds before the first reconnect attempt.")
    reconnect_max: float = Field(300.0, gt=0, description="Longest wait between reconnect attempts, in seconds.")
    engine_sessions_per_worker: int = Field(
        10, ge=1, le=500,
        description="neonize sessions that share one engine worker process (fewer: less lost when one dies; "
                    "more: less memory).",
    )
    engine_worker_recycle: int = Field(
        100, ge=1,
        description="Connection attempts after which an engine worker is replaced by a fresh one (the WhatsApp "
                    "library leaks a little with each), as soon as none of its sessions is connected.",
    )
    engine_stop_timeout: float = Field(
        8.0, gt=0, le=60,
        description="Seconds a session's engine has to stop, restart or log out before its worker is killed.",
    )
    relink_after_logout: bool = Field(
        True, description="After a phone unlinks the gateway, offer a new QR code by itself (false: stay stopped)."
    )
    cloud_phone_id: str | None = Field(None, description="Cloud API phone number id of the `default` session.")
    cloud_token: SecretStr | None = Field(None, description="Cloud API access token of the `default` session.")
    cloud_app_secret: SecretStr | None = Field(None, description="Meta app secret that signs the Cloud API webhooks.")
    cloud_verify_token: SecretStr | None = Field(
        None, description="Token Meta echoes when it verifies the Cloud API webhook URL."
    )
    bus_url: str = Field(
        "memory://",
        description="Event bus: memory:// (one process) or redis://host:port/db?prefix=name (several instances).",
    )
    bus_queue_size: int = Field(10_000, ge=16, description="Events a bus subscriber may hold before it is cut off.")
    ws_replay: int = Field(10_000, ge=0, description="Events kept for WebSocket resume.")
    ws_ping_interval: float = Field(30.0, gt=0, description="Seconds between WebSocket protocol pings.")
    ws_ping_timeout: float = Field(
        20.0, gt=0, description="Seconds a client has to answer a ping before it is dropped."
    )
    ws_send_queue: int = Field(1_000, ge=1, description="Frames a WebSocket client may fall behind before 1013.")
    ws_max_frame: int = Field(65_536, ge=1024, description="Largest client frame in bytes; larger closes with 1009.")
    ws_per_key: int = Field(
        20, ge=0, description="WebSockets one API key (with the tickets it issued) may hold open on this instance; "
                              "one more is closed with 1008. 0: no limit."
    )
    ws_command_rate: str = Field(
        "20/second", description="Commands one WebSocket connection may send, e.g. 20/second: that many at once, "
                                 "then refilled evenly over the period; beyond, a command is dropped with an error "
                                 "frame rate_limited. 0 disables."
    )
    webhook_timeout: float = Field(
        10.0, gt=0, description="Seconds one webhook attempt may take, from connect to the last byte read."
    )
    webhook_concurrency: int = Field(
        32, ge=1, description="Webhook attempts this instance makes at once, over every webhook."
    )
    webhook_concurrency_per_webhook: int = Field(4, ge=1, description="Attempts at once to one webhook.")
    webhook_max_attempts: int = Field(10, ge=1, description="Attempts before a delivery is given up (`dead`).")
    webhook_backoff_base: float = Field(
        10.0, gt=0, description="Seconds before the first retry; doubled for each further retry, with jitter."
    )
    webhook_backoff_max: float = Field(3600.0, gt=0, description="Longest wait between two attempts, seconds.")
    webhook_retry_after_max: float = Field(
        3600.0, ge=0, description="Longest `Retry-After` honoured, seconds; a longer one is cut to this."
    )
    webhook_disable_after: int = Field(
        20, ge=1, description="Deliveries given up in a row after which a webhook is disabled."
    )
    webhook_max_response: int = Field(
        65_536, ge=0, description="Bytes of a receiver's answer read; the rest is left unread."
    )
    webhook_poll_interval: float = Field(
        2.0, gt=0, description="Seconds between looks for due deliveries and expired leases."
    )
    webhook_refresh_interval: float = Field(
        30.0, gt=0,
        description="Seconds between reloads of the webhook list (picks up changes made on other instances)."
    )
    webhook_outbox_timeout: float = Field(
        5.0, gt=0,
        description="Seconds publishing an event waits for the database to take its delivery rows before buffering "
                    "them."
    )
    webhook_retention_days: int = Field(
        30, ge=0,
        description="Days finished deliveries (delivered or given up) stay in the delivery log; 0 keeps them forever. "
                    "Waiting ones are never removed."
    )
    webhook_outbox_buffer: int = Field(
        10_000, ge=1,
        description="Delivery rows held in memory while the database cannot take them; beyond, the oldest are dropped."
    )
    inbound_buffer: int = Field(
        10_000, ge=1,
        description="Received messages and status changes held in memory while the database cannot take them; beyond, "
                    "the oldest are dropped."
    )
    # ---- messaging ----
    default_region: str | None = Field(
        None, description="ISO country code (DE, US…) for phone numbers written without a country code."
    )
    timezone: str = Field("UTC", description="Time zone of {date} and {time} in message templates.")
    rate_limit: str = Field(
        "120/minute", description="REST requests per API key, e.g. 120/minute; 0 or empty disables."
    )
    rate_limit_storage: str | None = Field(
        None,
        description="Where rate-limit counters live: memory:// or redis://host:port/db?prefix=name; unset: the bus's "
                    "Redis when WAQTOR_BUS_URL is redis://, else memory://.",
    )
    send_rate: str = Field(
        "20/minute", description="Messages a session sends per period; beyond it sends wait in a queue."
    )
    send_queue_size: int = Field(100, ge=1, description="Sends that may wait per session before send_queue_full.")
    auto_read: str = Field(
        "", description="Sessions whose received messages are marked read on WhatsApp as they arrive: comma-separated "
                        "session names, or * for every session; empty (default): none."
    )
    media_max_image: int = Field(5_242_880, ge=1, description="Largest image in bytes.")
    media_max_video: int = Field(16_777_216, ge=1, description="Largest video in bytes.")
    media_max_audio: int = Field(16_777_216, ge=1, description="Largest audio file in bytes.")
    media_max_document: int = Field(104_857_600, ge=1, description="Largest document in bytes.")
    media_retention_days: int = Field(30, ge=0, description="Days media files are kept; 0 keeps them forever.")
    media_cleanup_interval: float = Field(
        3600.0, gt=0,
        description="Seconds between media sweeps: retention, and files no record refers to (left by a killed "
                    "process).",
    )
    media_download_timeout: float = Field(30.0, gt=0, description="Seconds allowed to download media from a URL, "
                                          "or a received file from WhatsApp.")
    media_allow_private: bool = Field(
        False, description="Let media URLs reach loopback, private (RFC 1918, fc00::/7) and carrier-grade NAT "
                           "addresses, for files on your own network; link-local and metadata addresses stay refused.",
    )
    # ---- campaigns ----
    campaign_max_recipients: int = Field(100_000, ge=1, description="Most recipients one campaign may have.")
    exports_per_key: int = Field(
        2, ge=1, le=100, description="CSV or JSON Lines exports one API key may have streaming at once on an "
                                     "instance; beyond, 429 too_many_exports."
    )
    campaign_max_upload: int = Field(
        33_554_432, ge=1024, description="Largest campaign definition in bytes: a CSV upload or a JSON body."
    )
    campaign_poll_interval: float = Field(
        5.0, gt=0, description="Seconds between looks at the campaigns for changes made on other instances."
    )
    campaign_max_imports: int = Field(
        2, ge=1, le=64, description="Campaign recipient lists this instance reads at once; more answer 429."
    )
    # ---- several instances ----
    instance_id: str | None = Field(
        None, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$",
        description="This instance's name in the cluster; unset: host, process id and a random suffix.",
    )
    lease_ttl: float = Field(
        15.0, ge=0.3, le=3600, description="Seconds a session's lease lasts; its owner renews it every third of that."
    )
    forward_timeout: float = Field(
        30.0, gt=0, description="Seconds a command forwarded to the instance that runs a session may take."
    )
    sandbox_ack_delay: float = Field(
        1.0, ge=0, description="Seconds between each status step (delivered, read) of a sandbox message."
    )

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if value not in ENGINE_NAMES:
            raise ValueError(f"unknown engine {value!r}; choose one of: {', '.join(ENGINE_NAMES)}")
        return value

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        import phonenumbers

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r}; use a two-letter country code such as DE or US")
        return region

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from None
        return value

    @field_validator("rate_limit", "send_rate", "auth_failures", "ws_command_rate")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        from waqtor.rate_window import parse_rate

        parse_rate(value)
        return value.strip()

    @field_validator("api_key")
    @classmethod
    def _strong_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("WAQTOR_API_KEY must be at least 16 characters")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _strong_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("WAQTOR_METRICS_TOKEN must be at least 16 characters")
        return value

    @model_validator(mode="after")
    def _ordered_delays(self) -> Settings:
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("WAQTOR_RECONNECT_MAX must not be below WAQTOR_RECONNECT_MIN")
        return self

    @field_validator("auto_read")
    @classmethod
    def _auto_read(cls, value: str) -> str:
        import re

        names = [name.strip() for name in value.split(",") if name.strip()]
        for name in names:
            if name != "*" and not re.fullmatch(r"[a-z0-9_-]{1,64}", name):
                raise ValueError(f"invalid session name {name!r} in WAQTOR_AUTO_READ: lowercase letters, digits, _ "
                                 f"and - (at most 64), or * for every session")
        return ",".join(names)

    def auto_reads(self, session: str) -> bool:
        """Whether WAQTOR_AUTO_READ names `session` (or every session)."""
        names = self.auto_read.split(",")
        return "*" in names or session in names

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",") if o.strip()):
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"invalid CORS origin {origin!r}: write it as https://host[:port]")
        return value

    @field_validator("limit_concurrency")
    @classmethod
    def _concurrency(cls, value: int) -> int:
        if value == 1:
            raise ValueError("WAQTOR_LIMIT_CONCURRENCY must be 0 (no limit) or at least 2: a request's own "
                             "connection counts, so 1 would refuse every request")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        import ipaddress

        for item in (i.strip() for i in value.split(",") if i.strip()):
            try:
                ipaddress.ip_network(item)  # a bare address is a network of one
            except ValueError:
                raise ValueError(f"invalid WAQTOR_TRUSTED_PROXIES entry {item!r}: write an IP address (10.0.0.5) or "
                                 "a network with its host bits zero (10.0.0.0/24)") from None
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The addresses and networks of WAQTOR_TRUSTED_PROXIES."""
        return [item.strip() for item in self.trusted_proxies.split(",") if item.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        """The origins of WAQTOR_CORS_ORIGINS, without trailing slashes."""
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def sandbox_offered(self) -> bool:
        """Whether the sandbox routes exist and sandbox sessions may run."""
        return self.engine == "sandbox" or self.sandbox_enabled

    def default_engine_config(self) -> dict[str, Any]:
        """The engine settings of the `default` session, taken from these settings (never stored)."""
        if self.engine != "cloud":
            return {}
        values = {
            "phoneId": self.cloud_phone_id,
            "token": self.cloud_token.get_secret_value() if self.cloud_token else None,
            "appSecret": self.cloud_app_secret.get_secret_value() if self.cloud_app_secret else None,
            "verifyToken": self.cloud_verify_token.get_secret_value() if self.cloud_verify_token else None,
        }
        return {key: value for key, value in values.items() if value is not None}

    @property
    def media_max(self) -> int:
        """The largest file any media kind allows: nothing bigger is downloaded or taken in."""
        return max(self.media_max_image, self.media_max_video, self.media_max_audio, self.media_max_document)

    @property
    def resolved_rate_limit_storage(self) -> str:
        """Where rate-limit counters live: the configured URL, else the bus's Redis (so every instance
        shares them), else this process's memory."""
        if self.rate_limit_storage:
            return self.rate_limit_storage
        if self.bus_url.split("://", 1)[0].lower() in ("redis", "rediss"):
            return self.bus_url
        return "memory://"

    @property
    def resolved_database_url(self) -> str:
        """The database URL to use: the configured one, else the SQLite file under the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'waqtor.db').resolve()}"
