"""A deterministic, scriptable stand-in for a real model.

It lets the service run with no keys and no network, and lets tests script
exactly what a model does: which tokens, how fast, and when it fails. Its
counters prove that cancellation reaches the model (a client that leaves must
stop token production, not just stop receiving).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

from .port import Completion, CompletionRequest, FinishReason, LLMError, TokenDelta

_SCRIPT_TEXT = (
    "Streaming tokens one at a time keeps the first byte fast and the user "
    "informed while the rest of the answer is still being written by the model "
    "behind this service which is a deterministic fake so every run is the same"
)
_VOCABULARY = tuple(_SCRIPT_TEXT.split())


@dataclass(slots=True)
class FakeScript:
    """What the fake does for the next calls; tests change it freely.

    ``tokens``: exact tokens to produce (default: derived from the prompt).
    ``fail_after``: raise ``error`` after producing this many tokens.
    ``fail_before_first``: raise ``error`` before the first token.
    """

    tokens: Sequence[str] | None = None
    fail_after: int | None = None
    fail_before_first: bool = False
    error: LLMError = field(default_factory=LLMError)


@dataclass(slots=True)
class FakeCounters:
    """What the fake has done so far, for tests and the benchmark."""

    calls: int = 0
    streams_started: int = 0
    streams_finished: int = 0
    streams_closed_early: int = 0
    tokens_produced: int = 0
    active_streams: int = 0


class FakeLLM:
    """The built-in model: no keys, no network, same answer for the same prompt."""

    def __init__(self, delay_ms: float = 0.0, script: FakeScript | None = None) -> None:
        self.delay = delay_ms / 1000.0
        self.script = script or FakeScript()
        self.counters = FakeCounters()

    @property
    def name(self) -> str:
        return "fake"

    def tokens_for(self, request: CompletionRequest) -> list[str]:
        """The tokens this prompt produces, at most ``max_tokens`` of them."""
        count, tokens = self._plan(request)
        return list(itertools.islice(tokens, count))

    def _plan(self, request: CompletionRequest) -> tuple[int, Iterator[str]]:
        """How many tokens the answer has, and a lazy iterator over them.

        Lazy because an open stream should hold what a real model's stream
        holds (its position), not a list of every token to come, which grows
        with ``max_tokens``.
        """
        script_tokens = self.script.tokens
        if script_tokens is not None:
            return min(len(script_tokens), request.max_tokens), iter(script_tokens)
        seed = int.from_bytes(hashlib.sha256(request.prompt.encode()).digest()[:4], "big")
        start = seed % len(_VOCABULARY)
        words = (_VOCABULARY[(start + i) % len(_VOCABULARY)] + " " for i in itertools.count())
        return min(request.max_tokens, 16 + seed % 32), words

    def _finish_reason(self, request: CompletionRequest, produced: int) -> FinishReason:
        return "length" if produced >= request.max_tokens else "stop"

    async def complete(self, request: CompletionRequest) -> Completion:
        self.counters.calls += 1
        parts = [delta.text async for delta in self.stream(request)]
        return Completion(
            text="".join(parts),
            tokens=len(parts),
            finish_reason=self._finish_reason(request, len(parts)),
            model=request.model or "fake",
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[TokenDelta]:
        script = self.script
        total, tokens = self._plan(request)
        self.counters.streams_started += 1
        self.counters.active_streams += 1
        finished = False
        try:
            if script.fail_before_first:
                raise script.error
            for index, token in enumerate(itertools.islice(tokens, total)):
                if script.fail_after is not None and index >= script.fail_after:
                    raise script.error
                if self.delay:
                    await asyncio.sleep(self.delay)
                self.counters.tokens_produced += 1
                last = index == total - 1
                reason = self._finish_reason(request, total) if last else None
                yield TokenDelta(token, reason)
            finished = True
        finally:
            self.counters.active_streams -= 1
            if finished:
                self.counters.streams_finished += 1
            else:
                self.counters.streams_closed_early += 1

    async def aclose(self) -> None:
        return None
