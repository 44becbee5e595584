"""The engine's data dir and token file are the user's alone: made private, and made private again."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from in10nt_desktop.engine.runtime_file import ensure_private_dir, write_private
from in10nt_desktop.engine.server import load_or_create_token

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_new_data_dir_is_0700_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o002)
    try:
        ensure_private_dir(tmp_path / "a" / "engine")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a" / "engine") == 0o700


@pytest.mark.parametrize("existing", [0o755, 0o750, 0o701, 0o777])
def test_existing_data_dir_others_can_enter_is_closed(tmp_path: Path, existing: int) -> None:
    data = tmp_path / "engine"
    data.mkdir()
    data.chmod(existing)
    ensure_private_dir(data)
    assert mode(data) == 0o700


def test_private_data_dir_is_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "engine"
    data.mkdir(mode=0o700)
    ensure_private_dir(data)
    assert mode(data) == 0o700


def test_token_is_kept_while_private(tmp_path: Path) -> None:
    first = load_or_create_token(tmp_path)
    assert mode(tmp_path / "token") == 0o600
    assert load_or_create_token(tmp_path) == first


@pytest.mark.parametrize("leaked", [0o644, 0o640, 0o604, 0o660])
def test_token_others_could_read_is_replaced(tmp_path: Path, leaked: int, caplog: pytest.LogCaptureFixture) -> None:
    first = load_or_create_token(tmp_path)
    (tmp_path / "token").chmod(leaked)
    with caplog.at_level(logging.WARNING):
        second = load_or_create_token(tmp_path)
    assert second != first
    assert mode(tmp_path / "token") == 0o600
    assert (tmp_path / "token").read_text().strip() == second
    assert "could be read by other users" in caplog.text
    assert first not in caplog.text and second not in caplog.text


def test_token_behind_a_symlink_is_replaced_by_a_file(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("planted-token\n")
    elsewhere.chmod(0o600)
    data = tmp_path / "engine"
    data.mkdir()
    (data / "token").symlink_to(elsewhere)
    token = load_or_create_token(data)
    assert token != "planted-token"
    assert not (data / "token").is_symlink()
    assert elsewhere.read_text() == "planted-token\n"


def test_write_private_ignores_a_leftover_tmp_file_s_mode(tmp_path: Path) -> None:
    leftover = tmp_path / "engine.json.tmp"
    leftover.write_text("old")
    leftover.chmod(0o666)
    write_private(tmp_path / "engine.json", "{}")
    assert mode(tmp_path / "engine.json") == 0o600
