"""Shared fixtures: the real test stack (registries, token issuer, podman, pushed images).

The stack fixtures are session-scoped and lazy: only tests that ask for them pay the start-up.
They never skip: if a part cannot start, the error (with the process log tail) fails the tests
that need it, because a silently skipped integration suite is worse than a red one.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from stack.engine_proc import EngineProc, start_engine
from stack.gate_proxy import GateProxy
from stack.images import StackImages, push_image
from stack.podman import Podman, start_podman
from stack.registry import Registry, start_registry
from stack.token_issuer import TokenIssuer, make_service_account_json

HTPASSWD_USERS = {"testuser": "testpass"}
HUB_USER = ("hubuser", "hubpass")
GCR_CLIENT_EMAIL = "builder@proj.iam.gserviceaccount.com"
AMD64_ARM64 = [("linux", "amd64"), ("linux", "arm64")]


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root of all stack state; short path so podman's unix socket stays under 108 bytes."""
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def token_issuer(stack_dir: Path) -> Iterator[TokenIssuer]:
    issuer = TokenIssuer(
        users={HUB_USER[0]: HUB_USER[1], "_json_key": GCR_CLIENT_EMAIL},
        public_repos={"library/*"},
        workdir=stack_dir / "token-issuer",
    )
    yield issuer
    issuer.stop()


@pytest.fixture(scope="session")
def gcr_key_json() -> str:
    """Service-account key JSON that the issuer accepts as the ``_json_key`` password."""
    return make_service_account_json(GCR_CLIENT_EMAIL)


@pytest.fixture(scope="session")
def registry_open(stack_dir: Path) -> Iterator[Registry]:
    reg = start_registry(stack_dir / "registry-open", "open")
    yield reg
    reg.stop()


@pytest.fixture
def gate(registry_open: Registry) -> Iterator[GateProxy]:
    """``registry_open`` behind a proxy that holds every connection until the test opens it."""
    host, port = registry_open.host.split(":")
    proxy = GateProxy(host, int(port))
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def registry_htpasswd(stack_dir: Path) -> Iterator[Registry]:
    reg = start_registry(stack_dir / "registry-htpasswd", "htpasswd", users=HTPASSWD_USERS)
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def registry_token(stack_dir: Path, token_issuer: TokenIssuer) -> Iterator[Registry]:
    reg = start_registry(
        stack_dir / "registry-token",
        "token",
        token_realm=token_issuer.url,
        rootcertbundle=token_issuer.cert_path,
    )
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def podman(
    stack_dir: Path, registry_open: Registry, registry_htpasswd: Registry, registry_token: Registry
) -> Iterator[Podman]:
    pod = start_podman(
        stack_dir / "podman", [r.host for r in (registry_open, registry_htpasswd, registry_token)]
    )
    yield pod
    pod.stop()


@pytest.fixture(scope="session")
def images(
    registry_open: Registry,
    registry_htpasswd: Registry,
    registry_token: Registry,
    gcr_key_json: str,
) -> StackImages:
    testuser = next(iter(HTPASSWD_USERS.items()))
    gcr_auth = ("_json_key", gcr_key_json)
    return StackImages(
        open_busybox=push_image(registry_open.url, "x/busybox", "1"),
        open_docker=push_image(registry_open.url, "x/busybox", "docker", fmt="docker"),
        open_multi=push_image(registry_open.url, "x/multi", "1", platforms=AMD64_ARM64),
        private_busybox=push_image(registry_htpasswd.url, "team/busybox", "1", auth=testuser),
        hub_busybox=push_image(registry_token.url, "library/busybox", "1.36", auth=HUB_USER, token_flow=True),
        hub_private=push_image(registry_token.url, "hubuser/secret-env", "1", auth=HUB_USER, token_flow=True),
        gcr_busybox=push_image(registry_token.url, "proj/busybox", "v1", auth=gcr_auth, token_flow=True),
    )


# -- the local engine, started as a user would ---------------------------------------------------------


@pytest.fixture(scope="session")
def hub_mirrors(registry_token: Registry) -> dict[str, str]:
    """Docker Hub and GCR, played by the token-auth registry through the engine's mirror setting."""
    return {"docker.io": registry_token.url, "gcr.io": registry_token.url}


@pytest.fixture(scope="session")
def engine(stack_dir: Path, hub_mirrors: dict[str, str], images: StackImages) -> Iterator[EngineProc]:
    """A resolve-only engine (no container engine reachable), shared by the build tests."""
    proc = start_engine(stack_dir / "engine-resolve", mirrors=hub_mirrors)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def engine_with_podman(
    stack_dir: Path, hub_mirrors: dict[str, str], images: StackImages, podman: Podman
) -> Iterator[EngineProc]:
    """An engine that pulls through Podman's Docker-compatible service."""
    proc = start_engine(stack_dir / "engine-podman", mirrors=hub_mirrors, docker_host=podman.docker_host)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def instances_engine(request: pytest.FixtureRequest, stack_dir: Path, hub_mirrors: dict[str, str],
                     images: StackImages, podman: Podman) -> Iterator[EngineProc]:
    """An engine of the test module's own that runs instances in Podman, with no network for them (the
    tests' containers need none, and a bridge needs privileges a CI runner may lack); stopped after."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    proc = start_engine(stack_dir / f"engine-{name}", mirrors=hub_mirrors, docker_host=podman.docker_host,
                        extra=["--instance-network", "none"])
    yield proc
    proc.stop()


@pytest.fixture
def fresh_engine_dir(tmp_path: Path) -> Path:
    return tmp_path / "engine"


# -- tiers ---------------------------------------------------------------------------------------------

# Every part of the real stack hangs off ``stack_dir``; ``fresh_engine_dir`` is the data dir of an engine
# process a test starts itself. A test that uses either, directly or through another fixture, is in
# the real-stack tier (``-m stack``), and so is every test under tests/engine and tests/stack (they
# drive engine processes, some started by hand with ``start_engine``). The rest is the fast tier
# (``-m "not stack"``) that CI runs on Windows and macOS too.
STACK_ROOTS = frozenset({"stack_dir", "fresh_engine_dir"})
STACK_FOLDERS = frozenset({"engine", "stack"})
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
        if STACK_ROOTS & set(getattr(item, "fixturenames", ())) or folder in STACK_FOLDERS:
            item.add_marker(pytest.mark.stack)
