"""Registry logins in the keychain (an in-memory one, none at all), and the logins Docker and gcloud
already have: a real ``config.json`` in a temporary HOME, a fake ``docker-credential-test`` helper and a
fake ``gcloud`` on PATH, both scripts written by the test. After each test, QSettings, the log and the
temporary directories are searched for the passwords used: none may be there."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring.backends.fail
import pytest
from gui_helpers import (
    MemoryKeyring,
    collect_qt_garbage,  # noqa: F401 - autouse fixture
    ini_settings,
    keyring_backend,
    wait_until,
)

from in10nt_desktop.api.validation import FieldError
from in10nt_desktop.app import docker_logins, gcr_sources
from in10nt_desktop.app.docker_logins import DockerLogin, DockerLoginError
from in10nt_desktop.app.drafts import SecretSource
from in10nt_desktop.app.keychain import SERVICE as API_KEY_SERVICE
from in10nt_desktop.app.registry_logins import RegistryLoginsService
from in10nt_desktop.app.registry_vault import (
    MAX_LOGINS,
    SERVICE,
    RegistryLogin,
    RegistryVault,
    login_host,
)

INLINE_PW = "inline-Pa55-word"
HELPER_PW = "helper-S3cret-token"
TYPED_PW = "typed-Pw-0042"
GCLOUD_TOKEN = "ya29.fake-gcloud-token-1234"
PASSWORDS = (INLINE_PW, HELPER_PW, TYPED_PW, GCLOUD_TOKEN)
# The helper and gcloud are played by POSIX scripts (a shebang to this Python): real programs the code
# runs, so those tests go with the Linux stack tier rather than the fast tier CI runs on every OS.
posix_programs = pytest.mark.stack


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with keyring_backend(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


def script(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def docker_home(tmp_path: Path) -> dict[str, str]:
    """A HOME with ~/.docker/config.json (one inline login, one host in a helper) and the helper on PATH."""
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    config = {
        "auths": {
            "registry.example.com:5000": {"auth": base64.b64encode(f"inline-user:{INLINE_PW}".encode()).decode()},
            "https://index.docker.io/v1/": {},
            "ghcr.io": {"identitytoken": "opaque"},
        },
        "credsStore": "test",
        "credHelpers": {"helped.example.com": "test"},
    }
    (home / ".docker" / "config.json").write_text(json.dumps(config))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    store = {"https://index.docker.io/v1/": ("hub-user", HELPER_PW), "helped.example.com": ("helped-user", HELPER_PW)}
    script(bin_dir / "docker-credential-test", f"""
import json, sys
store = {json.dumps(store)}
action = sys.argv[1]
if action == "list":
    print(json.dumps({{url: user for url, (user, _secret) in store.items()}}))
elif action == "get":
    url = sys.stdin.read().strip()
    if url not in store:
        print("credentials not found in native keychain")
        sys.exit(1)
    user, secret = store[url]
    print(json.dumps({{"ServerURL": url, "Username": user, "Secret": secret}}))
else:
    sys.exit(2)
""")
    return {"HOME": str(home), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def scan_for_passwords(*roots: Path, text: str = "") -> list[str]:
    hits = [f"log: {pw}" for pw in PASSWORDS if pw in text]
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.name.startswith("docker-credential-"):
                data = path.read_bytes()
                hits += [f"{path}: {pw}" for pw in PASSWORDS if pw.encode() in data]
    return hits


# -- the vault ----------------------------------------------------------------------------------------


def test_login_hosts() -> None:
    assert login_host("python:3.11") == "docker.io"
    assert login_host("index.docker.io/team/app:1") == "docker.io"
    assert login_host("Registry.Example.com:5000/team/app:1") == "registry.example.com:5000"
    assert login_host("us-docker.pkg.dev/p/r/i:1") == "us-docker.pkg.dev"


@pytest.mark.asyncio
async def test_remember_list_get_forget(memory_keyring: MemoryKeyring) -> None:
    vault = RegistryVault()
    assert await vault.list() == []
    assert await vault.remember(RegistryLogin("registry.example.com", "alice", TYPED_PW), "registry.example.com/a:1")
    assert await vault.remember(RegistryLogin("docker.io", "bob", "hub-pw"))
    listed = await vault.list()
    assert [(s.host, s.username, s.last_image) for s in listed] == [
        ("docker.io", "bob", ""), ("registry.example.com", "alice", "registry.example.com/a:1")]
    login = await vault.get("registry.example.com")
    assert login is not None and (login.username, login.secret) == ("alice", TYPED_PW)
    assert TYPED_PW not in repr(login) and TYPED_PW not in repr(listed) and TYPED_PW not in repr(vault)
    # Its own keychain service: nothing under the API keys' name, and the index holds no secret.
    assert {service for service, _ in memory_keyring.items} == {SERVICE}
    assert API_KEY_SERVICE != SERVICE
    assert TYPED_PW not in memory_keyring.items[(SERVICE, "index")]
    assert await RegistryVault().get("registry.example.com") is not None  # the next app run finds it
    await vault.forget("registry.example.com")
    assert [s.host for s in await vault.list()] == ["docker.io"]
    assert await vault.get("registry.example.com") is None
    assert (SERVICE, "login:registry.example.com") not in memory_keyring.items


@pytest.mark.asyncio
async def test_bounds_are_sentences(memory_keyring: MemoryKeyring) -> None:
    vault = RegistryVault()
    with pytest.raises(FieldError, match="1 to 256 characters"):
        await vault.remember(RegistryLogin("r.example.com", "u" * 257, "p"))
    with pytest.raises(FieldError, match="64 KiB"):
        await vault.remember(RegistryLogin("r.example.com", "u", "p" * (64 * 1024 + 1)))
    with pytest.raises(FieldError, match="not a registry host"):
        await vault.remember(RegistryLogin("a b", "u", "p"))
    for n in range(MAX_LOGINS):
        await vault.remember(RegistryLogin(f"r{n}.example.com", "u", "p"))
    with pytest.raises(FieldError, match=f"At most {MAX_LOGINS}"):
        await vault.remember(RegistryLogin("one-more.example.com", "u", "p"))
    assert await vault.remember(RegistryLogin("r0.example.com", "u2", "p2"))  # replacing one is fine


@pytest.mark.asyncio
async def test_without_a_keychain_logins_last_the_session(tmp_path: Path) -> None:
    with keyring_backend(keyring.backends.fail.Keyring()):
        vault = RegistryVault()
        assert await vault.remember(RegistryLogin("r.example.com", "u", TYPED_PW)) is False
        assert vault.persistent is False
        assert vault.problem == "No system keychain is available; logins are kept for this session only."
        assert [s.host for s in await vault.list()] == ["r.example.com"]
        login = await vault.get("r.example.com")
        assert login is not None and login.secret == TYPED_PW


# -- the service: remember from a form, import from Docker, gcloud ----------------------------------------


@pytest.mark.asyncio
async def test_service_remembers_a_typed_and_an_env_secret(memory_keyring: MemoryKeyring, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = ini_settings(tmp_path / "settings.ini")
    service = RegistryLoginsService(RegistryVault(), environ={"REG_PW": HELPER_PW})
    listed: list[list[object]] = []
    service.listed.connect(listed.append)
    service.remember("registry.example.com", "alice", SecretSource("typed", TYPED_PW), "registry.example.com/a:1")
    service.remember("helped.example.com", "bob", SecretSource("env", "REG_PW"))
    await wait_until(lambda: len(service.summaries) == 2)
    assert service.login_for("helped.example.com") is not None
    login = await service.vault.get("helped.example.com")
    assert login is not None and login.secret == HELPER_PW
    failures: list[str] = []
    service.failed.connect(failures.append)
    service.remember("x.example.com", "carol", SecretSource("env", "UNSET_VAR_FOR_TEST"))
    await wait_until(lambda: bool(failures))
    assert failures == ["The environment variable UNSET_VAR_FOR_TEST is not set or is empty."]
    settings.sync()
    await service.close()
    assert scan_for_passwords(tmp_path, text=caplog.text) == []


@posix_programs
def test_find_lists_docker_logins_without_reading_helper_secrets(docker_home: dict[str, str]) -> None:
    found, problems = docker_logins.find(docker_home)
    assert [(f.host, f.username, f.source) for f in found] == [
        ("docker.io", "hub-user", "docker-credential-test"),
        ("helped.example.com", None, "docker-credential-test"),
        ("registry.example.com:5000", "inline-user", "config.json"),
    ]
    assert problems == ["ghcr.io: signed in with an identity token, which cannot be imported; sign in with a "
                        "password or access token instead."]
    assert all(HELPER_PW not in repr(f) and INLINE_PW not in repr(f) for f in found)
    assert docker_logins.read(found[0], docker_home) == ("hub-user", HELPER_PW)
    assert docker_logins.read(found[2], docker_home) == ("inline-user", INLINE_PW)


@posix_programs
def test_docker_config_faults_are_sentences(tmp_path: Path, docker_home: dict[str, str]) -> None:
    with pytest.raises(DockerLoginError, match="There is no Docker config at"):
        docker_logins.find({"HOME": str(tmp_path / "nobody"), "PATH": "/usr/bin"})
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{nope")
    with pytest.raises(DockerLoginError, match="is not valid JSON"):
        docker_logins.find({"DOCKER_CONFIG": str(broken)})
    missing = DockerLogin("other.example.com", "other.example.com", None, "docker-credential-test", "test")
    with pytest.raises(DockerLoginError, match="credentials not found in native keychain"):
        docker_logins.read(missing, docker_home)
    absent = DockerLogin("x.example.com", "x.example.com", None, "docker-credential-absent", "absent")
    with pytest.raises(DockerLoginError, match="docker-credential-absent is not installed"):
        docker_logins.read(absent, docker_home)


@posix_programs
@pytest.mark.asyncio
async def test_import_copies_only_what_was_chosen(memory_keyring: MemoryKeyring, docker_home: dict[str, str],
                                                  tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    service = RegistryLoginsService(RegistryVault(), environ=docker_home)
    found: list[tuple[list[DockerLogin], list[str]]] = []
    imported: list[tuple[list[str], list[str]]] = []
    service.docker_found.connect(lambda logins, problems: found.append((logins, problems)))
    service.imported.connect(lambda hosts, problems: imported.append((hosts, problems)))
    service.find_docker_logins()
    await wait_until(lambda: bool(found))
    assert memory_keyring.items == {}  # offered, not copied
    logins = {login.host: login for login in found[0][0]}
    service.import_docker([logins["registry.example.com:5000"], logins["helped.example.com"]])
    await wait_until(lambda: bool(imported))
    assert imported == [(["registry.example.com:5000", "helped.example.com"], [])]
    assert sorted(service.summaries) == ["helped.example.com", "registry.example.com:5000"]
    assert service.summaries["helped.example.com"].username == "helped-user"
    assert service.summaries["helped.example.com"].source == "docker-credential-test"
    login = await service.vault.get("registry.example.com:5000")
    assert login is not None and login.secret == INLINE_PW
    await service.close()
    assert scan_for_passwords(tmp_path, text=caplog.text) == []


@posix_programs
@pytest.mark.asyncio
async def test_gcr_offers_the_key_path_and_a_gcloud_token(tmp_path: Path) -> None:
    bin_dir = tmp_path / "gbin"
    bin_dir.mkdir()
    script(bin_dir / "gcloud", f"""
import sys
if sys.argv[1:] == ["auth", "print-access-token"]:
    print("{GCLOUD_TOKEN}")
else:
    sys.exit(2)
""")
    env = {"PATH": str(bin_dir), "GOOGLE_APPLICATION_CREDENTIALS": "~/keys/sa.json", "HOME": str(tmp_path)}
    offers = gcr_sources.offers(env)
    assert offers.key_path == str(tmp_path / "keys" / "sa.json")
    assert offers.gcloud == str(bin_dir / "gcloud")
    assert gcr_sources.offers({"PATH": str(tmp_path / "empty")}) == gcr_sources.GcrOffers(None, None)

    service = RegistryLoginsService(RegistryVault(), environ=env)
    tokens: list[tuple[SecretSource | None, str]] = []
    service.gcloud_token_ready.connect(lambda secret, text: tokens.append((secret, text)))
    service.gcloud_token(str(bin_dir / "gcloud"))
    await wait_until(lambda: bool(tokens))
    secret, text = tokens[0]
    assert secret is not None and secret.value == GCLOUD_TOKEN and text == ""
    assert GCLOUD_TOKEN not in repr(secret)

    script(bin_dir / "gcloud", """
import sys
print("ERROR: (gcloud.auth.print-access-token) You do not currently have an active account selected.",
      file=sys.stderr)
sys.exit(1)
""")
    service.gcloud_token(str(bin_dir / "gcloud"))
    await wait_until(lambda: len(tokens) == 2)
    assert tokens[1] == (None, "gcloud could not print a token: ERROR: (gcloud.auth.print-access-token) You do "
                               "not currently have an active account selected.")
    await service.close()
