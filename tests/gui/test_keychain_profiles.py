"""API keys in the keychain (a working one, none at all, one that hangs), connection profiles in
QSettings, and the connection dialog that edits them. The real keyring backend is put back after
every test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import keyring.backends.fail
import pytest
from gui_helpers import (
    HangingKeyring,
    MemoryKeyring,
    collect_qt_garbage,  # noqa: F401 - autouse fixture
    ini_settings,
    keyring_backend,
    open_session,
    wait_until,
)
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from stack.engine_proc import EngineProc

from in10nt_desktop.api import HOSTED_BASE_URL
from in10nt_desktop.app.keychain import SERVICE, KeyStore
from in10nt_desktop.app.profiles import CLOUD_NAME, LOCAL_NAME, Profile, ProfileStore
from in10nt_desktop.ui.connection_dialog import ConnectionDialog

SECRET = "k3y-" + "x" * 20


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with keyring_backend(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


@pytest.fixture
def no_keyring() -> Iterator[None]:
    with keyring_backend(keyring.backends.fail.Keyring()):
        yield


def test_the_original_keyring_comes_back_after_a_swap() -> None:
    before = keyring.get_keyring()
    with keyring_backend(MemoryKeyring()):
        assert isinstance(keyring.get_keyring(), MemoryKeyring)
    assert keyring.get_keyring() is before


# -- KeyStore ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_keys_round_trip_through_a_working_keychain(memory_keyring: MemoryKeyring) -> None:
    keys = KeyStore()
    assert await keys.get("Cloud") is None
    assert await keys.set("Cloud", SECRET) is True
    assert keys.persistent and keys.problem is None
    assert memory_keyring.items == {(SERVICE, "Cloud"): SECRET}
    assert await keys.get("Cloud") == SECRET
    assert await KeyStore().get("Cloud") == SECRET  # a new app run finds it
    assert SECRET not in repr(keys)
    await keys.delete("Cloud")
    assert await keys.get("Cloud") is None
    assert memory_keyring.items == {}
    await keys.delete("Cloud")  # deleting what is not there is fine
    assert keys.persistent


@pytest.mark.asyncio
async def test_without_a_keychain_keys_live_for_the_session_and_the_store_says_so(no_keyring: None) -> None:
    keys = KeyStore()
    assert await keys.get("Cloud") is None
    assert keys.persistent is False
    assert keys.problem == "No system keychain is available; the key is kept for this session only."
    assert await keys.set("Cloud", SECRET) is False
    assert await keys.get("Cloud") == SECRET
    assert SECRET not in repr(keys)
    await keys.delete("Cloud")
    assert await keys.get("Cloud") is None


@pytest.mark.asyncio
async def test_a_hanging_keychain_times_out_without_blocking_the_loop() -> None:
    backend = HangingKeyring(hang=2.0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    with keyring_backend(backend):
        task = asyncio.get_running_loop().create_task(ticker())
        try:
            keys = KeyStore(timeout=0.2)
            assert await keys.get("Cloud") is None
            assert ticks >= 5, "the event loop stood still while the keychain hung"
            assert backend.calls == 1
            assert keys.persistent is False
            assert keys.problem is not None and "did not answer in time" in keys.problem

            # from now on the session keeps the key and the keychain is not asked again
            assert await keys.set("Cloud", SECRET) is False
            assert await keys.get("Cloud") == SECRET
            assert backend.calls == 1
        finally:
            task.cancel()
            backend.release.set()
            await asyncio.gather(task, return_exceptions=True)


# -- ProfileStore ---------------------------------------------------------------------------------------


def test_defaults_exist_on_first_start(tmp_path: Path) -> None:
    store = ProfileStore(ini_settings(tmp_path / "s.ini"))
    profiles = store.load()
    assert [(p.name, p.kind) for p in profiles] == [(LOCAL_NAME, "local"), (CLOUD_NAME, "cloud")]
    assert profiles[1].base_url == HOSTED_BASE_URL
    assert store.active_name() == LOCAL_NAME
    assert not profiles[0].needs_api_key and profiles[1].needs_api_key


def test_custom_profiles_and_the_active_one_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.ini"
    settings = ini_settings(path)
    store = ProfileStore(settings)
    custom = Profile("Staging", "custom", "https://staging.example.com")
    store.save([*store.load(), custom])
    store.set_active("Staging")
    settings.sync()
    del settings, store

    again = ProfileStore(ini_settings(path))
    assert custom in again.load()
    assert again.active_name() == "Staging"
    assert [p.name for p in again.load()][:2] == [LOCAL_NAME, CLOUD_NAME]


def test_defaults_come_back_when_the_saved_list_lacks_them_or_is_garbage(tmp_path: Path) -> None:
    settings = ini_settings(tmp_path / "s.ini")
    store = ProfileStore(settings)
    store.save([Profile("Only", "custom", "http://127.0.0.1:1")])
    assert [p.name for p in store.load()] == [LOCAL_NAME, CLOUD_NAME, "Only"]
    settings.setValue("connection/profiles", "{not json")
    assert [p.name for p in store.load()] == [LOCAL_NAME, CLOUD_NAME]
    settings.setValue("connection/profiles", '[{"name": "x", "kind": "martian"}, 7]')
    assert [p.name for p in store.load()] == [LOCAL_NAME, CLOUD_NAME]


@pytest.mark.asyncio
@pytest.mark.parametrize("backend", ["memory", "none"])
async def test_the_api_key_never_reaches_the_settings_file(engine: EngineProc, tmp_path: Path, backend: str) -> None:
    path = tmp_path / "settings.ini"
    settings = ini_settings(path)
    chosen = MemoryKeyring() if backend == "memory" else keyring.backends.fail.Keyring()
    with keyring_backend(chosen):
        async with open_session(settings, tmp_path / "unused") as session:
            profile = Profile("Engine by URL", "custom", engine.url)
            session.profiles.save([*session.profiles.load(), profile])
            session.activate(profile)
            await wait_until(lambda: session.connection.state == "needs_key")
            stored: list[bool] = []
            session.key_stored.connect(lambda persisted, _text: stored.append(persisted))
            session.set_api_key(engine.token)
            await wait_until(lambda: session.connection.state == "online")
            assert stored == [backend == "memory"]
    settings.sync()
    assert settings.status() == QSettings.Status.NoError
    text = path.read_text()
    assert "Engine by URL" in text and engine.url in text  # the file was written...
    assert engine.token not in text                         # ...without the key


# -- the connection dialog -----------------------------------------------------------------------------------


def test_connection_dialog_adds_a_custom_profile_and_checks_its_url(qtbot: QtBot) -> None:
    store_defaults = [Profile(LOCAL_NAME, "local"), Profile(CLOUD_NAME, "cloud", HOSTED_BASE_URL)]
    dialog = ConnectionDialog(store_defaults, CLOUD_NAME, None)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.current() == store_defaults[1]
    assert dialog.key.isEnabled() and dialog.key.echoMode() == dialog.key.EchoMode.Password
    assert "keychain" in dialog.key_note.text()

    dialog.list.setCurrentRow(0)  # this computer: no URL, no key
    assert not dialog.url.isEnabled() and not dialog.key.isEnabled()
    assert not dialog.remove_button.isEnabled()

    dialog.add_button.click()
    assert dialog.current() is not None and dialog.current().kind == "custom"
    dialog.url.clear()
    qtbot.keyClicks(dialog.url, "ftp://127.0.0.1:9999")
    assert not dialog.connect_button.isEnabled()
    assert "must start with https://" in dialog.problem.text()
    dialog.url.clear()
    qtbot.keyClicks(dialog.url, "http://127.0.0.1:9999")
    qtbot.keyClicks(dialog.name, " lab")
    assert dialog.connect_button.isEnabled(), dialog.problem.text()
    assert dialog.problem.isHidden()

    saved: list[list[Profile]] = []
    requested: list[tuple[Profile, str]] = []
    dialog.profiles_changed.connect(saved.append)
    dialog.connect_requested.connect(lambda p, k: requested.append((p, k)))
    qtbot.keyClicks(dialog.key, SECRET)
    dialog.connect_button.click()
    assert [(p.name, p.kind, p.base_url, k) for p, k in requested] == [
        ("Custom server lab", "custom", "http://127.0.0.1:9999", SECRET)]
    wanted = requested[0][0]
    assert wanted.id not in ("", "local", "cloud")  # a fresh stable id: where its key is kept
    assert saved and wanted in saved[-1]


def test_connection_dialog_refuses_a_url_without_a_host(qtbot: QtBot) -> None:
    """Add pre-fills "https://": Connect must wait until there is a server name after it."""
    dialog = ConnectionDialog([Profile(LOCAL_NAME, "local")], LOCAL_NAME, None)
    qtbot.addWidget(dialog)
    dialog.add_button.click()
    assert dialog.url.text() == "https://"
    assert not dialog.connect_button.isEnabled(), "Connect is offered for the URL 'https://' (no server)"
    assert dialog.problem.text()


def test_connection_dialog_refuses_duplicate_names_and_says_where_keys_go(qtbot: QtBot) -> None:
    profiles = [Profile(LOCAL_NAME, "local"), Profile(CLOUD_NAME, "cloud", HOSTED_BASE_URL),
                Profile("Lab", "custom", "http://127.0.0.1:1")]
    note = "No system keychain is available; the key is kept for this session only."
    dialog = ConnectionDialog(profiles, "Lab", note)
    qtbot.addWidget(dialog)
    assert dialog.key_note.text() == note
    dialog.add_button.click()
    dialog.name.setText("Lab")
    dialog.name.textEdited.emit("Lab")
    dialog.url.setText("https://x.example")
    dialog.url.textEdited.emit("https://x.example")
    assert "already called Lab" in dialog.problem.text()
    assert not dialog.connect_button.isEnabled()
    dialog.remove_button.click()
    assert [p.name for p in dialog.profiles] == [LOCAL_NAME, CLOUD_NAME, "Lab"]


# -- keys follow the profile: stable id + origin; removed or re-pointed profiles lose their key ---------------


@pytest.mark.asyncio
async def test_keys_follow_the_profile_not_its_name_and_never_go_to_a_new_url(memory_keyring: MemoryKeyring,
                                                                             tmp_path: Path) -> None:
    from gui_helpers import open_session, wait_until

    async with open_session(ini_settings(tmp_path / "s.ini"), tmp_path / "unused") as services:
        lab = Profile("Lab", "custom", "https://lab.example.com:8443", "lab0001")
        other = Profile("Other", "custom", "https://other.example.com", "oth0002")
        services.save_profiles([*services.profiles.load(), lab, other])
        await services.keys.set(lab.key_account(), "lab-key")
        await services.keys.set(other.key_account(), "other-key")
        assert lab.key_account() == "lab0001 https://lab.example.com:8443"

        renamed = Profile("Lab (renamed)", "custom", lab.base_url, lab.id)  # same id, same origin: key kept
        services.save_profiles([p for p in services.profiles.load() if p.id != lab.id] + [renamed])
        await asyncio.sleep(0.1)
        assert await services.keys.get(renamed.key_account()) == "lab-key"

        moved = Profile("Lab (renamed)", "custom", "https://elsewhere.example.com", lab.id)
        services.save_profiles([p for p in services.profiles.load() if p.id != lab.id] + [moved])
        await wait_until(lambda: (SERVICE, lab.key_account()) not in memory_keyring.items, 5,
                         "the old key outlived the URL it was for")
        assert await services.keys.get(moved.key_account()) is None  # never sent to the new URL

        services.save_profiles([p for p in services.profiles.load() if p.id != other.id])
        await wait_until(lambda: (SERVICE, other.key_account()) not in memory_keyring.items, 5,
                         "a removed profile kept its key")
        assert all(secret not in str(memory_keyring.items) for secret in ("lab-key", "other-key"))


@pytest.mark.asyncio
async def test_a_key_stored_under_the_old_profile_name_moves_to_the_new_account(memory_keyring: MemoryKeyring) -> None:
    keys = KeyStore(timeout=2.0)
    profile = Profile("Legacy", "custom", "https://legacy.example.com")
    memory_keyring.items[(SERVICE, "Legacy")] = "old-key"
    assert await keys.get_migrating(profile.key_account(), profile.name) == "old-key"
    assert memory_keyring.items == {(SERVICE, profile.key_account()): "old-key"}
