"""Looking for a secret where it must not be: written files, and every process's command line."""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path
from typing import Self
from urllib.parse import quote


def needles(user: str, password: str) -> list[bytes]:
    """Every form the secret could leak in: raw, URL-quoted, inside a Basic header."""
    basic = base64.b64encode(f"{user}:{password}".encode())
    return sorted({password.encode(), quote(password, safe="").encode(), basic})


def leaks(roots: list[Path], secrets: list[bytes]) -> list[str]:
    found: list[str] = []
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found.extend(f"{path}: {s!r}" for s in secrets if s in data)
            found.extend(f"name {path}" for s in secrets if s.decode() in str(path))
    return found


class CmdlineWatch:
    """Polls every process's /proc/*/cmdline while commands run (the test's own index
    servers, which are given the password on purpose, excepted)."""

    def __init__(
        self, secrets: list[bytes], ignore: tuple[bytes, ...] = (), *, interval: float = 0.01
    ) -> None:
        self.secrets = secrets
        self.ignore = (b"pypiserver", *ignore)
        self.hits: list[str] = []
        self.seen = 0
        #: The sub-commands of every `git` process seen (``remote-http``, ``fetch``…).
        self.git_seen: set[str] = set()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit() or int(entry.name) == me:
                    continue
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if any(part in cmdline for part in self.ignore):
                    continue
                self.seen += 1
                words = cmdline.split(b"\0")
                if len(words) > 1 and words[0].endswith(b"git"):
                    self.git_seen.add(words[1].decode(errors="replace"))
                self.hits.extend(
                    cmdline.replace(b"\0", b" ").decode(errors="replace")
                    for secret in self.secrets
                    if secret in cmdline
                )
            self._stop.wait(self._interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
