"""What every benchmarked app shares, so the work per request is the same.

Each app is imported by uvicorn from this folder inside a rendered project's
environment; ``BENCH_PACKAGE`` names that project's package, so the baselines
use the very FakeLLM the service uses. The fake is scripted with exactly
``BENCH_TOKENS`` tokens (the prompt-derived default stops at 47), paced by
``APP_FAKE_LLM_DELAY_MS`` like the service's own.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

PACKAGE = os.environ["BENCH_PACKAGE"]
TOKENS = int(os.environ.get("BENCH_TOKENS", "100"))
DELAY_MS = float(os.environ.get("APP_FAKE_LLM_DELAY_MS", "0"))

_fake = importlib.import_module(f"{PACKAGE}.llm.fake")
_port = importlib.import_module(f"{PACKAGE}.llm.port")

CompletionRequest: Any = _port.CompletionRequest
SETTINGS: Any = importlib.import_module(f"{PACKAGE}.settings").Settings(_env_file=None)


def usage_payload(usage: Any) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def bench_llm() -> Any:
    """The rendered package's FakeLLM with a fixed script of ``TOKENS`` tokens."""
    words = ("stream", "tokens", "fast", "and", "keep", "the", "user", "informed")
    script = _fake.FakeScript(tokens=[words[i % len(words)] + " " for i in range(TOKENS)])
    return _fake.FakeLLM(delay_ms=DELAY_MS, script=script)


def sse_token_frame(index: int, text: str) -> bytes:
    """One token event, byte for byte the service's wire format (compact JSON data)."""
    data = json.dumps({"token": text, "index": index}, separators=(",", ":"))
    return f"id: {index}\ndata: {data}\n\n".encode()


def sse_done_frame(total: int, duration_ms: float, finish_reason: str, usage: Any) -> bytes:
    """The closing event in the service's wire format."""
    data = json.dumps(
        {
            "total_tokens": total,
            "duration_ms": duration_ms,
            "finish_reason": finish_reason,
            "usage": usage_payload(usage) if usage else None,
        },
        separators=(",", ":"),
    )
    return f"event: done\ndata: {data}\n\n".encode()
