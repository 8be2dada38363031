"""The port every model adapter implements, and the errors they may raise.

Routes depend on this Protocol, never on a vendor client, so the fake adapter
stands in for a real model in development and tests without a single branch
in the routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

FinishReason = Literal["stop", "length", "cancelled", "error"]
Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation: the system prompt, the user, or the model's reply."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """What to generate: a conversation and how to sample the next assistant turn."""

    messages: tuple[Message, ...]
    max_tokens: int = 256
    temperature: float = 0.7
    stop: tuple[str, ...] = ()
    model: str | None = None

    @classmethod
    def from_prompt(
        cls, prompt: str, *, max_tokens: int = 256, model: str | None = None
    ) -> CompletionRequest:
        """A conversation of one user message, the shorthand every endpoint accepts."""
        return cls(messages=(Message("user", prompt),), max_tokens=max_tokens, model=model)


@dataclass(frozen=True, slots=True)
class Usage:
    """What a generation cost, in the model's own tokens."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished, non-streamed generation."""

    text: str
    finish_reason: FinishReason
    model: str
    usage: Usage


@dataclass(frozen=True, slots=True)
class TokenDelta:
    """One piece of a streamed generation.

    The last piece carries ``finish_reason``, and ``usage`` when the model
    reports it (the fake always does; an upstream may not).
    """

    text: str
    finish_reason: FinishReason | None = None
    usage: Usage | None = None


class LLM(Protocol):
    """A language model the service can call once or stream from."""

    @property
    def name(self) -> str:
        """Provider name, reported by readiness and in responses."""
        ...

    @property
    def model(self) -> str:
        """The model that answers requests naming none; listed by ``GET /v1/models``."""
        ...

    async def complete(self, request: CompletionRequest) -> Completion:
        """Generate the whole answer at once."""
        ...

    def stream(self, request: CompletionRequest) -> AsyncIterator[TokenDelta]:
        """Yield the answer token by token.

        Closing the iterator (``aclose()``, or cancelling the task that awaits
        it) must stop generation upstream: that is how a client that leaves
        stops costing tokens.
        """
        ...

    async def aclose(self) -> None:
        """Release connections; called once at shutdown."""
        ...


class LLMError(Exception):
    """A failure of the model upstream, mapped to a clean 5xx for clients."""

    status_code = 502
    code = "upstream_error"
    public_message = "The language model failed to answer."


class LLMUnavailableError(LLMError):
    """The upstream refused or could not be reached."""

    status_code = 503
    code = "upstream_unavailable"
    public_message = "The language model is unavailable; try again later."


class LLMTimeoutError(LLMError):
    """The upstream did not answer in time."""

    status_code = 504
    code = "upstream_timeout"
    public_message = "The language model did not answer in time."
