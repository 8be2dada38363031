"""GraphQL types mirroring the REST models, which stay the single source of truth.

Field names, defaults and descriptions are read from the Pydantic models, and
every input is validated by them, so GraphQL and REST accept exactly the same
requests and describe them the same way.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from pydantic import BaseModel, ValidationError

from ..api.v1.generate import GenerateRequest, GenerateResponse, UsageReport
from .errors import validation_failed


def _describe(model: type[BaseModel], name: str) -> str | None:
    return model.model_fields[name].description


def _default(model: type[BaseModel], name: str) -> object:
    return model.model_fields[name].default


@strawberry.input(description=GenerateRequest.__doc__)
class GenerateInput:
    prompt: str = strawberry.field(description="The user's prompt.")
    max_tokens: int = strawberry.field(
        default=_default(GenerateRequest, "max_tokens"),
        description=_describe(GenerateRequest, "max_tokens"),
    )
    temperature: float = strawberry.field(
        default=_default(GenerateRequest, "temperature"),
        description=_describe(GenerateRequest, "temperature"),
    )
    model: str | None = strawberry.field(
        default=None, description=_describe(GenerateRequest, "model")
    )

    def to_request(self) -> GenerateRequest:
        """Validate with the REST model; failures carry ``validation_error``."""
        try:
            return GenerateRequest(
                prompt=self.prompt,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                model=self.model,
            )
        except ValidationError as exc:
            raise validation_failed(exc) from None


@strawberry.type(description=UsageReport.__doc__)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@strawberry.type(description=GenerateResponse.__doc__)
class Generation:
    text: str = strawberry.field(description=_describe(GenerateResponse, "text"))
    tokens: int = strawberry.field(description=_describe(GenerateResponse, "tokens"))
    finish_reason: str = strawberry.field(description=_describe(GenerateResponse, "finish_reason"))
    model: str = strawberry.field(description=_describe(GenerateResponse, "model"))
    duration_ms: float = strawberry.field(description=_describe(GenerateResponse, "duration_ms"))
    usage: Usage = strawberry.field(description=_describe(GenerateResponse, "usage"))

    @classmethod
    def from_response(cls, response: GenerateResponse) -> Generation:
        fields = response.model_dump(exclude={"usage"})
        return cls(**fields, usage=Usage(**response.usage.model_dump()))


@strawberry.type(description="One generated token, in order.")
class TokenEvent:
    index: int = strawberry.field(description="Position of the token, from 0.")
    token: str = strawberry.field(description="The token's text.")


@strawberry.type(description="The last event of a stream: what was generated and why it ended.")
class StreamSummary:
    total_tokens: int = strawberry.field(description="Tokens sent.")
    duration_ms: float = strawberry.field(description="Time spent streaming.")
    finish_reason: str = strawberry.field(
        description="stop, length, or cancelled (the service is shutting down)."
    )


StreamEvent = Annotated[TokenEvent | StreamSummary, strawberry.union("StreamEvent")]


@strawberry.type(description="The language model behind the service.")
class ModelInfo:
    provider: str = strawberry.field(description="The adapter in use: fake or openai.")
    default_model: str = strawberry.field(description="The model used when a request names none.")


@strawberry.type(description="What the service is and whether it takes work.")
class ServiceStatus:
    service: str = strawberry.field(description="The service's name.")
    version: str = strawberry.field(description="The running version.")
    environment: str = strawberry.field(description="development, test or production.")
    llm: ModelInfo = strawberry.field(description="The language model behind the service.")
    draining: bool = strawberry.field(description="True once shutdown has begun.")
