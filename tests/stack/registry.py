"""Run Debian's ``docker-registry`` (CNCF distribution 2.8) on loopback for the tests.

The engine must talk to real registries, with their real quirks (challenges, redirects,
``Docker-Content-Digest``, error bodies), so the tests use the real server rather than a
mock. Its traps (also in docs/test-stack.md):

* the registry maps every ``REGISTRY_*`` environment variable onto its configuration, so a
  ``REGISTRY_AUTH_FILE`` exported for podman makes it exit with a YAML unmarshal error; it is
  started with a scrubbed environment;
* htpasswd files must be bcrypt, and bcrypt 5 refuses passwords longer than 72 bytes.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import bcrypt
import httpx
from cryptography.hazmat.primitives import serialization

from .token_issuer import ISSUER, SERVICE, key_pem, make_key_and_cert

RegistryKind = Literal["open", "htpasswd", "token"]
START_TIMEOUT = 15.0


def free_port() -> int:
    """Ask the kernel for a free loopback port (tiny race window, fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env() -> dict[str, str]:
    """Environment without ``REGISTRY_*`` variables (they override the YAML config)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}


def log_tail(path: Path, lines: int = 30) -> str:
    """Last ``lines`` of a log, preceded by any panic/fatal lines (Go stacks bury the cause)."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"<no log: {exc}>"
    tail = text[-lines:]
    causes = [ln for ln in text[:-lines] if ln.startswith("panic:") or "level=fatal" in ln][:5]
    return "\n".join([*causes, "..." if causes else "", *tail]).lstrip("\n")


@dataclass
class Registry:
    """A running registry; ``host`` is what goes in image references (``127.0.0.1:PORT``)."""

    kind: RegistryKind
    host: str
    url: str
    proc: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    users: dict[str, str] = field(default_factory=dict)
    ca_cert_path: Path | None = None  # TLS only: the self-signed server certificate

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def ssl_context(self) -> ssl.SSLContext:
        """Client context trusting this registry's self-signed cert (httpx ``verify=``)."""
        if self.ca_cert_path is None:
            return ssl.create_default_context()
        return ssl.create_default_context(cafile=str(self.ca_cert_path))

    def stop(self) -> None:
        """Terminate, wait, and kill after 5 s; always reaps the process (no ResourceWarning)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()


def _write_htpasswd(path: Path, users: dict[str, str]) -> None:
    lines = []
    for name, password in users.items():
        if len(password.encode()) > 72:
            raise ValueError(f"htpasswd password for {name!r} exceeds bcrypt's 72-byte limit")
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        lines.append(f"{name}:{hashed}\n")
    path.write_text("".join(lines))


def _config_yaml(
    port: int,
    storage: Path,
    kind: RegistryKind,
    htpasswd: Path | None,
    token_realm: str | None,
    rootcertbundle: Path | None,
    tls: tuple[Path, Path] | None,
) -> str:
    # JSON-style scalars are valid YAML and spare us a YAML dependency / quoting bugs.
    lines = [
        "version: 0.1",
        "log:",
        "  level: info",
        "  formatter: text",
        "storage:",
        "  filesystem:",
        f'    rootdirectory: "{storage}"',
        "  delete:",
        "    enabled: true",
        "  maintenance:",
        "    uploadpurging:",
        "      enabled: false",
        "http:",
        f'  addr: "127.0.0.1:{port}"',
        '  secret: "in10nt-test-secret"',
        "  headers:",
        "    X-Content-Type-Options: [nosniff]",
    ]
    if tls is not None:
        lines += ["  tls:", f'    certificate: "{tls[0]}"', f'    key: "{tls[1]}"']
    if kind == "htpasswd":
        lines += ["auth:", "  htpasswd:", '    realm: "test-registry"', f'    path: "{htpasswd}"']
    elif kind == "token":
        lines += [
            "auth:",
            "  token:",
            f'    realm: "{token_realm}"',
            f'    service: "{SERVICE}"',
            f'    issuer: "{ISSUER}"',
            f'    rootcertbundle: "{rootcertbundle}"',
        ]
    return "\n".join(lines) + "\n"


def start_registry(
    workdir: Path,
    kind: RegistryKind,
    *,
    users: dict[str, str] | None = None,
    token_realm: str | None = None,
    rootcertbundle: Path | None = None,
    tls: bool = False,
) -> Registry:
    """Start ``docker-registry serve`` and wait until ``GET /v2/`` answers 200 or 401.

    For ``kind="token"`` pass ``token_realm`` (the issuer URL) and ``rootcertbundle`` (the
    issuer's ``cert_path``). ``tls=True`` serves HTTPS with a self-signed certificate, which
    clients must reject unless told otherwise.
    """
    if kind == "token" and (token_realm is None or rootcertbundle is None):
        raise ValueError("token registries need token_realm and rootcertbundle")
    workdir.mkdir(parents=True, exist_ok=True)
    storage = workdir / "storage"
    storage.mkdir(exist_ok=True)
    htpasswd = None
    if kind == "htpasswd":
        htpasswd = workdir / "htpasswd"
        _write_htpasswd(htpasswd, users or {})
    tls_files = None
    ca_cert_path = None
    if tls:
        key, cert = make_key_and_cert("127.0.0.1", san_ip="127.0.0.1")
        ca_cert_path = workdir / "tls.crt"
        ca_cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path = workdir / "tls.key"
        key_path.write_bytes(key_pem(key))
        tls_files = (ca_cert_path, key_path)

    port = free_port()
    config = workdir / "config.yml"
    config.write_text(_config_yaml(port, storage, kind, htpasswd, token_realm, rootcertbundle, tls_files))
    log_path = workdir / "registry.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_env(),
            cwd=workdir,
            start_new_session=True,  # a Ctrl-C to pytest must not kill it before teardown runs
        )
    scheme = "https" if tls else "http"
    reg = Registry(
        kind=kind,
        host=f"127.0.0.1:{port}",
        url=f"{scheme}://127.0.0.1:{port}",
        proc=proc,
        workdir=workdir,
        log_path=log_path,
        users=dict(users or {}),
        ca_cert_path=ca_cert_path,
    )
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(verify=False, timeout=2) as client:
        while True:
            if proc.poll() is not None:
                reg.stop()
                raise RuntimeError(f"docker-registry ({kind}) exited {proc.returncode}:\n{reg.log_tail()}")
            try:
                status = client.get(f"{reg.url}/v2/").status_code
                if status in (200, 401):
                    return reg
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                reg.stop()
                raise RuntimeError(
                    f"docker-registry ({kind}) did not answer in {START_TIMEOUT}s:\n{reg.log_tail()}"
                )
            time.sleep(0.1)
