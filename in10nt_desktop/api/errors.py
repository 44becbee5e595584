"""Typed SDK errors, and the one place that turns an HTTP answer into a sentence.

Servers we talk to are the local engine (``{"error": {"code", "message", "field"}}``) and the
hosted service, whose error shapes are not documented, so every known shape is accepted.
Messages never contain request bodies or headers: that is where secrets live.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

# httpx is imported where it is used: the desktop app catches these errors in modules it loads
# before its first paint, and httpx costs ~50 ms of start-up (api/__init__.py).
if TYPE_CHECKING:
    import ssl

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
    """401/403: the API key is missing, wrong or not allowed to do this.

    ``base_url`` names the server that refused (None when the refusal is not about the key),
    so a front end can add its own hint (the CLI names ``--api-key``).
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 base_url: str | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.base_url = base_url


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
    """5xx; ``retry_after`` is the server's wait in seconds when it gave one (a 503 may)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class ConnectionFailedError(In10ntError):
    """The server could not be reached at all; ``kind`` is ``unreachable``, ``timeout`` or ``tls``."""

    def __init__(self, message: str, *, kind: str = "unreachable") -> None:
        super().__init__(message)
        self.kind = kind


class EventsUnsupportedError(NotFoundError):
    """The server has no event stream (``GET /events`` answered 404): poll instead."""


class BuildFailedError(In10ntError):
    """``wait_until_ready`` saw the template fail; ``reason`` is the server's sentence."""

    def __init__(self, template_id: str, reason: str | None) -> None:
        self.template_id = template_id
        self.reason = reason or "no reason given"
        super().__init__(f"Template {template_id} failed to build: {self.reason}")


class WaitTimeoutError(In10ntError):
    """``wait_until_ready`` gave up without knowing how the build ends: still building, or no answer.

    ``last_error`` is the failure of the last status request when the wait ended on one.
    """

    def __init__(self, message: str, *, last_error: In10ntError | None = None) -> None:
        super().__init__(message)
        self.last_error = last_error


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait: ``Retry-After`` is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: the caller falls back to its own backoff
    if when.tzinfo is None:  # "-0000" means UTC with no claim about the local zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


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
    404: "Not found.",
    409: "The request conflicts with the current state.",
    422: "The request was rejected as invalid.",
    429: "Too many requests; try again shortly.",
}


def error_from_response(response: httpx.Response, base_url: str | None = None) -> APIError:
    """Map an error answer to the typed error a caller can catch; ``base_url`` names the server."""
    status = response.status_code
    message, code, field = extract_error(response.content, response.headers.get("content-type", ""))
    if status in (401, 403):
        if code == "forbidden_host":  # the local engine refusing a Host header: not about the key
            return AuthenticationError(message or "The server refused the request.", status=status, code=code)
        server = base_url or str(response.request.url.copy_with(path="/", query=None)).rstrip("/")
        reason = (message or "").rstrip(" .") or f"HTTP {status}"
        return AuthenticationError(f"{server} rejected the API key ({reason}).", status=status, code=code,
                                   base_url=server)
    if not message:
        message = _DEFAULTS.get(status) or f"The server answered {status} {response.reason_phrase}."
    if status == 404:
        return NotFoundError(message, status=status, code=code)
    if status == 409:
        return ConflictError(message, status=status, code=code)
    if status in (400, 422):
        return ValidationError(message, status=status, code=code, field=field)
    if status == 429:
        return RateLimitError(message, status=status, code=code,
                              retry_after=parse_retry_after(response.headers.get("retry-after")))
    if status >= 500:
        return ServerError(message, status=status, code=code,
                           retry_after=parse_retry_after(response.headers.get("retry-after")))
    return APIError(message, status=status, code=code)


def describe_transport_error(exc: httpx.TransportError) -> tuple[str, str]:
    """``(kind, reason)`` for a request that got no answer: kind is ``timeout``, ``tls`` or ``unreachable``.

    Shared by the SDK and the engine's registry client so both name the same causes the same
    way. httpx hides the OS error behind "All connection attempts failed", so the cause chain
    is searched for what really happened.
    """
    import ssl

    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "timeout", "it did not answer in time"
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLError):
            return "tls", _ssl_reason(cause)
        if isinstance(cause, ConnectionRefusedError):
            return "unreachable", "connection refused"
    text = " ".join(str(cause) for cause in _causes(exc)).lower()
    if "ssl" in text or "certificate" in text:
        return "tls", "the certificate was not accepted"
    if "name or service not known" in text or "nodename nor servname" in text or "temporary failure in name" \
            in text or "getaddrinfo failed" in text:
        return "unreachable", "its name does not resolve"
    if "connection refused" in text or "actively refused" in text:
        return "unreachable", "connection refused"
    if "network is unreachable" in text or "no route" in text:
        return "unreachable", "no network route to it"
    first = str(exc).strip().splitlines()[0][:160].rstrip(".") if str(exc).strip() else ""
    return "unreachable", first or type(exc).__name__


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__


def _ssl_reason(err: ssl.SSLError) -> str:
    reason = getattr(err, "verify_message", None) or getattr(err, "reason", None) or str(err)
    return str(reason).replace("_", " ").lower()


def connection_error(base_url: str, exc: httpx.TransportError) -> ConnectionFailedError:
    """A sentence for a transport failure that names the server, not the request."""
    kind, reason = describe_transport_error(exc)
    if kind == "timeout":
        return ConnectionFailedError(f"{base_url} did not answer in time.", kind=kind)
    if kind == "tls":
        return ConnectionFailedError(f"TLS error talking to {base_url}: {reason}.", kind=kind)
    return ConnectionFailedError(f"Cannot reach {base_url}: {reason}.", kind=kind)
