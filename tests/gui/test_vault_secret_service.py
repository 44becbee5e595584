"""The registry-login vault through a real Secret Service: gnome-keyring in a private D-Bus session
(``dbus-run-session``), as the .deb check runs it. A small program does what the app does (remember,
list, read, forget, import from a Docker config with a credential helper) through ``keyring``'s
SecretService backend; afterwards the temporary HOME (where gnome-keyring keeps its encrypted files)
and everything the program printed are searched for the passwords."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

# A real part (gnome-keyring in a D-Bus session): the Linux stack tier, not the fast tier CI runs everywhere.
pytestmark = pytest.mark.stack

PASSWORD = "vault-Secret-Service-pw-77"
HELPER_PW = "vault-helper-pw-88"

PROGRAM = f"""
import asyncio, json, keyring
from in10nt_desktop.app import docker_logins
from in10nt_desktop.app.registry_vault import RegistryLogin, RegistryVault

async def main():
    out = {{"backend": type(keyring.get_keyring()).__module__ + "." + type(keyring.get_keyring()).__name__}}
    vault = RegistryVault()
    out["stored"] = await vault.remember(RegistryLogin("registry.example.com:5000", "alice", {PASSWORD!r}),
                                         "registry.example.com:5000/team/app:1")
    found, problems = docker_logins.find()
    out["found"] = [[f.host, f.username] for f in found]
    for login in found:
        user, secret = docker_logins.read(login)
        await vault.remember(RegistryLogin(login.host, user, secret, login.source))
    again = RegistryVault()  # as the next app run
    out["listed"] = [[s.host, s.username, s.source] for s in await again.list()]
    got = await again.get("registry.example.com:5000")
    out["read_back"] = got.secret == {PASSWORD!r}
    out["helper_read_back"] = (await again.get("helped.example.com")).secret == {HELPER_PW!r}
    await again.forget("registry.example.com:5000")
    out["after_forget"] = [s.host for s in await RegistryVault().list()]
    out["gone"] = await RegistryVault().get("registry.example.com:5000") is None
    out["persistent"] = again.persistent
    print(json.dumps(out))

asyncio.run(main())
"""


def test_vault_round_trip_through_gnome_keyring(tmp_path: Path) -> None:
    for tool in ("dbus-run-session", "gnome-keyring-daemon"):
        assert shutil.which(tool), f"{tool} is missing: scripts/test.sh installs dbus and gnome-keyring"
    home = tmp_path / "home"
    run = tmp_path / "run"
    (home / ".docker").mkdir(parents=True)
    run.mkdir(mode=0o700)
    (home / ".docker" / "config.json").write_text(json.dumps({
        "auths": {"inline.example.com": {"auth": base64.b64encode(b"bob:inline-pw-99").decode()}},
        "credHelpers": {"helped.example.com": "test"}}))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-test"
    helper.write_text(f"#!{sys.executable}\nimport json, sys\nsys.stdin.read()\n"
                      f"print(json.dumps({{'Username': 'carol', 'Secret': {HELPER_PW!r}}}))\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "program.py").write_text(PROGRAM)
    (tmp_path / "session.sh").write_text(
        "set -e\n"
        "eval \"$(printf 'in10nt-test' | gnome-keyring-daemon --unlock --components=secrets --daemonize)\"\n"
        "export GNOME_KEYRING_CONTROL\n"
        f"exec {sys.executable} {tmp_path / 'program.py'}\n")
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(run), "LANG": "C.UTF-8",
           "PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(["dbus-run-session", "--", "sh", str(tmp_path / "session.sh")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "keyring.backends.SecretService.Keyring"
    assert result["stored"] is True and result["persistent"] is True
    assert result["found"] == [["helped.example.com", None], ["inline.example.com", "bob"]]
    assert result["listed"] == [["helped.example.com", "carol", "docker-credential-test"],
                                ["inline.example.com", "bob", "config.json"],
                                ["registry.example.com:5000", "alice", "typed"]]
    assert result["read_back"] is True and result["helper_read_back"] is True
    assert result["after_forget"] == ["helped.example.com", "inline.example.com"]
    assert result["gone"] is True
    # The keychain's own files are encrypted; nothing else may hold a password.
    assert list((home / ".local" / "share" / "keyrings").glob("*.keyring")), "gnome-keyring kept nothing on disk"
    for secret in (PASSWORD, HELPER_PW, "inline-pw-99"):
        assert secret not in done.stdout + done.stderr
        for path in home.rglob("*"):
            if path.is_file() and path.name != "config.json":
                assert secret.encode() not in path.read_bytes(), path
