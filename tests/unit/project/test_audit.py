"""`pipfence check`'s service settings: the OSV URL, its credentials, and what pip-audit gets."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from pipfence.errors import UsageError
from pipfence.project.adapters.audit import osv_query_url, vulnerability_service


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://osv.example", "https://osv.example/v1/query"),
        ("https://osv.example/", "https://osv.example/v1/query"),
        ("https://osv.example/mirror/osv/", "https://osv.example/mirror/osv/v1/query"),
        ("https://osv.example/v1/query", "https://osv.example/v1/query"),
        ("http://127.0.0.1:8080/v1/query/", "http://127.0.0.1:8080/v1/query"),
        ("https://u:p@osv.example/x#frag", "https://u:p@osv.example/x/v1/query"),
    ],
)
def test_osv_query_url(url: str, expected: str) -> None:
    assert osv_query_url(url) == expected


@pytest.mark.parametrize(
    "url", ["osv.example/v1", "ftp://osv.example/", "https:///v1/query", "http://[::1/"]
)
def test_osv_query_url_refuses_non_http_urls(url: str) -> None:
    with pytest.raises(UsageError, match="not an http"):
        osv_query_url(url)


def test_a_url_cannot_go_with_the_pypi_service() -> None:
    with pytest.raises(UsageError, match="`--service osv`"):
        vulnerability_service("pypi", url="https://osv.example")


def test_credentials_over_plain_http_are_refused_unless_loopback() -> None:
    with pytest.raises(UsageError, match="plain http") as caught:
        vulnerability_service(url="http://user:hunter22@osv.example")
    assert "hunter22" not in str(caught.value)


class FakeSession:
    auth: Any = None


class NewOsvService:
    def __init__(self, cache_dir: Path | None, timeout: float, osv_url: str = "") -> None:
        self.session = FakeSession()
        self.osv_url = osv_url


class OldOsvService:
    def __init__(self, cache_dir: Path | None, timeout: float) -> None:
        self.session = FakeSession()


def fake_pip_audit(monkeypatch: pytest.MonkeyPatch, osv: type) -> None:
    module = types.ModuleType("pip_audit._service")
    module.OsvService = osv  # type: ignore[attr-defined]
    module.PyPIService = OldOsvService  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pip_audit._service", module)


def test_credentials_are_taken_out_of_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_pip_audit(monkeypatch, NewOsvService)
    service = vulnerability_service(
        url="https://${OSV_USER}:p%40ss@osv.example/mirror", environ={"OSV_USER": "bot"}
    )
    assert service is not None
    assert service.name == "osv"
    assert service.backend.osv_url == "https://osv.example/mirror/v1/query"
    assert service.backend.session.auth == ("bot", "p@ss")
    assert service.url == "https://***@osv.example/mirror/v1/query"
    assert str(service) == "OSV at https://***@osv.example/mirror/v1/query"


def test_without_a_url_pip_audits_own_services(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_pip_audit(monkeypatch, NewOsvService)
    service = vulnerability_service()
    assert service is not None
    assert (service.name, service.url, str(service)) == ("pypi", None, "PyPI")
    assert isinstance(service.backend, OldOsvService)


def test_an_old_pip_audit_cannot_take_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_pip_audit(monkeypatch, OldOsvService)
    with pytest.raises(UsageError, match="cannot query another OSV service") as caught:
        vulnerability_service(url="https://osv.example")
    assert caught.value.hint == 'pip install "pip-audit>=2.10"'
