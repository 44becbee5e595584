"""Every rule of ``api/validation.py``: the sentences the wizard shows and the wire field names."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from in10nt_desktop.api.validation import (
    MAX_NAME,
    FieldError,
    ImageRef,
    check_name,
    check_registry_auth,
    check_registry_fit,
    check_service_account_json,
    check_template_request,
    is_gcr_host,
    parse_image,
    registry_type_for,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4
SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "proj",
    "client_email": "builder@proj.iam.gserviceaccount.com",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
}


def body(**over: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": "py", "image": "python:3.11-slim", "registryType": "dockerhub"}
    out.update(over)
    return {k: v for k, v in out.items() if v is not ...}


def field_error(fn: Any, *args: Any) -> FieldError:
    with pytest.raises(FieldError) as info:
        fn(*args)
    return info.value


# -- name -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", "   ", "\t", None, 42])
def test_name_missing_or_blank(name: Any) -> None:
    err = field_error(check_name, name)
    assert err.field == "name"
    assert str(err) == "Give the template a name."


def test_name_too_long_says_how_long_and_the_limit() -> None:
    err = field_error(check_name, "n" * 129)
    assert err.field == "name"
    assert str(err) == "The name is 129 characters long; the limit is 128."


def test_name_at_the_limit_and_unicode_are_accepted() -> None:
    assert MAX_NAME == 128
    assert check_name("n" * 128) == "n" * 128
    assert check_name("Café ML env 🚀") == "Café ML env 🚀"


@pytest.mark.parametrize("name", ["bad\x00name", "line\nbreak", "tab\there", "esc\x1b[31m", "del\x7f"])
def test_name_with_control_characters(name: str) -> None:
    err = field_error(check_name, name)
    assert err.field == "name"
    assert "control characters" in str(err)


def test_field_error_is_a_value_error_with_message() -> None:
    err = field_error(check_name, "")
    assert isinstance(err, ValueError)
    assert err.message == str(err)


# -- image grammar ----------------------------------------------------------------------------

@pytest.mark.parametrize(("image", "host", "path", "tag", "digest"), [
    ("python:3.11-slim", None, "python", "3.11-slim", None),
    ("python", None, "python", None, None),
    ("nvidia/cuda:12.2-runtime", None, "nvidia/cuda", "12.2-runtime", None),
    ("127.0.0.1:5000/x/busybox:1", "127.0.0.1:5000", "x/busybox", "1", None),
    ("localhost/x", "localhost", "x", None, None),
    ("localhost:5000/team/app", "localhost:5000", "team/app", None, None),
    (f"gcr.io/p/i@{DIGEST}", "gcr.io", "p/i", None, DIGEST),
    (f"python:3.11@{DIGEST}", None, "python", "3.11", DIGEST),
    ("us-docker.pkg.dev/p/r/i:1", "us-docker.pkg.dev", "p/r/i", "1", None),
    ("a/b/c:tag", None, "a/b/c", "tag", None),
    ("[::1]:5000/x:v1", "[::1]:5000", "x", "v1", None),
    ("registry.example.com/my_team/app-name__v2.x:Tag_1.0-rc", "registry.example.com", "my_team/app-name__v2.x",
     "Tag_1.0-rc", None),
    ("docker.io/library/python:3", "docker.io", "library/python", "3", None),
])
def test_valid_images_parse_into_their_parts(image: str, host: str | None, path: str, tag: str | None,
                                             digest: str | None) -> None:
    assert parse_image(image) == ImageRef(host=host, path=path, tag=tag, digest=digest)


@pytest.mark.parametrize(("image", "expected"), [
    ("", "Enter a base image, for example python:3.11-slim."),
    ("   ", "Enter a base image, for example python:3.11-slim."),
    ("python :3", "An image reference cannot contain spaces."),
    (" python:3", "An image reference cannot contain spaces."),
    ("python:3\n", "An image reference cannot contain spaces."),
    ("Python:3", "Repository names must be lowercase."),
    ("team/MyApp:1", "Repository names must be lowercase."),
    ("x:", "'' is not a valid tag: use letters, digits, '_', '.' or '-' (at most 128)."),
    ("x:-lead", "'-lead' is not a valid tag: use letters, digits, '_', '.' or '-' (at most 128)."),
    ("x:" + "t" * 129, f"'{'t' * 129}' is not a valid tag: use letters, digits, '_', '.' or '-' (at most 128)."),
    ("x@sha256:abc", "The digest after '@' must be sha256: followed by 64 lowercase hex digits."),
    ("x@" + DIGEST.upper(), "The digest after '@' must be sha256: followed by 64 lowercase hex digits."),
    ("x@md5:" + "0" * 64, "The digest after '@' must be sha256: followed by 64 lowercase hex digits."),
    ("gcr.io/", "The image needs a repository name after the registry host."),
    ("registry.example.com:5000/", "The image needs a repository name after the registry host."),
    ("-bad.example.com/x", "'-bad.example.com' is not a valid registry host."),
    ("host.example.com:123456/x", "'host.example.com:123456' is not a valid registry host."),
    ("team//app", "'team//app' is not a valid repository name: use lowercase letters, digits and separators "
                  "('.', '_', '-') between path parts."),
    ("app-:1", "'app-' is not a valid repository name: use lowercase letters, digits and separators "
               "('.', '_', '-') between path parts."),
    ("x" * 513, "That image reference is 513 characters long; the limit is 255."),
    ("a" * 256, "That image reference is 256 characters long; the limit is 255."),
    ("registry.example.com/" + "a" * 240, "That image reference is 261 characters long; the limit is 255."),
    ("a" * 250 + ":tag12", "That image reference is 256 characters long; the limit is 255."),
])
def test_invalid_images_name_the_problem(image: str, expected: str) -> None:
    err = field_error(parse_image, image)
    assert err.field == "image"
    assert str(err) == expected


def test_a_reference_of_exactly_255_characters_is_accepted() -> None:
    assert parse_image("a" * 255).path == "a" * 255


@pytest.mark.parametrize("image", ["python:caf\u00e9", "python:\uff13", "python:\u0661"])
def test_tags_are_ascii_only(image: str) -> None:
    # The distribution grammar's tag is [\w][\w.-]{0,127} with \w = [A-Za-z0-9_]; a registry rejects
    # a non-ASCII tag, so the wizard must say so instead of letting the build fail later.
    err = field_error(parse_image, image)
    assert err.field == "image"
    assert "is not a valid tag" in str(err)


# -- ImageRef -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("image", "repository", "registry"), [
    ("python:3", "library/python", "docker.io"),
    ("docker.io/python", "library/python", "docker.io"),
    ("index.docker.io/busybox", "library/busybox", "index.docker.io"),
    ("registry-1.docker.io/alpine", "library/alpine", "registry-1.docker.io"),
    ("nvidia/cuda:12.2-runtime", "nvidia/cuda", "docker.io"),
    ("docker.io/library/python", "library/python", "docker.io"),
    ("localhost:5000/busybox", "busybox", "localhost:5000"),
    ("localhost/x", "x", "localhost"),
    ("gcr.io/proj", "proj", "gcr.io"),
    ("ghcr.io/org/app", "org/app", "ghcr.io"),
])
def test_repository_adds_library_only_for_docker_hub_single_component(image: str, repository: str,
                                                                      registry: str) -> None:
    ref = parse_image(image)
    assert ref.repository == repository
    assert ref.registry == registry


def test_reference_prefers_digest_then_tag_then_latest() -> None:
    assert parse_image("python").reference == "latest"
    assert parse_image("python:3.11").reference == "3.11"
    assert parse_image(f"python:3.11@{DIGEST}").reference == DIGEST


# -- registry types -----------------------------------------------------------------------------

@pytest.mark.parametrize(("image", "expected"), [
    ("python:3", "dockerhub"),
    ("docker.io/library/python", "dockerhub"),
    ("index.docker.io/x/y", "dockerhub"),
    ("gcr.io/p/i", "gcr"),
    ("eu.gcr.io/p/i", "gcr"),
    ("europe-docker.pkg.dev/p/r/i", "gcr"),
    ("ghcr.io/org/app", "private"),
    ("localhost:5000/x", "private"),
    ("registry.example.com/team/app", "private"),
])
def test_registry_type_for(image: str, expected: str) -> None:
    assert registry_type_for(parse_image(image)) == expected


@pytest.mark.parametrize(("host", "expected"), [
    ("gcr.io", True), ("eu.gcr.io", True), ("GCR.IO", True), ("gcr.io:443", True),
    ("us-central1-docker.pkg.dev", True), ("europe-docker.pkg.dev", True),
    ("evilgcr.io", False), ("gcr.io.evil.com", False), ("docker.pkg.dev", False), ("ghcr.io", False),
])
def test_is_gcr_host(host: str, expected: bool) -> None:
    assert is_gcr_host(host) is expected


def test_registry_type_missing() -> None:
    err = field_error(check_template_request, body(registryType=...))
    assert err.field == "registryType"
    assert str(err) == "Choose a registry type: dockerhub, private or gcr."


@pytest.mark.parametrize("registry_type", ["quay", "DockerHub", "", 1])
def test_registry_type_unknown(registry_type: Any) -> None:
    err = field_error(check_template_request, body(registryType=registry_type))
    assert err.field == "registryType"
    assert str(err) == "Registry type must be one of dockerhub, private or gcr."


def test_dockerhub_type_with_a_foreign_host_blames_the_image() -> None:
    err = field_error(check_registry_fit, parse_image("ghcr.io/org/app:1"), "dockerhub")
    assert err.field == "image"
    assert "ghcr.io" in str(err)
    assert "not Docker Hub" in str(err)


@pytest.mark.parametrize("image", ["python:3", "docker.io/library/python:3", "index.docker.io/x/y"])
def test_dockerhub_type_accepts_hub_images(image: str) -> None:
    check_registry_fit(parse_image(image), "dockerhub")


@pytest.mark.parametrize("image", ["python:3", "ghcr.io/org/app", "docker.io/library/python"])
def test_gcr_type_needs_a_gcr_host(image: str) -> None:
    err = field_error(check_registry_fit, parse_image(image), "gcr")
    assert err.field == "image"
    assert "gcr.io/my-project/image:tag" in str(err)


@pytest.mark.parametrize("image", ["gcr.io/p/i:1", "eu.gcr.io/p/i", "us.gcr.io/p/i",
                                   "europe-docker.pkg.dev/p/r/i:1", "us-central1-docker.pkg.dev/p/r/i"])
def test_gcr_type_accepts_gcr_and_artifact_registry_hosts(image: str) -> None:
    check_registry_fit(parse_image(image), "gcr")


def test_private_type_needs_a_host() -> None:
    err = field_error(check_registry_fit, parse_image("team/app:1"), "private")
    assert err.field == "image"
    assert "must start with the registry host" in str(err)


def test_private_type_accepts_any_host() -> None:
    check_registry_fit(parse_image("localhost:5000/team/app:1"), "private")
    check_registry_fit(parse_image("gcr.io/p/i"), "private")


# -- registryAuth -------------------------------------------------------------------------------

def test_no_auth_is_fine() -> None:
    assert check_registry_auth(None, "private") is None


@pytest.mark.parametrize("auth", ["user:pass", ["user", "pass"], 5])
def test_auth_must_be_an_object(auth: Any) -> None:
    err = field_error(check_registry_auth, auth, "private")
    assert err.field == "registryAuth"
    assert str(err) == "registryAuth must be an object with username and password."


@pytest.mark.parametrize("username", [None, "", "   ", 7])
def test_auth_needs_a_username(username: Any) -> None:
    err = field_error(check_registry_auth, {"username": username, "password": "pw"}, "private")
    assert err.field == "registryAuth.username"
    assert str(err) == "Enter the registry username."


@pytest.mark.parametrize("password", [None, "", 123])
def test_auth_needs_a_password(password: Any) -> None:
    err = field_error(check_registry_auth, {"username": "u", "password": password}, "private")
    assert err.field == "registryAuth.password"
    assert str(err) == "Enter the registry password or access token."


def test_auth_returns_the_pair_with_a_hidden_password() -> None:
    creds = check_registry_auth({"username": "u", "password": " p-secret "}, "dockerhub")
    assert creds is not None and tuple(creds) == ("u", " p-secret ")
    assert "p-secret" not in repr(creds)


def test_json_key_that_is_not_json() -> None:
    err = field_error(check_registry_auth, {"username": "_json_key", "password": "not json"}, "gcr")
    assert err.field == "registryAuth.password"
    assert str(err) == "This key is not JSON: use the service-account key file downloaded from Google Cloud."


@pytest.mark.parametrize("data", [
    [],
    {"type": "authorized_user", "client_email": "a@b", "private_key": "k"},
    {"type": "service_account", "private_key": "k"},
    {"type": "service_account", "client_email": "a@b"},
    {"type": "service_account", "client_email": "", "private_key": "k"},
])
def test_json_key_that_is_not_a_service_account(data: Any) -> None:
    err = field_error(check_registry_auth, {"username": "_json_key", "password": json.dumps(data)}, "gcr")
    assert err.field == "registryAuth.password"
    assert str(err) == ('That JSON is not a service-account key (it needs type "service_account", '
                        "client_email and private_key).")


def test_valid_service_account_json_is_accepted() -> None:
    text = json.dumps(SERVICE_ACCOUNT)
    assert tuple(check_registry_auth({"username": "_json_key", "password": text}, "gcr") or ()) == ("_json_key", text)
    assert check_service_account_json(text)["client_email"] == SERVICE_ACCOUNT["client_email"]


def test_json_key_base64_valid() -> None:
    encoded = base64.b64encode(json.dumps(SERVICE_ACCOUNT).encode()).decode()
    assert tuple(check_registry_auth({"username": "_json_key_base64", "password": encoded}, "gcr") or ()) == (
        "_json_key_base64", encoded)


@pytest.mark.parametrize("password", ["!!!not base64!!!", base64.b64encode(b"\xff\xfe\xfd").decode()])
def test_json_key_base64_invalid(password: str) -> None:
    err = field_error(check_registry_auth, {"username": "_json_key_base64", "password": password}, "gcr")
    assert err.field == "registryAuth.password"
    assert str(err) == "This key is not valid base64: paste the output of `base64 key.json`."


def test_json_key_base64_of_something_that_is_not_a_key() -> None:
    encoded = base64.b64encode(b'{"type": "user"}').decode()
    err = field_error(check_registry_auth, {"username": "_json_key_base64", "password": encoded}, "gcr")
    assert err.field == "registryAuth.password"
    assert "not a service-account key" in str(err)


def test_json_key_rules_apply_to_gcr_only() -> None:
    # On a private registry "_json_key" is just a username.
    creds = check_registry_auth({"username": "_json_key", "password": "plain"}, "private")
    assert tuple(creds or ()) == ("_json_key", "plain")


def test_gcr_access_token_is_not_checked_as_json() -> None:
    assert tuple(check_registry_auth({"username": "oauth2accesstoken", "password": "ya29.x"}, "gcr") or ()) == (
        "oauth2accesstoken", "ya29.x")


# -- the whole request --------------------------------------------------------------------------

def test_full_request_is_parsed() -> None:
    req = check_template_request(body(image="gcr.io/p/i:1", registryType="gcr", description="d",
                                      registryAuth={"username": "_json_key",
                                                    "password": json.dumps(SERVICE_ACCOUNT)}))
    assert req.name == "py"
    assert req.image == parse_image("gcr.io/p/i:1")
    assert req.image_text == "gcr.io/p/i:1"
    assert req.registry_type == "gcr"
    assert req.description == "d"
    assert req.auth is not None and req.auth.username == "_json_key"
    assert "private_key" not in repr(req)


@pytest.mark.parametrize(("payload", "field", "message"), [
    ([], "body", "The request body must be a JSON object."),
    (body(name=...), "name", "Give the template a name."),
    (body(image=...), "image", "Enter a base image, for example python:3.11-slim."),
    (body(image=5), "image", "Enter a base image, for example python:3.11-slim."),
    (body(description=5), "description", "The description must be text."),
    (body(description="d" * 2001), "description", "The description is longer than 2000 characters."),
    (body(registryAuth={"username": "u", "password": ""}), "registryAuth.password",
     "Enter the registry password or access token."),
    (body(registryAuth={"username": "", "password": "p"}), "registryAuth.username", "Enter the registry username."),
])
def test_request_errors_name_the_wire_field(payload: Any, field: str, message: str) -> None:
    err = field_error(check_template_request, payload)
    assert (err.field, str(err)) == (field, message)


def test_description_of_2000_characters_is_accepted() -> None:
    assert check_template_request(body(description="d" * 2000)).description == "d" * 2000
