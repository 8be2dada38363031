"""How the event-stream routes describe their events in the OpenAPI document.

Before OpenAPI 3.2 (whose ``itemSchema`` describes the items of a stream),
the ``schema`` of a ``text/event-stream`` response describes one event: an
object with the event's ``data`` (a string), its ``event`` name (``message``
when the frame names none), and its ``id`` and ``retry`` when it has them.
Tools that read event streams (schemathesis, generators) follow that
convention, so every event a route can send is one ``oneOf`` branch, with
the JSON in ``data`` described through ``contentMediaType`` and
``contentSchema``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def json_data(*shapes: type[BaseModel] | dict[str, Any]) -> dict[str, Any]:
    """The ``data`` field of an event that carries one JSON document of one of ``shapes``."""
    schemas = [shape if isinstance(shape, dict) else model_schema(shape) for shape in shapes]
    content = schemas[0] if len(schemas) == 1 else {"oneOf": schemas}
    return {"type": "string", "contentMediaType": "application/json", "contentSchema": content}


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema with its definitions inlined.

    A ``$ref`` inside the document resolves against the document's root, so
    the ``$defs`` of a schema nested in a response cannot be referenced.
    """
    schema = model.model_json_schema()
    definitions: dict[str, Any] = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return inline(definitions[reference.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


def event(
    title: str,
    data: dict[str, Any],
    *,
    name: str = "message",
    description: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One kind of event: its ``data`` schema, its ``event`` name, any other fields."""
    shape: dict[str, Any] = {
        "title": title,
        "type": "object",
        "required": ["event", "data"],
        "properties": {"event": {"const": name}, "data": data, **(extra or {})},
    }
    if description is not None:
        shape["description"] = description
    return shape


DONE_SENTINEL = event("done", {"const": "[DONE]"}, description="The end of the stream.")


def event_stream_response(
    description: str, events: list[dict[str, Any]], example: str
) -> dict[str, Any]:
    """A 200 ``text/event-stream`` response whose events are exactly ``events``."""
    return {
        "description": description,
        "content": {
            "text/event-stream": {"schema": {"oneOf": events}, "example": example},
        },
    }
