"""The template rules, in one place: the engine enforces them, the wizard shows them as you type.

Image references follow the distribution grammar (github.com/distribution/reference): an
optional registry host[:port], a lowercase repository path, and a tag and/or a digest.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from in10nt_desktop.api.models import REGISTRY_TYPES

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST_RE = re.compile(rf"^(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9a-fA-F:.]+\])(?::[0-9]{{1,5}})?$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
MAX_NAME = 128
_TYPE_CHOICES = ", ".join(REGISTRY_TYPES[:-1]) + " or " + REGISTRY_TYPES[-1]  # "dockerhub, private or gcr"


class FieldError(ValueError):
    """A rule broken by one field; ``field`` is the wire (camelCase) name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Credentials:
    """Registry credentials as the engine carries them: the password never shows in a repr."""

    username: str
    password: str = field(repr=False)

    def __iter__(self) -> Iterator[str]:
        yield self.username
        yield self.password


@dataclass(frozen=True)
class ImageRef:
    """A parsed reference. ``host`` is None when the image names none (Docker Hub implied)."""

    host: str | None
    path: str
    tag: str | None
    digest: str | None

    @property
    def registry(self) -> str:
        """The registry a person would name: ``docker.io`` when none is given."""
        return self.host or "docker.io"

    @property
    def repository(self) -> str:
        """The path the registry API uses (Docker Hub official images live under ``library/``)."""
        if self.registry in DOCKER_HUB_HOSTS and "/" not in self.path:
            return f"library/{self.path}"
        return self.path

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest if pinned, else the tag (``latest`` by default)."""
        return self.digest or self.tag or "latest"


def parse_image(image: str) -> ImageRef:
    """Parse ``image`` or raise ``FieldError('image', sentence)``."""
    def bad(why: str) -> FieldError:
        return FieldError("image", why)

    if not image or not image.strip():
        raise bad("Enter a base image, for example python:3.11-slim.")
    if image != image.strip() or any(c.isspace() for c in image):
        raise bad("An image reference cannot contain spaces.")
    if len(image) > 512:
        raise bad("That image reference is too long.")
    rest, digest = image, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise bad("The digest after '@' must be sha256: followed by 64 lowercase hex digits.")
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG_RE.match(tag):
            raise bad(f"'{tag}' is not a valid tag: use letters, digits, '_', '.' or '-' (at most 128).")
    host = None
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host, rest = first, remainder
        if not _HOST_RE.match(host):
            raise bad(f"'{host}' is not a valid registry host.")
    if not rest:
        raise bad("The image needs a repository name after the registry host.")
    if not _PATH_RE.match(rest):
        if rest.lower() != rest:
            raise bad("Repository names must be lowercase.")
        raise bad(f"'{rest}' is not a valid repository name: use lowercase letters, digits and "
                  "separators ('.', '_', '-') between path parts.")
    if len(rest) + (len(host) + 1 if host else 0) > 255:
        raise bad("The repository name is longer than 255 characters.")
    return ImageRef(host=host, path=rest, tag=tag, digest=digest)


def _host_name(host: str) -> str:
    return host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"


def is_gcr_host(host: str) -> bool:
    name = _host_name(host).lower()
    return name == "gcr.io" or name.endswith(".gcr.io") or name.endswith("-docker.pkg.dev")


def registry_type_for(ref: ImageRef) -> str | None:
    """The registry type an image implies, when that is unambiguous (for the wizard)."""
    if ref.host is None or ref.host in DOCKER_HUB_HOSTS:
        return "dockerhub"
    if is_gcr_host(ref.host):
        return "gcr"
    return "private"


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FieldError("name", "Give the template a name.")
    if len(name) > MAX_NAME:
        raise FieldError("name", f"The name is {len(name)} characters long; the limit is {MAX_NAME}.")
    if not name.isprintable():
        raise FieldError("name", "The name contains control characters; use printable characters only.")
    return name


def check_registry_fit(ref: ImageRef, registry_type: Any) -> None:
    if registry_type not in REGISTRY_TYPES:
        raise FieldError("registryType", f"Registry type must be one of {_TYPE_CHOICES}.")
    if registry_type == "dockerhub" and ref.host is not None and ref.host not in DOCKER_HUB_HOSTS:
        raise FieldError("image", f"The image names the registry {ref.host}, which is not Docker Hub: "
                                  "choose the private or gcr registry type.")
    if registry_type == "gcr" and (ref.host is None or not is_gcr_host(ref.host)):
        raise FieldError("image", "A gcr image must be on gcr.io, a *.gcr.io host or a *-docker.pkg.dev "
                                  "host, for example gcr.io/my-project/image:tag.")
    if registry_type == "private" and ref.host is None:
        raise FieldError("image", "A private-registry image must start with the registry host, for example "
                                  "registry.example.com/team/image:tag.")


def check_service_account_json(text: str) -> dict[str, Any]:
    """A GCR ``_json_key`` password is a service-account key file's contents."""
    try:
        data = json.loads(text)
    except ValueError:
        raise FieldError("registryAuth.password", "This key is not JSON: use the service-account key file "
                                                  "downloaded from Google Cloud.") from None
    if not isinstance(data, dict) or data.get("type") != "service_account" or not data.get("client_email") \
            or not data.get("private_key"):
        raise FieldError("registryAuth.password",
                         "That JSON is not a service-account key (it needs type \"service_account\", "
                         "client_email and private_key).")
    return data


def check_registry_auth(auth: Any, registry_type: str) -> Credentials | None:
    if auth is None:
        return None
    if not isinstance(auth, dict):
        raise FieldError("registryAuth", "registryAuth must be an object with username and password.")
    username, password = auth.get("username"), auth.get("password")
    if not isinstance(username, str) or not username.strip():
        raise FieldError("registryAuth.username", "Enter the registry username.")
    if not isinstance(password, str) or not password:
        raise FieldError("registryAuth.password", "Enter the registry password or access token.")
    if registry_type == "gcr" and username == "_json_key":
        check_service_account_json(password)
    elif registry_type == "gcr" and username == "_json_key_base64":
        try:  # GNU base64 wraps its output at 76 columns: drop the whitespace first
            decoded = base64.b64decode("".join(password.split()), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise FieldError("registryAuth.password",
                             "This key is not valid base64: paste the output of `base64 key.json`.") from None
        check_service_account_json(decoded)
    return Credentials(username, password)


@dataclass(frozen=True)
class TemplateRequest:
    name: str
    image: ImageRef
    image_text: str
    registry_type: str
    description: str | None
    auth: Credentials | None


def check_template_request(body: Any) -> TemplateRequest:
    """Every rule for ``POST /container-templates``; raises the first ``FieldError``."""
    if not isinstance(body, dict):
        raise FieldError("body", "The request body must be a JSON object.")
    name = check_name(body.get("name"))
    image_text = body.get("image")
    if not isinstance(image_text, str):
        raise FieldError("image", "Enter a base image, for example python:3.11-slim.")
    registry_type = body.get("registryType")
    if registry_type is None:
        raise FieldError("registryType", f"Choose a registry type: {_TYPE_CHOICES}.")
    ref = parse_image(image_text)
    check_registry_fit(ref, registry_type)
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise FieldError("description", "The description must be text.")
    if description is not None and len(description) > 2000:
        raise FieldError("description", "The description is longer than 2000 characters.")
    auth = check_registry_auth(body.get("registryAuth"), registry_type)
    return TemplateRequest(name, ref, image_text, registry_type, description, auth)
