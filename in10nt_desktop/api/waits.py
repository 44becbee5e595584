"""Waits that outlast a flaky network: keep asking until the wait's own deadline, whatever fails meanwhile.

One failed request says nothing about a build. A wait therefore retries every failure a retry can
change (no connection, a dropped or stalled answer, 429, 500, 502, 503, 504) until its own timeout,
honouring ``Retry-After``, and tells an optional ``on_retry(error, delay)`` about each. It stops at
once on answers a retry cannot change (401, 404, a TLS error, a 5xx that says the condition is
permanent). Giving up is a ``WaitTimeoutError``: the caller does not know how the build ended.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from in10nt_desktop.api.errors import (
    ConnectionFailedError,
    In10ntError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
)
from in10nt_desktop.api.http import MAX_RETRY_AFTER, PERMANENT_ERROR_CODES

T = TypeVar("T")
RetryCallback = Callable[[In10ntError, float], None]
LAST_LOOK = 1.0  # seconds a request may take when the deadline has already come: one last look
_RETRIED_STATUSES = (500, 502, 503, 504)  # 500 too: waits only read (GET), so a retry cannot do harm


def is_transient(err: In10ntError) -> bool:
    """True when asking again may get another answer."""
    if isinstance(err, ConnectionFailedError):
        return err.kind != "tls"
    if isinstance(err, RateLimitError):
        return True
    return isinstance(err, ServerError) and err.status in _RETRIED_STATUSES and err.code not in PERMANENT_ERROR_CODES


def retry_delay(err: In10ntError, failures: int, poll_interval: float) -> float:
    """The server's ``Retry-After`` when it gave one; else a jittered backoff up to the poll interval."""
    retry_after = err.retry_after if isinstance(err, RateLimitError | ServerError) else None
    if retry_after is not None:
        return min(float(retry_after), MAX_RETRY_AFTER)
    backoff = min(max(poll_interval, 1.0), 0.25 * 2 ** (failures - 1))
    return float(backoff * (0.75 + random.random() / 2))


async def until_answered(request: Callable[[], Awaitable[T]], *, deadline: float, poll_interval: float,
                         on_retry: RetryCallback | None, gave_up: Callable[[In10ntError], str],
                         server: str) -> T:
    """``await request()`` until it answers or fails for good; ``WaitTimeoutError`` past ``deadline`` (loop time)."""
    loop = asyncio.get_running_loop()
    failures = 0
    while True:
        try:
            return await asyncio.wait_for(request(), max(deadline - loop.time(), LAST_LOOK))
        except TimeoutError:
            err: In10ntError = ConnectionFailedError(f"{server} did not answer in time.", kind="timeout")
        except In10ntError as exc:
            if not is_transient(exc):
                raise
            err = exc
        failures += 1
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise WaitTimeoutError(gave_up(err), last_error=err)
        delay = min(retry_delay(err, failures, poll_interval), remaining)
        if on_retry is not None:
            on_retry(err, delay)
        await asyncio.sleep(delay)
