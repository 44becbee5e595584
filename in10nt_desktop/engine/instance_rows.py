"""What a container's labels and state say about an instance, and the rules for request fields.

Kept apart from the runtime so the one place that turns the container engine's view (labels,
``State``, the ``Status`` text of a list) into the API's Instance row is small and easy to check.
"""

from __future__ import annotations

import re
from typing import Any

from in10nt_desktop.api.validation import (
    TASK,
    TEMPLATE_ID_PATTERN,
    FieldError,
    check_description,
    check_name,
    check_text,
)

L_ID, L_NAME, L_DESCRIPTION = "in10nt.instance-id", "in10nt.name", "in10nt.description"
L_TEMPLATE, L_SAVED = "in10nt.template-id", "in10nt.saved-template"
L_CREATED, L_DATA_DIR = "in10nt.created-at", "in10nt.engine-data-dir"
LABELS = (L_ID, L_NAME, L_DESCRIPTION, L_TEMPLATE, L_SAVED, L_CREATED, L_DATA_DIR)
# PID 1 of every instance: stays up whatever the image's own command does, ends on SIGTERM (PID 1
# ignores signals it has no handler for), and exits 127 at once rather than spin if sleep is missing.
KEEP_ALIVE = "command -v sleep >/dev/null || exit 127; trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"
NO_SHELL = ("The image has no /bin/sh (or no sleep): a local instance needs a shell to stay up and run its "
            "tasks; build the template from an image that has one.")
ID_RE = re.compile(r"^inst_[0-9a-f]{16}$")
_EXITED_RE = re.compile(r"Exited \((-?\d+)\)")


class InstanceError(Exception):
    """An answer for the user: HTTP status, code and a sentence (the app maps it to ``{"error": …}``)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None, *,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.retry_after = retry_after  # seconds, sent as Retry-After (a 429 or 503 the client may retry)


def slug(name: str) -> str:
    """A saved template's name as a repository path component (any printable name is allowed)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-") or "saved"


def status_of(state: str, exit_code: int | None, error: str) -> tuple[str, str | None]:
    """``(status, error)`` of the API from the container's state."""
    if state in ("running", "paused"):
        return "running", None
    if state in ("created", "configured", "initialized"):
        return "stopped", None
    if "/bin/sh" in error or exit_code == 127:
        return "failed", NO_SHELL
    if exit_code in (None, 0, 137, 143):  # stopped or killed from outside: a task starts it again
        return "stopped", None
    return "failed", f"The container stopped with exit code {exit_code}."


def row(labels: dict[str, str], status: str, error: str | None, image: str | None) -> dict[str, Any]:
    """The API's Instance. Empty labels mean "none": every label is always set (see the runtime)."""
    saved = labels.get(L_SAVED) or None
    return {"instanceId": labels[L_ID], "name": labels.get(L_NAME, ""),
            "description": labels.get(L_DESCRIPTION) or None,
            "containerTemplateId": None if saved else (labels.get(L_TEMPLATE) or None),
            "savedTemplateName": saved, "status": status, "error": error,
            "createdAt": labels.get(L_CREATED) or None, "image": image}


def from_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """From a container list entry, whose exit code only shows in its ``Status`` text."""
    match = _EXITED_RE.search(str(summary.get("Status") or ""))
    status, error = status_of(str(summary.get("State") or ""), int(match.group(1)) if match else None, "")
    return row(summary.get("Labels") or {}, status, error, summary.get("Image"))


def from_inspect(attrs: dict[str, Any]) -> dict[str, Any]:
    state = attrs.get("State") or {}
    status, error = status_of(str(state.get("Status") or ""), state.get("ExitCode"), str(state.get("Error") or ""))
    return row(attrs["Config"].get("Labels") or {}, status, error, attrs["Config"].get("Image"))


def _invalid(exc: FieldError, wire_field: str) -> InstanceError:
    return InstanceError(422, "invalid", exc.message, wire_field)


def checked_description(value: Any) -> str | None:
    """The template description rules (api/validation.py), for an instance."""
    try:
        return check_description(value)
    except FieldError as exc:
        raise _invalid(exc, "description") from None


def checked_template_id(value: Any) -> str:
    if not isinstance(value, str) or not re.search(TEMPLATE_ID_PATTERN, value):
        raise InstanceError(422, "invalid", "Give the ID of a ready template: tmpl_ and 16 hex digits "
                                            "(containerTemplateId).", "containerTemplateId")
    return value


def checked_task(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InstanceError(422, "invalid", "Give the task: a shell command to run in the instance (sh -c).", "task")
    try:
        return check_text(TASK, value, "task")
    except FieldError as exc:
        raise _invalid(exc, "task") from None


def checked_name(value: Any, wire_field: str) -> str:
    """The template name rules (api/validation.check_name), reported against ``wire_field``."""
    try:
        return check_name(value)
    except FieldError as exc:
        message = exc.message.replace("Give the template a name.", "Give it a name.")
        raise InstanceError(422, "invalid", message, wire_field) from None
