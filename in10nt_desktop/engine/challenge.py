"""Parse ``WWW-Authenticate`` headers (RFC 7235).

Done by hand because registry scopes hold commas and colons inside quoted values
(``scope="repository:team/app:pull,push"``), which naive ``split(",")`` parsers break on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_TOKEN_CHARS = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/=:")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lowercased: "basic" or "bearer"
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in the header, in order; unknown syntax ends parsing, never raises."""
    out: list[Challenge] = []
    i, n = 0, len(header)

    def skip_ws(j: int) -> int:
        while j < n and header[j] in " \t,":
            j += 1
        return j

    def read_token(j: int) -> tuple[str, int]:
        start = j
        while j < n and header[j] in _TOKEN_CHARS and header[j] != "=":
            j += 1
        return header[start:j], j

    i = skip_ws(i)
    while i < n:
        scheme, i = read_token(i)
        if not scheme:
            break
        params: dict[str, str] = {}
        while True:
            j = i
            while j < n and header[j] in " \t":
                j += 1
            if j < n and header[j] == ",":
                j += 1
            while j < n and header[j] in " \t":
                j += 1
            key, k = read_token(j)
            # A key is followed by '='; a bare token here is the next challenge's scheme.
            m = k
            while m < n and header[m] in " \t":
                m += 1
            if not key or m >= n or header[m] != "=":
                break
            m += 1
            while m < n and header[m] in " \t":
                m += 1
            if m < n and header[m] == '"':
                m += 1
                value_chars: list[str] = []
                while m < n and header[m] != '"':
                    if header[m] == "\\" and m + 1 < n:
                        m += 1
                    value_chars.append(header[m])
                    m += 1
                value = "".join(value_chars)
                m += 1  # closing quote
            else:
                start = m
                while m < n and header[m] not in ", \t":
                    m += 1
                value = header[start:m]
            params[key.lower()] = value
            i = m
        out.append(Challenge(scheme.lower(), params))
        i = skip_ws(i)
    return out
