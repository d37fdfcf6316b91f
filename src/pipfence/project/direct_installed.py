"""Whether an installed distribution is what a path, file or git entry of the lock describes,
judged by the ``direct_url.json`` it was installed with (PEP 610)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pipfence.installer.satisfies import DirectOrigin, InstalledDist, direct_url_satisfies
from pipfence.installer.venv import VirtualEnv
from pipfence.models.listing import AllowedHashes
from pipfence.models.references import DirectRef
from pipfence.models.urls import shown_url
from pipfence.project.adapters.direct import DirectFetcher, editable_checkout, is_remote

__all__ = ["direct_satisfied", "read_direct_url"]


def direct_satisfied(
    ref: DirectRef, installed: InstalledDist, root: Path, env: VirtualEnv, fetcher: DirectFetcher
) -> bool:
    """Whether the installed distribution is what the direct lock entry describes, judged
    by its ``direct_url.json`` (PEP 610): same place, same kind, same commit or hash (see
    `pipfence.installer.satisfies.direct_url_satisfies`); an editable checkout must also be at
    the locked commit."""
    info = read_direct_url(installed.dist_info)
    hashes = AllowedHashes.of(ref.hashes).digests
    if ref.kind == "git" and ref.editable:
        checkout = editable_checkout(env, ref)
        tree = checkout / ref.subdirectory if ref.subdirectory else checkout
        origin = DirectOrigin(kind="directory", url=tree.as_uri(), editable=True)
        return direct_url_satisfies(info, origin) and fetcher.checkout_head(checkout) == ref.ref
    if ref.kind == "git":
        url = shown_url(ref.location.removeprefix("git+").split("#", 1)[0])
        origin = DirectOrigin(kind="vcs", url=url, editable=ref.editable, commit=ref.ref)
    elif ref.kind == "path" or (ref.kind == "file" and not is_remote(ref.location)):
        local = Path(ref.location.removeprefix("file://")).expanduser()
        path = Path(os.path.abspath(local if local.is_absolute() else root / local))  # noqa: PTH100
        kind: Literal["directory", "archive"] = "directory" if path.is_dir() else "archive"
        origin = DirectOrigin(kind=kind, url=path.as_uri(), editable=ref.editable, hashes=hashes)
    else:
        origin = DirectOrigin(
            kind="archive", url=shown_url(ref.location), editable=ref.editable, hashes=hashes
        )
    return direct_url_satisfies(info, origin)


def read_direct_url(dist_info: Path) -> dict[str, Any] | None:
    """The ``direct_url.json`` of an installed distribution, or None."""
    try:
        data = json.loads((dist_info / "direct_url.json").read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
