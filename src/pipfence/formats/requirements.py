"""A lock as a pip requirements file, line for line as pipenv's ``requirements`` writes it.

A requirements file cannot say which index a package comes from: pip asks every
``-i``/``--extra-index-url`` index for every name, so a lock whose packages come from two
sources loses its fence on the way; the caller warns about that (`routing_lost`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pipfence.models.lockfile import LockedPackage, Lockfile
from pipfence.models.sources import Source
from pipfence.models.urls import is_pypi_url, without_secrets

__all__ = ["index_lines", "requirement_line", "requirement_lines", "source_lines"]

_BARE_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_VCS = ("git", "hg", "svn", "bzr")


def index_lines(lock: Lockfile, *, pypi_mirror: str | None = None) -> list[str]:
    """``-i`` for the lock's first source and ``--extra-index-url`` for the others
    (`source_lines`)."""
    return source_lines(lock.meta.sources, pypi_mirror=pypi_mirror)


def source_lines(sources: Sequence[Source], *, pypi_mirror: str | None = None) -> list[str]:
    """``-i`` for the first of ``sources`` and ``--extra-index-url`` for the others.

    URLs are written with their ``${VAR}`` placeholders (a bare ``$VAR`` becomes ``${VAR}``,
    the only form pip expands), never with the values; PyPI's URL is replaced by
    ``pypi_mirror`` when one is set, as pipenv does, without any literal credentials it holds
    (pip finds them in .netrc or keyring; the caller says they were left out)."""
    lines: list[str] = []
    for position, source in enumerate(sources):
        url = source.url
        if pypi_mirror and is_pypi_url(source.url):
            url = without_secrets(pypi_mirror)[0]
        prefix = "-i" if position == 0 else "--extra-index-url"
        braced = _BARE_VAR.sub(r"${\1}", url)
        lines.append(f"{prefix} {braced}")
    return lines


def requirement_line(
    name: str, package: LockedPackage, *, hashes: bool = False, markers: bool = True
) -> str:
    """One requirements line for a lock entry, exactly as pipenv's ``requirements`` writes it:
    ``name[extras]==1.0; marker --hash=sha256:…`` for index entries, ``-e``/``@`` forms for
    VCS, the path for ``path``/``file`` entries."""
    data = package.data
    marker = f"; {data['markers']}" if markers and data.get("markers") else ""
    os_marker = f"; {data['os_markers']}" if markers and data.get("os_markers") else ""
    extras = f"[{','.join(data.get('extras', []))}]" if "extras" in data else ""
    for vcs in _VCS:
        if vcs in data:
            url = str(data[vcs])
            ref = data.get("ref", "")
            prefix = "" if f"{vcs}+" in url else f"{vcs}+"
            ref_part = f"@{ref}" if ref and f"@{ref}" not in url else ""
            subdirectory = data.get("subdirectory", "")
            if data.get("editable") or "file://" in url:
                egg = "" if "#egg=" in url else f"#egg={name}"
                line = f"-e {prefix}{url}{ref_part}{egg}"
                line += f"&subdirectory={subdirectory}" if subdirectory else ""
                return line + extras
            line = f"{name}{extras} @ {prefix}{url}{ref_part}"
            return line + (f"#subdirectory={subdirectory}" if subdirectory else "")
    for key in ("file", "path"):
        if key in data:
            parts = ["-e"] if data.get("editable") else []
            parts.append(str(data[key]))
            parts.extend(m for m in (os_marker, marker) if m)
            return " ".join(parts)
    version = data.get("version", "")
    if version in ("*", ""):
        version = ""
    digest = ""
    if hashes and "hashes" in data:
        digest = " --hash=" + " --hash=".join(data["hashes"])
    return f"{name}{extras}{version}{os_marker}{marker}{digest}"


def requirement_lines(
    packages: Mapping[str, LockedPackage], *, hashes: bool = False, markers: bool = True
) -> list[str]:
    return [
        requirement_line(name, package, hashes=hashes, markers=markers)
        for name, package in packages.items()
    ]
