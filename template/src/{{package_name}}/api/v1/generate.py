"""One-shot text generation: the whole answer in one JSON response."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ...errors import error_responses
from ...llm.port import LLM, CompletionRequest

router = APIRouter(tags=["generation"])


class GenerateRequest(BaseModel):
    """A prompt and how to sample the answer; the streaming endpoints take the same body."""

    # JSON types as declared: `true` is not a token count and "5" is not a number.
    model_config = ConfigDict(strict=True)

    prompt: str = Field(
        min_length=1,
        max_length=32_000,
        description="The user's prompt.",
        examples=["Explain server-sent events in one sentence."],
    )
    max_tokens: int = Field(
        default=256, ge=1, le=4096, description="Upper bound on generated tokens."
    )
    temperature: float = Field(
        default=0.7, ge=0.0, le=2.0, description="Sampling temperature; 0 is most deterministic."
    )
    model: str | None = Field(
        default=None, max_length=200, description="Model override; default from APP_LLM_MODEL."
    )

    def to_completion_request(self) -> CompletionRequest:
        return CompletionRequest(
            prompt=self.prompt,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            model=self.model,
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


@router.post(
    "/generate",
    summary="Generate a completion",
    responses=error_responses(401, 413, 422, 429, 500, 502, 503, 504),
)
async def generate(body: GenerateRequest, request: Request) -> GenerateResponse:
    """Generate the whole answer, then return it; use the streaming endpoints for tokens."""
    # The model is read from app.state rather than through a Depends(): solving a
    # dependency is a noticeable share of this short route's CPU per request.
    llm: LLM = request.app.state.llm
    return await complete(body, llm)


async def complete(body: GenerateRequest, llm: LLM) -> GenerateResponse:
    """The whole answer from ``llm``; GraphQL's ``generate`` mutation shares it."""
    started = time.perf_counter()
    completion = await llm.complete(body.to_completion_request())
    return GenerateResponse(
        text=completion.text,
        tokens=completion.tokens,
        finish_reason=completion.finish_reason,
        model=completion.model,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
