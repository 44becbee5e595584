"""Typed SDK errors, and the one place that turns an HTTP answer into a sentence.

Servers we talk to are the local engine (``{"error": {"code", "message", "field"}}``) and the
hosted service, whose error shapes are not documented, so every known shape is accepted.
Messages never contain request bodies or headers: that is where secrets live.
"""

from __future__ import annotations

import json
from typing import Any

import httpx


class In10ntError(Exception):
    """Base class: ``str(err)`` is a sentence a person can act on."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class APIError(In10ntError):
    """The server answered with an error status."""


class AuthenticationError(APIError):
    """401/403: the API key is missing, wrong or not allowed to do this."""


class NotFoundError(APIError):
    """404."""


class ConflictError(APIError):
    """409: the request clashes with the current state (name taken, template not ready)."""


class ValidationError(APIError):
    """422: a field was rejected; ``field`` names it (camelCase, as sent)."""

    def __init__(self, message: str, *, status: int | None = 422, code: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.field = field


class RateLimitError(APIError):
    """429: ``retry_after`` is the server's wait in seconds, if it gave one."""

    def __init__(self, message: str, *, status: int | None = 429, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx."""


class ConnectionFailedError(In10ntError):
    """The server could not be reached at all (refused, DNS, TLS, timeout)."""


class BuildFailedError(In10ntError):
    """``wait_until_ready`` saw the template fail; ``reason`` is the server's sentence."""

    def __init__(self, template_id: str, reason: str | None) -> None:
        self.template_id = template_id
        self.reason = reason or "no reason given"
        super().__init__(f"Template {template_id} failed to build: {self.reason}")


class WaitTimeoutError(In10ntError):
    """``wait_until_ready`` gave up while the template was still building."""


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        # HTTP-date form: rare from APIs; a fixed guess beats failing.
        return 5.0


def extract_error(body: bytes, content_type: str) -> tuple[str | None, str | None, str | None]:
    """Return ``(message, code, field)`` from any error body shape we know of."""
    text = body.decode("utf-8", "replace").strip()
    data: Any = None
    if "json" in content_type or text.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
    if data is None:
        # Plain text (or HTML from a proxy): keep one short line.
        if text.startswith("<"):
            return None, None, None
        return (text.splitlines()[0][:300] if text else None), None, None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return _str(err.get("message")), _str(err.get("code")), _str(err.get("field"))
        if isinstance(err, str):
            # NestJS sends {"statusCode", "message", "error": "Not Found"}: the message says more.
            message = data.get("message")
            if isinstance(message, list):
                message = "; ".join(str(m) for m in message)
            return _str(message) or err, _str(data.get("code")), _str(data.get("field"))
        if "message" in data:
            return _str(data.get("message")), _str(data.get("code")), _str(data.get("field"))
        detail = data.get("detail")
        if isinstance(detail, str):
            return detail, None, None
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            # FastAPI/pydantic style: [{"loc": [...], "msg": ...}]
            first = detail[0]
            loc = [str(p) for p in first.get("loc") or [] if p not in ("body", "query", "path")]
            field = ".".join(loc) or None
            return _str(first.get("msg")), "invalid", field
    return None, None, None


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


_DEFAULTS = {
    401: "The API key was not accepted; check it in your connection settings.",
    403: "The API key is not allowed to do this.",
    404: "Not found.",
    409: "The request conflicts with the current state.",
    422: "The request was rejected as invalid.",
    429: "Too many requests; try again shortly.",
}


def error_from_response(response: httpx.Response) -> APIError:
    """Map an error answer to the typed error a caller can catch."""
    status = response.status_code
    message, code, field = extract_error(response.content, response.headers.get("content-type", ""))
    if not message:
        message = _DEFAULTS.get(status) or f"The server answered {status} {response.reason_phrase}."
    if status in (401, 403):
        return AuthenticationError(message, status=status, code=code)
    if status == 404:
        return NotFoundError(message, status=status, code=code)
    if status == 409:
        return ConflictError(message, status=status, code=code)
    if status in (400, 422):
        return ValidationError(message, status=status, code=code, field=field)
    if status == 429:
        return RateLimitError(message, status=status, code=code,
                              retry_after=_parse_retry_after(response.headers.get("retry-after")))
    if status >= 500:
        return ServerError(message, status=status, code=code)
    return APIError(message, status=status, code=code)


def connection_error(base_url: str, exc: httpx.TransportError) -> ConnectionFailedError:
    """A sentence for a transport failure that names the server, not the request."""
    if isinstance(exc, httpx.TimeoutException):
        return ConnectionFailedError(f"{base_url} did not answer in time.")
    if isinstance(exc, httpx.ConnectError) and "SSL" in str(exc):
        return ConnectionFailedError(f"TLS error talking to {base_url}: its certificate was not accepted.")
    return ConnectionFailedError(f"Cannot reach {base_url}: {type(exc).__name__}.")
