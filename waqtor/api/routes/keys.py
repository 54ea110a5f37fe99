"""`/api/keys`: scoped API keys, created (shown once), listed and revoked. Needs the `admin` scope.

Rotation without downtime: create the new key, switch the clients to it, then delete the old one;
both work in between.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from waqtor.api.deps import GatewayDep, require
from waqtor.api.schemas import ERROR_RESPONSES, Envelope, ErrorEnvelope
from waqtor.clock import iso_ms
from waqtor.storage.records import KeyRecord

router = APIRouter(prefix="/api/keys", tags=["keys"], dependencies=[Depends(require("admin"))],
                   responses=ERROR_RESPONSES)

Scope = Literal["read", "send", "control", "admin"]
SessionName = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,64}$")]
KeyId = Annotated[str, Path(pattern=r"^key_[0-9a-f]{16}$", description="The key's id (`key_…`).")]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, description="What the key is for, shown in lists.")
    scopes: list[Scope] = Field(min_length=1, max_length=4, description="read, send, control and/or admin.")
    sessions: list[SessionName] | None = Field(
        None, min_length=1, max_length=100, description="Only these sessions (omit: every session)."
    )
    expiresAt: datetime | None = Field(None, description="When the key stops working (ISO 8601; UTC when no zone).")

    @field_validator("expiresAt")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class KeyOut(BaseModel):
    id: str
    prefix: str
    name: str
    scopes: list[str]
    sessions: list[str] | None
    createdAt: str
    lastUsedAt: str | None
    expiresAt: str | None


class KeyCreatedOut(KeyOut):
    key: str = Field(description="The key itself. Shown only in this answer: store it now.")


class KeyDeletedOut(BaseModel):
    id: str
    deleted: bool


def key_view(record: KeyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "prefix": record.prefix,
        "name": record.name,
        "scopes": list(record.scopes),
        "sessions": list(record.sessions) if record.sessions is not None else None,
        "createdAt": iso_ms(record.created_at),
        "lastUsedAt": iso_ms(record.last_used_at) if record.last_used_at else None,
        "expiresAt": iso_ms(record.expires_at) if record.expires_at else None,
    }


@router.post("", response_model=Envelope[KeyCreatedOut], status_code=201, summary="Create an API key (shown once)",
             responses={400: {"model": ErrorEnvelope, "description": "`invalid_scope` (admin limited to sessions), "
                                                                     "`invalid_expiry` (in the past)."}})
async def create_key(gateway: GatewayDep, body: KeyIn) -> dict[str, Any]:
    record, key = await gateway.keys.create(body.name, body.scopes, body.sessions, body.expiresAt)
    return {"success": True, "data": {**key_view(record), "key": key}}


@router.get("", response_model=Envelope[list[KeyOut]], summary="Every API key (never the keys themselves)")
async def list_keys(gateway: GatewayDep) -> dict[str, Any]:
    return {"success": True, "data": [key_view(r) for r in await gateway.keys.list()]}


@router.delete("/{key_id}", response_model=Envelope[KeyDeletedOut], summary="Revoke an API key at once",
               responses={404: {"model": ErrorEnvelope, "description": "`key_not_found`."}})
async def delete_key(gateway: GatewayDep, key_id: KeyId) -> dict[str, Any]:
    await gateway.keys.revoke(key_id)
    return {"success": True, "data": {"id": key_id, "deleted": True}}
