"""Whether an installed distribution is the one the lock wants.

A package from an index is satisfied by an installed distribution of the same version that was
installed from an index too (it records no direct URL) and is not editable. A direct reference
(a lock entry with a ``file``, ``path`` or ``git`` key) is satisfied when the installed
distribution's ``direct_url.json`` (PEP 610) records the same place of the same kind: the same
commit of the same repository, an archive with a sha256 the lock allows, the same folder.

Pure: the project layer reads ``direct_url.json``, resolves paths and asks a checkout for its
commit, and passes the values in.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from pipfence.models.names import NormalizedName

__all__ = [
    "DirectOrigin",
    "InstalledDist",
    "WantedDist",
    "direct_url_satisfies",
    "same_version",
    "satisfies",
]


class WantedDist(msgspec.Struct, frozen=True, kw_only=True):
    """A distribution the environment should hold.

    ``url`` is set for direct references (a ``file``/``path``/VCS lock entry) and compared with
    the installed distribution's ``direct_url.json`` URL; ``None`` means "from an index".
    """

    name: NormalizedName
    version: str
    editable: bool = False
    url: str | None = None


class InstalledDist(msgspec.Struct, frozen=True, kw_only=True):
    """A distribution found in (or just written to) an environment's site-packages.

    ``dist_info`` is the ``*.dist-info`` directory; ``installer`` is its INSTALLER file (None when
    absent); ``editable`` and ``url`` come from ``direct_url.json`` (PEP 610) when present.
    """

    name: NormalizedName
    version: str
    dist_info: Path
    installer: str | None = None
    editable: bool = False
    url: str | None = None


def same_version(a: str, b: str) -> bool:
    """PEP 440 equality (``1.0`` is ``1.0.0``); texts that are not versions are compared as
    written."""
    if a == b:
        return True
    from packaging.version import InvalidVersion, Version  # not for a start-up that compares none

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


def satisfies(wanted: WantedDist, installed: InstalledDist) -> bool:
    """Whether ``installed`` is ``wanted``: the same version, and of the same kind (editable
    or not; the same direct URL, or none for a package from an index). A distribution that
    came from a path, URL or checkout is not the locked index file even at the same version."""
    return (
        same_version(wanted.version, installed.version)
        and wanted.editable == installed.editable
        and wanted.url == installed.url
    )


class DirectOrigin(msgspec.Struct, frozen=True, kw_only=True):
    """What a direct reference's lock entry requires of an installed distribution's
    ``direct_url.json`` (PEP 610).

    It must record ``url`` (as PEP 610 writes it: no credentials, no ``git+`` prefix, no
    fragment) and be editable exactly when ``editable`` is. Then, by ``kind``:

    - ``"directory"``: nothing more (a local folder, or the checkout of an editable git entry,
      whose commit the caller checks in the checkout itself);
    - ``"vcs"``: ``vcs_info.commit_id`` must be ``commit``;
    - ``"archive"``: ``archive_info.hashes.sha256`` must be present and one of ``hashes``
      (lower-case hex); any digest will do when ``hashes`` is empty.
    """

    kind: Literal["directory", "vcs", "archive"]
    url: str
    editable: bool = False
    commit: str | None = None
    hashes: frozenset[str] = frozenset()


def direct_url_satisfies(direct_url: Mapping[str, Any] | None, origin: DirectOrigin) -> bool:
    """Whether an installed distribution whose ``direct_url.json`` holds ``direct_url`` (None:
    it has none, or not a JSON object) is what ``origin`` describes."""
    if direct_url is None:
        return False
    dir_info = direct_url.get("dir_info")
    editable = isinstance(dir_info, Mapping) and dir_info.get("editable") is True
    if editable != origin.editable or direct_url.get("url") != origin.url:
        return False
    if origin.kind == "vcs":
        vcs = direct_url.get("vcs_info")
        return isinstance(vcs, Mapping) and vcs.get("commit_id") == origin.commit
    if origin.kind == "archive":
        archive = direct_url.get("archive_info")
        hashes = archive.get("hashes") if isinstance(archive, Mapping) else None
        sha = hashes.get("sha256") if isinstance(hashes, Mapping) else None
        return isinstance(sha, str) and (not origin.hashes or sha.lower() in origin.hashes)
    return True
