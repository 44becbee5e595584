"""Async Python SDK for the In10nt HTTP API (no Qt here: the app and the CLI both sit on it).

Names are imported on first use (PEP 562): ``from in10nt_desktop.api import In10ntError`` loads
the errors module only, and nothing here loads pydantic until a model is asked for. The desktop
app paints its window before httpx and pydantic are imported, and lists templates without
pydantic at all (``client.templates.list_page``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

HOSTED_BASE_URL = "https://in10t-api-v2.fly.dev"

if TYPE_CHECKING:
    from in10nt_desktop.api.bound_template import Template
    from in10nt_desktop.api.client import In10ntClient
    from in10nt_desktop.api.errors import (
        APIError,
        AuthenticationError,
        BuildFailedError,
        ConflictError,
        ConnectionFailedError,
        EventsUnsupportedError,
        In10ntError,
        NotFoundError,
        RateLimitError,
        ServerError,
        ValidationError,
        WaitTimeoutError,
    )
    from in10nt_desktop.api.events import Event
    from in10nt_desktop.api.instances import Instance
    from in10nt_desktop.api.models import (
        BuildLayer,
        BuildLog,
        BuildPhase,
        BuildRecord,
        InstanceData,
        LogLine,
        Progress,
        RegistryAuth,
        RunResult,
        SavedTemplate,
        StatusInfo,
        TemplateData,
    )
    from in10nt_desktop.api.registry import CheckProblem, DriftInfo, RegistryCheck
    from in10nt_desktop.api.templates import TemplatePage
    from in10nt_desktop.api.validation import REGISTRY_TYPES

_WHERE = {
    "In10ntClient": "client", "Template": "bound_template", "TemplatePage": "templates", "Event": "events",
    "Instance": "instances", "REGISTRY_TYPES": "validation",
    **dict.fromkeys(("CheckProblem", "DriftInfo", "RegistryCheck"), "registry"),
    **dict.fromkeys(("APIError", "AuthenticationError", "BuildFailedError", "ConflictError", "ConnectionFailedError",
                     "EventsUnsupportedError", "In10ntError", "NotFoundError", "RateLimitError", "ServerError",
                     "ValidationError", "WaitTimeoutError"), "errors"),
    **dict.fromkeys(("BuildLayer", "BuildLog", "BuildPhase", "BuildRecord", "InstanceData", "LogLine", "Progress",
                     "RegistryAuth", "RunResult", "SavedTemplate", "StatusInfo", "TemplateData"), "models"),
}

__all__ = [
    "HOSTED_BASE_URL", "REGISTRY_TYPES", "APIError", "AuthenticationError", "BuildFailedError", "BuildLayer",
    "BuildLog", "BuildPhase", "BuildRecord",
    "CheckProblem", "ConflictError", "ConnectionFailedError", "DriftInfo", "Event", "EventsUnsupportedError",
    "In10ntClient", "In10ntError", "Instance", "InstanceData", "LogLine",
    "NotFoundError", "Progress", "RateLimitError", "RegistryAuth", "RegistryCheck", "RunResult", "SavedTemplate",
    "ServerError", "StatusInfo", "Template", "TemplateData", "TemplatePage", "ValidationError", "WaitTimeoutError",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is a plain global
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
