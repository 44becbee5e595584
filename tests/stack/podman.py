"""Run ``podman system service`` with private storage as the Docker-compatible engine.

The engine under test pulls and runs images through the Docker Engine API; podman provides
that API without a daemon install. Everything (storage, configs, socket, auth file) lives
under ``workdir`` so the tests never touch the machine's own containers. Settings forced by
this kind of machine (see docs/test-stack.md): runc (crun fails on the hybrid cgroup
host), cgroupfs, explicit ulimits below the hard limits (no CAP_SYS_RESOURCE), no network
namespace by default, a file events logger, and a short ``exit_command_delay`` so exec
sessions' conmon processes do not linger for 300 s.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from .registry import log_tail

START_TIMEOUT = 30.0

CONTAINERS_CONF = """\
[containers]
netns = "none"
default_ulimits = [
  "nofile=1024:1024",
  "nproc=1024:1024",
]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
exit_command_delay = 5
"""


@dataclass
class Podman:
    """A running podman API service; ``env`` makes the ``podman`` CLI use the same storage."""

    workdir: Path
    socket_path: Path
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def graphroot(self) -> Path:
        return self.workdir / "storage"

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the ``podman`` CLI against this service's storage (for test setup/asserts)."""
        return subprocess.run(
            ["podman", *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=check
        )

    def ping(self) -> bool:
        try:
            with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket_path)), timeout=2) as c:
                r = c.get("http://d/_ping")
                return r.status_code == 200 and r.text.strip() == "OK"
        except httpx.TransportError:
            return False

    def _conmon_pids(self) -> list[int]:
        """conmon processes of this storage: they outlive the service by exit_command_delay."""
        pids = []
        needle = str(self.workdir).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            argv0 = cmdline.split(b"\0", 1)[0]
            if os.path.basename(argv0) == b"conmon" and needle in cmdline:
                pids.append(int(entry.name))
        return pids

    def stop(self) -> None:
        """Remove containers, stop the service, wait for conmon, unmount and delete storage."""
        if self.proc.poll() is None:
            try:
                self.cli("rm", "-af", "-t", "0", timeout=60, check=False)
            except subprocess.TimeoutExpired:
                pass
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()
        deadline = time.monotonic() + 15
        while self._conmon_pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in self._conmon_pids():  # still there after 15 s: they are ours, end them
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        unmount_under(self.workdir)
        shutil.rmtree(self.workdir, ignore_errors=True)


def unmount_under(root: Path) -> None:
    """Unmount every mount point below ``root`` (deepest/newest first)."""
    prefix = str(root.resolve()) + "/"
    with open("/proc/mounts") as f:
        points = [line.split()[1].replace("\\040", " ") for line in f]
    for point in reversed(points):
        if point.startswith(prefix):
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)


def write_configs(workdir: Path, insecure_registries: list[str],
                  mirrors: dict[str, str] | None = None) -> dict[str, str]:
    """Write storage/containers/registries/auth configs; return the env that selects them.

    ``mirrors`` maps a registry host to a (plain-HTTP) mirror host that podman tries first.
    """
    storage_conf = workdir / "storage.conf"
    storage_conf.write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{workdir / "storage"}"\nrunroot = "{workdir / "run"}"\n'
    )
    containers_conf = workdir / "containers.conf"
    containers_conf.write_text(CONTAINERS_CONF)
    registries = ["unqualified-search-registries = []", 'short-name-mode = "enforcing"', ""]
    for host in insecure_registries:
        registries += ["[[registry]]", f'location = "{host}"', "insecure = true", ""]
        if mirrors and host in mirrors:
            registries += ["[[registry.mirror]]", f'location = "{mirrors[host]}"', "insecure = true", ""]
    registries_conf = workdir / "registries.conf"
    registries_conf.write_text("\n".join(registries))
    auth_file = workdir / "auth.json"
    auth_file.write_text(json.dumps({"auths": {}}))
    return {
        "CONTAINERS_STORAGE_CONF": str(storage_conf),
        "CONTAINERS_CONF": str(containers_conf),
        "CONTAINERS_REGISTRIES_CONF": str(registries_conf),
        "REGISTRY_AUTH_FILE": str(auth_file),
    }


def start_podman(workdir: Path, insecure_registries: list[str], mirrors: dict[str, str] | None = None) -> Podman:
    """Start ``podman system service --time=0`` on ``workdir/podman.sock`` and wait for _ping."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **write_configs(workdir, insecure_registries, mirrors)}
    env.pop("DOCKER_HOST", None)
    socket_path = workdir / "podman.sock"
    socket_path.unlink(missing_ok=True)
    log_path = workdir / "podman-service.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket_path}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
            start_new_session=True,
        )
    pod = Podman(workdir=workdir, socket_path=socket_path, proc=proc, env=env, log_path=log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while not (socket_path.exists() and pod.ping()):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = pod.log_tail()
            pod.stop()
            why = (
                f"exited {proc.returncode}"
                if proc.returncode is not None
                else f"no _ping in {START_TIMEOUT}s"
            )
            raise RuntimeError(f"podman system service {why}:\n{tail}")
        time.sleep(0.1)
    return pod
