"""A real forward proxy (proxy.py) on loopback with an access log, for integration tests.

`ForwardProxy` runs ``python -m proxy`` on a free 127.0.0.1 port. It forwards plain http
requests and tunnels https with CONNECT; with ``auth=(user, password)`` it requires
``Proxy-Authorization`` (407 without). Host names ending in ``.internal`` resolve, for the proxy
only, to 127.0.0.1 (see `support.proxy_plugins`): a Pipfile naming ``http://pypi.internal:PORT``
reaches the local index through the proxy and cannot reach it any other way.

proxy.py writes one access line when a client connection ends, naming the method and the
upstream ``host:port`` (and the path, for plain http): `ForwardProxy.hosts()` reads them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self

from support import SRC_DIR, TESTS_DIR, isolated_environ
from support.processes import stop_process

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["ForwardProxy"]

_ACCESS = re.compile(r" - (?P<method>[A-Z]+) (?P<host>[^\s:/]+):(?P<port>\d+)(?P<path>\S*) - ")


class ForwardProxy:
    """A proxy.py process; use as a context manager."""

    def __init__(self, folder: Path, *, auth: tuple[str, str] | None = None) -> None:
        self.folder = folder
        self.auth = auth
        self.log_file = folder / "proxy.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The proxy's URL, with its credentials when it has some."""
        userinfo = f"{self.auth[0]}:{self.auth[1]}@" if self.auth else ""
        return f"http://{userinfo}127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.folder.mkdir(parents=True, exist_ok=True)
        port_file = self.folder / "proxy.port"
        argv = [
            sys.executable, "-m", "proxy",
            "--hostname", "127.0.0.1", "--port", "0", "--port-file", str(port_file),
            "--num-acceptors", "1", "--num-workers", "1", "--threaded",
            "--log-level", "INFO", "--log-file", str(self.log_file),
            "--plugins", "support.proxy_plugins.LoopbackAliases",
        ]  # fmt: skip
        if self.auth is not None:
            argv += ["--basic-auth", f"{self.auth[0]}:{self.auth[1]}"]
        env = isolated_environ()
        env["PYTHONPATH"] = f"{TESTS_DIR}:{SRC_DIR}"
        stderr = (self.folder / "proxy.stderr").open("wb")
        self._process = subprocess.Popen(argv, env=env, stdout=stderr, stderr=stderr)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = port_file.read_text() if port_file.exists() else ""
            if text.strip().isdigit():
                self.port = int(text.strip())
                return self
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__(None, None, None)
        err = (self.folder / "proxy.stderr").read_text(errors="replace")[-2000:]
        msg = f"proxy.py did not start: {err}"
        raise RuntimeError(msg)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stop_process(self._process, grace=10)
        self._process = None

    def hosts(self, settle: float = 1.0) -> list[str]:
        """``host:port`` of every access line so far (after waiting ``settle`` seconds for
        connections that just closed to be logged)."""
        time.sleep(settle)
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return [f"{m['host']}:{m['port']}" for m in _ACCESS.finditer(text)]

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
