"""OpenAPI descriptions for routes that validate their own bodies (field-level 422s in our shape)."""

from __future__ import annotations

from typing import Any

CREATE_TEMPLATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["name", "image", "registryType"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 128},
                "image": {"type": "string", "example": "python:3.11-slim"},
                "registryType": {"type": "string", "enum": ["dockerhub", "private", "gcr"]},
                "description": {"type": "string"},
                "registryAuth": {"type": "object", "required": ["username", "password"], "properties": {
                    "username": {"type": "string"}, "password": {"type": "string", "format": "password"}}},
            },
        }}},
    },
    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                    "schema": {"type": "string"},
                    "description": "Same key, same template: a retried POST never builds twice."}],
}

_ERROR = {"content": {"application/json": {"schema": {"type": "object", "properties": {"error": {
    "type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                     "field": {"type": "string"}}}}}}}}

TEMPLATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong token", **_ERROR},
    422: {"description": "A field broke a rule; `error.field` names it", **_ERROR},
}
