"""``GET /metrics``: the Prometheus text format, on the service's own port.

Outside ``/api/v1`` (no quota, no API credentials) and left out of the access
log, since a scraper calls it every few seconds. With ``APP_METRICS_TOKEN`` a
scrape must send ``Authorization: Bearer <token>``; unset, the endpoint is
open to whoever reaches the port (keep it on the pod network: the generated
proxy configurations never route it).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from ..errors import AppError
from ..settings import Settings
from .registry import ServiceMetrics

METRICS_PATH = "/metrics"

router = APIRouter()


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics(request: Request) -> Response:
    state = request.app.state
    settings: Settings = state.settings
    if not settings.metrics_enabled:
        raise AppError(404, "not_found", "Not Found")
    token = settings.metrics_token
    if token is not None:
        presented = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            raise AppError(401, "unauthorized", "The metrics token is missing or wrong.")
    service_metrics: ServiceMetrics = state.metrics
    return Response(service_metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
