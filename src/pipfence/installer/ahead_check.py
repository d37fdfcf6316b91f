"""The check of many unpacked-cache entries at once, in a helper process (`AheadCheck`)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Collection
from pathlib import Path

from pipfence.installer.entry_check import checked_digest

__all__ = ["AheadCheck"]


class AheadCheck:
    """The check of `UnpackedCache.intact` for many entries at once, run by a helper process
    (`pipfence.installer.entry_check` as a script, ``python -I -S``) while the caller goes on:
    stat-ing tens of thousands of files from a thread of this process would pass the
    interpreter lock back and forth at every call, and slow both threads down.

    `intact` waits for the helper (once) and gives the digests it found intact. An entry it
    does not name is checked again in-process, whose answer alone decides that an entry is
    damaged; when the helper cannot run, or fails, it names none.
    """

    _SCRIPT = Path(__file__).with_name("entry_check.py")
    _TIMEOUT = 120.0

    def __init__(
        self,
        process: subprocess.Popen[bytes] | None,
        asked: frozenset[str] = frozenset(),
        *,
        root: Path | None = None,
    ) -> None:
        #: The digests the helper was given: `intact` is worth waiting for on those only.
        self.asked = asked
        #: The cache root whose entries the helper checks (None when it checks none).
        self.root = root
        self._process = process
        self._lock = threading.Lock()
        self._found: frozenset[str] | None = None if process is not None else frozenset()

    @classmethod
    def start(cls, root: Path, digests: Collection[str]) -> AheadCheck:
        asked = frozenset(checked_digest(d) for d in digests)
        if not asked or not cls._SCRIPT.is_file():
            return cls(None)
        try:
            process = subprocess.Popen(  # our own script, with this interpreter
                [sys.executable, "-I", "-S", str(cls._SCRIPT), str(root)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return cls(None)
        # The helper reads all of its input before it answers: written at once (more than
        # a pipe holds only waits for the helper to start reading).
        stdin, process.stdin = process.stdin, None  # closed here: `communicate` skips it
        if stdin is not None:
            with contextlib.suppress(OSError), stdin:
                stdin.write("\n".join(sorted(asked)).encode())
        return cls(process, asked, root=root)

    def intact(self) -> frozenset[str]:
        """The digests of the entries the helper found intact (waiting for it the first
        time); none when it failed."""
        found = self._found
        if found is not None:
            return found
        with self._lock:
            if self._found is None:
                self._found = self._collect()
            return self._found

    def close(self) -> None:
        """End the helper: its answer when it is done, else it is stopped."""
        process = self._process
        if process is None or self._found is not None:
            return
        with contextlib.suppress(OSError):
            process.kill()
        self.intact()

    def _collect(self) -> frozenset[str]:
        process = self._process
        if process is None:
            return frozenset()
        try:
            out, _ = process.communicate(timeout=self._TIMEOUT)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
            return frozenset()
        if process.returncode != 0:
            return frozenset()
        return frozenset(out.decode("ascii", "replace").split())
