"""Token streaming over SSE: the service's own format, OpenAI's, the AI SDK's; a demo page."""

from __future__ import annotations

from collections.abc import Sequence

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
from .routes import router


def mounts(settings: Settings) -> Sequence[Mount]:
    return [
        Mount(API_PREFIX, router),
        Mount(API_PREFIX, ai_sdk_router),
        Mount(OPENAI_PREFIX, openai_router, error_shape=openai_error),
        Mount("", demo_router, guarded=False, page_policies={DEMO_PATH: DEMO_POLICY}),
    ]


CAPABILITY = Capability(name="sse", mounts=mounts)
