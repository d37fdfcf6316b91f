"""Sources (package indexes): their tables, URLs and names. Which source a package may come
from is the fence's (`pipfence.models.fence`).

- ``[[source]]`` tables in file order; the first is the *default source*. A Pipfile without any
  source gets PyPI (`PYPI_SOURCE`).
- URLs keep their ``${VAR}`` placeholders everywhere except in the request itself: `request_url`
  expands them, and substitutes a PyPI mirror, at the moment of use.
- Every URL shown to a person goes through `redact_url`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pipfence.errors import UsageError

__all__ = [
    "PYPI_SIMPLE_URL",
    "PYPI_SOURCE",
    "Source",
    "expand_env",
    "generated_source_name",
    "is_pypi_url",
    "redact_url",
    "request_url",
    "same_url",
    "source_name_from_url",
]

#: PyPI's simple index, written exactly as pipenv writes it into Pipfiles and locks.
PYPI_SIMPLE_URL = "https://pypi.org/simple"


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """One ``[[source]]`` table. ``url`` is kept as written, placeholders included."""

    name: str
    url: str
    verify_ssl: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], /) -> Source:
        """Build from a ``[[source]]`` table, filling pipenv's defaults.

        ``name`` defaults to the URL's host, ``verify_ssl`` to whether the URL is https.
        Raises `ValueError` for a missing or non-string ``url``.
        """
        url = data.get("url")
        if not isinstance(url, str) or not url.strip():
            msg = "a [[source]] needs a `url`"
            raise ValueError(msg)
        name = data.get("name")
        if name is None:
            name = source_name_from_url(url)
        verify = data.get("verify_ssl")
        if verify is None:
            verify = url.startswith("https://")
        elif not isinstance(verify, bool):
            verify = str(verify).lower() == "true"
        return cls(name=str(name), url=url, verify_ssl=verify)

    def to_dict(self) -> dict[str, Any]:
        """The table as pipenv writes it in a Pipfile and in a lock's ``_meta.sources``."""
        return {"name": self.name, "url": self.url, "verify_ssl": self.verify_ssl}


PYPI_SOURCE = Source(name="pypi", url=PYPI_SIMPLE_URL, verify_ssl=True)

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_env(url: str, environ: Mapping[str, str], *, source: str | None = None) -> str:
    """Replace ``${VAR}`` and ``$VAR`` in ``url`` with values from ``environ``.

    Raises `UsageError` naming the variable (never a value) when one is not set.
    """

    def _value(match: re.Match[str]) -> str:
        var = match.group(1) or match.group(2)
        if var not in environ:
            where = f" in the URL of source `{source}`" if source else ""
            raise UsageError(
                f"environment variable `{var}`{where} is not set",
                hint=f"set {var} before running pipfence",
            )
        return environ[var]

    return _VAR.sub(_value, url)


def redact_url(url: str) -> str:
    """``url`` with any user-info replaced by ``***``: the only form a URL is shown in."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def _normalise(url: str) -> str:
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def same_url(a: str, b: str) -> bool:
    """Whether two source URLs name the same index (case of scheme/host and a trailing slash
    do not matter)."""
    return _normalise(a) == _normalise(b)


def is_pypi_url(url: str) -> bool:
    """Whether ``url`` is PyPI's simple index, the one a PyPI mirror replaces."""
    return same_url(url, PYPI_SIMPLE_URL)


def request_url(
    source: Source,
    environ: Mapping[str, str],
    *,
    pypi_mirror: str | None,
    mirrors: Mapping[str, str] | None = None,
) -> str:
    """The URL to send requests to for ``source``: mirror substituted, variables expanded.

    ``mirrors`` maps a source name to a mirror of that source (set outside the Pipfile, per
    machine); ``pypi_mirror`` replaces PyPI's URL. Either way the Pipfile and the lock keep
    the source's own URL, and what a mirror serves is trusted only through the lock's hashes.
    The result may hold credentials: use it for requests only, never for display or storage.
    """
    url = source.url
    if mirrors and source.name in mirrors:
        url = mirrors[source.name]
    elif pypi_mirror and is_pypi_url(source.url):
        url = pypi_mirror
    return expand_env(url, environ, source=source.name)


def source_name_from_url(url: str) -> str:
    """pipenv's default ``name`` for a source table without one: the URL's host."""
    parts = urlsplit(url)
    if parts.hostname:
        return parts.hostname
    if parts.scheme == "file":
        return parts.path.rstrip("/").rpartition("/")[2] or "local"
    return url


def generated_source_name(url: str, taken: Iterable[str]) -> str:
    """A name for a new source added by ``install --index=URL``.

    Like pipenv: the host (and port) without its last dot-part, dots and colons removed, so
    ``https://download.example.com/simple`` becomes ``downloadexample``.
    Unlike pipenv, a clash is settled with a short hash of the normalised URL, not a random
    number, so the same URL always gets the same name.
    """
    parts = urlsplit(url)
    location = parts.netloc.rpartition("@")[2]
    if location:
        base = location.rpartition(".")[0] if "." in location else location
    elif parts.scheme == "file":
        base = parts.path.rstrip("/").rpartition("/")[2] or "local"
    else:
        base = "index"
    base = base.replace(".", "").replace(":", "") or "index"
    taken_set = set(taken)
    if base not in taken_set:
        return base
    digest = hashlib.sha256(_normalise(url).encode()).hexdigest()[:8]
    return f"{base}-{digest}"
