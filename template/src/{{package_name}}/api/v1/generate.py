"""One-shot text generation: the whole answer in one JSON response."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ...errors import error_responses
from ...llm.port import LLM, CompletionRequest, Message, Usage
from ...settings import Settings
from ..conversation import ChatMessage, check_conversation

router = APIRouter(tags=["generation"])


def _whole_number(value: object) -> object:
    """JSON Schema's integers include ``5.0``; strict validation alone would refuse it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


def _one_conversation(schema: dict[str, Any]) -> None:
    """Document what the validators enforce: exactly one of the two, and never null."""
    for name in ("prompt", "messages"):
        field = schema["properties"][name]
        (present,) = (branch for branch in field.pop("anyOf") if branch.get("type") != "null")
        field.update(present)
    schema["oneOf"] = [{"required": ["prompt"]}, {"required": ["messages"]}]


class GenerateRequest(BaseModel):
    """A conversation (or one prompt) and how to sample the answer.

    The streaming endpoints take the same body.
    """

    # JSON types as declared: `true` is not a token count and "5" is not a number.
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra=_one_conversation)

    prompt: str | None = Field(
        default=None,
        min_length=1,
        description="Shorthand for `messages` holding one user message; give exactly one.",
        examples=["Explain server-sent events in one sentence."],
    )
    messages: list[ChatMessage] | None = Field(
        default=None,
        min_length=1,
        description="The conversation so far, oldest first; the model writes the next turn.",
        examples=[
            [
                {"role": "system", "content": "Answer in one sentence."},
                {"role": "user", "content": "What is SSE?"},
            ]
        ],
    )
    max_tokens: WholeNumber = Field(
        default=256, ge=1, le=4096, description="Upper bound on generated tokens."
    )
    temperature: float = Field(
        default=0.7, ge=0.0, le=2.0, description="Sampling temperature; 0 is most deterministic."
    )
    stop: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list,
        max_length=4,
        description="Sequences that end the answer where they would appear (not included).",
    )
    model: str | None = Field(
        default=None, max_length=200, description="Model override; default from APP_LLM_MODEL."
    )

    @field_validator("prompt", "messages", mode="before")
    @classmethod
    def _absent_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("leave the field out instead of sending null")
        return value

    @model_validator(mode="after")
    def _one_conversation(self) -> GenerateRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of prompt or messages")
        return self

    def to_completion_request(self, settings: Settings) -> CompletionRequest:
        """The model's request; 413 when the conversation is over the configured size."""
        if self.messages is not None:
            messages = tuple(message.to_message() for message in self.messages)
        else:
            messages = (Message("user", self.prompt or ""),)
        check_conversation(messages, settings)
        return CompletionRequest(
            messages=messages,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stop=tuple(self.stop),
            model=self.model,
        )


class UsageReport(BaseModel):
    """Tokens the model read and wrote, as the model counts them."""

    prompt_tokens: int = Field(examples=[12])
    completion_tokens: int = Field(examples=[42])
    total_tokens: int = Field(examples=[54])

    @classmethod
    def of(cls, usage: Usage) -> UsageReport:
        return cls(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
        )


class GenerateResponse(BaseModel):
    """The finished answer and what it cost."""

    text: str = Field(description="The generated text.", examples=["Server-sent events stream "])
    tokens: int = Field(description="Tokens generated.", examples=[42])
    finish_reason: Literal["stop", "length", "cancelled", "error"] = Field(
        description="stop: the model finished; length: max_tokens was reached.",
        examples=["stop"],
    )
    model: str = Field(description="The model that answered.", examples=["fake"])
    duration_ms: float = Field(description="Time spent generating.", examples=[12.5])
    usage: UsageReport = Field(description="Prompt and completion tokens.")


@router.post(
    "/generate",
    summary="Generate a completion",
    responses=error_responses(400, 401, 413, 422, 429, 500, 502, 503, 504),
)
async def generate(body: GenerateRequest, request: Request) -> GenerateResponse:
    """Generate the whole answer, then return it; use the streaming endpoints for tokens."""
    # The model is read from app.state rather than through a Depends(): solving a
    # dependency is a noticeable share of this short route's CPU per request.
    state = request.app.state
    return await complete(body, state.llm, state.settings)


async def complete(body: GenerateRequest, llm: LLM, settings: Settings) -> GenerateResponse:
    """The whole answer from ``llm``; GraphQL's ``generate`` mutation shares it."""
    started = time.perf_counter()
    completion = await llm.complete(body.to_completion_request(settings))
    return GenerateResponse(
        text=completion.text,
        tokens=completion.usage.completion_tokens,
        finish_reason=completion.finish_reason,
        model=completion.model,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        usage=UsageReport.of(completion.usage),
    )
