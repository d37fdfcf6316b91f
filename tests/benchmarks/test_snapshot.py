"""The benchmark snapshot server's pure rules: content negotiation, byte ranges, and pointing a
Pipfile at the snapshot (bench/snapshot_store.py, bench/snapshot.py)."""

from __future__ import annotations

import pytest
from bench import snapshot, snapshot_store

JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        # what the three clients send: JSON preferred
        (f"{JSON}, {HTML};q=0.2, text/html;q=0.01", JSON),
        (f"{JSON}, {HTML}; q=0.1, text/html; q=0.01", JSON),
        # no header, or only wildcards: plain HTML, as the public index answers
        (None, "text/html"),
        ("", "text/html"),
        ("*/*", "text/html"),
        ("application/*", JSON),
        # the qualities decide, whatever the order
        (f"text/html;q=0.5, {JSON};q=0.4", "text/html"),
        (f"{HTML}, {JSON};q=0.9", HTML),
        # named outright at the same quality: JSON first, then the versioned HTML
        (f"text/html, {HTML}", HTML),
        (f"{HTML}, {JSON}", JSON),
        # the `latest` aliases of PEP 691
        ("application/vnd.pypi.simple.latest+json", JSON),
        ("application/vnd.pypi.simple.latest+html", HTML),
        # a more specific range overrides a wildcard's quality
        (f"*/*;q=0.9, {JSON};q=0", "text/html"),
        # nothing acceptable: None (406)
        ("application/xml", None),
        (f"{JSON};q=0, text/html;q=0", None),
        ("text/html;q=bogus", None),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert snapshot_store.negotiate(accept) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=10-", (10, 100)),
        ("bytes=-30", (70, 100)),
        ("bytes=-300", (0, 100)),  # a suffix longer than the file: the whole file, as a span
        ("bytes=90-200", (90, 100)),  # the end is clipped to the file
        ("bytes = 5 - 6", (5, 7)),
        ("bytes=100-", "unsatisfiable"),
        ("bytes=-0", "unsatisfiable"),
        ("bytes=9-3", None),  # invalid: ignored, the whole file
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-9", None),
        ("bytes=a-b", None),
        ("bytes=5", None),
    ],
)
def test_parse_range(header: str | None, expected: object) -> None:
    assert snapshot_store.parse_range(header, 100) == expected


def test_normalize() -> None:
    assert snapshot_store.normalize("Foo.Bar__baz") == "foo-bar-baz"


def test_with_source_adds_a_source_when_the_pipfile_has_none() -> None:
    text = '[packages]\nrequests = "*"\n'
    out = snapshot.with_source(text, "http://127.0.0.1:8000/simple")
    assert out.startswith('[[source]]\nname = "snapshot"\nurl = "http://127.0.0.1:8000/simple"\n')
    assert out.endswith(text)


def test_with_source_repoints_every_source_and_nothing_else() -> None:
    text = (
        "[[source]]\n"
        'url = "https://pypi.org/simple"  # the default\n'
        "verify_ssl = true\n"
        'name = "pypi"\n\n'
        "[[source]]\n"
        "name = 'mirror'\n"
        "url = 'https://mirror.example/simple'\n\n"
        "[packages]\n"
        'url = "*"\n'
    )
    out = snapshot.with_source(text, "http://127.0.0.1:1/simple")
    assert out.count('url = "http://127.0.0.1:1/simple"') == 2
    assert 'url = "http://127.0.0.1:1/simple"  # the default\n' in out
    assert out.endswith('[packages]\nurl = "*"\n')  # a package named `url` is left alone
    assert "pypi.org" not in out
    assert "mirror.example" not in out
