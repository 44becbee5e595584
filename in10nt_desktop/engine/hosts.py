"""Is a ``host[:port]`` the user's own machine?

Two callers decide security on the answer: the engine's guard (a web page that rebinds its DNS
name to 127.0.0.1 still sends its own ``Host``) and the mirror/realm rules (plain HTTP only to
loopback). So the text is parsed strictly: anything that is not exactly a name or an address
with an optional numeric port — userinfo, a path, a second colon, ``localhost:evil`` — is not
loopback, rather than whatever a lenient split happens to keep.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1, with an optional port; ``host`` as a Host header or URL netloc has it.

    A bare IPv6 address (``::1``, as ``httpx.URL.host`` gives it) is accepted too.
    """
    if not host or not host.isascii():
        return False
    if host.count(":") > 1 and not host.startswith("["):
        return _is_loopback_ip(host)  # two or more colons and no brackets: only a bare IPv6 address fits
    if _HOST_PORT.fullmatch(host) is None:
        return False
    parts = urlsplit("//" + host)
    try:
        parts.port  # noqa: B018 - range check: urlsplit raises for ports above 65535
    except ValueError:
        return False
    name = parts.hostname or ""
    return name == "localhost" or _is_loopback_ip(name)


def _is_loopback_ip(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False
