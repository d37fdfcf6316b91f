"""Sources (package indexes): their tables and names. Which source a package may come from is
the fence's (`pipfence.models.fence`); what a source URL means, how it is expanded, routed to a
mirror and shown is `pipfence.models.urls`.

- ``[[source]]`` tables in file order; the first is the *default source*. A Pipfile without any
  source gets PyPI (`PYPI_SOURCE`).
- URLs keep their ``${VAR}`` placeholders: they are expanded only for a request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

from pipfence.models.urls import PYPI_SIMPLE_URLS, normalise

__all__ = [
    "PYPI_SIMPLE_URL",
    "PYPI_SOURCE",
    "Source",
    "SourceTableError",
    "generated_source_name",
    "source_name_from_url",
]

#: PyPI's simple index, written exactly as pipenv writes it into Pipfiles and locks (the
#: first of its spellings, `pipfence.models.urls.PYPI_SIMPLE_URLS`).
PYPI_SIMPLE_URL = PYPI_SIMPLE_URLS[0]

#: How pipenv's users spell a boolean ``verify_ssl`` when they write it as a string or number.
_TRUE_WORDS = frozenset({"true", "yes", "on", "1", "y"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0", "n"})


class SourceTableError(ValueError):
    """A ``[[source]]`` table that cannot be used; ``key`` is the key at fault."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class Source(msgspec.Struct, frozen=True, kw_only=True):
    """One ``[[source]]`` table. ``url`` is kept as written, placeholders included."""

    name: str
    url: str
    verify_ssl: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], /) -> Source:
        """Build from a ``[[source]]`` table, filling pipenv's defaults.

        ``name`` defaults to the URL's host, ``verify_ssl`` to whether the URL is https.
        ``verify_ssl`` is a boolean, or a string or number spelling one (``"yes"``, ``1``,
        ``"off"``…). Raises `SourceTableError` for a missing or non-string ``url`` and for a
        ``verify_ssl`` that is neither.
        """
        url = data.get("url")
        if not isinstance(url, str) or not url.strip():
            msg = "a [[source]] needs a `url`"
            raise SourceTableError(msg, key="url")
        name = data.get("name")
        if name is None:
            name = source_name_from_url(url)
        return cls(name=str(name), url=url, verify_ssl=_verify_ssl(data.get("verify_ssl"), url))

    def to_dict(self) -> dict[str, Any]:
        """The table as pipenv writes it in a Pipfile and in a lock's ``_meta.sources``."""
        return {"name": self.name, "url": self.url, "verify_ssl": self.verify_ssl}


PYPI_SOURCE = Source(name="pypi", url=PYPI_SIMPLE_URL, verify_ssl=True)


def _verify_ssl(value: object, url: str) -> bool:
    if value is None:
        return url.strip().lower().startswith("https://")
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    msg = f"`verify_ssl` must be true or false, not {value!r}"
    raise SourceTableError(msg, key="verify_ssl")


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
    digest = hashlib.sha256(normalise(url).encode()).hexdigest()[:8]
    return f"{base}-{digest}"
