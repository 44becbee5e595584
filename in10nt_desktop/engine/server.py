"""``in10nt engine serve``: run the engine on 127.0.0.1 and announce it in ``DATA_DIR/engine.json``.

The app and the CLI find a running engine through that file (URL, token, pid; mode 0600).
A lock on the data directory keeps a second engine from sharing the same SQLite store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from in10nt_desktop.engine.app import EngineConfig, create_app
from in10nt_desktop.engine.limits import KEEP_ALIVE_SECONDS, MAX_HEAD_BYTES, HeadDeadlineH11, connection_limit
from in10nt_desktop.engine.runtime_file import (
    RUNTIME_FILE,
    TOKEN_FILE,
    ensure_private_dir,
    is_private_file,
    read_runtime,
    write_private,
)
from in10nt_desktop.engine.task_runs import DEFAULT_MAX_TASKS
from in10nt_desktop.platforms import AlreadyLocked, exclusive_lock, raise_open_files_limit

log = logging.getLogger(__name__)


def load_or_create_token(data_dir: Path) -> str:
    """The engine's API token, made once and kept; a new one when others could have read the old one."""
    path = data_dir / TOKEN_FILE
    if is_private_file(path):
        token = path.read_text().strip()
        if token:
            return token
    elif path.exists() or path.is_symlink():
        log.warning("%s could be read by other users; it was replaced by a new token (saved connections to "
                    "this engine need the new one)", path)
    token = secrets.token_urlsafe(32)
    write_private(path, token + "\n")
    return token


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    try:
        with exclusive_lock(data_dir / "engine.lock"):
            yield
    except AlreadyLocked:
        info = read_runtime(data_dir)
        where = f" at {info['url']}" if info else ""
        raise SystemExit(f"An engine already runs for {data_dir}{where}; stop it first or use another "
                         "--data-dir.") from None


async def serve(config: EngineConfig, *, port: int = 0, log_level: str = "warning",
                ready_line: bool = True) -> None:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets created with it, and without
    # NODELAY every answer sent in two writes waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"Cannot listen on 127.0.0.1:{port}: {exc.strerror}.") from None
    actual_port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{actual_port}"
    config.runtime_file = config.data_dir / RUNTIME_FILE
    server: uvicorn.Server | None = None

    def request_exit() -> None:
        if server is not None:
            server.should_exit = True

    config.request_exit = request_exit
    app = create_app(config)
    open_files = raise_open_files_limit()  # platforms.py; the connection limit stays under it
    # engine/limits.py says why each bound is what it is.
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on", access_log=False,
                                          timeout_graceful_shutdown=5, http=HeadDeadlineH11,
                                          h11_max_incomplete_event_size=MAX_HEAD_BYTES,
                                          timeout_keep_alive=int(KEEP_ALIVE_SECONDS),
                                          limit_concurrency=connection_limit(open_files)))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                await serving
                raise SystemExit("The engine stopped while starting; see the messages above.")
            await asyncio.sleep(0.01)
        write_private(config.runtime_file, json.dumps({"url": url, "token": config.token, "pid": os.getpid()}))
        if ready_line:
            print(f"In10nt engine ready at {url} (data: {config.data_dir})", file=sys.stderr, flush=True)
        await serving
    finally:
        if not serving.done():
            server.should_exit = True
            await serving
        sock.close()  # engine.json is removed by the app's lifespan (engine/app.py): see there why


def run(data_dir: Path, *, port: int, mirrors: dict[str, str], docker_host: str | None, pull: bool,
        max_parallel: int, platform: str | None, log_level: str, instance_network: str | None = None,
        events: bool = True, events_heartbeat: float = 15.0, events_buffer: int = 10_000,
        max_tasks: int = DEFAULT_MAX_TASKS, stall_seconds: float = 60.0, owner_pid: int | None = None) -> None:
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ensure_private_dir(data_dir)
    with data_dir_lock(data_dir):
        config = EngineConfig(data_dir=data_dir, token=load_or_create_token(data_dir), mirrors=mirrors,
                              docker_host=docker_host, max_parallel_builds=max_parallel, pull=pull,
                              platform=platform, instance_network=instance_network, events=events,
                              events_heartbeat=events_heartbeat, events_buffer=events_buffer, max_tasks=max_tasks,
                              stall_seconds=stall_seconds, owner_pid=owner_pid)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config, port=port, log_level=log_level))
