#!/usr/bin/env python3
"""Render the app as a user sees it into docs/screenshots/*.png, under Xvfb.

Starts a real stack on loopback (docker-registry servers, the local engine), fills it with
templates in all three states (ready builds, a failed one with a wrong password, one held in
``building`` by a gate proxy), runs the real app against it on the xcb platform, and grabs the
main window, every wizard page, "Test access" (ok and rejected), the Registry logins tab and a
template whose tag moved since its build, and the connection dialog. Run: ``.venv/bin/python scripts/screenshots.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import Qt

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
sys.path.insert(0, str(ROOT / "tests"))


def start_xvfb() -> subprocess.Popen[bytes] | None:
    if os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") == "xcb":
        return None
    for n in range(91, 99):
        if not Path(f"/tmp/.X11-unix/X{n}").exists():
            break
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            break
        time.sleep(0.05)
    os.environ["DISPLAY"] = f":{n}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


STACK: dict[str, str] = {}  # what the vault shots need to know about the stack (hosts, images)


def fill_stack(work: Path) -> tuple[object, list[object]]:
    """Registries with realistic image names, an engine, and templates in every state."""
    from stack.engine_proc import start_engine, wait_status
    from stack.gate_proxy import GateProxy
    from stack.images import push_image
    from stack.registry import start_registry

    hub = start_registry(work / "hub", "open")
    private = start_registry(work / "private", "htpasswd", users={"ci-bot": "s3cret-token"})
    for repo, tag in (("library/python", "3.11-slim"), ("library/node", "20-alpine"),
                      ("nvidia/cuda", "12.2-runtime"), ("library/busybox", "1.36")):
        push_image(hub.url, repo, tag)
    push_image(private.url, "ml-team/trainer", "2024.06", auth=("ci-bot", "s3cret-token"))
    host, port = hub.host.split(":")
    gate = GateProxy(host, int(port))
    engine = start_engine(work / "engine", mirrors={"docker.io": hub.url}, extra=["--max-builds", "2"])
    made = []
    with engine.http() as http:
        for body in (
            {"name": "python-ml", "image": "python:3.11-slim", "registryType": "dockerhub",
             "description": "Python 3.11 with the ML stack"},
            {"name": "node", "image": "node:20-alpine", "registryType": "dockerhub"},
            {"name": "cuda", "image": "nvidia/cuda:12.2-runtime", "registryType": "dockerhub",
             "description": "CUDA/GPU base"},
            {"name": "trainer", "image": f"{private.host}/ml-team/trainer:2024.06", "registryType": "private",
             "registryAuth": {"username": "ci-bot", "password": "s3cret-token"}},
            {"name": "trainer-nightly", "image": f"{private.host}/ml-team/trainer:2024.06",
             "registryType": "private", "registryAuth": {"username": "ci-bot", "password": "expired"}},
            {"name": "trainer-old-token", "image": f"{private.host}/ml-team/trainer:2024.06",
             "registryType": "private", "registryAuth": {"username": "ci-bot", "password": "expired"}},
        ):
            tid = http.post("/container-templates", json=body).json()["templateId"]
            wait_status(engine, tid, {"ready", "failed"})
            if body["name"] == "trainer-nightly":  # failed, then rebuilt with the right token: two builds
                http.post(f"/container-templates/{tid}/rebuild",
                          json={"registryAuth": {"username": "ci-bot", "password": "s3cret-token"}})
                time.sleep(0.2)
                wait_status(engine, tid, {"ready", "failed"})
            time.sleep(0.05)
        for name in ("web-app", "agent-a", "agent-b", "agent-c"):  # two build (held), two wait their turn
            http.post("/container-templates", json={"name": name, "image": f"{gate.host}/library/busybox:1.36",
                                                    "registryType": "private", "description": "held in building"})
    push_image(hub.url, "library/python", "3.11-slim", labels={"rebuilt": "2024-07-02"})  # the tag moves on
    STACK.update(private=private.host, trainer=f"{private.host}/ml-team/trainer:2024.06")
    return engine, [gate, engine, private, hub]


async def shoot(engine_dir: Path) -> None:
    import keyring
    import keyring.backend
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QIcon

    from in10nt_desktop.app.app_services import AppServices
    from in10nt_desktop.app.startup import icon_path
    from in10nt_desktop.app.keychain import KeyStore
    from in10nt_desktop.app.local_engine import LocalEngine
    from in10nt_desktop.app.profiles import LOCAL_NAME, ProfileStore
    from in10nt_desktop.ui.connection_dialog import ConnectionDialog
    from in10nt_desktop.ui.main_window import MainWindow

    class ScreenshotKeyring(keyring.backend.KeyringBackend):
        """A keychain in memory, so the shots show what a desktop with one shows."""

        priority = 1  # type: ignore[assignment]
        items: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.items.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.items[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.items.pop((service, username), None)

    keyring.set_keyring(ScreenshotKeyring())

    settings = QSettings(str(engine_dir.parent / "settings.ini"), QSettings.Format.IniFormat)
    session = AppServices(settings, KeyStore(), LocalEngine(engine_dir))
    path = icon_path()
    window = MainWindow(session, settings, QIcon(str(path)) if path else None)
    window.resize(1320, 760)
    window.show()
    session.activate(next(p for p in ProfileStore(settings).load() if p.name == LOCAL_NAME))
    for _ in range(300):
        if session.connection.state == "online" and len(session.templates.store) >= 6:
            break
        await asyncio.sleep(0.05)
    async def settle(seconds: float = 0.6) -> None:
        end = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < end:
            await asyncio.sleep(0.03)  # qasync paints while we wait; processEvents() here would re-enter

    page = window.templates_page
    failed = next(r for r in session.templates.store.rows if r.status == "failed")
    page.select(failed.template_id)
    await settle(1.5)
    window.grab().save(str(OUT / "main-window-failed-selected.png"))
    ready = next(r for r in session.templates.store.rows if r.name == "trainer")
    page.select(ready.template_id)
    page.details.tabs.setCurrentIndex(1)
    await settle(1.5)
    window.grab().save(str(OUT / "main-window-build-log.png"))
    page.details.tabs.setCurrentIndex(3)
    await settle(0.3)
    window.grab().save(str(OUT / "main-window-copy-as-code.png"))
    nightly = next(r for r in session.templates.store.rows if r.name == "trainer-nightly")
    page.select(nightly.template_id)
    page.details.tabs.setCurrentIndex(2)
    await settle(1.5)
    window.grab().save(str(OUT / "main-window-builds.png"))
    queued = next(r for r in session.templates.store.rows if r.name == "agent-c")
    page.select(queued.template_id)
    page.details.tabs.setCurrentIndex(0)
    await settle(1.0)
    window.grab().save(str(OUT / "main-window-queued.png"))

    await shoot_wizard(window, settle)
    await shoot_vault(window, session, settle)

    dialog = ConnectionDialog(session.profiles.load(), LOCAL_NAME, session.keys.problem, window)
    dialog.show()
    dialog.list.setCurrentRow(1)
    await settle()
    dialog.grab().save(str(OUT / "connection-dialog.png"))
    dialog.close()

    await shoot_live(window, session, engine_dir, settle)
    window.close()
    await session.close()


async def shoot_live(window: object, session: object, engine_dir: Path, settle: object) -> None:
    """What the live window says: a template deleted by another client, the question asked before
    quitting during builds, and an engine that stopped."""
    import httpx

    from in10nt_desktop.ui.dialogs import ask_quit_with_builds

    info = json.loads((engine_dir / "engine.json").read_text())
    page = window.templates_page  # type: ignore[attr-defined]
    node = next(r for r in session.templates.store.rows if r.name == "node")  # type: ignore[attr-defined]
    page.select(node.template_id)
    await settle()  # type: ignore[operator]
    httpx.delete(f"{info['url']}/container-templates/{node.template_id}",
                 headers={"Authorization": f"Bearer {info['token']}"})  # as `in10nt templates delete` would
    await settle(1.0)  # type: ignore[operator]
    window.grab().save(str(OUT / "main-window-deleted-elsewhere.png"))  # type: ignore[attr-defined]

    asking = asyncio.ensure_future(ask_quit_with_builds(window, 3))  # type: ignore[arg-type]
    await settle()  # type: ignore[operator]
    from PySide6.QtWidgets import QMessageBox
    box = window.findChild(QMessageBox, "quitWithBuilds")  # type: ignore[attr-defined]
    box.grab().save(str(OUT / "quit-with-builds.png"))
    box.reject()
    await asking

    os.kill(int(info["pid"]), signal.SIGKILL)  # the engine dies under the window
    os.waitpid(int(info["pid"]), 0)  # it is this script's child: reap it, as a shell would
    await settle(2.0)  # type: ignore[operator]
    window.grab().save(str(OUT / "main-window-engine-stopped.png"))  # type: ignore[attr-defined]


async def shoot_wizard(window: object, settle: object) -> None:
    """Every wizard page, filled in as a user would (see ui/wizard_pages.py for the fields)."""
    from in10nt_desktop.ui.wizard import CreateTemplateWizard

    wizard = CreateTemplateWizard({"python-ml"}, "http://127.0.0.1:8080", None, window)  # type: ignore[arg-type]
    wizard.show()
    await settle()  # type: ignore[operator]
    for n, fill in enumerate(WIZARD_STEPS, start=1):
        fill(wizard)
        await settle()  # type: ignore[operator]
        wizard.grab().save(str(OUT / f"wizard-{n}-{fill.__name__}.png"))
        wizard.next()
        await settle(0.3)  # type: ignore[operator]
    wizard.close()


async def shoot_vault(window: object, session: object, settle: object) -> None:
    """Test access (ok, rejected), the Registry logins tab with Docker's logins, and a moved tag."""
    from datetime import timedelta

    from in10nt_desktop.app.drafts import SecretSource
    from in10nt_desktop.app.profiles import LOCAL_NAME
    from in10nt_desktop.ui.connection_dialog import ConnectionDialog
    from in10nt_desktop.ui.wizard import CreateTemplateWizard

    s = session
    for _ in range(200):
        if s.preflight.available is not None:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    wizard = CreateTemplateWizard({"python-ml"}, s.connection.base_url, None, window,  # type: ignore[attr-defined]
                                  preflight=s.preflight, logins=s.logins)  # type: ignore[attr-defined]
    wizard.show()
    wizard.name_page.name_edit.setText("trainer-2")
    wizard.next()
    wizard.image_page.image_edit.setText(STACK["trainer"])
    wizard.next()
    panel = wizard.credentials_page.panel()
    panel.username_edit.setText("ci-bot")  # type: ignore[union-attr]
    for password, shot in (("expired", "wizard-access-rejected"), ("s3cret-token", "wizard-access-ok")):
        panel.secret_field.set_typed(password)  # type: ignore[union-attr]
        for _ in range(100):
            text = wizard.credentials_page.access.text()
            if text.startswith(("✓", "Credentials rejected")):
                break
            await asyncio.sleep(0.05)
        await settle()  # type: ignore[operator]
        wizard.grab().save(str(OUT / f"{shot}.png"))
    wizard.close()

    s.logins.remember(STACK["private"], "ci-bot", SecretSource("typed", "s3cret-token"),  # type: ignore[attr-defined]
                      STACK["trainer"])
    s.logins.remember("gcr.io", "_json_key", SecretSource("typed", '{"type": "service_account"}'),  # type: ignore[attr-defined]
                      "gcr.io/ml-project/agent:1", "key file")
    dialog = ConnectionDialog(s.profiles.load(), LOCAL_NAME, s.keys.problem, window,  # type: ignore[attr-defined]
                              logins=s.logins, preflight=s.preflight)  # type: ignore[attr-defined]
    dialog.resize(760, 520)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)
    page = dialog.logins_page
    assert page is not None
    for _ in range(100):
        if page.table.rowCount() >= 2:
            break
        await asyncio.sleep(0.05)
    page.table.selectRow(1)
    page.import_button.click()
    for _ in range(100):
        if page.found_list.count():
            break
        await asyncio.sleep(0.05)
    page.found_list.item(0).setCheckState(Qt.CheckState.Checked)
    await settle()  # type: ignore[operator]
    dialog.grab().save(str(OUT / "registry-logins.png"))
    dialog.close()

    s.drift.interval = timedelta(0)  # type: ignore[attr-defined]  # as if the day had passed
    s.drift.schedule()  # type: ignore[attr-defined]
    python = next(r for r in s.templates.store.rows if r.name == "python-ml")  # type: ignore[attr-defined]
    for _ in range(100):
        if s.drift.store.drifted(python) is not None:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    window.templates_page.select(python.template_id)  # type: ignore[attr-defined]
    await settle(1.0)  # type: ignore[operator]
    window.grab().save(str(OUT / "main-window-drift.png"))  # type: ignore[attr-defined]


def name(wizard: object) -> None:
    page = wizard.page(wizard.currentId())  # type: ignore[attr-defined]
    page.name_edit.setText("private-env")
    page.description_edit.setPlainText("Private registry image for the ML agents")


def image(wizard: object) -> None:
    page = wizard.page(wizard.currentId())  # type: ignore[attr-defined]
    page.image_edit.setText("registry.example.com/ml-team/trainer:2024.06")


def credentials(wizard: object) -> None:
    os.environ.setdefault("REGISTRY_PASS", "shown-nowhere")
    panel = wizard.credentials_page.panel()  # type: ignore[attr-defined]
    panel.username_edit.setText("ci-bot")
    panel.secret_field.set_use_env(True)
    panel.secret_field.set_env_name("REGISTRY_PASS")


def review(wizard: object) -> None:
    return None


WIZARD_STEPS = [name, image, credentials, review]


def docker_logins_for_shots(work: Path) -> None:
    """A Docker config with an inline login and one in a credential helper, for "Import from Docker"."""
    import base64
    import json

    config = work / "docker"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({
        "auths": {"https://index.docker.io/v1/": {"auth": base64.b64encode(b"ml-team:dckr_pat_x").decode()},
                  "quay.io": {}},
        "credsStore": "shots"}))
    helper = work / "bin" / "docker-credential-shots"
    helper.parent.mkdir()
    helper.write_text(f"#!{sys.executable}\nimport json, sys\n"
                      "print(json.dumps({'https://quay.io': 'robot+ci'}) if sys.argv[1] == 'list' else '{}')\n")
    helper.chmod(0o755)
    os.environ["DOCKER_CONFIG"] = str(config)
    os.environ["PATH"] = f"{helper.parent}{os.pathsep}{os.environ['PATH']}"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    xvfb = start_xvfb()
    work = Path(tempfile.mkdtemp(prefix="in10nt-shots-"))
    parts: list[object] = []
    try:
        engine, parts = fill_stack(work)
        docker_logins_for_shots(work)
        from PySide6.QtWidgets import QApplication

        from in10nt_desktop.app.event_loop import new_event_loop

        app = QApplication.instance() or QApplication([sys.argv[0]])
        app.setApplicationName("In10nt Desktop")
        app.setQuitOnLastWindowClosed(False)  # closing a dialog must not stop the loop mid-script
        loop = new_event_loop(app)
        asyncio.set_event_loop(loop)
        with loop:
            loop.run_until_complete(shoot(engine.data_dir))  # type: ignore[attr-defined]
        print("\n".join(sorted(str(p.relative_to(ROOT)) for p in OUT.glob("*.png"))))
        return 0
    finally:
        for part in parts:
            stop = getattr(part, "stop", None) or getattr(part, "close", None)
            if stop is not None:
                stop()
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
