"""The patterns the engine publishes accept exactly what its checks accept.

api/validation.py keeps each rule twice, as a check that says what is wrong and as a pattern for the
OpenAPI document; these properties hold them together. A pattern is applied as a JSON Schema validator
applies it (``re.search``), and data generated from it (as schemathesis generates) must pass the check.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from in10nt_desktop.api.validation import (
    DESCRIPTION,
    IDEMPOTENCY_KEY,
    MAX_IMAGE,
    NAME,
    PASSWORD,
    TASK,
    USERNAME,
    FieldError,
    TextRule,
    check_registry_fit,
    image_pattern,
    parse_image,
)
from in10nt_desktop.engine.hosts import is_loopback_host
from in10nt_desktop.engine.mirrors import endpoint_for

RULES = [NAME, DESCRIPTION, USERNAME, PASSWORD, TASK, IDEMPOTENCY_KEY]
TYPES = [None, "dockerhub", "gcr", "private"]
# Pieces that make up real and almost-real references, so that both sides of every rule get exercised.
PIECES = [*"abz09AZ._-/:@[]", "__", "--", "localhost", "docker.io", "gcr.io", "eu.gcr.io", "x-docker.pkg.dev",
          "index.docker.io", ":5000", ":65535", ":65536", ":99999", "sha256:" + "a" * 64, "@sha256:" + "0" * 64,
          "[::1]", "[fe80::1:2]", "[aD:A3]", "[1.2.3.4]", "Docker.IO", "x" * 120]


def accepted(image: str, registry_type: str | None) -> bool:
    try:
        ref = parse_image(image)
        if registry_type is not None:
            check_registry_fit(ref, registry_type)
    except FieldError:
        return False
    return True


def matches(pattern: str, text: str, max_length: int) -> bool:
    return len(text) <= max_length and re.search(pattern, text) is not None


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=10).map("".join), st.sampled_from(TYPES))
def test_an_image_matches_its_pattern_exactly_when_the_rules_accept_it(image: str, registry_type: str | None) -> None:
    assert matches(image_pattern(registry_type), image, MAX_IMAGE) == accepted(image, registry_type)


@pytest.mark.parametrize("registry_type", TYPES)
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_images_generated_from_a_pattern_are_accepted(registry_type: str | None, data: st.DataObject) -> None:
    image = data.draw(st.from_regex(image_pattern(registry_type)).filter(lambda s: len(s) <= MAX_IMAGE))
    assert accepted(image, registry_type), image
    # And the engine can address its registry: an accepted host or port never crashes a build.
    endpoint = endpoint_for(parse_image(image).registry, {})
    url = httpx.URL(f"{endpoint.base_url}/v2/")
    assert url.port is None or 0 <= url.port <= 65535
    assert is_loopback_host(endpoint.host) in (True, False)


@pytest.mark.parametrize("length", [254, 255, 256, 300])
def test_the_length_limit_is_the_schema_s_max_length(length: int) -> None:
    for image in (f"registry.example.com/{'a' * (length - 24)}:v1", f"{'a' * (length - 72)}@sha256:{'0' * 64}"):
        for registry_type in (None, "private", "dockerhub"):
            assert len(image) == length
            assert matches(image_pattern(registry_type), image, MAX_IMAGE) == accepted(image, registry_type)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.what)
@settings(max_examples=400, deadline=None)
@given(text=st.text(st.characters(exclude_categories=()), max_size=40) | st.text(" \t\n\x00\xa0a:~", max_size=8))
def test_a_text_rule_and_its_pattern_agree(rule: TextRule, text: str) -> None:
    assert (rule.problem(text) is None) == (rule.min_length <= len(text) and matches(rule.pattern, text,
                                                                                      rule.max_length))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.what)
def test_text_rules_at_their_lengths(rule: TextRule) -> None:
    assert rule.problem("a" * rule.max_length) is None
    assert rule.problem("a" * (rule.max_length + 1)) is not None
    if rule.min_length:
        assert rule.problem("") is not None


def test_every_route_is_described_by_the_document(tmp_path: Path) -> None:
    """A new route must say what it enforces (engine/openapi.py OPERATIONS), or the contract run cannot hold it."""
    from in10nt_desktop.engine.app import EngineConfig, create_app
    from in10nt_desktop.engine.openapi import OPERATIONS

    document = create_app(EngineConfig(data_dir=tmp_path, token="t")).openapi()
    routes = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert routes == set(OPERATIONS)
    for (method, path), operation in ((k, document["paths"][k[1]][k[0]]) for k in OPERATIONS):
        assert {"401", "403", "503"} <= set(operation["responses"]), (method, path)
        if "requestBody" in operation:
            assert {"400", "408", "413", "422"} <= set(operation["responses"]), (method, path)
