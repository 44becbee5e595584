"""``in10nt``: usage errors exit 2, API failures exit 1 with a sentence, success exits 0."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

import in10nt_desktop.api.http as http_mod
from in10nt_desktop import __version__
from in10nt_desktop.cli.main import build_parser, infer_registry_type, main

if TYPE_CHECKING:
    from .conftest import Loopback, Seen

PASSWORD = "hunter2-REGISTRY-PASSWORD"
NO_ENGINE = "No local engine is running (start one with `in10nt engine serve`)"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No engine announced, no hosted key, no mirrors: whatever runs on this machine stays out of the test."""
    for var in ("IN10NT_BASE_URL", "IN10NT_API_KEY", "IN10NT_REGISTRY_MIRRORS", "IN10NT_TEST_PW",
                "IN10NT_TEST_UNSET_VAR"):
        monkeypatch.delenv(var, raising=False)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("IN10NT_DATA_DIR", str(data_dir))
    return data_dir


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries happen but do not wait (the CLI has no flag for the backoff)."""
    async def fake_sleep(_delay: float) -> None:
        return None

    monkeypatch.setattr(http_mod, "asyncio", SimpleNamespace(sleep=fake_sleep))


@pytest.fixture
def closed_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code: Any = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return int(code or 0), out, err


def run_process(args: list[str], env_over: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IN10NT_")}
    env.update(env_over)
    return subprocess.run([sys.executable, "-m", "in10nt_desktop.cli.main", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def row(tid: str = "tmpl_1", **over: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"templateId": tid, "name": "py", "image": "python:3.11-slim", "registryType": "dockerhub",
                           "status": "building", "error": None, "createdAt": "2024-05-01T12:00:00Z"}
    out.update(over)
    return out


# -- usage errors: exit 2 ------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "needle"), [
    (["bogus"], "invalid choice: 'bogus'"),
    ([], "the following arguments are required"),
    (["templates"], "the following arguments are required"),
    (["templates", "frobnicate"], "invalid choice: 'frobnicate'"),
    (["templates", "create", "--image", "python"], "the following arguments are required: --name"),
    (["templates", "create", "--name", "py"], "the following arguments are required: --image"),
    (["templates", "create", "--name", "py", "--image", "python", "--registry-type", "quay"],
     "invalid choice: 'quay'"),
    (["templates", "delete"], "the following arguments are required: ID"),
    (["templates", "wait", "tmpl_1", "--timeout", "soon"], "invalid float value: 'soon'"),
    (["saved-templates", "delete"], "the following arguments are required: name"),
])
def test_usage_errors_exit_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert needle in err
    assert out == ""


CREATE = ["templates", "create", "--name", "py", "--image", "localhost:5000/x:1"]


def test_password_env_naming_an_unset_variable(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([*CREATE, "--username", "robot", "--password-env", "IN10NT_TEST_UNSET_VAR"], capsys)
    assert code == 2
    assert ("--password-env: the environment variable it names is not set or is empty (the name is not repeated "
            "here, in case a password was typed in its place).") in err
    assert "IN10NT_TEST_UNSET_VAR" not in err


def test_password_env_naming_an_empty_variable(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IN10NT_TEST_PW", "")
    code, _, err = run([*CREATE, "--username", "robot", "--password-env", "IN10NT_TEST_PW"], capsys)
    assert code == 2
    assert "is not set or is empty" in err


def test_username_without_password(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([*CREATE, "--username", "robot"], capsys)
    assert code == 2
    assert "--username needs --password-env VAR or --password-stdin." in err


def test_password_without_username(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IN10NT_TEST_PW", PASSWORD)
    code, _, err = run([*CREATE, "--password-env", "IN10NT_TEST_PW"], capsys)
    assert code == 2
    assert "A password was given without --username." in err
    assert PASSWORD not in err


def test_password_env_and_stdin_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([*CREATE, "--username", "u", "--password-env", "X", "--password-stdin"], capsys)
    assert code == 2
    assert "not allowed with argument" in err


def test_empty_password_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("\n"))
    code, _, err = run([*CREATE, "--username", "u", "--password-stdin"], capsys)
    assert code == 2
    assert "--password-stdin: nothing was read from standard input." in err


@pytest.mark.parametrize("flag", [["--password", PASSWORD], [f"--password={PASSWORD}"], ["-p", PASSWORD]])
def test_there_is_no_password_flag(flag: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*CREATE, "--username", "robot", *flag], capsys)
    assert code == 2
    assert "error:" in err
    assert out == ""


def test_parser_has_no_option_taking_a_password_value() -> None:
    create = build_parser()._subparsers._group_actions[0].choices["templates"]  # type: ignore[union-attr]
    create = create._subparsers._group_actions[0].choices["create"]
    options = {opt for action in create._actions for opt in action.option_strings}
    assert "--password" not in options
    assert {"--password-env", "--password-stdin"} <= options


# -- no server: exit 1 with a sentence ------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["templates", "list"], ["templates", "get", "tmpl_1"], ["saved-templates", "list"],
                                  ["templates", "create", "--name", "py", "--image", "python"]])
def test_no_engine_and_no_key_tells_to_start_the_engine(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 1
    assert out == ""
    assert err.startswith("error: ")
    assert NO_ENGINE in err
    assert "IN10NT_API_KEY" in err


@pytest.mark.parametrize("content", ["not json", json.dumps({"url": "http://127.0.0.1:9", "token": "t",
                                                              "pid": 2 ** 30})])
def test_stale_or_broken_engine_file_counts_as_no_engine(content: str, clean_env: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (clean_env / "engine.json").write_text(content)
    code, _, err = run(["templates", "list"], capsys)
    assert code == 1
    assert NO_ENGINE in err


def test_unreachable_base_url_exits_1(closed_url: str, no_sleep: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--base-url", closed_url, "--api-key", "k", "templates", "list"], capsys)
    assert code == 1
    assert out == ""
    assert err.strip() == f"error: Cannot reach {closed_url}: connection refused."


def test_global_options_work_after_the_subcommand(closed_url: str, no_sleep: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["templates", "list", "--base-url", closed_url, "--api-key", "k", "--json"], capsys)
    assert code == 1
    assert f"Cannot reach {closed_url}" in err


def test_base_url_from_env(closed_url: str, no_sleep: None, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IN10NT_BASE_URL", closed_url)
    code, _, err = run(["templates", "status", "tmpl_1"], capsys)
    assert code == 1
    assert f"Cannot reach {closed_url}" in err


def test_unreachable_create_does_not_print_the_password(closed_url: str, no_sleep: None,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IN10NT_TEST_PW", PASSWORD)
    code, out, err = run(["--base-url", closed_url, *CREATE, "--username", "robot", "--password-env",
                          "IN10NT_TEST_PW"], capsys)
    assert code == 1
    assert f"Cannot reach {closed_url}" in err
    assert PASSWORD not in out + err


def test_announced_engine_is_used(clean_env: Path, closed_url: str, no_sleep: None,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    # A stale engine.json whose pid now belongs to another live process (here: this one).
    (clean_env / "engine.json").write_text(json.dumps({"url": closed_url, "token": "t", "pid": os.getpid()}))
    code, _, err = run(["templates", "list"], capsys)
    assert code == 1
    assert err.strip() == (f"error: Cannot reach {closed_url}: connection refused; the local engine announced in "
                           f"{clean_env / 'engine.json'} is not running: start it with `in10nt engine serve`.")


def test_announced_engine_that_rejects_its_token_says_so(clean_env: Path, loopback: Loopback,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates")] = (401, {"error": {"code": "unauthorized",
                                                                        "message": "Missing or wrong API token."}})
    (clean_env / "engine.json").write_text(json.dumps({"url": loopback.url, "token": "t", "pid": os.getpid()}))
    code, _, err = run(["templates", "list"], capsys)
    assert code == 1
    assert err.strip() == (f"error: {loopback.url} rejected the API key (Missing or wrong API token); "
                           f"{clean_env / 'engine.json'} may be stale: restart the local engine with "
                           "`in10nt engine serve`, or set --api-key.")


def test_data_dir_flag_finds_the_engine(tmp_path: Path, closed_url: str, no_sleep: None,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "engine.json").write_text(json.dumps({"url": closed_url, "token": "t", "pid": os.getpid()}))
    code, _, err = run(["templates", "list", "--data-dir", str(other)], capsys)
    assert code == 1
    assert f"Cannot reach {closed_url}" in err


# -- against a server on loopback -------------------------------------------------------------------------

def test_list_prints_a_table(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates")] = (200, [row(sizeBytes=52_400_000, status="ready")])
    code, out, err = run(["--base-url", loopback.url, "--api-key", "sk-cli", "templates", "list"], capsys)
    assert (code, err) == (0, "")
    header, line = out.splitlines()
    assert header.split() == ["ID", "NAME", "IMAGE", "REGISTRY", "STATUS", "SIZE", "CREATED"]
    assert line.split() == ["tmpl_1", "py", "python:3.11-slim", "dockerhub", "ready", "52.4", "MB",
                            "2024-05-01"]  # older than a month: the date (an age, as `docker ps`, when recent)
    assert loopback.requests[0].headers["authorization"] == "Bearer sk-cli"


def test_list_says_which_builds_wait_and_which_run(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates")] = (200, [
        row("tmpl_q", phase="queued", queuePosition=3),
        row("tmpl_r", phase="pulling", progress={"current": 40, "total": 100})])
    code, out, err = run(["--base-url", loopback.url, "--api-key", "sk-cli", "templates", "list"], capsys)
    assert (code, err) == (0, "")
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "queued (3rd)" in lines["tmpl_q"] and "building: pulling 40%" in lines["tmpl_r"]


@pytest.mark.parametrize("placement", ["before", "after"])
def test_list_json_keeps_unknown_fields(placement: str, loopback: Loopback,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates")] = (200, {"data": [row(owner="team-a")]})
    argv = ["--base-url", loopback.url, "templates", "list"]
    argv = ["--json", *argv] if placement == "before" else [*argv, "--json"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    [item] = json.loads(out)
    assert item["templateId"] == "tmpl_1"
    assert item["owner"] == "team-a"
    assert item["createdAt"].startswith("2024-05-01T12:00:00")


def test_engine_token_is_used_for_the_announced_engine(loopback: Loopback, clean_env: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    (clean_env / "engine.json").write_text(json.dumps({"url": loopback.url, "token": "engine-tok",
                                                       "pid": os.getpid()}))
    loopback.routes[("GET", "/saved-templates")] = (200, [])
    code, out, _ = run(["saved-templates", "list"], capsys)
    assert code == 0
    assert out.split() == ["NAME", "SIZE", "CREATED", "FROM", "INSTANCE"]
    assert loopback.requests[0].headers["authorization"] == "Bearer engine-tok"


def test_create_sends_password_from_env_and_infers_the_registry_type(
        loopback: Loopback, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IN10NT_TEST_PW", PASSWORD)
    loopback.routes[("POST", "/container-templates")] = (201, row(image="localhost:5000/x:1",
                                                                  registryType="private"))
    code, out, err = run(["--base-url", loopback.url, *CREATE, "--username", "robot", "--password-env",
                          "IN10NT_TEST_PW", "--idempotency-key", "key-1", "--description", "d"], capsys)
    assert code == 0
    assert out == "tmpl_1\n"
    assert err == "py: building (localhost:5000/x:1)\n"
    [seen] = loopback.requests
    assert json.loads(seen.body) == {"name": "py", "image": "localhost:5000/x:1", "registryType": "private",
                                     "description": "d", "registryAuth": {"username": "robot", "password": PASSWORD}}
    assert seen.headers["idempotency-key"] == "key-1"
    assert PASSWORD not in out + err


def test_create_reads_the_password_from_stdin(loopback: Loopback, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(PASSWORD + "\r\nignored\n"))
    loopback.routes[("POST", "/container-templates")] = (201, row())
    code, _, _ = run(["--base-url", loopback.url, *CREATE, "--username", "robot", "--password-stdin"], capsys)
    assert code == 0
    assert json.loads(loopback.requests[0].body)["registryAuth"] == {"username": "robot", "password": PASSWORD}


def test_validation_error_names_the_field(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("POST", "/container-templates")] = (422, {"error": {
        "code": "invalid", "message": "Repository names must be lowercase.", "field": "image"}})
    code, out, err = run(["--base-url", loopback.url, "templates", "create", "--name", "py", "--image", "Python"],
                         capsys)
    assert code == 1
    assert out == ""
    assert err.strip() == "error: image: Repository names must be lowercase."
    assert json.loads(loopback.requests[0].body)["registryType"] == "dockerhub"


def test_rejected_key_exits_1(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates")] = (401, None)
    code, _, err = run(["--base-url", loopback.url, "--api-key", "wrong", "templates", "list"], capsys)
    assert code == 1
    assert err.strip() == (f"error: {loopback.url} rejected the API key (HTTP 401); set --api-key or "
                           "IN10NT_API_KEY.")


@pytest.mark.parametrize(("answer", "code", "text"), [
    ({"status": "building", "progress": {"current": 1, "total": 4}}, 0, "building 25%"),
    ({"status": "ready"}, 0, "ready"),
    ({"status": "failed", "error": "Image or tag not found on Docker Hub: library/x:1."}, 1,
     "failed: Image or tag not found on Docker Hub: library/x:1."),
])
def test_status_prints_and_exits_by_state(answer: dict[str, Any], code: int, text: str, loopback: Loopback,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates/tmpl_1/status")] = (200, {"templateId": "tmpl_1", **answer})
    got, out, _ = run(["--base-url", loopback.url, "templates", "status", "tmpl_1"], capsys)
    assert (got, out.strip()) == (code, text)


def test_wait_exits_1_with_the_build_failure(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates/tmpl_1")] = (200, row())
    loopback.routes[("GET", "/container-templates/tmpl_1/status")] = (
        200, {"templateId": "tmpl_1", "status": "failed", "error": "Credentials rejected by gcr.io."})
    code, _, err = run(["--base-url", loopback.url, "templates", "wait", "tmpl_1", "--poll-interval", "0.01"], capsys)
    assert code == 1
    assert "error: Template tmpl_1 failed to build: Credentials rejected by gcr.io." in err


def test_wait_prints_the_ready_digest(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    states = iter(["building", "ready"])

    def status(_seen: Seen) -> tuple[int, Any]:
        return 200, {"templateId": "tmpl_1", "status": next(states, "ready")}

    loopback.routes[("GET", "/container-templates/tmpl_1")] = (200, row(status="ready", digest="sha256:abc"))
    loopback.routes[("GET", "/container-templates/tmpl_1/status")] = status
    code, out, err = run(["--base-url", loopback.url, "templates", "wait", "tmpl_1", "--poll-interval", "0.01"],
                         capsys)
    assert code == 0
    assert out == "tmpl_1 ready: sha256:abc\n"
    assert "tmpl_1: building" in err and "tmpl_1: ready" in err


def test_wait_that_times_out_exits_4(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates/tmpl_1")] = (200, row())
    loopback.routes[("GET", "/container-templates/tmpl_1/status")] = (200, {"templateId": "tmpl_1",
                                                                             "status": "building"})
    code, _, err = run(["--base-url", loopback.url, "templates", "wait", "tmpl_1", "--timeout", "0.05",
                        "--poll-interval", "0.01"], capsys)
    assert code == 4  # not 1: the build did not fail, the wait gave up without knowing
    assert "error: Template tmpl_1 was still building after 0.05 s." in err


def test_create_wait_prints_the_id_before_a_failed_build(loopback: Loopback,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("POST", "/container-templates")] = (201, row())
    loopback.routes[("GET", "/container-templates/tmpl_1/status")] = (
        200, {"templateId": "tmpl_1", "status": "failed", "error": "Image or tag not found on localhost:5000."})
    code, out, err = run(["--base-url", loopback.url, *CREATE, "--wait"], capsys)
    assert code == 1
    assert out == "tmpl_1\n"  # `ID=$(in10nt templates create --wait …)` still gets the ID to inspect
    assert "failed to build: Image or tag not found" in err


def test_create_wait_honours_timeout(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("POST", "/container-templates")] = (201, row())
    loopback.routes[("GET", "/container-templates/tmpl_1/status")] = (200, {"templateId": "tmpl_1",
                                                                             "status": "building"})
    code, out, err = run(["--base-url", loopback.url, *CREATE, "--wait", "--timeout", "0.05"], capsys)
    assert code == 4
    assert out == "tmpl_1\n"
    assert "error: Template tmpl_1 was still building after 0.05 s." in err


def test_create_wait_json_names_the_id_on_stderr(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("POST", "/container-templates")] = (201, row())
    loopback.routes[("GET", "/container-templates/tmpl_1/status")] = (
        200, {"templateId": "tmpl_1", "status": "failed", "error": "nope"})
    code, out, err = run(["--base-url", loopback.url, "--json", *CREATE, "--wait"], capsys)
    assert (code, out) == (1, "")  # stdout stays JSON-only
    assert err.startswith("created tmpl_1; waiting for its build\n")


def test_delete_reports_each_failure_and_exits_1(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("DELETE", "/container-templates/tmpl_a")] = (204, None)
    loopback.routes[("DELETE", "/container-templates/tmpl_b")] = (404, {"error": {
        "code": "not_found", "message": "No template with ID tmpl_b."}})
    code, _, err = run(["--base-url", loopback.url, "templates", "delete", "tmpl_a", "tmpl_b"], capsys)
    assert code == 1
    assert err.splitlines() == ["deleted tmpl_a", "error: tmpl_b: No template with ID tmpl_b."]


def test_logs_prints_lines(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates/tmpl_1/logs")] = (200, {
        "templateId": "tmpl_1", "status": "ready", "next": 2,
        "lines": [{"n": 1, "text": "Resolving library/python:3.11"}, {"n": 2, "text": "Pulled"}]})
    code, out, _ = run(["--base-url", loopback.url, "templates", "logs", "tmpl_1"], capsys)
    assert code == 0
    assert out.splitlines() == ["Resolving library/python:3.11", "Pulled"]


# -- engine serve argument checks (nothing is started) -------------------------------------------------------

def test_engine_serve_rejects_a_bad_mirror(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["engine", "serve", "--registry-mirror", "docker.io=http://10.0.0.5:5000"], capsys)
    assert code == 2
    assert err.strip() == ("in10nt engine serve: error: Mirror http://10.0.0.5:5000 uses plain HTTP; that is "
                           "allowed for loopback registries only.")


def test_engine_serve_rejects_a_bad_mirror_from_env(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IN10NT_REGISTRY_MIRRORS", "docker.io=http://127.0.0.1:5000,gcr.io")
    code, _, err = run(["engine", "serve"], capsys)
    assert code == 2
    assert "'gcr.io' is not REGISTRY=URL" in err


# -- helpers and the real entry point ---------------------------------------------------------------------------

@pytest.mark.parametrize(("image", "expected"), [
    ("python:3.11-slim", "dockerhub"), ("docker.io/library/python", "dockerhub"), ("gcr.io/p/i:1", "gcr"),
    ("europe-docker.pkg.dev/p/r/i", "gcr"), ("localhost:5000/x", "private"), ("ghcr.io/o/a", "private"),
    ("NOT AN IMAGE", "dockerhub"),
])
def test_infer_registry_type(image: str, expected: str) -> None:
    assert infer_registry_type(image) == expected


def test_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"in10nt {__version__}"


@pytest.fixture
def proc_dirs(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    data = tmp_path / "proc-data"
    data.mkdir()
    yield tmp_path, {"IN10NT_DATA_DIR": str(data)}


def test_version_subprocess(proc_dirs: tuple[Path, dict[str, str]]) -> None:
    cwd, env = proc_dirs
    result = run_process(["--version"], env, cwd)
    assert result.returncode == 0
    assert result.stdout.strip() == f"in10nt {__version__}"


def test_no_engine_subprocess(proc_dirs: tuple[Path, dict[str, str]]) -> None:
    cwd, env = proc_dirs
    result = run_process(["templates", "list"], env, cwd)
    assert result.returncode == 1
    assert NO_ENGINE in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("words", [
    ["--password-stdin", "Hunter2"],          # a value for a flag that takes none: "unrecognized arguments"
    ["--password-stdin=Hunter2"],             # "ignored explicit argument"
    ["--password-env", "Hunter2"],            # a valid variable name, unset: "not set"
    ["--password-env", "Hunter 2!"],          # not a variable name at all
    ["--pasword", "Hunter2"],                 # a misspelt option
    ["--password-env"],                       # the password is then the next word, here a stray one
    ["-pHunter2"],
    ["--api-keyy", "Hunter2"],
])
def test_a_password_in_the_wrong_place_is_never_echoed(words: list[str],
                                                       proc_dirs: tuple[Path, dict[str, str]]) -> None:
    cwd, env = proc_dirs
    argv = [*CREATE, "--username", "robot", *words]
    if words == ["--password-env"]:
        argv = [*CREATE, "--username", "robot", "--password-env", "--wait", "Hunter2"]
    result = run_process(argv, env, cwd)
    assert result.returncode == 2, result.stderr
    assert "error:" in result.stderr
    assert "Hunter" not in result.stderr + result.stdout


def test_password_flag_subprocess(proc_dirs: tuple[Path, dict[str, str]]) -> None:
    cwd, env = proc_dirs
    result = run_process([*CREATE, "--username", "robot", "--password", PASSWORD], env, cwd)
    assert result.returncode == 2
    assert "there is no --password flag" in result.stderr and "--password-env VAR or --password-stdin" in result.stderr
    assert PASSWORD not in result.stderr


def test_logs_json_prints_one_json_object_per_line(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates/tmpl_1/logs")] = (200, {
        "templateId": "tmpl_1", "status": "ready", "next": 2,
        "lines": [{"n": 1, "text": "Resolving \"library/python\":3.11", "at": "2024-05-01T12:00:00Z"},
                  {"n": 2, "text": "Pulled", "at": None}]})
    code, out, _ = run(["--base-url", loopback.url, "templates", "logs", "tmpl_1", "--json"], capsys)
    assert code == 0
    parsed = [json.loads(line) for line in out.splitlines()]  # --json is for scripts: JSON, not Python reprs
    assert [p["n"] for p in parsed] == [1, 2]
    assert parsed[0]["text"] == 'Resolving "library/python":3.11'


def test_get_prints_fields(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates/tmpl_1")] = (200, row(progress={"current": 1, "total": 2}))
    code, out, _ = run(["--base-url", loopback.url, "templates", "get", "tmpl_1"], capsys)
    assert code == 0
    fields = dict(line.split(None, 1) for line in out.splitlines())
    assert fields["templateId"] == "tmpl_1"
    assert fields["image"] == "python:3.11-slim"
    assert json.loads(fields["progress"]) == {"current": 1, "total": 2}
    assert "error" not in fields  # None values are left out


@pytest.mark.parametrize("payload", [{"unexpected": True}, [{"name": "row without an id"}]])
def test_unexpected_list_answer_is_an_error_not_a_traceback(payload: Any, loopback: Loopback,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    loopback.routes[("GET", "/container-templates")] = (200, payload)
    code, out, err = run(["--base-url", loopback.url, "templates", "list"], capsys)
    assert code == 1
    assert out == ""
    assert err.startswith("error: ")


def test_hosted_api_key_in_env_does_not_shadow_the_engine_token(loopback: Loopback, clean_env: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (clean_env / "engine.json").write_text(json.dumps({"url": loopback.url, "token": "engine-tok",
                                                       "pid": os.getpid()}))
    monkeypatch.setenv("IN10NT_API_KEY", "sk-hosted-key")
    loopback.routes[("GET", "/saved-templates")] = (200, [])
    code, _, _ = run(["saved-templates", "list"], capsys)
    assert code == 0
    assert loopback.requests[0].headers["authorization"] == "Bearer engine-tok"


def test_abbreviated_password_flag_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["templates", "create", "--name", "n", "--image", "busybox", "--password-e", "X"], capsys)
    assert code == 2
    assert "unrecognized arguments: --password-e" in err


def test_engine_serve_help_lists_only_what_the_engine_takes(capsys: pytest.CaptureFixture[str]) -> None:
    from in10nt_desktop.cli.main import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["engine", "serve", "--help"])
    text = capsys.readouterr().out
    assert "--data-dir" in text and "--port" in text
    assert "--base-url" not in text and "--api-key" not in text


def test_a_build_reads_as_queued_with_its_place_or_running_with_its_phase() -> None:
    from in10nt_desktop.text_formats import build_words

    assert build_words("building", "queued", 3) == "queued (3rd)"
    assert build_words("building", "pulling", None, 0.4) == "building: pulling 40%"
    assert build_words("building") == "building"  # a server without phases
    assert build_words("ready", "queued", 2) == "ready"
