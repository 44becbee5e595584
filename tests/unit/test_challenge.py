"""``parse_challenges``: the WWW-Authenticate headers real registries send, and garbage."""

from __future__ import annotations

import random

import pytest

from in10nt_desktop.engine.registry import Challenge, parse_challenges


def test_docker_hub_bearer_with_commas_and_colons_in_scope() -> None:
    header = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
              'scope="repository:library/python:pull,push"')
    assert parse_challenges(header) == [Challenge("bearer", {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:library/python:pull,push",
    })]


def test_gcr_style_bearer_with_spaces_after_commas() -> None:
    header = 'Bearer realm="https://gcr.io/v2/token", service="gcr.io", scope="repository:p/i:pull"'
    [challenge] = parse_challenges(header)
    assert challenge.scheme == "bearer"
    assert challenge.params == {"realm": "https://gcr.io/v2/token", "service": "gcr.io",
                                "scope": "repository:p/i:pull"}


def test_bearer_with_error_param() -> None:
    header = ('Bearer realm="https://r/token",service="s",scope="repository:a/b:pull",'
              'error="insufficient_scope"')
    assert parse_challenges(header)[0].params["error"] == "insufficient_scope"


def test_basic_realm() -> None:
    assert parse_challenges('Basic realm="Registry Realm"') == [Challenge("basic", {"realm": "Registry Realm"})]


def test_scheme_and_keys_are_case_insensitive() -> None:
    [challenge] = parse_challenges('BEARER Realm="https://r/token", SERVICE="svc"')
    assert challenge == Challenge("bearer", {"realm": "https://r/token", "service": "svc"})


def test_scheme_without_params() -> None:
    assert parse_challenges("Basic") == [Challenge("basic", {})]


def test_multiple_challenges_in_one_header() -> None:
    header = 'Basic realm="basic realm", Bearer realm="https://r/token",service="reg",scope="repository:x:pull,push"'
    assert parse_challenges(header) == [
        Challenge("basic", {"realm": "basic realm"}),
        Challenge("bearer", {"realm": "https://r/token", "service": "reg", "scope": "repository:x:pull,push"}),
    ]


def test_multiple_challenges_bearer_first_and_bare_scheme() -> None:
    header = 'Bearer realm="https://r/token", Negotiate, Basic realm="b"'
    assert [c.scheme for c in parse_challenges(header)] == ["bearer", "negotiate", "basic"]
    assert parse_challenges(header)[2].params == {"realm": "b"}


def test_escaped_quotes_and_backslashes() -> None:
    [challenge] = parse_challenges(r'Basic realm="a \"quoted\" realm with \\ backslash", charset="UTF-8"')
    assert challenge.params == {"realm": 'a "quoted" realm with \\ backslash', "charset": "UTF-8"}


def test_unquoted_values() -> None:
    [challenge] = parse_challenges("Bearer realm=https://r.example/token,service=registry.example,scope=x")
    assert challenge.params == {"realm": "https://r.example/token", "service": "registry.example", "scope": "x"}


def test_unquoted_values_with_spaces_around_equals() -> None:
    [challenge] = parse_challenges("Basic realm = simple")
    assert challenge == Challenge("basic", {"realm": "simple"})


@pytest.mark.parametrize("header", ["", "   ", ",,,", " , Basic", "Basic\t,"])
def test_empty_and_separator_only(header: str) -> None:
    schemes = [c.scheme for c in parse_challenges(header)]
    assert schemes == (["basic"] if "Basic" in header else [])


@pytest.mark.parametrize("header", [
    '"', "=", "==,==", 'Bearer realm="unterminated', "Bearer realm=", 'Bearer ="x"', "Bearer realm=\\",
    'Bearer realm="x\\', "Bearer , , ,", "\x00\x01\x02", "Bearer realm=\"a\",\"junk\"", "()<>@",
    "Bearer realm=\"r\" service=\"s\"", "ünïcödé realm=\"x\"",
])
def test_garbage_never_raises(header: str) -> None:
    result = parse_challenges(header)
    assert isinstance(result, list)
    assert all(isinstance(c, Challenge) and c.scheme == c.scheme.lower() for c in result)


def test_unterminated_quote_keeps_what_was_read() -> None:
    [challenge] = parse_challenges('Bearer realm="https://r/token')
    assert challenge == Challenge("bearer", {"realm": "https://r/token"})


def test_random_headers_never_raise() -> None:
    rng = random.Random(7235)
    alphabet = 'aBz09 \t,="\\/:;.-_@!#()<>\x00é'
    for _ in range(3000):
        header = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        parse_challenges(header)  # must return, never raise or hang
