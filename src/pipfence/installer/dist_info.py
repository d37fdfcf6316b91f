"""Reading the distributions installed in site folders from their ``*.dist-info`` folders
(`read_dist_info`, `read_installed`).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from pipfence.installer.satisfies import InstalledDist
from pipfence.models.names import NormalizedName, canonical_name

__all__ = ["read_dist_info", "read_installed"]


def _metadata_name_version(path: Path) -> tuple[str, str] | None:
    """Name and Version from a METADATA file's headers, reading no further than the headers."""
    name = version = None
    try:
        with path.open("rb") as fh:
            for raw in fh:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    break
                key, sep, value = line.partition(":")
                if not sep:
                    continue
                key = key.strip().lower()
                if key == "name" and name is None:
                    name = value.strip()
                elif key == "version" and version is None:
                    version = value.strip()
                if name is not None and version is not None:
                    break
    except OSError:
        return None
    if not name or not version:
        return None
    return name, version


def _direct_url(path: Path) -> tuple[str | None, bool]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None, False
    if not isinstance(data, dict):
        return None, False
    url = data.get("url")
    dir_info = data.get("dir_info")
    editable = isinstance(dir_info, dict) and dir_info.get("editable") is True
    return (url if isinstance(url, str) else None), editable


def read_dist_info(dist_info: Path) -> InstalledDist | None:
    """Describe one ``*.dist-info`` directory; None when its METADATA lacks Name or Version."""
    found = _metadata_name_version(dist_info / "METADATA")
    if found is None:
        return None
    installer = None
    with contextlib.suppress(OSError):
        installer = (dist_info / "INSTALLER").read_text(encoding="utf-8").strip() or None
    url, editable = _direct_url(dist_info / "direct_url.json")
    return InstalledDist(
        name=canonical_name(found[0]),
        version=found[1],
        dist_info=dist_info,
        installer=installer,
        editable=editable,
        url=url,
    )


def read_installed(site_dirs: tuple[Path, ...] | list[Path]) -> dict[NormalizedName, InstalledDist]:
    """Scan ``site_dirs`` for ``*.dist-info`` directories (METADATA headers only).

    When a name appears twice (a broken environment), the first directory in scan order wins;
    ``.egg-info`` installs are not reported.
    """
    found: dict[NormalizedName, InstalledDist] = {}
    for site in site_dirs:
        try:
            entries = sorted(e.name for e in os.scandir(site) if e.name.endswith(".dist-info"))
        except OSError:
            continue
        for entry in entries:
            dist = read_dist_info(site / entry)
            if dist is not None and dist.name not in found:
                found[dist.name] = dist
    return found
