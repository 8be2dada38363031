"""Choose the LLM adapter from settings."""

from __future__ import annotations

from ..settings import Settings
from .fake import FakeLLM
from .port import LLM


def build_llm(settings: Settings) -> LLM:
    """The adapter named by ``APP_LLM_PROVIDER``; the fake needs nothing at all."""
    if settings.llm_provider == "openai":
        # Imported here: the openai package takes about 0.7 s to import, a
        # quarter of the service's start-up, and the fake never needs it.
        from .openai_compatible import OpenAICompatibleLLM

        key = settings.llm_api_key
        return OpenAICompatibleLLM(
            # Self-hosted servers ignore the key, but the client insists on one.
            api_key=key.get_secret_value() if key else "unused",
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            timeout_seconds=settings.llm_timeout_seconds,
            connect_timeout_seconds=settings.llm_connect_timeout_seconds,
        )
    return FakeLLM(delay_ms=settings.fake_llm_delay_ms)
