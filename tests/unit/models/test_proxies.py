"""Which proxy a URL goes through: the variables' precedence and NO_PROXY matching, as data."""

from __future__ import annotations

import pytest

from pipfence.models.proxies import Proxies, bypasses_proxy

# (environment, url, expected variable or None for direct)
SELECTION = [
    ({}, "https://pypi.corp/simple/", None),
    ({"HTTPS_PROXY": "http://p:1"}, "https://pypi.corp/simple/", "HTTPS_PROXY"),
    ({"https_proxy": "http://a:1", "HTTPS_PROXY": "http://b:1"}, "https://h/", "https_proxy"),
    ({"HTTPS_PROXY": "http://p:1"}, "http://h/", None),
    ({"http_proxy": "http://a:1", "HTTP_PROXY": "http://b:1"}, "http://h/", "http_proxy"),
    ({"HTTP_PROXY": "http://b:1"}, "http://h/", "HTTP_PROXY"),
    ({"ALL_PROXY": "http://p:1"}, "https://h/", "ALL_PROXY"),
    ({"all_proxy": "http://a:1", "ALL_PROXY": "http://b:1"}, "http://h/", "all_proxy"),
    ({"HTTPS_PROXY": "http://a:1", "all_proxy": "http://b:1"}, "https://h/", "HTTPS_PROXY"),
    ({"https_proxy": "", "HTTPS_PROXY": "http://b:1"}, "https://h/", "HTTPS_PROXY"),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "h"}, "https://h/", None),
    ({"HTTPS_PROXY": "http://p:1", "no_proxy": "x", "NO_PROXY": "h"}, "https://h/", "HTTPS_PROXY"),
    ({"HTTPS_PROXY": "http://p:1"}, "file:///srv/simple", None),
]


@pytest.mark.parametrize(("environ", "url", "variable"), SELECTION)
def test_the_proxy_variable_chosen_for_a_url(
    environ: dict[str, str], url: str, variable: str | None
) -> None:
    proxy = Proxies.from_environ(environ).for_url(url)
    assert (proxy.variable if proxy else None) == variable
    if proxy is not None:
        assert proxy.url == environ[variable]  # type: ignore[index]


# (NO_PROXY entries, host, port, bypassed)
NO_PROXY = [
    ("*", "anything.example", 443, True),
    ("corp.example", "corp.example", 443, True),
    ("corp.example", "pypi.corp.example", 443, True),
    (".corp.example", "pypi.corp.example", 443, True),
    (".corp.example", "corp.example", 443, True),
    ("corp.example", "notcorp.example", 443, False),
    ("corp.example", "corp.example.evil", 443, False),
    ("CORP.Example.", "pypi.corp.example", 443, True),
    ("a.example, b.example", "b.example", 443, True),
    ("a.example b.example", "b.example", 443, True),
    ("127.0.0.1", "127.0.0.1", 8080, True),
    ("127.0.0.1", "127.0.0.2", 8080, False),
    ("10.0.0.0/8", "10.20.30.40", 443, True),
    ("10.0.0.0/8", "11.0.0.1", 443, False),
    ("10.0.0.0/8", "ten.example", 443, False),
    ("::1", "::1", 443, True),
    ("[::1]", "::1", 443, True),
    ("fd00::/8", "fd12::1", 443, True),
    ("pypi.corp:8443", "pypi.corp", 8443, True),
    ("pypi.corp:8443", "pypi.corp", 443, False),
    ("[::1]:8080", "::1", 8080, True),
    ("[::1]:8080", "::1", 9090, False),
    ("", "h", 443, False),
    ("*.corp", "pypi.corp", 443, False),
]


@pytest.mark.parametrize(("entries", "host", "port", "bypassed"), NO_PROXY)
def test_no_proxy_matching(entries: str, host: str, port: int, bypassed: bool) -> None:
    parsed = Proxies.from_environ({"NO_PROXY": entries}).no_proxy
    assert bypasses_proxy(host, port, parsed) is bypassed


def test_a_proxy_without_a_scheme_is_an_http_proxy_and_its_password_is_never_shown() -> None:
    proxies = Proxies.from_environ({"HTTPS_PROXY": "user:s3cret@proxy.corp:3128"})
    proxy = proxies.for_url("https://pypi.corp/simple/")
    assert proxy is not None
    assert proxy.url == "http://user:s3cret@proxy.corp:3128"
    assert proxy.label == "http://***@proxy.corp:3128 (from HTTPS_PROXY)"
    assert "s3cret" not in repr(proxy)
    assert "s3cret" not in repr(proxies)
    assert proxies.problems() == []


@pytest.mark.parametrize("value", ["ftp://proxy:21", "http://:3128", "http://proxy:notaport"])
def test_an_unusable_proxy_is_a_problem_naming_its_variable(value: str) -> None:
    problems = Proxies.from_environ({"https_proxy": value}).problems()
    assert len(problems) == 1
    assert problems[0].startswith("https_proxy is not a proxy URL")
