"""Sources and the fence: defaults, pins, expansion at request time, redaction, names."""

from __future__ import annotations

import pytest

from pipfence.errors import UsageError
from pipfence.models.fence import Fence
from pipfence.models.names import NormalizedName
from pipfence.models.sources import (
    PYPI_SIMPLE_URL,
    PYPI_SOURCE,
    Source,
    expand_env,
    generated_source_name,
    redact_url,
    request_url,
    same_url,
)

PRIVATE = Source(name="private", url="https://${USER}:${TOKEN}@private.example/simple")
MIRROR = "https://mirror.example/simple"


def test_source_defaults_follow_pipenv() -> None:
    source = Source.from_dict({"url": "https://idx.example.com/simple"})
    assert source.name == "idx.example.com"
    assert source.verify_ssl is True
    plain = Source.from_dict({"url": "http://idx.example.com/simple", "verify_ssl": "false"})
    assert plain.verify_ssl is False
    with pytest.raises(ValueError, match="url"):
        Source.from_dict({"name": "x"})


def test_fence_routes_pinned_and_unpinned_names() -> None:
    fence = Fence((PYPI_SOURCE, PRIVATE), {NormalizedName("internal"): "private"})
    assert fence.default is PYPI_SOURCE
    assert fence.source_for(NormalizedName("internal")) is PRIVATE
    assert fence.source_for(NormalizedName("requests")) is PYPI_SOURCE


def test_unknown_index_lists_valid_names() -> None:
    fence = Fence((PYPI_SOURCE, PRIVATE), {NormalizedName("x"): "privte"})
    with pytest.raises(UsageError, match=r"`privte`.*`pypi`, `private`"):
        fence.source_for(NormalizedName("x"))


def test_expansion_happens_only_in_request_url() -> None:
    environ = {"USER": "alice", "TOKEN": "t0k3n"}
    url = request_url(PRIVATE, environ, pypi_mirror=None)
    assert url == "https://alice:t0k3n@private.example/simple"
    assert "${TOKEN}" in PRIVATE.url
    assert expand_env("https://$USER@h/simple", environ) == "https://alice@h/simple"


def test_missing_variable_names_it_without_values() -> None:
    with pytest.raises(UsageError) as info:
        request_url(PRIVATE, {"USER": "alice"}, pypi_mirror=None)
    assert "`TOKEN`" in str(info.value)
    assert "private" in str(info.value)
    assert "alice" not in str(info.value)


def test_mirror_replaces_pypi_only_at_request_time() -> None:
    assert request_url(PYPI_SOURCE, {}, pypi_mirror=MIRROR) == MIRROR
    with_slash = Source(name="pypi", url=PYPI_SIMPLE_URL + "/")
    assert request_url(with_slash, {}, pypi_mirror=MIRROR) == MIRROR
    other = Source(name="corp", url="https://corp.example/simple")
    assert request_url(other, {}, pypi_mirror=MIRROR) == other.url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:t0k3n@h.example/simple", "https://***@h.example/simple"),
        ("https://t0k3n@h.example:8443/simple", "https://***@h.example:8443/simple"),
        ("https://h.example/simple", "https://h.example/simple"),
        ("https://${U}:${T}@h.example/simple", "https://***@h.example/simple"),
    ],
)
def test_redaction(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_generated_names_are_deterministic() -> None:
    url = "https://download.pytorch.org/whl/cu113/"
    assert generated_source_name(url, ["pypi"]) == "downloadpytorch"
    clash = generated_source_name(url, ["pypi", "downloadpytorch"])
    assert clash.startswith("downloadpytorch-")
    assert clash == generated_source_name(url.rstrip("/"), ["pypi", "downloadpytorch"])
    assert generated_source_name("http://127.0.0.1:8080/simple", []) == "12700"


def test_same_url_ignores_trailing_slash_and_host_case() -> None:
    assert same_url("https://Idx.Example/simple/", "https://idx.example/simple")
    assert not same_url("https://idx.example/simple", "https://idx.example/other")
    fence = Fence((PYPI_SOURCE,), {})
    assert fence.find_by_url(PYPI_SIMPLE_URL + "/") is PYPI_SOURCE
    assert fence.find_by_url("https://elsewhere.example/simple") is None
