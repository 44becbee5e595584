"""The images instances run from and are saved as.

A template's image is run pinned by digest, pulled first when the container engine lacks it
(through the mirror the build used). A snapshot is a commit into the engine's own repository
(``localhost/in10nt-saved/…``) with the base image's command back and our labels blanked; deleting
a saved template removes that image, unless something outside In10nt still uses it.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import docker.errors

from in10nt_desktop.api.validation import parse_image
from in10nt_desktop.engine.container_engine import ContainerEngine, EngineUnavailable, PullError
from in10nt_desktop.engine.instance_rows import LABELS, InstanceError, slug
from in10nt_desktop.engine.mirrors import endpoint_for
from in10nt_desktop.engine.store import Store

log = logging.getLogger(__name__)

SAVED_REPOSITORY = "localhost/in10nt-saved"


async def template_image(engine: ContainerEngine, store: Store, mirrors: dict[str, str], client: Any,
                         template: dict[str, Any]) -> str:
    """The template's image pinned by digest, pulled first if the engine does not have it."""
    pinned = store.engine_image(template["templateId"])
    if pinned:
        repository, digest = pinned.rsplit("@", 1)
    else:  # built without a container engine: pull from where the build resolved it (mirror included)
        ref = parse_image(template["image"])
        endpoint = endpoint_for(ref.registry, mirrors)
        source = endpoint.host if endpoint.via_mirror else endpoint.registry
        repository, digest = f"{source}/{ref.repository}", template["digest"]
    pinned = f"{repository}@{digest}"
    try:
        await engine.call(client.api.inspect_image, pinned)
        return pinned
    except docker.errors.ImageNotFound:
        pass
    log.info("pulling %s for an instance", pinned)
    try:
        await engine.pull(repository, digest, None, repository.split("/", 1)[0], lambda _event: None,
                          platform=template.get("platform"))
    except PullError as exc:
        raise InstanceError(409, "image_unavailable", f"The template's image is not in the container engine and "
                            f"pulling it failed: {exc} A template that needed registry credentials must be "
                            "created again: the engine does not keep them.") from None
    except EngineUnavailable as exc:
        raise InstanceError(503, "no_container_engine", f"Instances need a container engine. {exc}") from None
    return pinned


def saved_image_ref(name: str) -> str:
    """A new image reference for a snapshot named ``name`` (a fresh tag each time: never overwritten)."""
    return f"{SAVED_REPOSITORY}/{slug(name)}:{secrets.token_hex(6)}"


def commit(client: Any, container_id: str, image_ref: str, base_config: dict[str, Any]) -> None:
    """Commit the container as ``image_ref`` (a blocking docker SDK call: run it on the engine's threads)."""
    repository, tag = image_ref.rsplit(":", 1)
    # The image gets the base image's own command back (not the keep-alive loop), and our labels
    # are blanked, so a container someone runs from it by hand is not taken for an instance.
    changes = [f"ENTRYPOINT {json.dumps(base_config.get('Entrypoint') or [])}",
               f"CMD {json.dumps(base_config.get('Cmd') or [])}",
               *(f'LABEL {label}=""' for label in LABELS)]
    try:
        client.api.commit(container_id, repository=repository, tag=tag, changes=changes)
    except docker.errors.APIError:
        # Pausing needs the cgroup freezer, which some rootless setups lack; commit unpaused instead.
        client.api.commit(container_id, repository=repository, tag=tag, changes=changes, pause=False)


async def remove_saved_image(engine: ContainerEngine, client: Any, name: str, image: str) -> None:
    try:
        await engine.call(client.api.remove_image, image)
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as exc:
        raise InstanceError(409, "in_use", f"The image of saved template '{name}' is still used outside "
                                           f"In10nt: {str(exc.explanation or exc)[:300]}") from None
