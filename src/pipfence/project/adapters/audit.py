"""pip-audit's vulnerability services and output formats, reached through its library (its
``_service`` and ``_format`` modules, imported by name when used).

pip-audit is an optional extra (``pip install pipfence[audit]``); `vulnerability_service`
returns None when it is not importable. Only packages whose source is PyPI are looked up: the
vulnerability databases describe PyPI projects, and a name from a private source must not
leave the fence (it would be sent to PyPI or OSV). Those are reported as skipped — also when
the service is a private OSV mirror.

The OSV service can be pointed at any OSV-compatible API (``--service-url`` or
``PIPFENCE_AUDIT_URL``, e.g. a company's own mirror): pipfence posts to ``<URL>/v1/query``.
Credentials written in that URL are taken out of it and sent as HTTP basic auth, so neither
the requests pip-audit makes nor any error it raises carries them; the URL is shown redacted.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from packaging.version import Version

from pipfence.errors import IndexServerError, UsageError
from pipfence.models.urls import Origin, expand, shown_url, split_userinfo

__all__ = [
    "AUDIT_FORMATS",
    "AUDIT_URL_VARIABLE",
    "OSV_QUERY_PATH",
    "AuditResults",
    "VulnerabilityService",
    "osv_query_url",
    "render_report",
    "vulnerability_service",
]

#: The environment variable that points `pipfence check` at an OSV-compatible API.
AUDIT_URL_VARIABLE = "PIPFENCE_AUDIT_URL"
#: The OSV API's query endpoint, relative to the API's base URL.
OSV_QUERY_PATH = "/v1/query"
_LABELS = {"pypi": "PyPI", "osv": "OSV"}


@dataclass(frozen=True, slots=True, kw_only=True)
class VulnerabilityService:
    """pip-audit's service (``backend``), with the name and redacted URL it is shown by.

    ``secrets`` are the credentials of a service URL: they are scrubbed from every message.
    """

    name: str
    url: str | None = None
    backend: Any = field(repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def __str__(self) -> str:
        label = _LABELS.get(self.name, self.name)
        return f"{label} at {self.url}" if self.url else label

    def query(self, name: str, version: Version) -> tuple[Any, list[Any]] | None:
        """pip-audit's dependency for ``name`` at ``version`` and the service's advisories
        for it; None when the service does not know the package. Raises `IndexServerError`
        (with the service's credentials scrubbed) when the service fails."""
        interface = importlib.import_module("pip_audit._service.interface")
        dependency = interface.ResolvedDependency(name=name, version=version)
        try:
            answered, results = self.backend.query(dependency)
        except Exception as exc:  # pip-audit raises its own ServiceError tree, or requests'
            status = _status(exc)
            raise IndexServerError(
                f"the vulnerability service {self} failed for `{name}`: "
                + _scrub(_reason(exc), self.secrets),
                source=self.name,
                status=status,
                hint=(
                    "the service URL must be the base of an OSV-compatible API "
                    f"(pipfence posts to <URL>{OSV_QUERY_PATH})"
                    if status == 404 and self.url  # noqa: PLR2004
                    else None
                ),
            ) from exc
        return None if answered.is_skipped() else (dependency, list(results))

    @staticmethod
    def skipped(name: str, reason: str) -> Any:
        """pip-audit's record of a package that was not looked up, and why."""
        interface = importlib.import_module("pip_audit._service.interface")
        return interface.SkippedDependency(name=name, skip_reason=reason)


def osv_query_url(url: str) -> str:
    """The query endpoint of the OSV-compatible API at ``url``: ``<url>/v1/query``, or ``url``
    itself when it already ends in ``/v1/query``. Raises `UsageError` for anything but an
    http(s) URL with a host (the message shows the URL redacted)."""
    try:
        parts = urlsplit(url.strip())
        valid = parts.scheme in {"http", "https"} and bool(parts.hostname)
        _ = parts.port  # raises for a port that is not a number
    except ValueError:
        valid = False
    if not valid:
        raise UsageError(
            f"the vulnerability service URL `{shown_url(url)}` is not an http(s) URL",
            hint="give the base URL of an OSV-compatible API, e.g. https://osv.example",
        )
    path = parts.path.rstrip("/")
    if not path.endswith(OSV_QUERY_PATH):
        path += OSV_QUERY_PATH
    return urlunsplit(parts._replace(path=path, fragment=""))


def vulnerability_service(
    name: str | None = None,
    *,
    url: str | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    cache_dir: Path | None = None,
) -> VulnerabilityService | None:
    """pip-audit's PyPI or OSV vulnerability service, or None without pip-audit.

    ``name`` is ``"pypi"`` or ``"osv"``; None means ``osv`` when ``url`` is given, else
    ``pypi``. ``url`` is the base of an OSV-compatible API (``${VAR}`` expanded from
    ``environ``); it cannot be combined with ``pypi``, whose address is fixed in pip-audit.
    ``cache_dir`` is pip-audit's HTTP cache (None: pip-audit's own choice).
    Raises `UsageError` for a bad URL or a pip-audit too old to take one.
    """
    if name is None:
        name = "osv" if url else "pypi"
    query_url: str | None = None
    shown: str | None = None
    credentials: tuple[str, str] | None = None
    if url:
        if name != "osv":
            raise UsageError(
                f"a vulnerability service URL is for `--service osv`, not `--service {name}`",
                hint=f"unset {AUDIT_URL_VARIABLE} (or drop --service-url) to use PyPI's service",
            )
        expanded = osv_query_url(expand(url, environ or {}, what="the vulnerability service URL"))
        shown = shown_url(expanded)
        query_url, credentials = _split_credentials(expanded)
    try:
        module = importlib.import_module("pip_audit._service")
    except ImportError:
        return None
    if query_url is None:
        kind = module.OsvService if name == "osv" else module.PyPIService
        backend = _without_netrc(kind(cache_dir=cache_dir, timeout=timeout))
        return VulnerabilityService(name=name, backend=backend)
    if "osv_url" not in inspect.signature(module.OsvService).parameters:
        raise UsageError(
            "the installed pip-audit cannot query another OSV service than the public one",
            hint='pip install "pip-audit>=2.10"',
        )
    backend = module.OsvService(cache_dir=cache_dir, timeout=timeout, osv_url=query_url)
    secrets: tuple[str, ...] = ()
    if credentials is not None:
        backend.session.auth = credentials  # a requests session: sent as HTTP basic auth
        secrets = tuple(s for s in credentials if s)
    else:
        _without_netrc(backend)
    return VulnerabilityService(name=name, url=shown, backend=backend, secrets=secrets)


def _without_netrc(backend: Any) -> Any:
    """``backend`` with its requests session kept from reading ``~/.netrc``.

    requests sends a netrc entry for the service's host — or the file's ``default`` entry,
    which pipfence never uses for indexes — to whatever host it talks to, the public
    vulnerability services included. A session-wide auth that leaves requests as they are
    stops that (requests only reads netrc when no auth is set); proxies from the
    environment still apply."""
    session = getattr(backend, "session", None)
    if session is not None and session.auth is None:
        session.auth = _unchanged
    return backend


def _unchanged(request: Any) -> Any:
    return request


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its user-info, and that user-info as (user, password). Refuses to send
    credentials over plain http to anything but a loopback host."""
    clean, userinfo = split_userinfo(url)
    if userinfo is None:
        return url, None
    try:
        origin = Origin.of(clean)
    except ValueError:
        origin = None
    if origin is not None and origin.scheme == "http" and not origin.is_loopback:
        raise UsageError(
            f"credentials in the vulnerability service URL `{shown_url(url)}` would be sent "
            "over plain http",
            hint="use an https URL",
        )
    return clean, (userinfo.username, userinfo.password)


#: pip-audit's output formats, as pipenv's `audit --output` names them.
AUDIT_FORMATS = ("columns", "json", "cyclonedx-json", "cyclonedx-xml", "markdown")


class AuditResults(Protocol):
    """An audit's answers in pip-audit's own terms (`pipfence.project.audit.AuditReport`)."""

    @property
    def results(self) -> Mapping[Any, Sequence[Any]]: ...


def render_report(
    report: AuditResults, output: str, *, descriptions: bool = False, aliases: bool = False
) -> str:
    """``report`` in one of pip-audit's `AUDIT_FORMATS`, written by pip-audit's own formatter
    (so the text is what `pip-audit -f FORMAT` prints, and what pipenv's `audit` shows)."""
    formats = importlib.import_module("pip_audit._format")
    formatter: Any
    if output == "columns":
        formatter = formats.ColumnsFormat(output_desc=descriptions, output_aliases=aliases)
    elif output == "json":
        formatter = formats.JsonFormat(output_desc=descriptions, output_aliases=aliases)
    elif output == "markdown":
        formatter = formats.MarkdownFormat(output_desc=descriptions, output_aliases=aliases)
    elif output in ("cyclonedx-json", "cyclonedx-xml"):
        inner = formats.CycloneDxFormat.InnerFormat
        formatter = formats.CycloneDxFormat(
            inner_format=inner.Json if output == "cyclonedx-json" else inner.Xml
        )
    else:
        raise UsageError(f"unknown output format `{output}` (one of: {', '.join(AUDIT_FORMATS)})")
    text: str = formatter.format(dict(report.results), [])
    return text


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes (explicit or implicit), outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 8:  # noqa: PLR2004
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _status(exc: BaseException) -> int | None:
    for item in _chain(exc):
        status = getattr(getattr(item, "response", None), "status_code", None)
        if isinstance(status, int):
            return status
    return None


def _reason(exc: BaseException) -> str:
    """One short line saying why the service failed, from pip-audit's and requests' errors."""
    chain = _chain(exc)
    for item in chain:
        response = getattr(item, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return f"HTTP {status} {getattr(response, 'reason', '') or ''}".strip()
    for item in chain:  # the outermost error that says what kind of failure it was
        kinds = {cls.__name__ for cls in type(item).__mro__}
        if "JSONDecodeError" in kinds:
            return "the answer is not JSON"
        if "SSLError" in kinds:
            return "TLS failure"
        if "Timeout" in kinds or "TimeoutError" in kinds:
            return "no answer in time"
        if "ConnectionError" in kinds:
            return "cannot connect"
    for item in chain:
        text = " ".join(str(item).split())
        if text:
            return text
    return type(exc).__name__


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if len(secret) > 2:  # noqa: PLR2004
            text = text.replace(secret, "***")
    return text
