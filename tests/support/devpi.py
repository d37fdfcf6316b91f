"""A real devpi-server on loopback for integration tests: private user indexes and PyPI-style
mirror indexes, driven through devpi's own HTTP API.

What devpi-server 6 does (checked against the installed version):

* ``devpi-init --no-root-pypi`` makes the server folder with only the ``root`` user (no mirror of
  the public index, so nothing is ever fetched from outside loopback); ``devpi-server
  --serverdir D --host 127.0.0.1 --port P`` serves it. Start-up takes seconds (≈10 s for init),
  so one server serves a whole test session.
* Users: ``PUT /<user>`` with ``{"password": …}``. Indexes: ``PUT /<user>/<index>`` (HTTP basic
  auth as that user) with ``{"bases": [], "volatile": true}`` for a private stage, or
  ``{"type": "mirror", "mirror_url": …}`` for a mirror of another simple index.
* Uploads: ``POST /<user>/<index>/`` multipart (``:action=file_upload``, ``name``,
  ``version``, ``content``), as twine sends them; only users in the index's ``acl_upload`` may
  (401 without credentials, 403 for another user).
* Reads are anonymous: core devpi has no read ACL (``acl_read`` is refused; a plugin adds it),
  and credentials a client sends on reads are accepted and ignored when they are right.
* Simple pages: ``/<user>/<index>/+simple/<project>/`` with relative links to
  ``../../+f/<hash-path>/<file>#sha256=…``; a mirror fetches its upstream's page and files on
  first use.

Access log: devpi logs ``[reqN] GET /path`` for every request to its log file;
`requested_paths()` returns those paths.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Self

from support import isolated_environ
from support.processes import Service, free_port, stop_process

__all__ = ["DevpiServer", "DevpiUnavailableError", "devpi_available"]

_REQUEST_LINE = re.compile(r"\[req\d+\] (?P<method>[A-Z]+) (?P<path>\S+)")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DevpiUnavailableError(RuntimeError):
    """devpi-server is not installed here or did not start."""


def _tool(name: str) -> str | None:
    import sys

    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else shutil.which(name)


def devpi_available() -> bool:
    return _tool("devpi-server") is not None and _tool("devpi-init") is not None


class DevpiServer(Service):
    """A devpi-server process with its own server folder under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.serverdir = root / "server"
        self.log_file = root / "devpi.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def simple_url(self, index: str) -> str:
        return f"{self.url}/{index}/+simple/"

    def start(self, timeout: float = 90.0) -> Self:
        init, server = _tool("devpi-init"), _tool("devpi-server")
        if init is None or server is None:
            raise DevpiUnavailableError("devpi-server is not installed")
        self.root.mkdir(parents=True, exist_ok=True)
        env = isolated_environ()
        done = subprocess.run(
            [init, "--serverdir", str(self.serverdir), "--no-root-pypi"],
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise DevpiUnavailableError(f"devpi-init failed: {done.stderr[-2000:]!r}")
        self.port = free_port()
        with self.log_file.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    server,
                    "--serverdir",
                    str(self.serverdir),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                with _OPENER.open(self.url + "/+api", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        log_text = self.log_file.read_text(errors="replace")[-2000:]
        self.stop()
        raise DevpiUnavailableError(f"devpi-server did not start: {log_text}")

    def stop(self) -> None:
        process, self._process = self._process, None
        stop_process(process, grace=10)

    # -- the HTTP API ---------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: bytes | None,
        *,
        auth: tuple[str, str] | None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        request.add_header("Accept", "application/json")
        if body is not None:
            request.add_header("Content-Type", content_type)
        if auth is not None:
            token = base64.b64encode(":".join(auth).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with _OPENER.open(request, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def _json(self, method: str, path: str, data: Any, auth: tuple[str, str] | None) -> None:
        status, body = self._call(method, path, json.dumps(data).encode(), auth=auth)
        if status >= 300:
            raise DevpiUnavailableError(f"{method} {path}: {status} {body[-500:]!r}")

    def create_user(self, user: str, password: str) -> None:
        self._json(
            "PUT", f"/{user}", {"password": password, "email": f"{user}@example.invalid"}, None
        )

    def create_index(self, index: str, auth: tuple[str, str], **config: Any) -> None:
        """``index`` is ``user/name``; ``config`` e.g. ``type="mirror", mirror_url=…``."""
        self._json("PUT", f"/{index}", {"bases": [], "volatile": True, **config}, auth)

    def upload(self, index: str, path: Path, auth: tuple[str, str] | None) -> int:
        """Upload a wheel or sdist as twine does; returns the HTTP status."""
        from packaging.utils import parse_sdist_filename, parse_wheel_filename

        if path.name.endswith(".whl"):
            name, version, *_ = parse_wheel_filename(path.name)
        else:
            name, version = parse_sdist_filename(path.name)
        boundary = uuid.uuid4().hex
        parts = []
        for key, value in ((":action", "file_upload"), ("name", name), ("version", str(version))):
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + path.read_bytes()
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        status, _ = self._call(
            "POST",
            f"/{index}/",
            b"".join(parts),
            auth=auth,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        return status

    # -- the access log -------------------------------------------------------------------

    def requested_paths(self, method: str = "GET") -> list[str]:
        """Paths of the requests logged since the last `clear_log` (devpi logs each request
        as it starts, so a finished command's requests are all there)."""
        with self.log_file.open("rb") as fh:
            fh.seek(self._log_offset)
            text = fh.read().decode("utf-8", "replace")
        return [m["path"] for m in _REQUEST_LINE.finditer(text) if m["method"] == method]

    def clear_log(self) -> None:
        self._log_offset = self.log_file.stat().st_size
