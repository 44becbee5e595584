"""What the create-template wizard produces: a draft, with its secret kept out of every repr.

The seed advises taking credentials from environment variables, so a secret is either typed
(kept in memory only) or the *name* of a variable read at the moment the request is sent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from in10nt_desktop.api.validation import FieldError

if TYPE_CHECKING:  # pydantic loads when credentials are sent, not with the window
    from in10nt_desktop.api import RegistryAuth


class TemplateFields(Protocol):
    """What a retry takes from a template: the SDK's model and the window's row both have it."""

    @property
    def name(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def registry_type(self) -> str: ...
    @property
    def description(self) -> str | None: ...


@dataclass(frozen=True)
class SecretSource:
    """``kind="typed"``: ``value`` is the secret; ``kind="env"``: ``value`` is a variable's name."""

    kind: Literal["typed", "env"]
    value: str = field(repr=False)

    def __repr__(self) -> str:
        return f"SecretSource(env={self.value!r})" if self.kind == "env" else "SecretSource(typed=<hidden>)"

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        if self.kind == "typed":
            return self.value
        env = os.environ if environ is None else environ
        secret = env.get(self.value, "")
        if not secret:
            raise FieldError("registryAuth.password", f"The environment variable {self.value} is not set "
                                                      "or is empty.")
        return secret


@dataclass(frozen=True)
class TemplateDraft:
    name: str
    image: str
    registry_type: str
    description: str | None = None
    username: str | None = None
    secret: SecretSource | None = None

    @property
    def has_credentials(self) -> bool:
        return bool(self.username) and self.secret is not None

    def registry_auth(self, environ: Mapping[str, str] | None = None) -> RegistryAuth | None:
        """The credentials to send, read now (an env variable may change between wizard and create)."""
        if not self.has_credentials:
            return None
        from pydantic import SecretStr

        from in10nt_desktop.api import RegistryAuth

        assert self.username is not None and self.secret is not None
        return RegistryAuth(username=self.username, password=SecretStr(self.secret.resolve(environ)))

    @classmethod
    def from_template(cls, template: TemplateFields) -> TemplateDraft:
        """For "Retry": everything but the credentials, which the server never gives back."""
        return cls(name=template.name, image=template.image, registry_type=template.registry_type,
                   description=template.description)
