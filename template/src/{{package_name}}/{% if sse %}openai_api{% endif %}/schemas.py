"""Request and response bodies of OpenAI's chat-completions API, as far as the service serves it.

Parameters the service cannot honour (more than one choice, tools, log
probabilities, audio, penalties, ...) are refused with a 400 naming the
parameter unless they hold their neutral value, never silently ignored; ones
that change nothing here (``user``, ``seed``, ``metadata``, ``store``, ...)
are accepted. Unknown parameters are refused as OpenAI refuses them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from ..api.conversation import check_conversation
from ..llm.port import CompletionRequest, Message
from ..settings import Settings

# OpenAI's own default is the model's limit; a service needs a bound.
DEFAULT_MAX_TOKENS = 4096

# Parameters accepted only with these values (their defaults or no-ops).
NEUTRAL_VALUES: dict[str, tuple[object, ...]] = {
    "n": (None, 1),
    "top_p": (None, 1),
    "presence_penalty": (None, 0),
    "frequency_penalty": (None, 0),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "logit_bias": (None, {}),
    "tools": (None, []),
    "tool_choice": (None, "none"),
    "functions": (None, []),
    "function_call": (None, "none"),
    "response_format": (None, {"type": "text"}),
    "audio": (None,),
    "modalities": (None, ["text"]),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "web_search_options": (None,),
}


_TEXT_PART = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
}
_CONTENT_SCHEMA = {"anyOf": [{"type": "string"}, {"type": "array", "items": _TEXT_PART}]}


def _neutral(name: str) -> WithJsonSchema:
    """The documented type of a parameter accepted only with its neutral values."""
    return WithJsonSchema(
        {
            "enum": list(NEUTRAL_VALUES[name]),
            "description": "Accepted only with this neutral value; anything else is refused.",
        }
    )


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionMessage(BaseModel):
    """One message; ``developer`` is taken as ``system``, content may be text parts."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant"]
    # Other part types are refused by name (below) rather than by a generic type error.
    content: Annotated[str | list[dict[str, Any]], WithJsonSchema(_CONTENT_SCHEMA)]
    name: str | None = None
    refusal: None = None

    @field_validator("content")
    @classmethod
    def _text_only(cls, value: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
        if isinstance(value, list):
            for part in value:
                if part.get("type") != "text" or not isinstance(part.get("text"), str):
                    raise PydanticCustomError(
                        "unsupported_content",
                        "only text content parts are supported, not {kind}",
                        {"kind": repr(part.get("type"))},
                    )
        return value

    def to_message(self) -> Message:
        content = self.content
        text = content if isinstance(content, str) else "".join(part["text"] for part in content)
        role = "system" if self.role == "developer" else self.role
        return Message(role, text)


class ChatCompletionRequest(BaseModel):
    """The body of ``POST /v1/chat/completions``."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200, examples=["fake"])
    messages: list[ChatCompletionMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=32_768)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=32_768)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stop: str | Annotated[list[str], Field(max_length=4)] | None = Field(default=None)
    stream: bool = False
    stream_options: StreamOptions | None = None
    # Accepted, and change nothing here.
    user: str | None = None
    seed: int | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None
    parallel_tool_calls: bool | None = None
    # Refused unless neutral (see NEUTRAL_VALUES).
    n: Annotated[int | None, _neutral("n")] = None
    top_p: Annotated[float | None, _neutral("top_p")] = None
    presence_penalty: Annotated[float | None, _neutral("presence_penalty")] = None
    frequency_penalty: Annotated[float | None, _neutral("frequency_penalty")] = None
    logprobs: Annotated[bool | None, _neutral("logprobs")] = None
    top_logprobs: Annotated[int | None, _neutral("top_logprobs")] = None
    logit_bias: Annotated[dict[str, float] | None, _neutral("logit_bias")] = None
    tools: Annotated[list[Any] | None, _neutral("tools")] = None
    tool_choice: Annotated[Any, _neutral("tool_choice")] = None
    functions: Annotated[list[Any] | None, _neutral("functions")] = None
    function_call: Annotated[Any, _neutral("function_call")] = None
    response_format: Annotated[dict[str, Any] | None, _neutral("response_format")] = None
    audio: Annotated[Any, _neutral("audio")] = None
    modalities: Annotated[list[str] | None, _neutral("modalities")] = None
    prediction: Annotated[Any, _neutral("prediction")] = None
    reasoning_effort: Annotated[Any, _neutral("reasoning_effort")] = None
    web_search_options: Annotated[Any, _neutral("web_search_options")] = None

    @field_validator(*NEUTRAL_VALUES)
    @classmethod
    def _neutral_only(cls, value: object, info: ValidationInfo) -> object:
        name = info.field_name or ""
        if value not in NEUTRAL_VALUES[name]:
            raise PydanticCustomError(
                "unsupported_parameter", "{name} is not supported by this service", {"name": name}
            )
        return value

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    def to_completion_request(self, settings: Settings) -> CompletionRequest:
        """The model's request; 413 when the conversation is over the configured size."""
        messages = tuple(message.to_message() for message in self.messages)
        check_conversation(messages, settings)
        stop = [self.stop] if isinstance(self.stop, str) else self.stop or []
        return CompletionRequest(
            messages=messages,
            max_tokens=self.max_completion_tokens or self.max_tokens or DEFAULT_MAX_TOKENS,
            temperature=1.0 if self.temperature is None else self.temperature,
            stop=tuple(sequence for sequence in stop if sequence),
            model=self.model,
        )


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: None = None
    finish_reason: Literal["stop", "length"]


class ChatCompletion(BaseModel):
    """A whole answer (``stream: false``)."""

    id: str = Field(examples=["chatcmpl-4b1f6c1d2e3f4a5b"])
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    logprobs: None = None
    finish_reason: Literal["stop", "length"] | None


class ChatCompletionChunk(BaseModel):
    """One event of a streamed answer (``stream: true``); the usage chunk has no choices."""

    id: str = Field(examples=["chatcmpl-4b1f6c1d2e3f4a5b"])
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None


class ModelCard(BaseModel):
    id: str = Field(examples=["fake"])
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(BaseModel):
    """Every error under ``/v1``."""

    error: OpenAIErrorDetail
