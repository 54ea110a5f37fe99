"""Response shapes, so /openapi.json describes exactly what the API answers."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

StatusName = Literal["disconnected", "connecting", "qr", "authenticated", "connected"]


class Envelope(BaseModel, Generic[T]):
    success: Literal[True] = True
    data: T


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable error code.")
    message: str
    details: Any = None


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


class ClientStatusOut(SessionStateOut):
    info: ClientInfo  # type: ignore[assignment]
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


class HealthDatabase(BaseModel):
    reachable: bool


class HealthSession(BaseModel):
    name: str
    status: StatusName
    ready: bool


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    engine: str
    sandbox: bool = Field(description="True when the default session runs on the simulated sandbox engine.")
    session: HealthSession
    database: HealthDatabase


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "Missing or wrong API key (`unauthorized`)."},
    422: {"model": ErrorEnvelope, "description": "Invalid request (`validation_error`)."},
}
