"""Folder indexes: a ``file:`` source, a PEP 503 tree on disk read without any HTTP.

    file:///srv/wheelhouse/simple/                 the source URL (the folder of project folders)
        acme-app/index.html                        a project page (``acme-app`` may also be a
                                                   file holding the page itself)
    file:///srv/wheelhouse/packages/               files the pages link to: relative
        acme_app-1.0-py3-none-any.whl              (``../../packages/…``) or absolute ``file:``
        acme_app-1.0-py3-none-any.whl.metadata     PEP 658 metadata next to a wheel, optional

Air-gapped teams keep such a folder (often a copy of a static index) and pipenv reads it as it
reads any index. Here a page is read from disk and parsed like a page from the network, a
missing project folder is "no project page" (an HTTP index's 404), and files are read from
their paths. Pages are not cached: reading them from disk is what a cache would do. The fence is
unchanged: a folder is just a source.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipfence.errors import ArchiveError, HashMismatch, IndexServerError
from pipfence.models.files import DistFile, ProjectPage
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.sources import Source
from pipfence.models.urls import shown_url

__all__ = ["FolderIndex", "is_file_url"]

_CHUNK = 1024 * 1024


def is_file_url(url: str) -> bool:
    """Whether ``url`` is a ``file:`` URL (a folder index, or a file in one)."""
    return url[:5].lower() == "file:"


def _path(url: str) -> Path:
    """The local path of a ``file:`` URL (``file:///p``, ``file://localhost/p``)."""
    parts = urlsplit(url)
    if parts.netloc not in {"", "localhost"}:
        msg = f"`{url}` names the host `{parts.netloc}`; only local files can be read"
        raise ValueError(msg)
    from urllib.request import url2pathname  # with http.client: 15 ms a lock of http skips

    return Path(url2pathname(unquote(parts.path)))


class FolderIndex:
    """One ``file:`` source. ``request_url`` is its URL with ``${VAR}`` expanded."""

    def __init__(self, source: Source, request_url: str) -> None:
        self.source = source
        self.url = request_url
        self.label = f"`{source.name}` ({shown_url(request_url)})"

    def _error(self, what: str, exc: BaseException | str) -> IndexServerError:
        return IndexServerError(
            f"source {self.label} could not be read for {what}: {exc}", source=self.source.name
        )

    def root(self) -> Path:
        """The folder the source URL names; `IndexServerError` when the URL names no local
        path."""
        try:
            return _path(self.url)
        except ValueError as exc:
            raise self._error("its index", exc) from None

    def exists(self) -> bool:
        """Whether the source's folder exists (its "index page")."""
        return self.root().is_dir()

    def project_page(self, name: NormalizedName, limit: int) -> ProjectPage | None:
        """The page of ``name``: ``<root>/<name>/index.html`` or a file ``<root>/<name>``; a
        folder spelled otherwise (``Acme_App``) is found by its normalised name. None when the
        source has no page for it (or the folder itself is missing, as an HTTP index answers
        404 under a wrong URL); `IndexServerError` for a page that cannot be read or parsed."""
        root = self.root()
        what = f"the project page of `{name}`"
        entry = root / name
        if not entry.exists() and root.is_dir():
            try:
                entry = next((e for e in root.iterdir() if canonical_name(e.name) == name), entry)
            except OSError as exc:
                raise self._error(what, exc) from exc
        page = entry / "index.html" if entry.is_dir() else entry
        if not page.is_file():
            return None
        try:
            size = page.stat().st_size
            if size > limit:
                raise self._error(what, f"the page is {size} bytes, more than {limit}")
            body = page.read_bytes()
        except OSError as exc:
            raise self._error(what, exc) from exc
        base = (entry.as_uri() + "/") if entry.is_dir() else entry.as_uri()
        from pipfence.index.simple import parse_project_page  # here: a page is being read

        try:
            return parse_project_page(body, "text/html", base, project=name)
        except ValueError as exc:
            raise IndexServerError(
                f"source {self.label} holds an unreadable page for `{name}`: {exc}",
                source=self.source.name,
            ) from exc

    def metadata(self, file: DistFile, name: NormalizedName, limit: int) -> bytes:
        """A wheel's METADATA: the PEP 658 ``.metadata`` file next to it when there is one
        (its sha256 checked when the page gives one), else read from the wheel."""
        from pipfence.index.metadata import read_wheel_metadata  # here: metadata is wanted

        what = f"`{file.filename}`"
        try:
            wheel = _path(file.url)
            sidecar = wheel.with_name(wheel.name + ".metadata")
            if sidecar.is_file():
                data = sidecar.read_bytes()
                promised = file.metadata if isinstance(file.metadata, Mapping) else {}
                expected = promised.get("sha256")
                got = hashlib.sha256(data).hexdigest()
                if expected and got != expected.strip().lower():
                    raise HashMismatch(
                        f"the metadata file of {what} in source {self.label} has sha256 {got}, "
                        f"but the project page lists {expected}"
                    )
                return data
            with wheel.open("rb") as fh:
                return read_wheel_metadata(fh, name=name, limit=limit)
        except ValueError as exc:
            raise ArchiveError(
                f"{what} in source {self.label} is not a usable wheel: {exc}"
            ) from exc
        except OSError as exc:
            raise self._error(what, exc) from exc

    def copy(self, file: DistFile, dest_dir: Path) -> tuple[Path, str]:
        """Copy ``file`` into a temporary file in ``dest_dir`` (hashing it on the way) and
        return the temporary path and the sha256; the caller checks the digest and renames."""
        try:
            path = _path(file.url)
            fd, name = tempfile.mkstemp(dir=dest_dir, prefix=f".{file.filename}.", suffix=".part")
        except (OSError, ValueError) as exc:
            raise self._error(f"`{file.filename}`", exc) from exc
        temp = Path(name)
        hasher = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, path.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise self._error(f"`{file.filename}`", exc) from exc
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return temp, hasher.hexdigest()
