"""Async Python SDK for the In10nt HTTP API (no Qt here: the app and the CLI both sit on it)."""

from in10nt_desktop.api.client import HOSTED_BASE_URL, In10ntClient
from in10nt_desktop.api.errors import (
    APIError,
    AuthenticationError,
    BuildFailedError,
    ConflictError,
    ConnectionFailedError,
    In10ntError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ValidationError,
    WaitTimeoutError,
)
from in10nt_desktop.api.events import Event, EventsUnsupportedError
from in10nt_desktop.api.instances import Instance
from in10nt_desktop.api.models import (
    REGISTRY_TYPES,
    BuildLayer,
    BuildLog,
    BuildPhase,
    BuildRecord,
    LogLine,
    Progress,
    RegistryAuth,
    RunResult,
    SavedTemplate,
    StatusInfo,
    TemplateData,
)
from in10nt_desktop.api.registry import CheckProblem, DriftInfo, RegistryCheck
from in10nt_desktop.api.templates import Template

__all__ = [
    "HOSTED_BASE_URL", "REGISTRY_TYPES", "APIError", "AuthenticationError", "BuildFailedError", "BuildLayer",
    "BuildLog", "BuildPhase", "BuildRecord",
    "CheckProblem", "ConflictError", "ConnectionFailedError", "DriftInfo", "Event", "EventsUnsupportedError",
    "In10ntClient", "In10ntError", "Instance", "LogLine",
    "NotFoundError", "Progress", "RateLimitError", "RegistryAuth", "RegistryCheck", "RunResult", "SavedTemplate",
    "ServerError", "StatusInfo", "Template", "TemplateData", "ValidationError", "WaitTimeoutError",
]
