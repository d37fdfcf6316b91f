"""A static ("dumb") PEP 503 index: HTML files in folders, as teams keep one on object storage or
on a shared disk, and a plain static HTTP server for it.

`write_static_index(root, files)` lays out::

    root/packages/<file>                         every distribution file given
    root/packages/<wheel>.metadata               with ``metadata=True`` (PEP 658/714)
    root/simple/index.html                       links to each project folder
    root/simple/<project>/index.html             links to the project's files

and returns ``root/simple``. Links are relative (``../../packages/<file>#sha256=…``) unless
``file_base`` is given, in which case they are ``file_base + <file>`` (an absolute URL, e.g. a
``file:`` URL of the packages folder).

`StaticIndexServer(root)` serves ``root`` the way an object store's website endpoint does:
``GET /<path>/`` answers ``<path>/index.html``, ``GET /<path>`` the file at that path, anything
else 404 — no directory listings, no redirect that adds a trailing slash. It keeps an access
log (`requests()`: ``(method, path, status)`` rows). It runs in a thread of the test process.
"""

from __future__ import annotations

import hashlib
import html
import shutil
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Self
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import canonicalize_name

from support.processes import Service

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["StaticIndexServer", "StaticRequest", "write_static_index"]


class StaticRequest(NamedTuple):
    method: str
    path: str
    status: int


def _project(filename: str) -> str:
    if filename.endswith(".whl"):
        return canonicalize_name(filename.split("-", 1)[0])
    stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
    return canonicalize_name(stem.rpartition("-")[0])


def _wheel_metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


def write_static_index(
    root: Path,
    files: Iterable[Path],
    *,
    metadata: bool = False,
    file_base: str | None = None,
    requires_python: bool = False,
) -> Path:
    """Write a static index of ``files`` under ``root``; returns ``root / "simple"``.

    With ``requires_python``, each wheel's link carries its METADATA's ``Requires-Python`` as
    ``data-requires-python``, as PyPI's pages do."""
    packages = root / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[str]] = {}
    for source in files:
        target = packages / source.name
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        projects.setdefault(_project(source.name), []).append(source.name)
    simple = root / "simple"
    simple.mkdir(exist_ok=True)
    links = "".join(
        f'<a href="{quote(name)}/">{html.escape(name)}</a>\n' for name in sorted(projects)
    )
    (simple / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    for project, names in projects.items():
        rows = []
        for name in sorted(names):
            path = packages / name
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            href = f"{file_base}{quote(name)}" if file_base else f"../../packages/{quote(name)}"
            extra = ""
            if requires_python and name.endswith(".whl"):
                wanted = _requires_python(_wheel_metadata(path))
                if wanted:
                    extra += f' data-requires-python="{html.escape(wanted)}"'
            if metadata and name.endswith(".whl"):
                data = _wheel_metadata(path)
                path.with_name(name + ".metadata").write_bytes(data)
                meta = f"sha256={hashlib.sha256(data).hexdigest()}"
                extra += f' data-dist-info-metadata="{meta}" data-core-metadata="{meta}"'
            rows.append(f'<a href="{href}#sha256={digest}"{extra}>{html.escape(name)}</a><br>\n')
        page = simple / project
        page.mkdir(exist_ok=True)
        (page / "index.html").write_text(
            f"<!DOCTYPE html><html><body>\n{''.join(rows)}</body></html>\n"
        )
    return simple


def _requires_python(metadata: bytes) -> str | None:
    for line in metadata.decode("utf-8").splitlines():
        if line.lower().startswith("requires-python:"):
            return line.split(":", 1)[1].strip()
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _target(self) -> Path | None:
        path = unquote(urlsplit(self.path).path)
        root = self.server.root
        candidate = (root / path.lstrip("/")).resolve()
        if candidate != root and root not in candidate.parents:
            return None
        if path.endswith("/"):
            candidate /= "index.html"
        return candidate if candidate.is_file() else None

    def _answer(self, body: bool) -> None:
        target = self._target()
        status = 200 if target is not None else 404
        self.server.record(StaticRequest(self.command, self.path, status))
        data = target.read_bytes() if target is not None else b"Not Found"
        self.send_response(status)
        kind = "text/html" if target is not None and target.suffix == ".html" else None
        self.send_header("Content-Type", kind or "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.log: list[StaticRequest] = []
        self._lock = threading.Lock()

    def record(self, entry: StaticRequest) -> None:
        with self._lock:
            self.log.append(entry)


class StaticIndexServer(Service):
    """A static HTTP server for ``root`` on a free loopback port (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def requests(self) -> list[StaticRequest]:
        assert self._server is not None
        with self._server._lock:
            return list(self._server.log)

    def requested_paths(self) -> list[str]:
        return [r.path for r in self.requests()]

    def start(self) -> Self:
        self._server = _Server(self.root)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
