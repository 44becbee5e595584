"""The request rules, in one place: the engine enforces them, publishes them in its OpenAPI document
(engine/openapi.py builds the schema from the constants here), and the wizard shows them as you type.

Image references follow the distribution grammar (github.com/distribution/reference): an
optional registry host[:port], a lowercase repository path, and a tag and/or a digest.
Every text field is a ``TextRule``: a length range, the characters it refuses and whether it
may be blank. Patterns are written for Python's ``re`` (what the engine and schemathesis use);
a unit test checks each pattern accepts exactly what the check accepts.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# The one list of registry types: validation, the SDK's models, the engine's OpenAPI schema and the
# CLI's choices use it. Kept here, with no pydantic, so the wizard's checks load without it.
REGISTRY_TYPES: tuple[str, ...] = ("dockerhub", "private", "gcr")

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
# A port is 0-65535 (a larger one cannot even be connected to), an IP literal a real IPv6 address.
_PORT = r"(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))"
_H16 = "[0-9a-fA-F]{1,4}"
_IPV6 = (rf"\[(?:(?:{_H16}:){{7}}{_H16}|(?:{_H16}:){{1,7}}:|(?:{_H16}:){{1,6}}:{_H16}"
         rf"|(?:{_H16}:){{1,5}}(?::{_H16}){{1,2}}|(?:{_H16}:){{1,4}}(?::{_H16}){{1,3}}"
         rf"|(?:{_H16}:){{1,3}}(?::{_H16}){{1,4}}|(?:{_H16}:){{1,2}}(?::{_H16}){{1,5}}"
         rf"|{_H16}:(?::{_H16}){{1,6}}|:(?:(?::{_H16}){{1,7}}|:))\]")
_HOST_RE = re.compile(rf"^(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|{_IPV6}){_PORT}?$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
MAX_NAME = 128
# The whole reference. The distribution reference allows 255 for host and repository alone; counting the
# tag and digest in keeps the rule one a schema can state (maxLength). Real references are far shorter.
MAX_IMAGE = 255
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


# -- text fields ----------------------------------------------------------------------------------------

# Characters no name shows: C0 and C1 controls, no-break and other non-ASCII spaces, zero-width and bidi
# formatting (they make two names look alike), line separators, surrogates, private use, BOM and
# noncharacters. Close to ``str.isprintable()``, but a fixed list a schema can state.
_UNPRINTABLE = (r"\x00-\x1f\x7f-\xa0\xad\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000"
                r"\ue000-\uf8ff\ufeff\ufff9-\ufffb\ufffe\uffff")
# Whitespace as Python's str.isspace() has it, spelled out: ``\s`` means other sets in ECMA regexes and
# under re.ASCII, and the schema must read the same everywhere. (Unpaired surrogates, which JSON can carry
# but no file, database or engine can store, are refused for the whole body: engine/limits.py.)
_WHITESPACE = r"\x09-\x0d\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# The end of the text. Not ``$``: in Python's regexes (and so in schemathesis's data) ``$`` also matches
# before a final newline, so "name\n" would pass a pattern the engine refuses.
END = r"(?![\s\S])"


@dataclass(frozen=True)
class TextRule:
    """One text field: ``min_length``..``max_length`` characters of class ``chars``, one of class ``solid``
    when it must not be blank (``solid`` is ``chars`` without whitespace)."""

    what: str  # "The name", for sentences
    max_length: int
    chars: str  # a regex character class, brackets included
    refused_text: str  # what the sentence calls the characters outside ``chars``
    min_length: int = 1
    solid: str | None = None

    @property
    def pattern(self) -> str:
        if self.solid:
            return f"^{self.chars}*{self.solid}{self.chars}*{END}"
        return f"^{self.chars}*{END}"

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string", "maxLength": self.max_length, "pattern": self.pattern}
        if self.min_length:
            out["minLength"] = self.min_length
        return out

    def problem(self, value: str) -> str | None:
        """The sentence for what is wrong with ``value``, or None. Same answer as the pattern, in linear time."""
        if len(value) < self.min_length or (self.solid and not re.search(self.solid, value)
                                            and re.fullmatch(f"{self.chars}*", value)):
            return f"{self.what} is empty."
        if len(value) > self.max_length:
            return f"{self.what} is {len(value):,} characters long; the limit is {self.max_length:,}."
        if not re.fullmatch(f"{self.chars}*", value):
            return f"{self.what} contains {self.refused_text}."
        return None


def _printable(extra: str = "") -> tuple[str, str]:
    return f"[^{_UNPRINTABLE}{extra}]", f"[^{_UNPRINTABLE}{extra}{_WHITESPACE}]"


NAME = TextRule("The name", MAX_NAME, *_printable()[:1], "control characters; use printable characters only",
                solid=_printable()[1])
DESCRIPTION = TextRule("The description", 2000, "[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]",
                       "control characters (other than tabs and line breaks)", min_length=0)
USERNAME = TextRule("The registry username", 256, _printable(":")[0], "':' or control characters",
                    solid=_printable(":")[1])
# A GCR key file is about 2.4 kB (3.2 kB in base64); access tokens are under 2 kB.
PASSWORD = TextRule("The registry password", 16 * 1024, "[^\\x00]", "a NUL character")
TASK = TextRule("The task", 100_000, "[^\\x00]", "a NUL character (a command line cannot hold one)",
                solid=f"[^\\x00{_WHITESPACE}]")
# Printable ASCII (HTTP trims the spaces around a header value). A UUID is 36.
IDEMPOTENCY_KEY = TextRule("The Idempotency-Key", 200, "[\\x20-\\x7e]", "characters other than printable ASCII",
                           solid="[\\x21-\\x7e]")


# -- the image grammar as one pattern per registry type (for the schema; parse_image gives the sentences) ----

def _any_case(word: str) -> str:
    """``gcr.io`` → ``[gG][cC][rR]\\.[iI][oO]``: case-insensitive without inline flags, which ECMA lacks."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


# A first path component is a host when it has a '.' or a ':' or is "localhost" (parse_image).
_ANY_HOST = (rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})+{_PORT}?|{_DOMAIN_LABEL}{_PORT}|localhost"
             rf"|{_IPV6}{_PORT}?)")
_HUB_HOST = r"(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)"
_GCR_HOST = (rf"(?:(?:{_DOMAIN_LABEL}\.)*(?:{_any_case('gcr.io')}|[a-zA-Z0-9][a-zA-Z0-9-]*-"
             rf"{_any_case('docker.pkg.dev')}){_PORT}?)")
_FIRST_NO_DOT = rf"{_ALNUM}(?:(?:_|__|-+){_ALNUM})*"
_NO_HOST = rf"(?:{_COMPONENT}|(?!localhost/){_FIRST_NO_DOT}(?:/{_COMPONENT})+)"
_SUFFIX = r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"


def image_pattern(registry_type: str | None = None) -> str:
    """The images ``parse_image`` accepts, and of those the ones ``check_registry_fit`` allows for the type."""
    def named(host: str) -> str:
        return rf"{host}/{_COMPONENT}(?:/{_COMPONENT})*"

    body = {"dockerhub": rf"(?:{_NO_HOST}|{named(_HUB_HOST)})", "gcr": named(_GCR_HOST),
            "private": named(_ANY_HOST)}.get(registry_type or "", rf"(?:{_NO_HOST}|{named(_ANY_HOST)})")
    return f"^{body}{_SUFFIX}{END}"


TEMPLATE_ID_PATTERN = rf"^tmpl_[0-9a-f]{{16}}{END}"
INSTANCE_ID_PATTERN = rf"^inst_[0-9a-f]{{16}}{END}"


def parse_image(image: str) -> ImageRef:
    """Parse ``image`` or raise ``FieldError('image', sentence)``."""
    def bad(why: str) -> FieldError:
        return FieldError("image", why)

    if not image or not image.strip():
        raise bad("Enter a base image, for example python:3.11-slim.")
    if image != image.strip() or any(c.isspace() for c in image):
        raise bad("An image reference cannot contain spaces.")
    if len(image) > MAX_IMAGE:
        raise bad(f"That image reference is {len(image)} characters long; the limit is {MAX_IMAGE}.")
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


def check_text(rule: TextRule, value: str, field: str) -> str:
    problem = rule.problem(value)
    if problem is not None:
        raise FieldError(field, problem)
    return value


def check_idempotency_key(key: str | None) -> str | None:
    return None if key is None else check_text(IDEMPOTENCY_KEY, key, "Idempotency-Key")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FieldError("name", "Give the template a name.")
    return check_text(NAME, name, "name")


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


def check_registry_auth(auth: Any, registry_type: str, *, key_contents: bool = True) -> Credentials | None:
    """Username and password rules; with ``key_contents``, also that a GCR JSON key is one.

    The engine leaves the key's contents to the build (``check_gcr_key``): no request schema can state
    "a JSON document with these fields inside a string", and the API refuses only what its schema says.
    """
    if auth is None:
        return None
    if not isinstance(auth, dict):
        raise FieldError("registryAuth", "registryAuth must be an object with username and password.")
    username, password = auth.get("username"), auth.get("password")
    if not isinstance(username, str) or not username.strip():
        raise FieldError("registryAuth.username", "Enter the registry username.")
    if not isinstance(password, str) or not password:
        raise FieldError("registryAuth.password", "Enter the registry password or access token.")
    check_text(USERNAME, username, "registryAuth.username")
    check_text(PASSWORD, password, "registryAuth.password")
    credentials = Credentials(username, password)
    if key_contents:
        check_gcr_key(credentials, registry_type)
    return credentials


def check_gcr_key(auth: Credentials, registry_type: str) -> None:
    """A GCR ``_json_key`` (or ``_json_key_base64``) password must be a service-account key file."""
    username, password = auth
    if registry_type == "gcr" and username == "_json_key":
        check_service_account_json(password)
    elif registry_type == "gcr" and username == "_json_key_base64":
        try:  # GNU base64 wraps its output at 76 columns: drop the whitespace first
            decoded = base64.b64decode("".join(password.split()), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise FieldError("registryAuth.password",
                             "This key is not valid base64: paste the output of `base64 key.json`.") from None
        check_service_account_json(decoded)


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
    description = check_description(body.get("description"))
    auth = check_registry_auth(body.get("registryAuth"), registry_type, key_contents=False)
    return TemplateRequest(name, ref, image_text, registry_type, description, auth)


def check_description(description: Any, field: str = "description") -> str | None:
    if description is not None and not isinstance(description, str):
        raise FieldError(field, "The description must be text.")
    if description is not None and len(description) > DESCRIPTION.max_length:
        raise FieldError(field, f"The description is longer than {DESCRIPTION.max_length} characters.")
    return None if description is None else check_text(DESCRIPTION, description, field)
