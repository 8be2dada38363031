"""The SSE capability's settings: keep-alives, stream caps, resumable streams, the demo page."""

from __future__ import annotations

from pydantic import Field

from ..core_settings import SettingsBase


class SseSettings(SettingsBase):
    """How long streams live, how many one caller may hold, and whether the demo page is served."""

    sse_keepalive_seconds: float = Field(
        default=15.0, gt=0, description="Idle time before a ':' comment keeps a stream open."
    )
    sse_max_duration_seconds: float = Field(
        default=300.0, gt=0, description="A stream is ended with an error event after this long."
    )
    sse_max_concurrent_streams: int = Field(
        default=4, ge=1, description="Open streams one caller may hold at once (per process)."
    )
    sse_retry_ms: int = Field(
        default=3000, ge=0, description="Reconnect hint sent with the goodbye event at shutdown."
    )
    stream_resumable_default: bool = Field(
        default=False,
        description="Streams are resumable unless a request says otherwise (`resumable`).",
    )
    stream_resume_grace_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A resumable stream keeps generating this long after its last reader left.",
    )
    stream_resume_max_events: int = Field(
        default=5000, ge=2, description="Events one resumable stream keeps; older ones are evicted."
    )
    stream_resume_max_bytes: int = Field(
        default=262_144,
        ge=1024,
        description="Bytes of token text one resumable stream keeps; older events are evicted.",
    )
    stream_resume_ttl_seconds: float = Field(
        default=300.0, gt=0, description="How long a finished resumable stream can be replayed."
    )
    demo_page: bool | None = Field(
        default=None, description="Serve the demo page at /; None: on outside production only."
    )

    @property
    def serves_demo_page(self) -> bool:
        """A toy UI has no place on a production host unless its owner says so."""
        return not self.is_production if self.demo_page is None else self.demo_page
