"""A Docker-Hub/GCR-like token server for the test registry's ``auth: token`` mode.

Real registries (Docker Hub, GCR, GHCR, Quay) do not accept credentials themselves: they
answer ``401`` with a ``Bearer realm=...`` challenge and the client must fetch a JWT from a
separate token server. The engine under test has to follow that dance, so the stack runs a
tiny issuer whose behaviour mirrors the public services closely enough to matter:

* valid Basic credentials -> every requested action is granted;
* no credentials -> ``pull`` only, and only on public repositories (Docker Hub anonymous);
* wrong credentials -> ``401`` with ``{"details": "incorrect username or password"}``;
* GCR's ``_json_key`` user whose password is a service-account key JSON.

The JWT is RS256-signed with a self-signed certificate sent in the ``x5c`` header, which is
how CNCF distribution 2.8 verifies it against its ``rootcertbundle``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

ISSUER = "test-issuer"
SERVICE = "test-registry"
TOKEN_TTL = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_key_and_cert(
    common_name: str, *, san_ip: str | None = None
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """Create an RSA key and a self-signed cert (shared with the registry's TLS mode)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if san_ip is not None:
        import ipaddress

        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san_ip))]), critical=False
        )
    return key, builder.sign(key, hashes.SHA256())


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """PKCS#8 PEM without encryption, the form registries and service-account keys use."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_service_account_json(client_email: str, project_id: str = "proj") -> str:
    """A realistic (but useless) GCP service-account key, what users paste for ``_json_key``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client_id = str(secrets.randbelow(10**21)).zfill(21)
    return json.dumps(
        {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": secrets.token_hex(20),
            "private_key": key_pem(key).decode(),
            "client_email": client_email,
            "client_id": client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + client_email.replace("@", "%40"),
            "universe_domain": "googleapis.com",
        },
        indent=2,
    )


@dataclass
class TokenRequest:
    """One request seen by the issuer, kept so tests can assert on what the client asked."""

    username: str | None
    service: str | None
    scopes: list[str]
    status: int
    granted: list[dict[str, Any]] = field(default_factory=list)


class TokenIssuer:
    """Token server on 127.0.0.1:<free port>, served from a background thread.

    ``public_repos`` entries are exact repository names, or prefixes when they end in ``*``
    (``"library/*"``). ``users`` maps username -> password, except ``_json_key`` which maps
    to the ``client_email`` expected inside the service-account JSON password.
    """

    def __init__(
        self, users: dict[str, str], public_repos: Iterable[str], workdir: Path | None = None
    ) -> None:
        self.users = dict(users)
        self.public_repos = set(public_repos)
        self.issued = 0
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._key, self._cert = make_key_and_cert("test-token-issuer")
        self._own_dir = workdir is None
        workdir = Path(tempfile.mkdtemp(prefix="token-issuer-")) if workdir is None else workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.cert_path = workdir / "token-issuer.crt"
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._x5c = base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="token-issuer", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._own_dir:
            shutil.rmtree(self.cert_path.parent, ignore_errors=True)

    # ------------------------------------------------------------------ policy
    def is_public(self, repo: str) -> bool:
        return any(repo.startswith(p[:-1]) if p.endswith("*") else repo == p for p in self.public_repos)

    def check_credentials(self, username: str, password: str) -> bool:
        """Basic credentials check, including GCR's ``_json_key`` service-account form."""
        expected = self.users.get(username)
        if expected is None:
            return False
        if username == "_json_key":
            try:
                key = json.loads(password)
            except ValueError:
                return False
            return (
                isinstance(key, dict)
                and key.get("type") == "service_account"
                and bool(key.get("private_key"))
                and key.get("client_email") == expected
            )
        return secrets.compare_digest(password.encode(), expected.encode())

    def grant(self, scopes: list[str], authenticated: bool) -> list[dict[str, Any]]:
        """Turn ``repository:NAME:a,b`` scopes into JWT ``access`` entries."""
        access: list[dict[str, Any]] = []
        for scope in scopes:
            # actions come last; rpartition keeps any odd ':' inside NAME with the name.
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            wanted = [a for a in actions.split(",") if a]
            if authenticated:
                allowed = wanted
            else:
                allowed = ["pull"] if "pull" in wanted and self.is_public(name) else []
            if allowed:
                access.append({"type": "repository", "name": name, "actions": allowed})
        return access

    def make_jwt(self, subject: str, audience: str, access: list[dict[str, Any]]) -> str:
        now = int(dt.datetime.now(dt.UTC).timestamp())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": audience,
            "exp": now + TOKEN_TTL,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        sig = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)

    # ------------------------------------------------------------------ HTTP
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
                pass

            def _reply(self, status: int, body: dict[str, Any], extra: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/token":
                    self._reply(404, {"details": "not found"})
                    return
                query = parse_qs(parts.query)
                service: str | None = query["service"][0] if query.get("service") else None
                scopes = query.get("scope", [])
                username: str | None = None
                auth = self.headers.get("Authorization", "")
                if auth.lower().startswith("basic "):
                    try:
                        raw = base64.b64decode(auth[6:].strip()).decode()
                    except ValueError:
                        raw = ":"
                    username, _, password = raw.partition(":")
                    if not issuer.check_credentials(username, password):
                        with issuer._lock:
                            issuer.requests.append(TokenRequest(username, service, scopes, 401))
                        self._reply(
                            401,
                            {"details": "incorrect username or password"},
                            {"WWW-Authenticate": 'Basic realm="test-token-issuer"'},
                        )
                        return
                access = issuer.grant(scopes, authenticated=username is not None)
                token = issuer.make_jwt(username or "", service or SERVICE, access)
                with issuer._lock:
                    issuer.issued += 1
                    issuer.requests.append(TokenRequest(username, service, scopes, 200, access))
                self._reply(
                    200,
                    {
                        "token": token,
                        "access_token": token,
                        "expires_in": TOKEN_TTL,
                        "issued_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
                    },
                )

        return Handler
