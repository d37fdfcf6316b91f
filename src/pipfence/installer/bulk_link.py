"""A wheel's hard links made in a helper process (`BulkLinker`); see
`pipfence.installer.link_helper`, the helper itself, for why."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from pipfence._children import end_child

__all__ = ["BULK_MIN", "BulkLinker"]

#: Fewer files than this are linked in-process: a job's round trip costs about as much as
#: linking a few dozen files.
BULK_MIN = 48


class BulkLinker:
    """Helper processes that hard-link files into the environment at ``root``, one for each
    thread that asks (started when it first asks), all ended by `close`.

    `link` answers the folders the helper made, or None when the helper could not do the
    whole job (it undid all of it then) or cannot run: the caller then places the files
    itself. Its answer is trusted only as far as the helper's own checks go, which are the
    destination's (every folder inside the environment, by its real path).
    """

    _SCRIPT = Path(__file__).with_name("link_helper.py")
    _TIMEOUT = 30.0

    def __init__(self, root: Path) -> None:
        self._root = os.path.abspath(root)  # noqa: PTH100 - the destination's own form
        self._real_root = os.path.realpath(root)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._helpers: list[subprocess.Popen[bytes]] = []
        self._closed = False

    def link(self, sources: str, targets: str, paths: Sequence[str]) -> list[str] | None:
        """Hard-link each of ``paths`` under the folder ``sources`` to the same path under
        the folder ``targets`` (both ending in a separator, every path plainly safe) in a
        helper; the folders it made, or None."""
        text = "\n".join([f"\0{sources}\0{targets}", *paths])
        if text.count("\n") != len(paths):
            return None  # a path with a line break: placed in-process
        process = self._helper()
        if process is None or process.stdin is None or process.stdout is None:
            return None
        payload = text.encode("utf-8", "surrogateescape")
        try:
            process.stdin.write(b"%d\n" % len(payload))
            process.stdin.write(payload)
            process.stdin.flush()
            answer = process.stdout.readline()
        except (OSError, ValueError):
            answer = b""
        if not answer.endswith(b"\n"):
            self._drop(process)  # it ended: this thread links in-process from now on
            return None
        fields = answer[:-1].decode("utf-8", "surrogateescape").split("\0")
        if fields[0] != "ok":
            return None
        return fields[1:]

    def _helper(self) -> subprocess.Popen[bytes] | None:
        process: subprocess.Popen[bytes] | None = getattr(self._local, "process", None)
        if process is not None or getattr(self._local, "failed", False):
            return process
        with self._lock:
            if self._closed:
                return None
            try:
                process = subprocess.Popen(  # our own script, with this interpreter
                    [sys.executable, "-I", "-S", str(self._SCRIPT), self._root, self._real_root],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except OSError:
                self._local.failed = True
                return None
            self._helpers.append(process)
        self._local.process = process
        return process

    def _drop(self, process: subprocess.Popen[bytes]) -> None:
        self._local.process = None
        self._local.failed = True
        end_child(process, 0.0)

    def close(self) -> None:
        """End every helper (each ends when its input does; one that does not is killed)."""
        with self._lock:
            self._closed = True
            helpers, self._helpers = self._helpers, []
        for process in helpers:
            end_child(process, self._TIMEOUT)
