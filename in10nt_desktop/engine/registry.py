"""An authenticated conversation with one repository on one OCI registry.

Handles what real registries do: Basic auth, the Bearer token flow announced in
``WWW-Authenticate`` (Docker Hub's ``auth.docker.io``, GCR's token service, a distribution
registry with ``auth: token``), and every failure turned into one sentence a person can act on.
Credentials stay in memory and are sent only to the registry and the realm it names.

Nothing a registry sends is trusted to be small: every answer is streamed with a cap for its kind
(``MAX_BYTES``; a ``Content-Length`` above it is refused unread), JSON is refused when nested
deeper than ``MAX_JSON_DEPTH`` before it is parsed, and redirects stop after ``MAX_REDIRECTS``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from in10nt_desktop.api.errors import describe_transport_error
from in10nt_desktop.api.validation import Credentials
from in10nt_desktop.engine.hosts import is_loopback_host
from in10nt_desktop.engine.limits import MAX_JSON_DEPTH, json_too_deep
from in10nt_desktop.engine.mirrors import Endpoint

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = frozenset(MANIFEST_TYPES[:2])

MiB = 1024 * 1024
# The most the engine reads of each kind of answer. Manifests and indexes: containerd's limit. A config
# lists one history entry and one diff ID per layer, so it gets more room. Error answers are read only
# for their error code: what is past the cap is dropped, not refused.
MAX_BYTES = {"manifest": 4 * MiB, "config": 8 * MiB, "token": 1 * MiB, "error": 64 * 1024}
_KIND_TEXT = {"manifest": "a manifest or index", "config": "an image config", "token": "a token answer"}
MAX_REDIRECTS = 10  # set on the engine's client (engine/app.py); a registry redirects a blob once, to its storage


class RegistryError(Exception):
    """``str(err)`` is the sentence that becomes a failed template's ``error``."""

    def __init__(self, message: str, kind: str, code: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # not_found | auth | unreachable | tls | rate_limit | timeout | protocol
        self.code = code  # the registry's own error code when it sent one (MANIFEST_UNKNOWN, NAME_UNKNOWN)


@dataclass(frozen=True)
class Fetched:
    body: bytes
    media_type: str
    digest: str
    content_type: str = ""  # as the registry sent it, for sentences about odd answers


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- WWW-Authenticate (RFC 7235) ---------------------------------------------------------------
# Parsed by hand because registry scopes hold commas and colons inside quoted values
# (``scope="repository:team/app:pull,push"``), which naive ``split(",")`` parsers break on.

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


class RegistrySession:
    def __init__(self, client: httpx.AsyncClient, endpoint: Endpoint, repository: str,
                 auth: Credentials | None, *, timeout: float = 30.0) -> None:
        self._client = client
        self.endpoint = endpoint
        self.repository = repository
        self._auth = auth
        self._timeout = timeout
        self._authorization: str | None = None
        self.token_requests = 0

    # -- failures as sentences -------------------------------------------------------------
    def _where(self) -> str:
        return self.endpoint.display

    def _transport_error(self, exc: httpx.TransportError, url: str) -> RegistryError:
        host = httpx.URL(url).netloc.decode()
        kind, reason = describe_transport_error(exc)
        if kind == "timeout":
            return RegistryError(f"Registry {host} did not answer in time (timeout).", "timeout")
        if kind == "tls":
            return RegistryError(f"TLS error talking to registry {host}: {reason}.", "tls")
        return RegistryError(f"Registry {host} is unreachable ({reason}).", "unreachable")

    def _status_error(self, response: httpx.Response, what: str) -> RegistryError:
        code = _registry_code(response)
        where = self._where()
        if response.status_code == 429:
            if self.endpoint.registry.endswith("docker.io") and not self.endpoint.via_mirror:
                return RegistryError("Docker Hub rate limit reached: sign in with a Docker Hub account "
                                     "(username and access token) or try again later.", "rate_limit")
            return RegistryError(f"{where} is rate limiting requests; try again later.", "rate_limit")
        if response.status_code == 404 or code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"):
            return RegistryError(f"Image or tag not found on {where}: {what}.", "not_found", code)
        if response.status_code in (401, 403):
            if self._auth is None:
                return RegistryError(f"{where} requires credentials for {self.repository} (or the image does "
                                     "not exist): add a username and password.", "auth")
            if self._authorization is None:
                return RegistryError(f"{where} refused access to {self.repository} without asking for "
                                     f"credentials (HTTP {response.status_code}); check the image name.", "auth")
            return RegistryError(f"Credentials rejected by {where} for {self.repository}: check the username "
                                 "and password.", "auth")
        if response.status_code >= 500:
            return RegistryError(f"{where} failed with HTTP {response.status_code}; try again later.",
                                 "unreachable")
        return RegistryError(f"{where} answered HTTP {response.status_code} for {what}.", "protocol")

    # -- auth ------------------------------------------------------------------------------
    async def _send(self, method: str, url: str, headers: dict[str, str], kind: str = "error", *,
                    params: dict[str, str] | None = None, auth: httpx.Auth | None = None,
                    where: str | None = None) -> httpx.Response:
        """One request, its answer read whole but at most ``MAX_BYTES[kind]`` (error answers: truncated)."""
        where = where or self._where()
        try:
            request = self._client.build_request(method, url, headers=headers, params=params, timeout=self._timeout)
            response = await self._client.send(request, auth=auth, follow_redirects=True, stream=True)
        except httpx.TooManyRedirects:
            raise RegistryError(f"{where} redirected the request more than {MAX_REDIRECTS} times (a redirect "
                                "loop?); check the registry address.", "protocol") from None
        except httpx.TransportError as exc:
            raise self._transport_error(exc, url) from None
        try:
            body = await self._read(response, "error" if response.status_code >= 400 else kind, where)
        finally:
            await response.aclose()
        # The body is decoded already: the copy must not say it is still compressed.
        kept = [(k, v) for k, v in response.headers.multi_items()
                if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=kept, content=body, request=response.request)

    async def _read(self, response: httpx.Response, kind: str, where: str) -> bytes:
        limit = MAX_BYTES[kind]
        refuse = kind != "error"
        declared = response.headers.get("content-length", "")
        if refuse and declared.isdigit() and int(declared) > limit:
            raise self._too_big(kind, where)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    if refuse:
                        raise self._too_big(kind, where)
                    chunks.append(chunk[:limit - size + len(chunk)])
                    break
                chunks.append(chunk)
        except httpx.DecodingError:
            raise RegistryError(f"{where} sent {_KIND_TEXT.get(kind, 'an answer')} that could not be decoded "
                                f"({response.headers.get('content-encoding', 'unknown encoding')}).", "protocol") \
                from None
        except httpx.TransportError as exc:
            raise self._transport_error(exc, str(response.url)) from None
        return b"".join(chunks)

    @staticmethod
    def _too_big(kind: str, where: str) -> RegistryError:
        limit = f"{MAX_BYTES[kind] // MiB} MiB"
        if kind == "token":
            return RegistryError(f"The token service of {where} answered with more than {limit} (the engine's "
                                 "limit for a token answer); refused.", "protocol")
        return RegistryError(f"{where} answered with {_KIND_TEXT[kind]} larger than {limit} (the engine's limit); "
                             "refused.", "protocol")

    async def _fetch_token(self, challenge: Challenge) -> str:
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryError(f"{self._where()} sent a token challenge without a realm.", "protocol")
        realm_url = httpx.URL(realm)
        if realm_url.scheme != "https" and not (realm_url.scheme == "http" and is_loopback_host(realm_url.host)):
            # The realm receives the user's password: never over plain HTTP to another machine.
            raise RegistryError(f"{self._where()} asked for credentials to be sent to {realm} over plain HTTP; "
                                "refused (only loopback token services may use HTTP).", "protocol")
        params: dict[str, str] = {}
        if "service" in challenge.params:
            params["service"] = challenge.params["service"]
        params["scope"] = challenge.params.get("scope") or f"repository:{self.repository}:pull"
        basic = httpx.BasicAuth(*self._auth) if self._auth else None
        self.token_requests += 1
        response = await self._send("GET", realm, {}, "token", params=params, auth=basic)
        if response.status_code in (401, 403):
            if self._auth is None:
                raise RegistryError(f"{self._where()} requires credentials for {self.repository}.", "auth")
            raise RegistryError(f"Credentials rejected by {self._where()}: check the username and password "
                                "(or access token).", "auth")
        if response.status_code == 429:
            raise self._status_error(response, "a token")
        if response.status_code >= 400:
            raise RegistryError(f"The token service of {self._where()} answered HTTP {response.status_code}.",
                                "protocol")
        try:
            data = parse_json(response.content)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token or not isinstance(token, str):
            raise RegistryError(f"The token service of {self._where()} sent no token.", "protocol")
        return f"Bearer {token}"

    async def _authorize(self, response: httpx.Response) -> bool:
        """Answer a 401 challenge; False when there is nothing more to try.

        Some registries only challenge on ``/v2/`` (the API root) and answer a bare 401, 403 or
        even 404 elsewhere; with credentials in hand, ask the root for its challenge before
        concluding anything, so a right password is never reported as rejected.
        """
        challenges = parse_challenges(response.headers.get("www-authenticate", ""))
        if not challenges and self._auth is not None:
            root = await self._send("GET", f"{self.endpoint.base_url}/v2/", {})
            challenges = parse_challenges(root.headers.get("www-authenticate", ""))
            if not challenges and root.status_code == 401:
                challenges = [Challenge("basic", {})]
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if bearer is not None:
            self._authorization = await self._fetch_token(bearer)
            return True
        if basic is not None and self._auth is not None:
            # Kept as a header value like a Bearer token, so both schemes share one Authorization path
            # (httpx.BasicAuth is a per-request auth flow, not a value to store).
            self._authorization = "Basic " + base64.b64encode(":".join(self._auth).encode()).decode("ascii")
            return True
        return False

    async def get(self, path: str, accept: str | None, what: str, kind: str) -> httpx.Response:
        url = f"{self.endpoint.base_url}/v2/{self.repository}/{path}"
        headers = {"Accept": accept} if accept else {}
        tried_auth = False
        while True:
            if self._authorization:
                headers["Authorization"] = self._authorization
            response = await self._send("GET", url, headers, kind)
            unauthorised = response.status_code == 401 or (
                response.status_code in (403, 404) and self._auth is not None and self._authorization is None)
            if unauthorised and not tried_auth:
                tried_auth = True
                if await self._authorize(response):
                    continue
            if response.status_code >= 400:
                raise self._status_error(response, what)
            return response

    # -- the two reads a resolve needs ---------------------------------------------------------
    async def manifest(self, reference: str) -> Fetched:
        what = f"{self.repository}:{reference}" if not reference.startswith("sha256:") \
            else f"{self.repository}@{reference}"
        response = await self.get(f"manifests/{reference}", ", ".join(MANIFEST_TYPES), what, "manifest")
        body = response.content
        digest = sha256_digest(body)
        if reference.startswith("sha256:") and digest != reference:
            raise RegistryError(f"{self._where()} sent a manifest that does not match digest {reference}.",
                                "protocol")
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        media_type = content_type
        if not media_type or media_type == "application/json":
            media_type = str(_json_field(body, "mediaType") or "")
        return Fetched(body, media_type, digest, content_type)

    async def blob(self, digest: str) -> Fetched:
        response = await self.get(f"blobs/{digest}", None, f"{self.repository}@{digest}", "config")
        if sha256_digest(response.content) != digest:
            raise RegistryError(f"{self._where()} sent a blob that does not match {digest}.", "protocol")
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        return Fetched(response.content, content_type, digest, content_type)


class TooDeep(ValueError):
    pass


def parse_json(body: bytes) -> Any:
    """``json.loads`` for registry answers: ``ValueError`` (``TooDeep``) for nesting past ``MAX_JSON_DEPTH``."""
    if json_too_deep(body):
        raise TooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(body)


def _registry_code(response: httpx.Response) -> str | None:
    try:
        errors = parse_json(response.content).get("errors") or []
        return str(errors[0].get("code")) if errors else None
    except (ValueError, AttributeError, IndexError, TypeError, KeyError):
        return None


def _json_field(body: bytes, key: str) -> Any:
    try:
        return parse_json(body).get(key)
    except (ValueError, AttributeError):
        return None
