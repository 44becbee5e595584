"""The engine's OpenAPI document: exactly what the routes enforce, built from the rules in api/validation.py.

FastAPI writes the paths, summaries and descriptions; this module replaces each operation's parameters,
request body and responses with what the engine really does, so a request the document allows is never
refused with a 422, and every status an operation can answer is listed with the error shape. The test
suite holds the two together with a schemathesis run against the real engine (tests/engine).
"""

from __future__ import annotations

from typing import Any

from in10nt_desktop.api.models import REGISTRY_TYPES
from in10nt_desktop.api.registry import CHECK_TIMEOUT, MAX_CHECK_TIMEOUT, MIN_CHECK_TIMEOUT
from in10nt_desktop.api.validation import (
    DESCRIPTION,
    IDEMPOTENCY_KEY,
    INSTANCE_ID_PATTERN,
    MAX_IMAGE,
    NAME,
    PASSWORD,
    TASK,
    TEMPLATE_ID_PATTERN,
    USERNAME,
    image_pattern,
)
from in10nt_desktop.engine.events import EVENT_TYPES
from in10nt_desktop.engine.limits import MAX_BODY
from in10nt_desktop.engine.task_runs import MAX_TIMEOUT

MAX_LOG_AFTER = 1_000_000_000  # a log line number; far more lines than any build writes
MAX_PAGE = 5000  # templates in one page of GET /container-templates
MAX_CURSOR = 200  # characters of its `after` cursor


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema.get("type", "string"), "null"]}


_STRING, _INT = {"type": "string"}, {"type": "integer", "minimum": 0}
_TIME = {"type": "string", "format": "date-time"}
# A running build's phase and place in the queue (engine/builds.py), present only while it builds.
_LIVE = {"phase": {"enum": ["queued", "resolving", "pulling", "finishing"]}, "queuePosition": _nullable(_INT)}
_SECONDS = _nullable({"type": "number", "minimum": 0})
# What build records add to a template (engine/build_records.py): kept, and while building (engine/builds.py).
_BUILDS = {"buildCount": _INT, "needsCredentials": {"type": "boolean"}, "registryUsername": _nullable(_STRING),
           "startedAt": _nullable(_TIME), "expectedSeconds": _SECONDS,
           "stalled": {"type": "boolean"}, "stalledReason": _STRING}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": {**_STRING, "description": "stable, for programs (not_found, invalid, name_taken, …)"},
            "message": {**_STRING, "description": "a sentence for people"},
            "field": {**_STRING, "description": "the request field at fault (camelCase, dotted)"}}}}},
    "Template": {"type": "object", "required": ["templateId", "name", "description", "image", "registryType",
                                                "status", "error", "createdAt", "updatedAt"], "properties": {
        "templateId": _STRING, "name": _STRING, "description": _nullable(_STRING), "image": _STRING,
        "registryType": _STRING, "status": {"enum": ["building", "ready", "failed"]}, "error": _nullable(_STRING),
        "createdAt": _TIME, "updatedAt": _TIME, "digest": _STRING, "sizeBytes": _INT, "platform": _STRING,
        "layers": _INT, "progress": _ref("Progress"), **_LIVE, **_BUILDS}},
    "BuildRecord": {"type": "object", "required": [
        "buildId", "number", "trigger", "queuedAt", "startedAt", "finishedAt", "result", "error", "digest", "sizeBytes",
        "phases", "layers", "logFrom", "logTo"], "properties": {
        "buildId": _STRING, "number": _INT, "trigger": {"enum": ["create", "rebuild", "restart"]},
        "queuedAt": _TIME, "startedAt": _nullable(_TIME), "finishedAt": _nullable(_TIME),
        "result": {"enum": ["building", "ready", "failed"]}, "error": _nullable(_STRING), "digest": _nullable(_STRING),
        "sizeBytes": _nullable(_INT), "logFrom": _INT, "logTo": _nullable(_INT),
        "phases": {"type": "array", "items": {"type": "object", "required": ["name", "startedAt", "endedAt", "seconds"],
                                              "properties": {"name": _LIVE["phase"], "startedAt": _TIME,
                                                             "endedAt": _nullable(_TIME), "seconds": _SECONDS}}},
        "layers": {"type": "array", "items": {"type": "object", "required": [
            "digest", "sizeBytes", "bytesDone", "state", "seconds"], "properties": {
            "digest": _STRING, "sizeBytes": _nullable(_INT), "bytesDone": _INT, "seconds": _SECONDS,
            "state": {"enum": ["waiting", "pulling", "done", "already present"]}}}}}},
    "Builds": {"type": "object", "required": ["templateId", "builds"], "properties": {
        "templateId": _STRING, "builds": {"type": "array", "items": _ref("BuildRecord")}}},
    "Progress": {"type": "object", "required": ["current", "total"],
                 "properties": {"current": _INT, "total": _nullable(_INT)}},
    "Status": {"type": "object", "required": ["templateId", "status", "error", "updatedAt"], "properties": {
        "templateId": _STRING, "status": {"enum": ["building", "ready", "failed"]}, "error": _nullable(_STRING),
        "updatedAt": _TIME, "progress": _ref("Progress"), **_LIVE}},
    "BuildLog": {"type": "object", "required": ["templateId", "status", "lines", "next"], "properties": {
        "templateId": _STRING, "status": _STRING, "next": _INT, "lines": {"type": "array", "items": {
            "type": "object", "required": ["n", "text", "at"],
            "properties": {"n": _INT, "text": _STRING, "at": _nullable(_TIME)}}}}},
    "Health": {"type": "object", "required": ["status", "version", "activeBuilds"], "properties": {
        "status": {"const": "ok"}, "version": _STRING, "activeBuilds": _INT, "containerEngine": _nullable(_STRING),
        "eventClients": _INT, "exitWhenIdle": {"type": "boolean"}}},
    "SavedTemplate": {"type": "object", "required": ["name", "createdAt", "image"], "properties": {
        "name": _STRING, "sizeBytes": _nullable(_INT), "createdAt": _TIME, "sourceInstanceId": _nullable(_STRING),
        "containerTemplateId": _nullable(_STRING), "image": _STRING}},
    "Instance": {"type": "object", "required": ["instanceId", "name", "status"], "properties": {
        "instanceId": _STRING, "name": _STRING, "description": _nullable(_STRING),
        "containerTemplateId": _nullable(_STRING), "savedTemplateName": _nullable(_STRING),
        "status": {"enum": ["creating", "running", "stopped", "failed"]}, "error": _nullable(_STRING),
        "createdAt": _nullable(_TIME), "image": _nullable(_STRING)}},
    # One event of GET /events (OpenAPI 3.1 reads a stream's schema as one event's; the table of what each
    # event's data holds is in the operation's description, engine/event_routes.py).
    "Event": {"type": "object", "required": ["id", "event", "data"], "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+(?![\\s\\S])"},
        "event": {"enum": list(EVENT_TYPES)},
        "data": {"type": "string", "contentMediaType": "application/json",
                 "contentSchema": {"type": "object"}}}},
    # POST /registry/check and POST /container-templates/{id}/drift (engine/preflight.py): a registry's
    # refusal is an answer with `error`, not an error status.
    "RegistryCheck": {"type": "object", "required": ["ok", "image", "registryType", "registry", "digest", "platform",
                                                     "platforms", "sizeBytes", "layers", "needsCredentials",
                                                     "elapsedMs", "error"], "properties": {
        "ok": {"type": "boolean"}, "image": _STRING, "registryType": {"enum": list(REGISTRY_TYPES)},
        "registry": {**_STRING, "description": "as people name it: Docker Hub, registry.example.com:5000"},
        "digest": _nullable(_STRING), "platform": _nullable(_STRING),
        "platforms": {"type": "array", "items": _STRING}, "sizeBytes": _nullable(_INT), "layers": _nullable(_INT),
        "needsCredentials": {"type": "boolean"}, "elapsedMs": _INT, "error": _ref("CheckProblem")}},
    "Drift": {"type": "object", "required": ["templateId", "image", "drifted", "builtDigest", "currentDigest",
                                             "checkedAt", "error"], "properties": {
        "templateId": _STRING, "image": _STRING, "drifted": {"type": ["boolean", "null"]}, "builtDigest": _STRING,
        "currentDigest": _nullable(_STRING), "checkedAt": _TIME, "error": _ref("CheckProblem")}},
    "CheckProblem": {"type": ["object", "null"], "required": ["code", "message", "field"], "properties": {
        "code": {**_STRING, "description": "credentials_required, credentials_rejected, credentials_invalid, "
                                           "tag_not_found, repository_not_found, platform_missing, not_found, "
                                           "unreachable, tls, timeout, rate_limited, protocol"},
        "message": _STRING, "field": _nullable(_STRING)}},
    "RunResult": {"type": "object", "required": ["exitCode", "output", "startedAt", "finishedAt", "timedOut",
                                                 "outputTruncated", "outputBytes"], "properties": {
        "exitCode": _nullable({"type": "integer"}), "output": _STRING, "startedAt": _TIME, "finishedAt": _TIME,
        "timedOut": {"type": "boolean"}, "outputTruncated": {"type": "boolean"}, "outputBytes": _INT}},
}


# -- request bodies ---------------------------------------------------------------------------------------

def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_AUTH = {**_object({"username": USERNAME.schema(), "password": {**PASSWORD.schema(), "format": "password"}},
                   ["username", "password"]), "type": ["object", "null"],
         "description": "Registry credentials, kept in memory for the build only. For gcr, the username "
                        "`_json_key` takes a service-account key file's contents and `_json_key_base64` its "
                        "base64; a password that is not one fails the build (its contents are checked there)."}


def _template_create() -> dict[str, Any]:
    common = {"name": NAME.schema(), "description": _nullable(DESCRIPTION.schema()), "registryAuth": _AUTH}
    # One branch per registry type: the image's registry host must fit the type (api/validation.py).
    return {"oneOf": [_object({**common, "registryType": {"const": kind}, "image": {
        "type": "string", "minLength": 1, "maxLength": MAX_IMAGE, "pattern": image_pattern(kind),
        "example": {"dockerhub": "python:3.11-slim", "gcr": "gcr.io/my-project/app:1",
                    "private": "registry.example.com/team/app:1"}[kind]}},
        ["name", "image", "registryType"]) for kind in REGISTRY_TYPES]}


_CHECK_TIMEOUT = {"type": "number", "minimum": MIN_CHECK_TIMEOUT, "maximum": MAX_CHECK_TIMEOUT,
                  "default": CHECK_TIMEOUT, "description": "seconds the whole check may take"}


def _check_request() -> dict[str, Any]:
    """A create body without the name: the image must fit the registry type, as in a create."""
    return {"oneOf": [_object({"registryType": {"const": kind}, "registryAuth": _AUTH,
                               "timeoutSeconds": _CHECK_TIMEOUT,
                               "image": {"type": "string", "minLength": 1, "maxLength": MAX_IMAGE,
                                         "pattern": image_pattern(kind)}}, ["image", "registryType"])
                      for kind in REGISTRY_TYPES]}


_TEMPLATE_ID = {"type": "string", "pattern": TEMPLATE_ID_PATTERN}
BODIES: dict[str, dict[str, Any]] = {
    "registry_check": _check_request(),
    "drift": _object({"registryAuth": _AUTH, "timeoutSeconds": _CHECK_TIMEOUT}, []),
    "template": _template_create(),
    "instance": _object({"name": NAME.schema(), "description": _nullable(DESCRIPTION.schema()),
                         "containerTemplateId": _TEMPLATE_ID}, ["name", "containerTemplateId"]),
    "clone": _object({"templateName": NAME.schema(), "newInstanceName": NAME.schema()},
                     ["templateName", "newInstanceName"]),
    "run": _object({"task": TASK.schema(), "timeout": {
        "type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT, "default": 600,
        "description": "seconds; the task is killed when they run out"}}, ["task"]),
    "snapshot": _object({"templateName": NAME.schema()}, ["templateName"]),
    "exit_when_idle": _object({"enabled": {"type": "boolean"}}, ["enabled"]),
    # Optional: a rebuild needs credentials again only when the last build had them (422 credentials_required).
    "rebuild": _object({"registryAuth": _AUTH}, []),
}

# -- parameters -------------------------------------------------------------------------------------------

_KEY = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": IDEMPOTENCY_KEY.schema(),
        "description": "Same key, same result: a retried POST never acts twice. The same key with another body "
                       "is refused (409, idempotency_key_reused)."}
PARAMETERS = {
    "template_id": {"name": "template_id", "in": "path", "required": True, "schema": _TEMPLATE_ID},
    "instance_id": {"name": "instance_id", "in": "path", "required": True,
                    "schema": {"type": "string", "pattern": INSTANCE_ID_PATTERN}},
    "name": {"name": "name", "in": "path", "required": True, "schema": NAME.schema()},
    "after": {"name": "after", "in": "query", "required": False,
              "schema": {"type": "integer", "minimum": 0, "maximum": MAX_LOG_AFTER, "default": 0}},
    # Paging of GET /container-templates (ours, not in the In10nt contract): a server that ignores
    # the parameters answers the whole list, which a client must accept as well.
    "limit": {"name": "limit", "in": "query", "required": False,
              "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
              "description": "At most this many templates; the `Link: <…>; rel=\"next\"` header gives the next page."},
    "cursor": {"name": "after", "in": "query", "required": False,  # createdAt~templateId, as app._page_request reads it
               "schema": {"type": "string", "pattern": "^[^~]+~.+$", "maxLength": MAX_CURSOR},
               "description": "The cursor of the next page, as the previous page's `Link` header gave it."},
    "order": {"name": "order", "in": "query", "required": False, "schema": {"type": "string", "enum": ["asc", "desc"]},
              "description": "Oldest first (`asc`, the default, as the unpaged list) or newest first (`desc`)."},
    "If-None-Match": {"name": "If-None-Match", "in": "header", "required": False, "schema": _STRING,
                      "description": "The `ETag` of an earlier answer: 304 with no body while no template changed."},
    # Any text is taken: one this engine did not hand out (or too old) starts the stream with `reset`.
    # The bound is the request head's (16 KiB, engine/limits.py).
    "lastEventId": {"name": "lastEventId", "in": "query", "required": False, "schema": _STRING,
                    "description": "Resume after this event id (for clients that cannot set Last-Event-ID)"},
    "Last-Event-ID": {"name": "Last-Event-ID", "in": "header", "required": False, "schema": _STRING,
                      "description": "Resume after this event id; one the buffer no longer holds gets `reset` "
                                     "first"},
}

# -- responses --------------------------------------------------------------------------------------------

_WHY = {
    400: "The body is not JSON (invalid_json)",
    401: "Missing or wrong API token (unauthorized)",
    403: "The request was not addressed to 127.0.0.1 or localhost (forbidden_host)",
    404: "No such template, instance or saved template (not_found; gone when removed outside In10nt)",
    408: f"The body took longer than {30} s to arrive (body_too_slow)",
    409: "The request clashes with the current state: name taken, template not ready, a rebuild of a build still "
         "running and not stalled (build_running), instance still being created, image in use or missing, "
         "Idempotency-Key already used for another body (idempotency_key_reused)",
    413: f"The body is larger than {MAX_BODY // 1024 // 1024} MiB (body_too_large); the connection is closed",
    422: "A field broke a rule; `error.field` names it (invalid). A rebuild whose template's last build had "
         "credentials and that sends none: credentials_required (field registryAuth)",
    429: "Every task slot and the queue are taken (tasks_busy); retry after `Retry-After` seconds",
    500: "The container engine refused (container_engine_error)",
    503: "No container engine answers (no_container_engine), or the engine is at its connection limit "
         "(plain text from the HTTP server)",
}


def _error(status: int) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": _ref("Error")}}
    if status == 503:
        content["text/plain"] = {"schema": _STRING}
    out: dict[str, Any] = {"description": _WHY[status], "content": content}
    if status == 429:
        out["headers"] = {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1}}}
    return out


def _ok(schema: dict[str, Any] | None, media_type: str = "application/json") -> dict[str, Any]:
    if schema is None:
        return {"description": "OK"}
    return {"description": "OK", "content": {media_type: {"schema": schema}}}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


REBUILD_DESCRIPTION = (
    "Starts a new build of the template in place: same id, build count one up, a new record in its history. "
    "A template still building is refused (409 build_running) unless its build is flagged `stalled` (its "
    "registry sent nothing for the engine's --stall-seconds): that build is cancelled first, its record ends "
    "`failed` with an error such as \"Stopped to rebuild: no data from registry HOST for N s.\", and the new "
    "build starts at once. A template whose last build had credentials needs them again in registryAuth "
    "(422 credentials_required), checked before a stalled build is stopped.")

_BODY_ERRORS = (400, 408, 413, 422)
_ENGINE_ERRORS = (500, 503)
# (method, path): (success status, success schema, parameters, body, more error statuses)
OPERATIONS: dict[tuple[str, str], tuple[int, dict[str, Any] | None, list[str], str | None, tuple[int, ...]]] = {
    ("get", "/healthz"): (200, _ref("Health"), [], None, ()),
    ("post", "/container-templates"): (201, _ref("Template"), ["key"], "template", (*_BODY_ERRORS, 409)),
    ("get", "/container-templates"): (200, _list("Template"), ["limit", "cursor", "order", "If-None-Match"], None,
                                      (422,)),
    ("get", "/container-templates/{template_id}"): (200, _ref("Template"), ["template_id"], None, (404,)),
    ("delete", "/container-templates/{template_id}"): (204, None, ["template_id"], None, (404,)),
    ("get", "/container-templates/{template_id}/status"): (200, _ref("Status"), ["template_id"], None, (404,)),
    ("get", "/container-templates/{template_id}/logs"): (200, _ref("BuildLog"), ["template_id", "after"], None,
                                                         (404, 422)),
    ("get", "/container-templates/{template_id}/builds"): (200, _ref("Builds"), ["template_id"], None, (404,)),
    ("post", "/container-templates/{template_id}/rebuild"): (202, _ref("Template"), ["template_id", "key"], "rebuild",
                                                             (*_BODY_ERRORS, 404, 409)),
    ("get", "/saved-templates"): (200, _list("SavedTemplate"), [], None, ()),
    ("delete", "/saved-templates/{name}"): (204, None, ["name"], None, (404, 409, *_ENGINE_ERRORS)),
    ("get", "/instances"): (200, _list("Instance"), [], None, _ENGINE_ERRORS),
    ("post", "/instances"): (201, _ref("Instance"), ["key"], "instance", (*_BODY_ERRORS, 404, 409, *_ENGINE_ERRORS)),
    ("post", "/instances/from-saved-template"): (201, _ref("Instance"), ["key"], "clone",
                                                 (*_BODY_ERRORS, 404, 409, *_ENGINE_ERRORS)),
    ("get", "/instances/{instance_id}"): (200, _ref("Instance"), ["instance_id"], None, (404, 409, *_ENGINE_ERRORS)),
    ("delete", "/instances/{instance_id}"): (204, None, ["instance_id"], None, (404, 409, *_ENGINE_ERRORS)),
    ("post", "/instances/{instance_id}/run"): (200, _ref("RunResult"), ["instance_id"], "run",
                                               (*_BODY_ERRORS, 404, 409, 429, *_ENGINE_ERRORS)),
    ("post", "/instances/{instance_id}/snapshot"): (201, _ref("SavedTemplate"), ["instance_id", "key"], "snapshot",
                                                    (*_BODY_ERRORS, 404, 409, *_ENGINE_ERRORS)),
    ("get", "/events"): (200, _ref("Event"), ["lastEventId", "Last-Event-ID"], None, ()),
    ("post", "/engine/exit-when-idle"): (200, _object({"exitWhenIdle": {"type": "boolean"}}, ["exitWhenIdle"]),
                                         [], "exit_when_idle", _BODY_ERRORS),
    ("post", "/engine/shutdown"): (202, _object({"stopping": {"const": True}}, ["stopping"]), [], None, ()),
    ("post", "/registry/check"): (200, _ref("RegistryCheck"), [], "registry_check", _BODY_ERRORS),
    ("post", "/container-templates/{template_id}/drift"): (200, _ref("Drift"), ["template_id"], "drift",
                                                           (*_BODY_ERRORS, 404, 409)),
}
# Bodies that may be left out (the operation then takes its defaults).
OPTIONAL_BODIES = frozenset({("post", "/container-templates/{template_id}/drift"),
                             ("post", "/container-templates/{template_id}/rebuild")})
# Answers that are not JSON: the event stream (engine/event_routes.py describes its events).
MEDIA_TYPES = {("get", "/events"): "text/event-stream"}
# Answers that are also a stream when the request's Accept asks for one (engine/task_stream.py).
ALSO_STREAMED = {("post", "/instances/{instance_id}/run"): {
    "schema": {"type": "string"},
    "example": 'event: output\ndata: {"text":"1\\n"}\n\nevent: output\ndata: {"text":"2\\n3\\n"}\n\n'
               'event: result\ndata: {"exitCode":0,"output":"1\\n2\\n3\\n","startedAt":"2026-01-01T00:00:00Z",'
               '"finishedAt":"2026-01-01T00:00:01Z","timedOut":false,"outputTruncated":false,"outputBytes":6}\n\n'}}
_EVERY_OPERATION = (401, 403, 503)  # the guard, and the HTTP server's connection limit
# The list's validator and paging (ours): its answer's headers, and 304 while nothing changed.
_LIST = ("get", "/container-templates")
_LIST_HEADERS = {
    "ETag": {"description": "Changes whenever any template does; send it back as If-None-Match.",
             "schema": _STRING},
    "Link": {"description": "`<…?limit=&after=&order=>; rel=\"next\"` while more pages follow (paged requests only).",
             "schema": _STRING},
}
_NOT_MODIFIED = {"description": "Not Modified: no template changed since the If-None-Match ETag (no body).",
                 "headers": {"ETag": _LIST_HEADERS["ETag"]}}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's document with every known operation described exactly (others keep FastAPI's description)."""
    document.setdefault("components", {})["schemas"] = dict(SCHEMAS)
    document["components"]["securitySchemes"] = {"bearer": {
        "type": "http", "scheme": "bearer", "description": "The token in the engine's engine.json"}}
    document["security"] = [{"bearer": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            spec = OPERATIONS.get((method, path))
            if spec is None:
                continue
            status, schema, parameters, body, errors = spec
            operation["parameters"] = [_KEY if p == "key" else PARAMETERS[p] for p in parameters]
            media_type = MEDIA_TYPES.get((method, path), "application/json")
            operation.pop("requestBody", None)
            if body is not None:
                operation["requestBody"] = {"required": (method, path) not in OPTIONAL_BODIES,
                                            "content": {"application/json": {"schema": BODIES[body]}}}
            responses = {str(status): _ok(schema, media_type)}
            if (method, path) == _LIST:
                responses[str(status)]["headers"] = _LIST_HEADERS
                responses["304"] = _NOT_MODIFIED
            if (method, path) in ALSO_STREAMED:
                responses[str(status)]["content"]["text/event-stream"] = ALSO_STREAMED[(method, path)]
            for code in sorted({*errors, *_EVERY_OPERATION}):
                responses[str(code)] = _error(code)
            operation["responses"] = responses
    return document
