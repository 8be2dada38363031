"""The chat capability's settings: heartbeats, frame and queue sizes, caps, history."""

from __future__ import annotations

from pydantic import Field

from ..core_settings import SettingsBase


class ChatSettings(SettingsBase):
    """What keeps a chat socket healthy and bounded, and how much a conversation remembers."""

    ws_heartbeat_interval_seconds: float = Field(
        default=20.0, gt=0, description="Seconds between the server's heartbeat pings."
    )
    ws_peer_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Seconds a client has to answer a heartbeat ping."
    )
    ws_idle_timeout_seconds: float = Field(
        default=300.0, gt=0, description="Seconds without a client message before closing."
    )
    ws_max_frame_bytes: int = Field(
        default=64 * 1024, ge=64, description="Largest accepted client frame, in bytes."
    )
    ws_queue_size: int = Field(
        default=256, ge=1, description="Outgoing messages buffered per connection."
    )
    ws_abuse_threshold: int = Field(
        default=20, ge=1, description="Bad frames per minute before closing with 1008."
    )
    ws_max_connections_per_caller: int = Field(
        default=20, ge=1, description="Open chat sockets per caller (per process); more get 429."
    )
    chat_history_max_messages: int = Field(
        default=50, ge=1, description="Turns a conversation remembers; the oldest drop first."
    )
    chat_history_max_chars: int = Field(
        default=32_000, ge=1, description="Characters a conversation remembers, all turns together."
    )
    chat_history_ttl_seconds: float = Field(
        default=86_400, gt=0, description="A conversation unused this long is forgotten."
    )

    def websocket_max_message_bytes(self) -> int:
        """A chat frame is the largest WebSocket message the service accepts."""
        return self.ws_max_frame_bytes
