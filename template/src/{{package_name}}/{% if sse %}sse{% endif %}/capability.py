"""Token streaming over SSE: the service's own format, OpenAI's, the AI SDK's; a demo page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..ai_sdk.routes import router as ai_sdk_router
from ..api import API_PREFIX
from ..capability import Capability, Mount
from ..demo.routes import DEMO_PATH
from ..demo.routes import POLICY as DEMO_POLICY
from ..demo.routes import router as demo_router
from ..openai_api import OPENAI_PREFIX
from ..openai_api.errors import openai_error
from ..openai_api.routes import router as openai_router
from ..settings import Settings
from .buffers import build_resumable_streams
from .producer import ResumableStreams
from .routes import router
from .start import STREAM_ID_HEADER


def mounts(settings: Settings) -> Sequence[Mount]:
    return [
        Mount(API_PREFIX, router),
        Mount(API_PREFIX, ai_sdk_router),
        Mount(OPENAI_PREFIX, openai_router, error_shape=openai_error),
        Mount("", demo_router, guarded=False, page_policies={DEMO_PATH: DEMO_POLICY}),
    ]


def setup(app: FastAPI, settings: Settings) -> None:
    """Resumable streams' producers and buffer (after Redis, when present)."""
    app.state.resumable_streams = build_resumable_streams(app, settings)


@asynccontextmanager
async def resumable_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At shutdown, let producers end their streams, then close the buffer."""
    try:
        yield
    finally:
        streams: ResumableStreams = app.state.resumable_streams
        await streams.aclose()


CAPABILITY = Capability(
    name="sse",
    mounts=mounts,
    setup=setup,
    lifespan=resumable_lifespan,
    # Browsers read the resumable stream's id; EventSource sends Last-Event-ID on reconnect.
    cors_exposed_headers=(STREAM_ID_HEADER,),
    cors_allowed_headers=("Last-Event-ID",),
)
