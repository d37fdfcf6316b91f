"""What the installed-distribution check reads of an environment, as one digest.

`pipfence.installer.dist_info.read_installed` lists the ``*.dist-info`` folders of the site
folders and reads three files of each (``METADATA``, ``INSTALLER``, ``direct_url.json``).
`site_fingerprint` stats exactly those (a folder added, removed or made again, a file written)
and digests the answers, so a caller that kept a check's result with the digest can tell,
from a few hundred stats, that the check would answer the same. Only the standard library:
a no-op `sync` imports this and little else.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

__all__ = ["site_fingerprint"]

#: The files `read_installed` reads in each ``*.dist-info`` folder.
_READ = ("METADATA", "INSTALLER", "direct_url.json")


def site_fingerprint(site_dirs: Sequence[str]) -> str:
    """A digest of the ``*.dist-info`` folders in ``site_dirs`` (in order) and of the files the
    installed-distribution check reads in each: name, inode, modification time and size.
    Anything else in a site folder (a package's own files, ``__pycache__``) does not count."""
    digest = hashlib.sha256()
    for site in site_dirs:
        digest.update(f"\0site {site}\n".encode("utf-8", "surrogateescape"))
        try:
            names = sorted(e.name for e in os.scandir(site) if e.name.endswith(".dist-info"))
        except OSError:
            digest.update(b"unreadable\n")
            continue
        for name in names:
            # Strings, not `Path`s: a few hundred folders are stat-ed on every no-op sync.
            folder = f"{site}{os.sep}{name}"
            stats = " ".join(_stat(f"{folder}{os.sep}{file}") for file in _READ)
            line = f"{name} {_stat(folder)} {stats}\n"
            digest.update(line.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _stat(path: str) -> str:
    try:
        found = os.stat(path)  # noqa: PTH116 - a string path, as above
    except OSError:
        return "-"
    return f"{found.st_ino}:{found.st_mtime_ns}:{found.st_size}"
