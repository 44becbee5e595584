"""Push tiny but real, runnable images to the test registries with plain HTTP (no podman).

Pushing through the registry API ourselves keeps the session setup fast, makes the digests
stable (deterministic tar + gzip), and lets us produce both OCI and Docker v2 schema 2
manifests, multi-platform indexes and manifest lists, exactly as real registries hold them.
The single layer is a busybox-static rootfs, so podman can actually run the image.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import io
import json
import os
import re
import ssl
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

BUSYBOX = Path("/bin/busybox")  # Debian busybox-static: a static x86-64 binary
APPLETS = "sh ls cat echo sleep mkdir touch id uname date true false head tail wc printf rm".split()
MTIME = 1_700_000_000  # fixed so the layer digest only depends on the busybox binary
TEST_FILE_CONTENT = b"hello\n"  # /etc/in10nt-test

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MANIFEST_ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])

Fmt = Literal["oci", "docker"]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class Layer:
    """A gzip layer blob and the digest of its uncompressed tar (the config's diff_id)."""

    blob: bytes
    digest: str
    diff_id: str


@functools.cache
def busybox_layer() -> Layer:
    """Deterministic busybox rootfs layer, built once per process."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = kind, mode, MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.linkname = link
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)

        for d, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777), ("root", 0o700)):
            add(d, tarfile.DIRTYPE, mode)
        add("bin/busybox", tarfile.REGTYPE, 0o755, BUSYBOX.read_bytes())
        for applet in APPLETS:
            add(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox")
        add("etc/passwd", tarfile.REGTYPE, 0o644, b"root:x:0:0:root:/root:/bin/sh\n")
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\n")
        add("etc/in10nt-test", tarfile.REGTYPE, 0o644, TEST_FILE_CONTENT)
    return _gzipped(raw.getvalue(), 6)


def random_layer(size: int, path: str = "random.bin") -> Layer:
    """A layer of one file of ``size`` random bytes: incompressible, so its blob is about ``size`` bytes,
    and new to every registry and container engine (for slow pulls and "already present" checks)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(path)
        info.mode, info.mtime, info.size = 0o644, MTIME, size
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    return _gzipped(raw.getvalue(), 1)  # random bytes do not compress: the fastest level


def _gzipped(tar_bytes: bytes, level: int) -> Layer:
    """A layer blob from a tar: gzip with no timestamp, so the same tar always gives the same digest."""
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, compresslevel=level) as f:
        f.write(tar_bytes)
    blob = gz.getvalue()
    return Layer(blob=blob, digest=sha256(blob), diff_id=sha256(tar_bytes))


@dataclass(frozen=True)
class PushedImage:
    """What a test needs to know about an image it can pull.

    ``digest`` is the top-level digest (the index/list for multi-platform pushes);
    ``manifest_digest``, ``config_digest``, ``size_bytes`` and ``layers`` describe the
    linux/amd64 manifest (the first platform when amd64 was not pushed).
    """

    registry: str  # "127.0.0.1:PORT"
    repo: str
    tag: str
    fmt: Fmt
    media_type: str
    digest: str
    manifest_digest: str
    config_digest: str
    size_bytes: int
    layers: int
    platforms: tuple[tuple[str, str], ...]
    auth: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repo}:{self.tag}"

    @property
    def pinned(self) -> str:
        return f"{self.registry}/{self.repo}@{self.digest}"


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="x",service="y",scope="a:b:c,d"`` -> ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', rest))


def answer_challenge(
    client: httpx.Client,
    resp: httpx.Response,
    repo: str,
    auth: tuple[str, str] | None,
    token_flow: bool | Literal["auto"] = "auto",
) -> str:
    """Return the ``Authorization`` header value answering a registry's 401 challenge."""
    scheme, params = parse_challenge(resp.headers.get("www-authenticate", ""))
    if token_flow is True and scheme != "bearer":
        raise RuntimeError(f"expected a Bearer challenge, got {scheme!r}")
    if token_flow is False and scheme == "bearer":
        raise RuntimeError("registry asked for the token flow but token_flow=False")
    if scheme == "basic":
        if auth is None:
            raise RuntimeError("registry wants Basic credentials and none were given")
        return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    if scheme == "bearer":
        query = {"service": params.get("service", ""), "scope": f"repository:{repo}:pull,push"}
        r = client.get(params["realm"], params=query, auth=auth)
        r.raise_for_status()
        body: dict[str, str] = r.json()
        return "Bearer " + (body.get("token") or body["access_token"])
    raise RuntimeError(f"unsupported challenge {resp.headers.get('www-authenticate')!r}")


class _Pusher:
    """An httpx client that answers 401 once and reuses the resulting Authorization."""

    def __init__(
        self,
        base_url: str,
        repo: str,
        auth: tuple[str, str] | None,
        token_flow: bool | Literal["auto"],
        verify: bool | ssl.SSLContext,
    ) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=60, verify=verify)
        self.repo, self.auth, self.token_flow = repo, auth, token_flow
        self.authorization: str | None = None
        if token_flow is False and auth is not None:  # pre-emptive Basic
            self.authorization = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()

    def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: dict[str, str] | None = None,
        check: bool = True,
        **kw: Any,
    ) -> httpx.Response:
        def send() -> httpx.Response:
            h = dict(headers or {})
            if self.authorization:
                h["Authorization"] = self.authorization
            return self.client.request(method, url, headers=h, **kw)

        r = send()
        if r.status_code == 401:
            self.authorization = answer_challenge(self.client, r, self.repo, self.auth, self.token_flow)
            r = send()
        if check and r.is_error:
            raise RuntimeError(f"{method} {url} -> {r.status_code}: {r.text[:500]}")
        return r

    def blob(self, data: bytes, digest: str) -> None:
        if self.request("HEAD", f"/v2/{self.repo}/blobs/{digest}", check=False).status_code == 200:
            return
        r = self.request("POST", f"/v2/{self.repo}/blobs/uploads/")
        location = self.client.base_url.join(r.headers["location"])
        put_url = location.copy_merge_params({"digest": digest})
        self.request("PUT", put_url, content=data, headers={"Content-Type": "application/octet-stream"})

    def manifest(self, ref: str, body: bytes, media_type: str) -> str:
        r = self.request(
            "PUT", f"/v2/{self.repo}/manifests/{ref}", content=body, headers={"Content-Type": media_type}
        )
        digest: str = r.headers.get("docker-content-digest", "")
        if digest != sha256(body):
            raise RuntimeError(f"registry digest {digest!r} != pushed {sha256(body)}")
        return digest


def _config(os_: str, arch: str, layers: list[Layer], labels: dict[str, str]) -> bytes:
    cfg: dict[str, Any] = {
        "architecture": arch,
        "os": os_,
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "Cmd": ["/bin/sh"],
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "in10nt test stack"}],
    }
    if arch == "arm64":
        cfg["variant"] = "v8"
    return canonical_json(cfg)


def push_image(
    registry_url: str,
    repo: str,
    tag: str,
    *,
    auth: tuple[str, str] | None = None,
    token_flow: bool | Literal["auto"] = "auto",
    fmt: Fmt = "oci",
    platforms: list[tuple[str, str]] | None = None,
    verify: bool | ssl.SSLContext = True,
    labels: dict[str, str] | None = None,
    extra_layers: list[Layer] | None = None,
) -> PushedImage:
    """Push the busybox image (one manifest, or one per platform plus an index/list).

    ``token_flow``: "auto" answers whatever challenge comes; True insists on the Bearer flow,
    False sends Basic pre-emptively and refuses Bearer. The config carries the label
    ``org.in10nt.test.image=<repo>:<tag>`` (plus ``labels``), so every pushed image has its
    own config digest / image ID while all share the one busybox layer. ``extra_layers`` (e.g.
    ``random_layer``) come after it.
    """
    image_labels = {"org.in10nt.test.image": f"{repo}:{tag}", **(labels or {})}
    plats = list(platforms or [("linux", "amd64")])
    layers = [busybox_layer(), *(extra_layers or [])]  # busybox first: the image still runs
    mt_manifest, mt_config, mt_layer, mt_index = (
        (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, OCI_INDEX)
        if fmt == "oci"
        else (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LIST)
    )
    pusher = _Pusher(registry_url, repo, auth, token_flow, verify)
    try:
        for layer in layers:
            pusher.blob(layer.blob, layer.digest)
        children: list[dict[str, Any]] = []
        for os_, arch in plats:
            config = _config(os_, arch, layers, image_labels)
            pusher.blob(config, sha256(config))
            manifest = canonical_json(
                {
                    "schemaVersion": 2,
                    "mediaType": mt_manifest,
                    "config": {"mediaType": mt_config, "digest": sha256(config), "size": len(config)},
                    "layers": [{"mediaType": mt_layer, "digest": x.digest, "size": len(x.blob)} for x in layers],
                }
            )
            ref = tag if len(plats) == 1 else sha256(manifest)
            digest = pusher.manifest(ref, manifest, mt_manifest)
            platform = {"architecture": arch, "os": os_} | ({"variant": "v8"} if arch == "arm64" else {})
            children.append(
                {
                    "mediaType": mt_manifest,
                    "digest": digest,
                    "size": len(manifest),
                    "platform": platform,
                    "config_digest": sha256(config),
                }
            )
        if len(plats) == 1:
            top_digest, top_type = children[0]["digest"], mt_manifest
        else:
            index = canonical_json(
                {
                    "schemaVersion": 2,
                    "mediaType": mt_index,
                    "manifests": [{k: v for k, v in c.items() if k != "config_digest"} for c in children],
                }
            )
            top_digest, top_type = pusher.manifest(tag, index, mt_index), mt_index
    finally:
        pusher.client.close()
    main = next((c for c in children if c["platform"]["architecture"] == "amd64"), children[0])
    host = httpx.URL(registry_url).netloc.decode()
    return PushedImage(
        registry=host,
        repo=repo,
        tag=tag,
        fmt=fmt,
        media_type=top_type,
        digest=top_digest,
        manifest_digest=main["digest"],
        config_digest=main["config_digest"],
        size_bytes=sum(len(x.blob) for x in layers),
        layers=len(layers),
        platforms=tuple(plats),
        auth=auth,
    )


@dataclass(frozen=True)
class StackImages:
    """The images pushed once per session; attribute or ``images["name"]`` access."""

    open_busybox: PushedImage
    open_docker: PushedImage
    open_multi: PushedImage
    private_busybox: PushedImage
    hub_busybox: PushedImage
    hub_private: PushedImage
    gcr_busybox: PushedImage

    def __getitem__(self, name: str) -> PushedImage:
        if name not in self.__dataclass_fields__:
            raise KeyError(name)
        value: PushedImage = getattr(self, name)
        return value

    def keys(self) -> list[str]:
        return list(self.__dataclass_fields__)
