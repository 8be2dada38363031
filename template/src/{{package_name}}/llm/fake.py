"""A deterministic, scriptable stand-in for a real model.

It lets the service run with no keys and no network, and lets tests script
exactly what a model does: which tokens, how fast, and when it fails. Its
counters prove that cancellation reaches the model (a client that leaves must
stop token production, not just stop receiving).

The answer depends on the whole conversation (every role and content), so a
test can prove that history reaches the model; scripted with
``echo_conversation`` it answers with the conversation itself. Usage is
counted deterministically: one prompt token per whitespace-separated word of
every message, one completion token per token streamed.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

from .port import (
    Completion,
    CompletionRequest,
    FinishReason,
    LLMError,
    Message,
    TokenDelta,
    Usage,
)

_SCRIPT_TEXT = (
    "Streaming tokens one at a time keeps the first byte fast and the user "
    "informed while the rest of the answer is still being written by the model "
    "behind this service which is a deterministic fake so every run is the same"
)
_VOCABULARY = tuple(_SCRIPT_TEXT.split())


@dataclass(slots=True)
class FakeScript:
    """What the fake does for the next calls; tests change it freely.

    ``tokens``: exact tokens to produce (default: derived from the conversation).
    ``echo_conversation``: answer with the conversation, ``"[role] content "`` per
    message, one token per word.
    ``fail_after``: raise ``error`` after producing this many tokens.
    ``fail_before_first``: raise ``error`` before the first token.
    """

    tokens: Sequence[str] | None = None
    echo_conversation: bool = False
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
    last_request: CompletionRequest | None = None


def prompt_tokens(messages: Sequence[Message]) -> int:
    """The fake's prompt usage: one token per whitespace-separated word."""
    return sum(len(message.content.split()) for message in messages)


def _conversation_seed(messages: Sequence[Message]) -> int:
    digest = hashlib.sha256()
    for message in messages:
        digest.update(message.role.encode())
        digest.update(b"\0")
        digest.update(message.content.encode())
        digest.update(b"\0")
    return int.from_bytes(digest.digest()[:4], "big")


def _until_stop(tokens: Iterator[str], stop: Sequence[str]) -> Iterator[str]:
    """The tokens up to (not including) the first stop sequence, as a model stops."""
    produced = ""
    for token in tokens:
        text = produced + token
        # Only the tail can hold a sequence that this token completed.
        cut = min(
            (
                found
                for sequence in stop
                if (found := text.find(sequence, max(0, len(produced) - len(sequence) + 1))) >= 0
            ),
            default=-1,
        )
        if cut >= 0:
            if cut > len(produced):
                yield text[len(produced) : cut]
            return
        produced = text
        yield token


class FakeLLM:
    """The built-in model: no keys, no network, same answer for the same conversation."""

    def __init__(self, delay_ms: float = 0.0, script: FakeScript | None = None) -> None:
        self.delay = delay_ms / 1000.0
        self.script = script or FakeScript()
        self.counters = FakeCounters()

    @property
    def name(self) -> str:
        return "fake"

    @property
    def model(self) -> str:
        return "fake"

    def tokens_for(self, request: CompletionRequest) -> list[str]:
        """The tokens this conversation produces, at most ``max_tokens`` of them."""
        count, tokens = self._plan(request)
        return list(itertools.islice(tokens, count))

    def _plan(self, request: CompletionRequest) -> tuple[int, Iterator[str]]:
        """How many tokens the answer has at most, and a lazy iterator over them.

        Lazy because an open stream should hold what a real model's stream
        holds (its position), not a list of every token to come, which grows
        with ``max_tokens``.
        """
        script = self.script
        if script.tokens is not None:
            count, tokens = len(script.tokens), iter(script.tokens)
        elif script.echo_conversation:
            words = [
                word
                for message in request.messages
                for word in (f"[{message.role}]", *message.content.split())
            ]
            count, tokens = len(words), (word + " " for word in words)
        else:
            seed = _conversation_seed(request.messages)
            start = seed % len(_VOCABULARY)
            count = 16 + seed % 32
            tokens = (_VOCABULARY[(start + i) % len(_VOCABULARY)] + " " for i in itertools.count())
        count = min(count, request.max_tokens)
        tokens = itertools.islice(tokens, count)
        if request.stop:
            tokens = _until_stop(tokens, request.stop)
        return count, tokens

    async def complete(self, request: CompletionRequest) -> Completion:
        self.counters.calls += 1
        parts: list[str] = []
        reason: FinishReason = "stop"
        usage = Usage(prompt_tokens(request.messages), 0)
        async for delta in self.stream(request):
            parts.append(delta.text)
            reason = delta.finish_reason or reason
            usage = delta.usage or usage
        return Completion(
            text="".join(parts),
            finish_reason=reason,
            model=request.model or self.model,
            usage=usage,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[TokenDelta]:
        script = self.script
        _, tokens = self._plan(request)
        self.counters.streams_started += 1
        self.counters.active_streams += 1
        self.counters.last_request = request
        finished = False
        try:
            if script.fail_before_first:
                raise script.error
            # One token of look-ahead, so the last delta carries the finish reason.
            upcoming = next(tokens, None)
            index = 0
            while upcoming is not None:
                if script.fail_after is not None and index >= script.fail_after:
                    raise script.error
                token, upcoming = upcoming, next(tokens, None)
                if self.delay:
                    await asyncio.sleep(self.delay)
                self.counters.tokens_produced += 1
                index += 1
                if upcoming is None:
                    reason: FinishReason = "length" if index >= request.max_tokens else "stop"
                    usage = Usage(prompt_tokens(request.messages), index)
                    yield TokenDelta(token, reason, usage)
                else:
                    yield TokenDelta(token)
            finished = True
        finally:
            self.counters.active_streams -= 1
            if finished:
                self.counters.streams_finished += 1
            else:
                self.counters.streams_closed_early += 1

    async def aclose(self) -> None:
        return None
