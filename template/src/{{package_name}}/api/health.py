"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .. import __version__
from ..errors import error_payload
from .dependencies import SettingsDep

router = APIRouter(tags=["health"])

# A readiness check answers None when healthy, else a short reason.
ReadinessCheck = Callable[[], Awaitable[str | None]]


class HealthBody(BaseModel):
    status: Literal["ok"] = Field(description="Always ok while the process serves.")
    service: str = Field(examples=["my-service"])
    version: str = Field(examples=["0.1.0"])


class ReadinessBody(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str] = Field(
        description="Each dependency's state: ok, or why it is not.",
        examples=[{"draining": "ok", "llm": "ok"}],
    )


@router.get("/health", summary="Liveness probe")
async def health(settings: SettingsDep) -> HealthBody:
    """Answers as long as the process can serve at all; checks no dependency."""
    return HealthBody(status="ok", service=settings.service_name, version=__version__)


@router.get(
    "/ready",
    summary="Readiness probe",
    responses={503: {"description": "A dependency is down or the service is draining."}},
)
async def ready(request: Request) -> JSONResponse:
    """200 when every dependency answers; 503 (error schema plus checks) otherwise."""
    checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
    results = {name: (await check()) or "ok" for name, check in checks.items()}
    failing = [name for name, result in results.items() if result != "ok"]
    if not failing:
        return JSONResponse(ReadinessBody(status="ready", checks=results).model_dump())
    body = error_payload(request.scope, 503, "not_ready", f"Not ready: {', '.join(failing)}.")
    body.update(status="unavailable", checks=results)
    return JSONResponse(body, status_code=503)
