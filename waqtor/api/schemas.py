"""Response shapes, so /openapi.json describes exactly what the API answers."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

StatusName = Literal["disconnected", "connecting", "qr", "authenticated", "connected"]


class Envelope(BaseModel, Generic[T]):
    success: Literal[True] = True
    data: T


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable error code.")
    message: str
    details: Any = None
    requestId: str | None = Field(None, description="The request's id, as in the `X-Request-ID` answer header "
                                  "and the gateway's log lines.")


class ErrorEnvelope(BaseModel):
    success: Literal[False] = False
    error: ErrorDetail


class SessionInfo(BaseModel):
    pushname: str | None
    platform: str | None
    phoneMasked: str | None = Field(description="`***` and the last four digits of the phone.")


class SessionStats(BaseModel):
    messagesSent: int
    messagesReceived: int


class LastError(BaseModel):
    code: str
    message: str
    at: str
    details: dict[str, Any] = {}


class SessionStateOut(BaseModel):
    session: str
    engine: str
    status: StatusName
    ready: bool
    authenticated: bool
    hasQR: bool
    info: SessionInfo
    uptime: int = Field(description="Seconds since the session last became ready; 0 while not ready.")
    stats: SessionStats
    lastError: LastError | None
    lastUpdate: str = Field(description="ISO 8601 UTC with milliseconds.")


class ClientInfo(SessionInfo):
    phone: str | None
    platformRaw: str | None = Field(description="The platform code the phone reported (e.g. `smba`).")


class ClientStatusOut(SessionStateOut):
    info: ClientInfo
    qrExpiresAt: str | None
    readySince: str | None


class QROut(BaseModel):
    hasQR: bool
    qr: str | None = None
    expiresAt: str | None = None
    message: str | None = None


class StatsResetOut(BaseModel):
    message: str
    stats: SessionStats


class LogoutOut(BaseModel):
    message: str
    status: StatusName


class PairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=1, max_length=64,
                       description="The phone to link, in any format the send routes accept (`+49 151 1234-5678`, "
                                   "`004915112345678`, a local number with WAQTOR_DEFAULT_REGION).")


class PairOut(BaseModel):
    code: str = Field(description="The code to type on the phone, e.g. `ABCD-EFGH`.")
    phone: str
    expiresAt: str | None = Field(description="When the code stops working (ISO 8601, UTC): WhatsApp ends the "
                                              "login it belongs to. Ask again after that.")
    message: str


EngineName = Literal["neonize", "cloud", "sandbox"]
Desired = Literal["running", "stopped"]


class SessionCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9_-]{1,64}$", description="1 to 64 of a-z, 0-9, `_` and `-`.")
    engine: EngineName
    config: dict[str, Any] = Field(default_factory=dict, description="The engine's settings (cloud only).")


class SessionOut(BaseModel):
    name: str
    engine: str
    desired: Desired = Field(description="`running` when the gateway keeps it connected, else `stopped`.")
    running: bool = Field(description="Whether its engine runs (on this instance or another).")
    instance: str | None = Field(description="The instance that runs it (docs/deployment.md), or null.")
    createdAt: str
    config: dict[str, Any] = Field(description="The engine's settings, secrets masked.")
    state: SessionStateOut


class SessionDeletedOut(BaseModel):
    name: str
    deleted: Literal[True] = True


class HealthDatabase(BaseModel):
    reachable: bool


class HealthSession(BaseModel):
    name: str
    status: StatusName
    ready: bool


class HealthBus(BaseModel):
    backend: Literal["memory", "redis"] = Field(description="`redis` when instances share events through Redis.")
    reachable: bool


class HealthInstance(BaseModel):
    id: str = Field(description="This instance's id (WAQTOR_INSTANCE_ID, or host:pid:random).")
    sessions: list[str] = Field(description="The sessions this instance runs.")
    instances: int = Field(description="Live instances sharing the database, this one included.")


class HealthHeld(BaseModel):
    inbound: int = Field(description="Received messages and status changes waiting for the database.")
    webhookRows: int = Field(description="Webhook delivery rows waiting for the database.")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    engine: str
    sandbox: bool = Field(description="True when the default session runs on the simulated sandbox engine.")
    session: HealthSession | None = Field(
        description="The default session, wherever it runs; null when its state cannot be read (database down)."
    )
    database: HealthDatabase
    bus: HealthBus
    instance: HealthInstance
    held: HealthHeld = Field(description="What this instance holds in memory until the database takes it.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "Missing or wrong API key (`unauthorized`)."},
    422: {"model": ErrorEnvelope, "description": "Invalid request (`validation_error`)."},
}

# Routes that act on a session run by whichever instance holds it (docs/deployment.md).
FORWARD_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorEnvelope, "description": "The session is moving to another instance (`session_moving`), "
          "or the instance that runs it cannot be reached (`instance_unreachable`, `redis_unreachable`); "
          "with Retry-After."},
}


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with every `#/$defs/…` reference replaced by its definition, so it can sit
    anywhere in an OpenAPI document (the models must not refer to themselves)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


class OwnPresenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["available", "unavailable"] = Field(
        description="available: the account shows online to its contacts; unavailable: offline (its last seen).")


class OwnPresenceOut(BaseModel):
    session: str
    state: Literal["available", "unavailable"]
