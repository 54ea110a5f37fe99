"""`/api/webhooks`: register webhooks, test them, read their delivery log and redeliver."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from waqtor.api.deps import GatewayDep, require
from waqtor.api.schemas import ERROR_RESPONSES, Envelope, ErrorEnvelope
from waqtor.api.webhook_schemas import (
    DeletedOut,
    DeliveryOut,
    DeliveryPage,
    DeliveryStatus,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
    delivery_view,
    webhook_view,
)
from waqtor.webhooks.guard import Origin

router = APIRouter(
    prefix="/api/webhooks", tags=["webhooks"], dependencies=[Depends(require("admin"))], responses=ERROR_RESPONSES
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorEnvelope, "description": "No such webhook (`webhook_not_found`)."}}
REFUSED: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorEnvelope,
        "description": "The URL points at the gateway (`webhook_points_at_gateway`).",
    }
}
DISABLED: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorEnvelope, "description": "The webhook is disabled (`webhook_disabled`)."}}

WebhookId = Annotated[str, Path(max_length=32, description="The webhook's id (`wh_…`).")]


def origin(request: Request) -> Origin:
    settings = request.app.state.gateway.settings
    url = request.url
    return Origin(
        bind_host=settings.host,
        bind_port=settings.port,
        request_host=url.hostname,
        request_port=url.port or (443 if url.scheme in ("https", "wss") else 80),
    )


@router.post(
    "",
    status_code=201,
    response_model=Envelope[WebhookCreatedOut],
    responses=REFUSED,
    summary="Register a webhook",
)
async def create_webhook(body: WebhookIn, request: Request, gateway: GatewayDep) -> dict[str, Any]:
    webhook = await gateway.webhooks.create(
        url=body.url,
        events=tuple(body.events),
        sessions=tuple(body.sessions),
        secret=body.secret,
        enabled=body.enabled,
        headers=body.headers,
        origin=origin(request),
    )
    return {"success": True, "data": webhook_view(webhook, with_secret=True)}


@router.get("", response_model=Envelope[list[WebhookOut]], summary="List webhooks")
async def list_webhooks(gateway: GatewayDep) -> dict[str, Any]:
    standings = await gateway.webhooks.standings()
    return {"success": True, "data": [webhook_view(s.webhook, waiting=s.waiting) for s in standings]}


@router.get("/{webhook_id}", response_model=Envelope[WebhookOut], responses=NOT_FOUND, summary="One webhook")
async def get_webhook(webhook_id: WebhookId, gateway: GatewayDep) -> dict[str, Any]:
    standing = await gateway.webhooks.standing(webhook_id)
    return {"success": True, "data": webhook_view(standing.webhook, waiting=standing.waiting)}


@router.patch(
    "/{webhook_id}",
    response_model=Envelope[WebhookOut],
    responses={**NOT_FOUND, **REFUSED},
    summary="Change a webhook",
)
async def update_webhook(
    webhook_id: WebhookId, body: WebhookPatch, request: Request, gateway: GatewayDep
) -> dict[str, Any]:
    standing = await gateway.webhooks.update(webhook_id, body.changes(), origin(request))
    return {"success": True, "data": webhook_view(standing.webhook, waiting=standing.waiting)}


@router.delete(
    "/{webhook_id}",
    response_model=Envelope[DeletedOut],
    responses=NOT_FOUND,
    summary="Delete a webhook and its delivery log",
)
async def delete_webhook(webhook_id: WebhookId, gateway: GatewayDep) -> dict[str, Any]:
    await gateway.webhooks.delete(webhook_id)
    return {"success": True, "data": {"id": webhook_id, "deleted": True}}


@router.post(
    "/{webhook_id}/test",
    status_code=202,
    response_model=Envelope[DeliveryOut],
    responses={**NOT_FOUND, **DISABLED},
    summary="Send a test event",
)
async def test_webhook(webhook_id: WebhookId, gateway: GatewayDep) -> dict[str, Any]:
    return {"success": True, "data": delivery_view(await gateway.webhooks.send_test(webhook_id))}


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Envelope[DeliveryPage],
    responses=NOT_FOUND,
    summary="The webhook's delivery log, newest first",
)
async def list_deliveries(
    webhook_id: WebhookId,
    gateway: GatewayDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Deliveries per page.")] = 50,
    before: Annotated[
        str | None, Query(max_length=40, description="The `next` of the previous page.")
    ] = None,
) -> dict[str, Any]:
    rows = await gateway.webhooks.deliveries(webhook_id, status=status, before=before, limit=limit + 1)
    page = rows[:limit]
    return {
        "success": True,
        "data": {
            "deliveries": [delivery_view(row) for row in page],
            "next": page[-1].id if len(rows) > limit else None,
        },
    }


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=Envelope[DeliveryOut],
    responses={
        404: {"model": ErrorEnvelope, "description": "No such webhook or delivery."},
        409: {
            "model": ErrorEnvelope,
            "description": "The webhook is disabled, or the delivery is being attempted.",
        },
    },
    summary="Send a delivery again",
)
async def redeliver(
    webhook_id: WebhookId,
    delivery_id: Annotated[str, Path(max_length=40, description="The delivery's id (`dlv_…`).")],
    gateway: GatewayDep,
) -> dict[str, Any]:
    return {"success": True, "data": delivery_view(await gateway.webhooks.redeliver(webhook_id, delivery_id))}
