"""What the OpenAPI schema says beyond what drf-spectacular reads off the views: the one
error shape every endpoint answers with (mobile_api/errors.py), and local clock times."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable, for programs."},
                "message": {"type": "string", "description": "For the person, translated."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Messages by request field; dots name nested fields.",
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

# The errors any operation can answer with, whatever its view documents. 400 and 409 only
# where the request carries something to refuse or changes something, 415 where it has a
# body.
ERRORS = {
    "400": "The request is invalid; `error.fields` says what to change.",
    "403": "Not logged in, an unknown token, or not allowed to do this.",
    "404": "Not found, or not visible to this person.",
    "409": "Conflicts with the current state (taken, already done, too late).",
    "415": "The body is not in one of the media types the operation takes.",
    "429": "Too many requests; try again later.",
    "503": "The database cannot be reached just now; retry after `Retry-After` seconds.",
}
CHANGES = {"post", "put", "patch", "delete"}


def document_errors(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Postprocessing hook: add the error responses and their shape to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in CHANGES | {"get"}:
                continue
            takes_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                if code == "400" and method not in CHANGES and not takes_query:
                    continue
                if code == "409" and method not in CHANGES:
                    continue
                if code == "415" and "requestBody" not in operation:
                    continue
                response = responses.setdefault(code, {"description": description})
                response.setdefault("content", content)
    return result


class LocalTimeFieldExtension(OpenApiSerializerFieldExtension):
    """A `TimeField` carries a local wall-clock time ("08:00", "11:30:00") without an
    offset, which is not OpenAPI's `format: time` (RFC 3339 full-time, with an offset)."""

    target_class = "rest_framework.fields.TimeField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict:
        schema = build_basic_type(OpenApiTypes.STR)
        schema["pattern"] = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$"
        schema["example"] = "08:00"
        return schema
