"""Whether an unpacked-cache entry's files are still as they were written (`files_intact`),
and the same check run in a helper process over many entries (this file as a script).

Standard library only, and no import of the `pipfence` package: a sync into a new
environment runs this file with ``python -I -S`` (`pipfence.installer.ahead_check.AheadCheck`), so
that the stat of every cached file (tens of thousands for a large lock) happens on another
core while the sync makes the environment and plans, instead of in a thread of its own
process, where each short system call would hand the interpreter lock back and forth.

As a script: the cache root as the only argument, the entries' digests on standard input
(whitespace-separated), and on standard output the digests of the entries found intact, one
a line. An entry that cannot be read is left out: the sync checks it again itself, and only
its own check decides that an entry is damaged.
"""

from __future__ import annotations

import json
import os
import sys

TYPE_CHECKING = False  # `typing` is not imported for this alone
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["checked_digest", "files_intact", "main"]

MANIFEST = "manifest.json"
TREE = "tree"
_HEX = frozenset("0123456789abcdef")
_DIGEST_LENGTH = 64


def checked_digest(sha256: str) -> str:
    """``sha256`` lower-cased; ValueError when it is not 64 hex digits."""
    digest = sha256.lower()
    if len(digest) != _DIGEST_LENGTH or not set(digest) <= _HEX:
        msg = f"not a hex sha256 digest: {sha256!r}"
        raise ValueError(msg)
    return digest


def files_intact(prefix: str, files: Iterable[tuple[str, int, int, int]]) -> bool:
    """Whether every file, given as (path under ``prefix``, size, mtime_ns, inode), still
    has that size, mtime_ns and inode (one stat a file)."""
    stat = os.stat
    for path, size, mtime_ns, inode in files:
        try:
            st = stat(prefix + path)
        except OSError:
            return False
        if (st.st_ino, st.st_mtime_ns, st.st_size) != (inode, mtime_ns, size):
            return False
    return True


def _entry_intact(root: str, digest: str) -> bool:
    entry = os.path.join(root, digest)  # noqa: PTH118 - no pathlib: this runs before imports
    try:
        with open(os.path.join(entry, MANIFEST), "rb") as fh:  # noqa: PTH118,PTH123
            rows = json.load(fh)["files"]
        files = [(row[0], row[2], row[4], row[5]) for row in rows]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return False
    return files_intact(os.path.join(entry, TREE) + os.sep, files)  # noqa: PTH118


def main(argv: list[str]) -> int:
    if len(argv) != 2:  # noqa: PLR2004 - the script's name and the cache root
        return 2
    root = argv[1]
    digests = sys.stdin.read().split()
    found = [
        d for d in digests if len(d) == _DIGEST_LENGTH and set(d) <= _HEX and _entry_intact(root, d)
    ]
    sys.stdout.write("".join(f"{d}\n" for d in found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
