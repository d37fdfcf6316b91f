"""Sources and the fence: defaults, pins, names. URLs themselves are `test_urls.py`'s."""

from __future__ import annotations

import pytest

from pipfence.errors import UsageError
from pipfence.models.fence import Fence
from pipfence.models.names import NormalizedName
from pipfence.models.sources import PYPI_SIMPLE_URL, PYPI_SOURCE, Source, generated_source_name

PRIVATE = Source(name="private", url="https://${USER}:${TOKEN}@private.example/simple")


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


@pytest.mark.parametrize(
    ("value", "verified"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("True", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        (1, True),
        ("false", False),
        ("no", False),
        ("off", False),
        ("0", False),
        (0, False),
    ],
)
def test_verify_ssl_spellings_mean_what_they_say(value: object, verified: bool) -> None:
    source = Source.from_dict({"url": "https://idx.example/simple", "verify_ssl": value})
    assert source.verify_ssl is verified


@pytest.mark.parametrize("value", ["maybe", "", 2, 1.5, ["true"], {"a": 1}])
def test_verify_ssl_that_is_no_boolean_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="verify_ssl"):
        Source.from_dict({"url": "https://idx.example/simple", "verify_ssl": value})


def test_generated_names_are_deterministic() -> None:
    url = "https://download.pytorch.org/whl/cu113/"
    assert generated_source_name(url, ["pypi"]) == "downloadpytorch"
    clash = generated_source_name(url, ["pypi", "downloadpytorch"])
    assert clash.startswith("downloadpytorch-")
    assert clash == generated_source_name(url.rstrip("/"), ["pypi", "downloadpytorch"])
    assert generated_source_name("http://127.0.0.1:8080/simple", []) == "12700"


def test_find_by_url_ignores_trailing_slash() -> None:
    fence = Fence((PYPI_SOURCE,), {})
    assert fence.find_by_url(PYPI_SIMPLE_URL + "/") is PYPI_SOURCE
    assert fence.find_by_url("https://elsewhere.example/simple") is None


def test_find_by_url_prefers_the_source_spelled_exactly_so() -> None:
    plain = Source(name="pypi", url=PYPI_SIMPLE_URL)
    slashed = Source(name="mirror", url=PYPI_SIMPLE_URL + "/")
    fence = Fence((plain, slashed), {})
    assert fence.find_by_url(PYPI_SIMPLE_URL + "/") is slashed
    assert fence.find_by_url(PYPI_SIMPLE_URL) is plain
