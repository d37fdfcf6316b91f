"""Real pypiserver index processes on loopback, with a readable access log, for integration tests.

What pypiserver 2.4 serves (checked against the installed version):

* PEP 503 HTML only: `/simple/` and `/simple/<normalized-name>/`. A non-normalized name is
  answered with a 301 to the normalized page; `/simple/<name>` (no slash) with a 301 to the
  slashed URL. It does NOT implement PEP 691: asked for
  `Accept: application/vnd.pypi.simple.v1+json` it still answers `text/html`.
* File links point at `/packages/<filename>#sha256=<hex>` (the `--hash-algo` default); no
  `data-requires-python`, `data-dist-info-metadata`/`data-core-metadata` or yank attributes.
* `/<name>/json` gives a tiny PyPI-like JSON document (`info.version`, `releases`).
* The fallback redirect to pypi.org for unknown projects is disabled here (`--disable-fallback`),
  so an unknown project is a plain 404 and nothing ever leaves loopback.

Packages are read from the directory on every request (`--backend simple-dir`), so files added
or removed while the server runs are visible at once.

Access log: the server runs the wsgiref server (single-threaded: requests are handled one at a
time) and writes one access line per request through `--log-file`. `requests()` first sends a
marker request to the health endpoint and waits for its line, so every request answered before
the call is guaranteed to be in the log, then returns `AccessRecord(method, path, status)` rows
(path includes any query string). `clear_log()` moves the read position past everything logged.

Basic auth: pypiserver's own `-P htpasswd` needs passlib, which is not a test dependency, so
`PypiServer(..., auth=(user, password))` instead starts a small launcher that builds pypiserver's
own app from the same arguments with an `auther` callable that checks that one account; list,
download and upload then all require it (401 without credentials, 403 with wrong ones).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Self, Unpack

from packaging.utils import canonicalize_name

from support import isolated_environ
from support.dists import build_many, build_sdist, build_wheel
from support.processes import Service, free_port, stop_process

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from support.dists import Dist, DistOptions, WheelOptions

__all__ = ["AccessRecord", "PypiServer", "PypiServerError"]

HEALTH_PATH = "/-harness-health"
_ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) ')
_MARKER_QUERY = "harness-marker="

_AUTH_LAUNCHER = """\
import json, sys
from wsgiref.simple_server import make_server
import pypiserver
from pypiserver.__main__ import WsgiHandler, init_logging
from pypiserver.config import Config

argv, user, password = json.loads(sys.argv[1])
config = Config.from_args(argv).with_updates(
    authenticate=["download", "list", "update"],
    auther=lambda u, p: (u, p) == (user, password),
)
init_logging(level=config.log_level, frmt=config.log_frmt, filename=config.log_file, stream=None)
app = pypiserver.setup_routes_from_config(pypiserver.app_from_config(config), config)
make_server(config.host, config.port, app, handler_class=WsgiHandler).serve_forever()
"""


class PypiServerError(RuntimeError):
    pass


class AccessRecord(NamedTuple):
    method: str
    path: str
    status: int


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PypiServer(Service):
    """A `python -m pypiserver run` process serving `package_dir` on a free 127.0.0.1 port."""

    def __init__(
        self,
        package_dir: Path,
        *,
        log_file: Path | None = None,
        auth: tuple[str, str] | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.package_dir = Path(package_dir)
        self.package_dir.mkdir(parents=True, exist_ok=True)
        self.log_file = log_file or self.package_dir.with_name(self.package_dir.name + ".log")
        self.auth = auth
        self.extra_args = tuple(extra_args)
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr_path = self.log_file.with_suffix(".stderr")
        self._log_offset = 0
        self._markers = itertools.count()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def simple_url(self) -> str:
        return f"{self.url}/simple/"

    def project_url(self, name: str) -> str:
        return f"{self.simple_url}{canonicalize_name(name)}/"

    def file_url(self, filename: str) -> str:
        return f"{self.url}/packages/{filename}"

    def authenticated_simple_url(self) -> str:
        if self.auth is None:
            return self.simple_url
        user, password = self.auth
        return f"http://{user}:{password}@127.0.0.1:{self.port}/simple/"

    def _argv(self) -> list[str]:
        return [
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "-a",
            ".",
            "-P",
            ".",
            "--disable-fallback",
            "--server",
            "wsgiref",
            "--backend",
            "simple-dir",
            "--hash-algo",
            "sha256",
            "--health-endpoint",
            HEALTH_PATH,
            "-v",
            "--log-stream",
            "none",
            "--log-file",
            str(self.log_file),
            "--log-frmt",
            "%(name)s|%(message)s",
            *self.extra_args,
            str(self.package_dir),
        ]

    def _command(self) -> list[str]:
        if self.auth is None:
            return [sys.executable, "-m", "pypiserver", *self._argv()]
        payload = json.dumps([self._argv(), *self.auth])
        return [sys.executable, "-c", _AUTH_LAUNCHER, payload]

    def start(self, timeout: float = 30.0) -> Self:
        if self._process is not None:
            return self
        for _ in range(3):
            self.port = free_port()
            self.log_file.write_bytes(b"")
            self._log_offset = 0
            with self._stderr_path.open("wb") as stderr:
                self._process = subprocess.Popen(
                    self._command(),
                    env=isolated_environ(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    cwd=self.package_dir.parent,
                )
            if self._wait_ready(timeout):
                self.clear_log()
                return self
            self.stop()
        raise PypiServerError(
            f"pypiserver did not start: {self._stderr_path.read_text(errors='replace')[-2000:]}"
        )

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                with _NO_PROXY_OPENER.open(self.url + HEALTH_PATH, timeout=2) as resp:
                    if resp.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        process, self._process = self._process, None
        stop_process(process)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def add(self, path: Path | str) -> Path:
        """Copy a distribution file into the served directory."""
        source = Path(path)
        target = self.package_dir / source.name
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        return target

    def add_dist(self, name: str, version: str, **options: Unpack[WheelOptions]) -> Path:
        """Build a wheel straight into the served directory."""
        return build_wheel(self.package_dir, name, version, **options)

    def add_sdist(self, name: str, version: str, **options: Unpack[DistOptions]) -> Path:
        """Build an sdist straight into the served directory."""
        return build_sdist(self.package_dir, name, version, **options)

    def add_many(self, specs: Iterable[Dist]) -> list[Path]:
        return build_many(self.package_dir, specs)

    def remove(self, filename: str) -> None:
        (self.package_dir / filename).unlink()

    def files(self) -> list[str]:
        return sorted(p.name for p in self.package_dir.iterdir() if p.is_file())

    def clear_packages(self) -> None:
        for path in self.package_dir.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()

    def _sync_log(self, timeout: float = 10.0) -> bytes:
        """Log bytes from the read position up to a fresh marker request, marker included."""
        if not self.running:
            return self._read_log()
        marker = f"?{_MARKER_QUERY}{next(self._markers)} ".encode()
        url = f"{self.url}{HEALTH_PATH}{marker.decode().rstrip()}"
        with _NO_PROXY_OPENER.open(url, timeout=timeout):
            pass
        deadline = time.monotonic() + timeout
        while True:
            data = self._read_log()
            index = data.find(marker)
            if index >= 0:
                end = data.find(b"\n", index)
                return data[: end + 1 if end >= 0 else len(data)]
            if time.monotonic() > deadline:
                raise PypiServerError(f"access log never showed {marker!r}")
            time.sleep(0.02)

    def _read_log(self) -> bytes:
        with self.log_file.open("rb") as fh:
            fh.seek(self._log_offset)
            return fh.read()

    def requests(self) -> list[AccessRecord]:
        """Every request answered since start or the last clear_log(), oldest first."""
        records = []
        for match in _ACCESS_LINE.finditer(self._sync_log().decode("utf-8", "replace")):
            path = match["path"]
            if path.split("?", 1)[0] == HEALTH_PATH:
                continue
            records.append(AccessRecord(match["method"], path, int(match["status"])))
        return records

    def requested_paths(self, method: str = "GET") -> list[str]:
        return [r.path for r in self.requests() if r.method == method]

    def clear_log(self) -> None:
        self._log_offset += len(self._sync_log())

    def reset(self) -> None:
        """Empty the package directory and the access log (between tests)."""
        self.clear_packages()
        self.clear_log()
