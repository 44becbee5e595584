"""Compact template rows, built straight from the server's JSON: every spelling the SDK accepts,
unknown fields kept, credentials never, odd values survived."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from in10nt_desktop.api import TemplateData
from in10nt_desktop.app.template_rows import TemplateRow, as_row

ENGINE = {"templateId": "tmpl_1", "name": "Web", "description": "d", "image": "Python:3.11-slim",
          "registryType": "private", "status": "building", "error": None, "createdAt": "2026-01-02T03:04:05.678Z",
          "updatedAt": "2026-01-02T03:04:06.000Z", "digest": "sha256:" + "a" * 64, "sizeBytes": 12,
          "platform": "linux/amd64", "layers": 2, "progress": {"current": 5, "total": 10}, "phase": "pulling",
          "queuePosition": None, "buildCount": 2, "needsCredentials": True, "registryUsername": "robot",
          "startedAt": "2026-01-02T03:04:05.900Z", "expectedSeconds": 12.5, "stalled": True,
          "stalledReason": "no data from registry.local for 30 s"}


def test_the_engines_shape_round_trips_and_searches_lower_case() -> None:
    row = TemplateRow.from_json(ENGINE)
    assert row.as_json() == {k: v for k, v in ENGINE.items() if v is not None}
    assert row.search_text == "web\npython:3.11-slim\ntmpl_1"
    assert row.progress == (5, 10) and row.fraction == 0.5 and row.building
    assert row.created_key == "2026-01-02T03:04:05.678Z"
    assert row.created_at == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert row.extra is None and not row.stale
    assert (row.build_count, row.needs_credentials, row.registry_username, row.expected_seconds, row.stalled) == \
        (2, True, "robot", 12.5, True)
    assert row.data is row and row.data.digest == row.digest  # code written for the SDK's model works as is
    assert row.model_dump(by_alias=False)["registry_username"] == "robot"


def test_other_spellings_unknown_fields_and_echoed_credentials() -> None:
    row = TemplateRow.from_json({"id": 7, "name": None, "registry_type": "gcr",
                                 "created_at": "2026-01-02T03:04:05+01:00", "size_bytes": 3,
                                 "registryAuth": {"password": "hunter2"}, "owner": "team-a"})
    assert row.template_id == "7" and row.name == "" and row.registry_type == "gcr" and row.size_bytes == 3
    assert row.created_key == "2026-01-02T02:04:05.000Z"  # rewritten into the engine's sortable form
    assert row.extra == {"owner": "team-a"}
    assert "hunter2" not in repr(row.as_json()) and "registryAuth" not in row.as_json()


@pytest.mark.parametrize("created", [None, "", "yesterday", 12])
def test_a_creation_time_that_is_not_one_sorts_first_and_shows_nothing(created: object) -> None:
    row = TemplateRow.from_json({"templateId": "t", "createdAt": created})
    assert row.created_key == "" and row.created_at is None


def test_an_object_without_an_id_is_refused() -> None:
    with pytest.raises(ValueError, match="without an ID"):
        TemplateRow.from_json({"name": "x"})


def test_the_sdk_model_and_the_row_agree() -> None:
    data = TemplateData.model_validate(ENGINE)
    row = as_row(data)
    assert (row.template_id, row.name, row.image, row.progress) == ("tmpl_1", "Web", "Python:3.11-slim", (5, 10))
    assert row.data.digest == data.digest  # the model on demand, for code that wants one
    engine = TemplateRow.from_json(ENGINE)
    assert engine.same_as(TemplateRow.from_json(dict(ENGINE)))
    assert not engine.same_as(TemplateRow.from_json({**ENGINE, "status": "ready"}))
    assert not engine.same_as(TemplateRow.from_json({**ENGINE, "phase": "finishing"}))
